//===- Calibration.cpp - Streaming activation statistics ------------------===//
///
/// \file
/// The statistics accumulators of Calibration.h (moments, X^T X of vectors
/// and of conv patches, per-block projected L1 norms) and the lookup of the
/// injected provider. Products go through Eigen in float, 256 vectors at a
/// time, and are summed in double across chunks.
///
//===----------------------------------------------------------------------===//

#include "passes/Analysis/Calibration.h"

#include "lib/Support/Error.h"

#include <Eigen/Dense>

#include <array>
#include <cmath>

using namespace llvm;

namespace onnxprune {

namespace {
/// Vectors per Eigen product: big enough for BLAS-like speed, small enough
/// that a chunk of 4096-wide rows stays a few MB.
constexpr int64_t kChunk = 256;

using RowMajorF =
    Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

const char *kindName(StatRequest::Kind k) {
  switch (k) {
  case StatRequest::Kind::Moments:
    return "moments";
  case StatRequest::Kind::Gram:
    return "gram";
  case StatRequest::Kind::ConvGram:
    return "conv-gram";
  case StatRequest::Kind::BlockProjL1:
    return "block-proj-l1";
  }
  llvm_unreachable("bad StatRequest::Kind");
}

std::string shapeText(ArrayRef<int64_t> shape) {
  std::string out = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    out += (i ? "," : "") + std::to_string(shape[i]);
  return out + "]";
}
} // namespace

std::string StatRequest::key() const {
  std::string k =
      std::string(kindName(kind)) + ":" + value + ":" + std::to_string(axis);
  if (kind == Kind::ConvGram) {
    for (auto *v : {&conv.kernel, &conv.strides, &conv.dilations})
      k += ":" + shapeText(*v);
    k += ":" + shapeText(conv.pads);
  }
  if (kind == Kind::BlockProjL1)
    k += ":" + weight + ":" + std::to_string(block);
  return k;
}

double ActivationStats::variance(int64_t c) const {
  if (!count)
    return 0;
  double m = sum[c] / count;
  return std::max(0.0, sumSq[c] / count - m * m);
}

StatsAccumulator::StatsAccumulator(StatRequest r, std::vector<float> w,
                                   int64_t cols)
    : request(std::move(r)), weight(std::move(w)), weightCols(cols) {}

Error StatsAccumulator::add(const float *data, ArrayRef<int64_t> shape) {
  switch (request.kind) {
  case StatRequest::Kind::Moments:
    return addMoments(data, shape);
  case StatRequest::Kind::Gram:
    return addGram(data, shape);
  case StatRequest::Kind::ConvGram:
    return addConvGram(data, shape);
  case StatRequest::Kind::BlockProjL1:
    return addBlockProj(data, shape);
  }
  llvm_unreachable("bad StatRequest::Kind");
}

/// Splits \p shape at \p axis into outer x channels x inner.
static Expected<std::array<int64_t, 3>>
splitAt(const StatRequest &r, ArrayRef<int64_t> shape, int64_t axis) {
  int64_t rank = shape.size();
  if (axis < 0)
    axis += rank;
  if (axis < 0 || axis >= rank)
    return makeError("calibration: tensor '" + r.value + "' of shape " +
                     shapeText(shape) + " has no axis " + Twine(r.axis));
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d)
    outer *= shape[d];
  for (int64_t d = axis + 1; d < rank; ++d)
    inner *= shape[d];
  return std::array<int64_t, 3>{outer, shape[axis], inner};
}

/// Checks that the channel count stays the same from batch to batch.
static Error checkChannels(const StatRequest &r, ActivationStats &s,
                           int64_t channels) {
  if (s.channels && s.channels != channels)
    return makeError("calibration: tensor '" + r.value + "' has " +
                     Twine(channels) + " channels in one batch and " +
                     Twine(s.channels) + " in another");
  s.channels = channels;
  return Error::success();
}

Error StatsAccumulator::addMoments(const float *data, ArrayRef<int64_t> shape) {
  auto split = splitAt(request, shape, request.axis);
  if (!split)
    return split.takeError();
  auto [outer, c, inner] = *split;
  if (Error e = checkChannels(request, stats, c))
    return e;
  if (stats.sum.empty())
    stats.sum.assign(c, 0), stats.sumSq.assign(c, 0), stats.sumAbs.assign(c, 0);
  // Sums in float within a batch, in double across.
  if (inner == 1) {
    // Channels are contiguous ([vectors, c], a MatMul input): one pass over
    // the rows gathers all three sums, c channels at a time (vectorised by
    // Eigen), instead of three strided sweeps per column; a batch of probes
    // is tens of MB, so each sweep came from memory. Per channel the order
    // is row 0, then blocks of four rows added pairwise, then the rest one
    // at a time: the order in which Eigen's colwise().sum(), which this
    // replaces, summed all but the last c % 4 channels (those it summed row
    // by row), so the sums did not change beyond float rounding there.
    using RowA = Eigen::Array<float, 1, Eigen::Dynamic>;
    Eigen::Map<const RowMajorF> x(data, outer, c);
    auto row = [&](int64_t r) { return x.row(r).array(); };
    RowA s = RowA::Zero(c), sq = RowA::Zero(c), ab = RowA::Zero(c);
    if (outer > 0)
      s = row(0), sq = row(0).square(), ab = row(0).abs();
    int64_t r = 1;
    for (int64_t blocksEnd = (outer - 1) & ~int64_t(3); r < blocksEnd; r += 4) {
      auto a = row(r), b = row(r + 1), d = row(r + 2), e = row(r + 3);
      s += (a + b) + (d + e);
      sq += (a.square() + b.square()) + (d.square() + e.square());
      ab += (a.abs() + b.abs()) + (d.abs() + e.abs());
    }
    for (; r < outer; ++r) {
      s += row(r);
      sq += row(r).square();
      ab += row(r).abs();
    }
    for (int64_t ch = 0; ch < c; ++ch)
      stats.sum[ch] += s[ch], stats.sumSq[ch] += sq[ch],
          stats.sumAbs[ch] += ab[ch];
  } else {
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t ch = 0; ch < c; ++ch) {
        Eigen::Map<const Eigen::VectorXf> p(data + (o * c + ch) * inner, inner);
        stats.sum[ch] += p.sum();
        stats.sumSq[ch] += p.squaredNorm();
        stats.sumAbs[ch] += p.cwiseAbs().sum();
      }
  }
  stats.count += outer * inner;
  return Error::success();
}

void StatsAccumulator::addRows(const float *rows, int64_t n, int64_t d) {
  if (stats.gram.empty())
    stats.gram.assign(d * d, 0.0);
  chunkGram.assign(d * d, 0.0f);
  Eigen::Map<const RowMajorF> x(rows, n, d);
  Eigen::Map<Eigen::MatrixXf> g(chunkGram.data(), d, d);
  g.selfadjointView<Eigen::Upper>().rankUpdate(x.transpose());
  // Column-major g: (i, j) with i <= j is the upper triangle. Its column j
  // is folded into row j of the row-major sum (the lower triangle, the same
  // numbers by symmetry): both contiguous, where the upper triangle's
  // column was a stride-d walk that took a third as long as the product.
  for (int64_t j = 0; j < d; ++j)
    Eigen::Map<Eigen::VectorXd>(stats.gram.data() + j * d, j + 1) +=
        g.col(j).head(j + 1).cast<double>();
  stats.count += n;
}

void StatsAccumulator::addGathered(int64_t count, int64_t d,
                                   function_ref<void(int64_t, float *)> fill) {
  std::vector<float> rows(std::min(kChunk, count) * d);
  for (int64_t first = 0; first < count; first += kChunk) {
    int64_t n = std::min(kChunk, count - first);
    for (int64_t r = 0; r < n; ++r)
      fill(first + r, rows.data() + r * d);
    addRows(rows.data(), n, d);
  }
}

Error StatsAccumulator::addGram(const float *data, ArrayRef<int64_t> shape) {
  auto split = splitAt(request, shape, request.axis);
  if (!split)
    return split.takeError();
  // Plain copies: a lambda below reads them (C++17 cannot capture
  // structured bindings).
  int64_t outer = (*split)[0], c = (*split)[1], inner = (*split)[2];
  if (Error e = checkChannels(request, stats, c))
    return e;
  if (inner == 1) {
    for (int64_t o = 0; o < outer; o += kChunk)
      addRows(data + o * c, std::min(kChunk, outer - o), c);
    return Error::success();
  }
  // Channels are strided (a 1x1 conv's [N, C, H, W] input): gather vectors.
  addGathered(outer * inner, c, [&](int64_t v, float *row) {
    int64_t o = v / inner, i = v % inner;
    for (int64_t ch = 0; ch < c; ++ch)
      row[ch] = data[(o * c + ch) * inner + i];
  });
  return Error::success();
}

Error StatsAccumulator::addConvGram(const float *data,
                                    ArrayRef<int64_t> shape) {
  const ConvGeometry &g = request.conv;
  size_t sp = g.kernel.size();
  if ((sp != 1 && sp != 2) || shape.size() != sp + 2)
    return makeError("calibration: conv input '" + request.value +
                     "' of shape " + shapeText(shape) +
                     ": patches are gathered for 1-D and 2-D convs only");
  auto at = [](ArrayRef<int64_t> v, size_t i, int64_t def) {
    return i < v.size() ? v[i] : def;
  };
  int64_t n = shape[0], c = shape[1];
  int64_t h = sp == 2 ? shape[2] : 1, w = shape[sp + 1];
  int64_t kh = sp == 2 ? g.kernel[0] : 1, kw = g.kernel[sp - 1];
  int64_t sh = sp == 2 ? at(g.strides, 0, 1) : 1, sw = at(g.strides, sp - 1, 1);
  int64_t dh = sp == 2 ? at(g.dilations, 0, 1) : 1,
          dw = at(g.dilations, sp - 1, 1);
  int64_t ph0 = sp == 2 ? at(g.pads, 0, 0) : 0, pw0 = at(g.pads, sp - 1, 0);
  int64_t ph1 = sp == 2 ? at(g.pads, 2, 0) : 0, pw1 = at(g.pads, 2 * sp - 1, 0);
  int64_t oh = (h + ph0 + ph1 - dh * (kh - 1) - 1) / sh + 1;
  int64_t ow = (w + pw0 + pw1 - dw * (kw - 1) - 1) / sw + 1;
  if (oh <= 0 || ow <= 0)
    return makeError("calibration: conv input '" + request.value +
                     "' of shape " + shapeText(shape) +
                     " is smaller than the kernel");
  int64_t d = c * kh * kw;
  if (Error e = checkChannels(request, stats, d))
    return e;
  // One vector per output position: the patch, channel-major, taps
  // row-major, zeros where the kernel reads padding.
  addGathered(n * oh * ow, d, [&](int64_t v, float *row) {
    int64_t b = v / (oh * ow), y = v / ow % oh, x = v % ow;
    for (int64_t ch = 0; ch < c; ++ch)
      for (int64_t i = 0; i < kh; ++i) {
        int64_t iy = y * sh - ph0 + i * dh;
        for (int64_t j = 0; j < kw; ++j) {
          int64_t ix = x * sw - pw0 + j * dw;
          bool in = iy >= 0 && iy < h && ix >= 0 && ix < w;
          *row++ = in ? data[((b * c + ch) * h + iy) * w + ix] : 0;
        }
      }
  });
  return Error::success();
}

Error StatsAccumulator::addBlockProj(const float *data,
                                     ArrayRef<int64_t> shape) {
  auto split = splitAt(request, shape, -1);
  if (!split)
    return split.takeError();
  auto [outer, k, inner] = *split;
  (void)inner;
  if (request.block <= 0 || k % request.block ||
      int64_t(weight.size()) != k * weightCols)
    return makeError("calibration: tensor '" + request.value + "' of shape " +
                     shapeText(shape) + " does not fit weight '" +
                     request.weight + "' in blocks of " + Twine(request.block));
  int64_t blocks = k / request.block;
  if (Error e = checkChannels(request, stats, blocks))
    return e;
  if (stats.blockL1.empty())
    stats.blockL1.assign(blocks, 0.0);
  Eigen::Map<const RowMajorF> wm(weight.data(), k, weightCols);
  for (int64_t o = 0; o < outer; o += kChunk) {
    int64_t n = std::min(kChunk, outer - o);
    Eigen::Map<const RowMajorF> x(data + o * k, n, k);
    for (int64_t b = 0; b < blocks; ++b) {
      RowMajorF y = x.middleCols(b * request.block, request.block) *
                    wm.middleRows(b * request.block, request.block);
      stats.blockL1[b] += y.cwiseAbs().cast<double>().sum();
    }
  }
  stats.count += outer;
  return Error::success();
}

ActivationStats StatsAccumulator::take() {
  int64_t d = stats.channels;
  // addRows summed the lower triangle.
  if (!stats.gram.empty())
    for (int64_t i = 0; i < d; ++i)
      for (int64_t j = 0; j < i; ++j)
        stats.gram[j * d + i] = stats.gram[i * d + j];
  ActivationStats out = std::move(stats);
  stats = ActivationStats();
  return out;
}

CalibrationProvider::~CalibrationProvider() = default;
CalibrationProvider::GatedBatch::~GatedBatch() = default;

Error CalibrationProvider::forEachGatedBatch(
    const Model &, ArrayRef<std::string>, ArrayRef<std::string>,
    const CalibrationSource &, function_ref<Error(GatedBatch &)>) {
  return makeError("this calibration provider cannot run gated models");
}

Error requireCalibration(const CalibrationProvider *p, StringRef who,
                         bool needData) {
  if (!p)
    return makeError(who + " needs a runtime to run the model, and none was "
                           "given (a build without ONNX Runtime, or a library "
                           "caller that registered no CalibrationAnalysis)");
  if (needData && !p->hasData())
    return makeError(who + " needs calibration data (--calibration=PATH: a "
                           ".npz of the model's inputs, a .npy, or an ONNX "
                           "test-data folder)");
  return Error::success();
}

Expected<CalibrationProvider &> getCalibration(const Model &m,
                                               ModelAnalysisManager &am,
                                               StringRef who, bool needData) {
  auto r = am.getResult<CalibrationAnalysis>(m);
  if (!r)
    return r.takeError();
  if (Error e = requireCalibration(*r, who, needData))
    return std::move(e);
  return **r;
}

} // namespace onnxprune
