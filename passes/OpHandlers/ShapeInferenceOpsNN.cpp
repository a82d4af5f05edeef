//===- ShapeInferenceOpsNN.cpp - Shape handlers of neural-network ops -----===//
///
/// \file
/// Shape handlers of convolutions and pools (pads, strides, dilations,
/// auto_pad, ceil_mode, groups), normalisations, Gemm/MatMul and their
/// quantized forms, and the reductions (axes as an attribute before opset
/// 18, 13 for ReduceSum, as an input from then on).
///
//===----------------------------------------------------------------------===//

#include "passes/OpHandlers/ShapeInferenceImpl.h"

#include <cmath>

using namespace llvm;

namespace onnxprune {
namespace shapeinf {

namespace {

/// The spatial attributes of a Conv/ConvTranspose/pool node, defaulted.
struct Window {
  std::vector<int64_t> kernel, strides, dilations, pads;
  std::string autoPad;
};

} // namespace

/// Reads the window attributes for \p spatial dims; \p weights gives the
/// kernel shape when the attribute is absent (convolutions).
static Expected<std::optional<Window>>
readWindow(NodeContext &ctx, size_t spatial, const Shape *weights) {
  Window w;
  if (auto k = ctx.intsAttr("kernel_shape")) {
    w.kernel = *k;
  } else if (weights && weights->size() == spatial + 2) {
    for (size_t i = 0; i < spatial; ++i) {
      if (!(*weights)[2 + i].isStatic())
        return std::optional<Window>();
      w.kernel.push_back((*weights)[2 + i].value);
    }
  } else {
    return std::optional<Window>();
  }
  if (w.kernel.size() != spatial)
    return ctx.error("kernel_shape has " + Twine(w.kernel.size()) +
                     " dims for " + Twine(spatial) + " spatial dims");
  auto list = [&](StringRef name, size_t n, int64_t dflt,
                  std::vector<int64_t> &out) -> Error {
    auto a = ctx.intsAttr(name);
    out = a ? *a : std::vector<int64_t>(n, dflt);
    if (out.size() != n)
      return ctx.error(name + " has " + Twine(out.size()) + " entries, " +
                       Twine(n) + " expected");
    return Error::success();
  };
  // Spelled-out conversions: a plain `return e` into an Expected needs
  // C++20's implicit move on some compilers.
  using Result = Expected<std::optional<Window>>;
  if (Error e = list("strides", spatial, 1, w.strides))
    return Result(std::move(e));
  if (Error e = list("dilations", spatial, 1, w.dilations))
    return Result(std::move(e));
  if (Error e = list("pads", 2 * spatial, 0, w.pads))
    return Result(std::move(e));
  for (int64_t s : w.strides)
    if (s <= 0)
      return ctx.error("strides must be positive");
  w.autoPad = ctx.stringAttr("auto_pad", "NOTSET");
  return std::optional<Window>(std::move(w));
}

/// Output size of one sliding-window axis (Conv and pools).
static Dim windowOutput(NodeContext &ctx, const Dim &in, const Window &w,
                        size_t i, bool ceilMode) {
  if (!in.isStatic())
    return Dim::unknown();
  int64_t stride = w.strides[i];
  if (w.autoPad == "SAME_UPPER" || w.autoPad == "SAME_LOWER")
    return Dim::of((in.value + stride - 1) / stride);
  int64_t effKernel = (w.kernel[i] - 1) * w.dilations[i] + 1;
  int64_t padded = in.value;
  if (w.autoPad != "VALID")
    padded += w.pads[i] + w.pads[i + w.kernel.size()];
  int64_t span = padded - effKernel;
  if (span < 0)
    return Dim::unknown();
  // ceil_mode: a last partial window counts (no "must start inside the
  // input" correction, as ONNX 1.12 and the operator spec compute it).
  return Dim::of(1 + (ceilMode ? (span + stride - 1) / stride : span / stride));
}

/// Conv-like ops: X at \p xIdx, W at \p wIdx, output element type \p elem.
static Error inferConvLike(NodeContext &ctx, unsigned xIdx, unsigned wIdx,
                           DataType elem) {
  const Shape *x = ctx.inShape(xIdx);
  const Shape *w = ctx.inShape(wIdx);
  if (elem == DataType::Undefined)
    return Error::success();
  if (!x || x->size() < 3) {
    ctx.setOutput(0, elem,
                  w ? std::optional<Shape>(unknownShape(w->size()))
                    : std::nullopt);
    return Error::success();
  }
  size_t spatial = x->size() - 2;
  Shape out{(*x)[0], w && !w->empty() ? (*w)[0] : Dim::unknown()};
  auto win = readWindow(ctx, spatial, w);
  if (!win)
    return win.takeError();
  for (size_t i = 0; i < spatial; ++i)
    out.push_back(*win ? windowOutput(ctx, (*x)[2 + i], **win, i, false)
                       : Dim::unknown());
  ctx.setOutput(0, elem, out);
  return Error::success();
}

Error inferConv(NodeContext &ctx) {
  return inferConvLike(ctx, 0, 1, ctx.inElem(0));
}

Error inferConvInteger(NodeContext &ctx) {
  return inferConvLike(ctx, 0, 1, DataType::Int32);
}

Error inferQLinearConv(NodeContext &ctx) {
  return inferConvLike(ctx, 0, 3, ctx.inElem(7));
}

Error inferConvTranspose(NodeContext &ctx) {
  const Type &t = ctx.inType(0);
  const Shape *x = ctx.inShape(0), *w = ctx.inShape(1);
  if (!t.isTensor())
    return Error::success();
  if (!x || x->size() < 3) {
    ctx.setOutput(0, t.elemType, std::nullopt);
    return Error::success();
  }
  size_t spatial = x->size() - 2;
  int64_t group = ctx.intAttr("group", 1);
  Shape out{(*x)[0], w && w->size() >= 2 ? mulDims((*w)[1], Dim::of(group))
                                         : Dim::unknown()};
  auto win = readWindow(ctx, spatial, w);
  if (!win)
    return win.takeError();
  auto outputShape = ctx.intsAttr("output_shape");
  if (outputShape && outputShape->size() == spatial) {
    for (int64_t d : *outputShape)
      out.push_back(Dim::of(d));
    ctx.setOutput(0, t.elemType, out);
    return Error::success();
  }
  auto outPad = ctx.intsAttr("output_padding");
  for (size_t i = 0; i < spatial; ++i) {
    const Dim &in = (*x)[2 + i];
    if (!*win || !in.isStatic()) {
      out.push_back(Dim::unknown());
      continue;
    }
    const Window &wi = **win;
    int64_t op = outPad && outPad->size() == spatial ? (*outPad)[i] : 0;
    if (wi.autoPad == "SAME_UPPER" || wi.autoPad == "SAME_LOWER") {
      // The spec (and ONNX Runtime): output = input * stride.
      out.push_back(Dim::of(in.value * wi.strides[i]));
      continue;
    }
    int64_t effKernel = (wi.kernel[i] - 1) * wi.dilations[i] + 1;
    int64_t pads =
        wi.autoPad == "VALID" ? 0 : wi.pads[i] + wi.pads[i + spatial];
    out.push_back(
        Dim::of(wi.strides[i] * (in.value - 1) + op + effKernel - pads));
  }
  ctx.setOutput(0, t.elemType, out);
  return Error::success();
}

Error inferPool(NodeContext &ctx) {
  const Type &t = ctx.inType(0);
  const Shape *x = ctx.inShape(0);
  if (!t.isTensor())
    return Error::success();
  if (!x || x->size() < 3) {
    ctx.setOutput(0, t.elemType, std::nullopt);
    return Error::success();
  }
  size_t spatial = x->size() - 2;
  auto win = readWindow(ctx, spatial, nullptr);
  if (!win)
    return win.takeError();
  if (!*win)
    return ctx.error("kernel_shape is missing");
  bool ceilMode = ctx.intAttr("ceil_mode", 0) != 0;
  Shape out{(*x)[0], (*x)[1]};
  for (size_t i = 0; i < spatial; ++i)
    out.push_back(windowOutput(ctx, (*x)[2 + i], **win, i, ceilMode));
  ctx.setOutput(0, t.elemType, out);
  ctx.setOutput(1, DataType::Int64, out); // MaxPool's Indices
  return Error::success();
}

Error inferGlobalPool(NodeContext &ctx) {
  const Type &t = ctx.inType(0);
  const Shape *x = ctx.inShape(0);
  if (!t.isTensor())
    return Error::success();
  if (!x || x->size() < 2) {
    ctx.setOutput(0, t.elemType, std::nullopt);
    return Error::success();
  }
  Shape out{(*x)[0], (*x)[1]};
  out.append(x->size() - 2, Dim::of(1));
  ctx.setOutput(0, t.elemType, out);
  return Error::success();
}

Error inferBatchNorm(NodeContext &ctx) {
  const Type &t = ctx.inType(0);
  if (!t.isTensor())
    return Error::success();
  ctx.setOutput(0, t);
  // Training-mode outputs (running/saved mean and variance) are [C].
  const Type &stat = ctx.inType(3);
  for (unsigned i = 1; i < ctx.numOutputs(); ++i)
    if (stat.isTensor())
      ctx.setOutput(i, stat);
  return Error::success();
}

Error inferLayerNorm(NodeContext &ctx) {
  const Type &t = ctx.inType(0);
  if (!t.isTensor())
    return Error::success();
  ctx.setOutput(0, t);
  if (ctx.numOutputs() < 2)
    return Error::success();
  // Mean and InvStdDev: the normalized axes become 1, in stash_type.
  auto stash = static_cast<DataType>(
      ctx.intAttr("stash_type", static_cast<int64_t>(DataType::Float)));
  std::optional<Shape> s;
  if (const Shape *x = ctx.inShape(0)) {
    auto axis = normalizeAxis(ctx, ctx.intAttr("axis", -1), x->size());
    if (!axis)
      return axis.takeError();
    s = Shape(x->begin(), x->begin() + *axis);
    s->append(x->size() - *axis, Dim::of(1));
  }
  for (unsigned i = 1; i < ctx.numOutputs() && i < 3; ++i)
    ctx.setOutput(i, stash, s);
  return Error::success();
}

/// Gemm's [M, N] from inputs \p ai and \p bi (transA, transB).
static Error inferGemmLike(NodeContext &ctx, unsigned ai, unsigned bi,
                           DataType elem) {
  if (elem == DataType::Undefined)
    return Error::success();
  const Shape *a = ctx.inShape(ai), *b = ctx.inShape(bi);
  Dim m = Dim::unknown(), n = Dim::unknown();
  bool transA = ctx.intAttr("transA", 0), transB = ctx.intAttr("transB", 0);
  if (a && a->size() == 2)
    m = (*a)[transA ? 1 : 0];
  if (b && b->size() == 2)
    n = (*b)[transB ? 0 : 1];
  if (a && b && a->size() == 2 && b->size() == 2) {
    const Dim &ka = (*a)[transA ? 0 : 1], &kb = (*b)[transB ? 1 : 0];
    if (ka.isStatic() && kb.isStatic() && ka.value != kb.value)
      return ctx.error("inner dims differ: " + shapeToString(*a) + " and " +
                       shapeToString(*b));
  }
  ctx.setOutput(0, elem, Shape{m, n});
  return Error::success();
}

Error inferGemm(NodeContext &ctx) {
  return inferGemmLike(ctx, 0, 1, ctx.inElem(0));
}

/// com.microsoft QGemm(A, .., .., B, .., .., C?, y_scale?, y_zp?): float
/// without y_scale, else y_zp's type (uint8 without it).
Error inferQGemm(NodeContext &ctx) {
  DataType elem = DataType::Float;
  if (ctx.hasInput(7))
    elem = ctx.hasInput(8) ? ctx.inElem(8) : DataType::UInt8;
  return inferGemmLike(ctx, 0, 3, elem);
}

/// MatMul's numpy semantics on inputs \p ai and \p bi.
static Expected<std::optional<Shape>> matmulShape(NodeContext &ctx, unsigned ai,
                                                  unsigned bi) {
  const Shape *a = ctx.inShape(ai), *b = ctx.inShape(bi);
  if (!a || !b)
    return std::optional<Shape>();
  if (a->empty() || b->empty())
    return ctx.error("MatMul of a scalar");
  // 1-D operands are promoted to matrices, and the added dim removed.
  Shape sa(*a), sb(*b);
  bool vecA = sa.size() == 1, vecB = sb.size() == 1;
  if (vecA)
    sa.insert(sa.begin(), Dim::of(1));
  if (vecB)
    sb.push_back(Dim::of(1));
  const Dim &ka = sa.back(), &kb = sb[sb.size() - 2];
  if (ka.isStatic() && kb.isStatic() && ka.value != kb.value)
    return ctx.error("inner dims differ: " + shapeToString(*a) + " and " +
                     shapeToString(*b));
  Shape batchA(sa.begin(), sa.end() - 2), batchB(sb.begin(), sb.end() - 2);
  Expected<Shape> out = broadcastShapes(ctx, {&batchA, &batchB});
  if (!out)
    return out.takeError();
  if (!vecA)
    out->push_back(sa[sa.size() - 2]);
  if (!vecB)
    out->push_back(sb.back());
  return std::optional<Shape>(std::move(*out));
}

static Error inferMatMulLike(NodeContext &ctx, unsigned ai, unsigned bi,
                             DataType elem) {
  if (elem == DataType::Undefined)
    return Error::success();
  auto s = matmulShape(ctx, ai, bi);
  if (!s)
    return s.takeError();
  ctx.setOutput(0, elem, *s);
  return Error::success();
}

Error inferMatMul(NodeContext &ctx) {
  return inferMatMulLike(ctx, 0, 1, ctx.inElem(0));
}

Error inferMatMulInteger(NodeContext &ctx) {
  return inferMatMulLike(ctx, 0, 1, DataType::Int32);
}

Error inferQLinearMatMul(NodeContext &ctx) {
  return inferMatMulLike(ctx, 0, 3, ctx.inElem(7));
}

/// com.microsoft: float A times a quantized B (float output, A's type).
Error inferDynamicQuantizeMatMul(NodeContext &ctx) {
  return inferMatMulLike(ctx, 0, 1, ctx.inElem(0));
}

/// com.microsoft: integer A and B, output of a_scale's type.
Error inferMatMulIntegerToFloat(NodeContext &ctx) {
  return inferMatMulLike(ctx, 0, 1, ctx.inElem(2));
}

/// The reduced axes of a Reduce* node: whether given, and their values.
static std::optional<SmallVector<int64_t, 8>> reduceAxes(NodeContext &ctx,
                                                         bool &given) {
  StringRef op = ctx.getNode().getOpType();
  int64_t inputSince = op == "ReduceSum" ? 13 : 18;
  if (ctx.getOpset() < inputSince) {
    auto a = ctx.intsAttr("axes");
    given = a && !a->empty();
    if (!given)
      return std::nullopt;
    return SmallVector<int64_t, 8>(a->begin(), a->end());
  }
  given = ctx.hasInput(1);
  if (!given)
    return std::nullopt;
  auto v = ctx.inInts(1);
  if (v && v->empty()) // an empty axes tensor is "no axes"
    given = false;
  return v;
}

Error inferReduce(NodeContext &ctx) {
  const Type &t = ctx.inType(0);
  if (!t.isTensor())
    return Error::success();
  const Shape *in = ctx.inShape(0);
  bool keep = ctx.intAttr("keepdims", 1) != 0;
  bool given = false;
  auto axes = reduceAxes(ctx, given);
  if (!in || (given && !axes)) {
    ctx.setOutput(0, t.elemType,
                  in && keep ? std::optional<Shape>(unknownShape(in->size()))
                             : std::nullopt);
    return Error::success();
  }
  int64_t rank = in->size();
  if (!given && ctx.intAttr("noop_with_empty_axes", 0)) {
    ctx.setOutput(0, t);
    return Error::success();
  }
  SmallVector<bool, 8> reduced(rank, !given);
  if (given)
    for (int64_t a : *axes) {
      auto n = normalizeAxis(ctx, a, rank);
      if (!n)
        return n.takeError();
      reduced[*n] = true;
    }
  Shape out;
  for (int64_t i = 0; i < rank; ++i) {
    if (!reduced[i])
      out.push_back((*in)[i]);
    else if (keep)
      out.push_back(Dim::of(1));
  }
  ctx.setOutput(0, t.elemType, out);
  return Error::success();
}

Error inferArgReduce(NodeContext &ctx) {
  const Shape *in = ctx.inShape(0);
  if (!in) {
    ctx.setOutput(0, DataType::Int64, std::nullopt);
    return Error::success();
  }
  auto axis = normalizeAxis(ctx, ctx.intAttr("axis", 0), in->size());
  if (!axis)
    return axis.takeError();
  Shape out(*in);
  if (ctx.intAttr("keepdims", 1))
    out[*axis] = Dim::of(1);
  else
    out.erase(out.begin() + *axis);
  ctx.setOutput(0, DataType::Int64, out);
  return Error::success();
}

} // namespace shapeinf
} // namespace onnxprune
