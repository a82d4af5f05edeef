//===- DepthCriteria.cpp - Stream and output distances for depth ----------===//
///
/// \file
/// The per-vector math similarity and finercut share. See DepthCriteria.h.
///
//===----------------------------------------------------------------------===//

#include "passes/Criteria/DepthCriteria.h"

#include <algorithm>
#include <cmath>
#include <vector>

using namespace llvm;

namespace onnxprune {

namespace {

/// Calls \p fn(a, b, stride) for every vector of \p a and \p b along the
/// vector axis of \p shape (DepthCriteria.h) with `width` elements.
template <typename Fn>
void forEachVector(const float *a, const float *b, ArrayRef<int64_t> shape,
                   bool channelsOf4D, Fn fn) {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  if (shape.empty() || n == 0)
    return;
  size_t axis = channelsOf4D && shape.size() >= 4 ? 1 : shape.size() - 1;
  int64_t width = shape[axis], inner = 1;
  for (size_t i = axis + 1; i < shape.size(); ++i)
    inner *= shape[i];
  int64_t outer = n / (width * inner);
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t in = 0; in < inner; ++in)
      fn(a + o * width * inner + in, b + o * width * inner + in, width, inner);
}

double cosineOf(const float *a, const float *b, int64_t width, int64_t step) {
  double dot = 0, na = 0, nb = 0;
  for (int64_t k = 0; k < width; ++k) {
    double x = a[k * step], y = b[k * step];
    dot += x * y, na += x * x, nb += y * y;
  }
  if (na == 0 && nb == 0)
    return 1.0;
  if (na == 0 || nb == 0)
    return 0.0;
  return std::clamp(dot / (std::sqrt(na) * std::sqrt(nb)), -1.0, 1.0);
}

/// log-softmax of one vector into \p out.
void logSoftmax(const float *x, int64_t width, int64_t step,
                std::vector<double> &out) {
  out.resize(width);
  double mx = -INFINITY;
  for (int64_t k = 0; k < width; ++k)
    mx = std::max(mx, double(x[k * step]));
  double sum = 0;
  for (int64_t k = 0; k < width; ++k)
    sum += std::exp(double(x[k * step]) - mx);
  double lse = mx + std::log(sum);
  for (int64_t k = 0; k < width; ++k)
    out[k] = double(x[k * step]) - lse;
}

} // namespace

StringRef outputDistanceName(OutputDistance d) {
  return d == OutputDistance::JS ? "js" : "angular";
}

void addCosines(const float *a, const float *b, ArrayRef<int64_t> shape,
                MeanSum &acc) {
  forEachVector(a, b, shape, /*channelsOf4D=*/true,
                [&](const float *pa, const float *pb, int64_t w, int64_t s) {
                  acc.sum += cosineOf(pa, pb, w, s);
                  ++acc.count;
                });
}

void addDistances(const float *ref, const float *out, ArrayRef<int64_t> shape,
                  OutputDistance how, MeanSum &acc) {
  std::vector<double> lp, lq;
  forEachVector(ref, out, shape, /*channelsOf4D=*/false,
                [&](const float *pa, const float *pb, int64_t w, int64_t s) {
                  if (how == OutputDistance::Angular) {
                    acc.sum += std::acos(cosineOf(pa, pb, w, s)) / M_PI;
                  } else {
                    // JS(P, Q) = (KL(P || M) + KL(Q || M)) / 2, M = (P + Q) /
                    // 2, in nats: 0 for equal outputs, at most ln 2.
                    logSoftmax(pa, w, s, lp);
                    logSoftmax(pb, w, s, lq);
                    double js = 0;
                    for (int64_t k = 0; k < w; ++k) {
                      double p = std::exp(lp[k]), q = std::exp(lq[k]);
                      double m = 0.5 * (p + q);
                      if (m <= 0)
                        continue;
                      double lm = std::log(m);
                      js += 0.5 * ((p > 0 ? p * (lp[k] - lm) : 0) +
                                   (q > 0 ? q * (lq[k] - lm) : 0));
                    }
                    acc.sum += std::max(0.0, js);
                  }
                  ++acc.count;
                });
}

} // namespace onnxprune
