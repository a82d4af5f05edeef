//===- ShapeInferenceOpsQuant.cpp - Quantized ops' shape handlers ---------===//
///
/// \file
/// Shape handlers of quantized ops that the other families do not cover:
/// ONNX's DynamicQuantizeLinear (which ONNX Runtime's dynamic quantizer puts
/// before every ConvInteger / MatMulInteger) and com.microsoft's
/// MatMulNBits (4-bit weights in blocks). Without them every op after the
/// first quantized layer loses its rank and the whole network freezes
/// ("Add: operand rank unknown"). QuantizeLinear, DequantizeLinear,
/// ConvInteger, QLinearConv, MatMulInteger and QLinearMatMul live with
/// their float counterparts (Elementwise, NN).
///
///   DynamicQuantizeLinear(x[..]) -> y uint8[..], y_scale float[],
///                                   y_zero_point uint8[]
///   MatMulNBits(A[.., K], B uint8[N, n_blocks, blob], ...) -> Y[.., N]
///     with N the attribute (B's first dim when it is static).
///   com.microsoft QLinearSigmoid / QLinearLeakyRelu / QLinearSoftmax
///     (X, ...) -> Y like X;
///     QLinearAdd / QLinearMul (A, .., .., B, ..) -> broadcast of A and B;
///     QLinearGlobalAveragePool -> [N, C, 1...] ([N, 1..., C] with
///     channels_last); QLinearAveragePool -> AveragePool's shape
///     (channels_last: the rank); QLinearConcat (Y_scale, Y_zp, X0, s, zp,
///     X1, ...) -> the Concat of the X inputs, typed as Y_zp: ONNX
///     Runtime's static QOperator format.
///   (com.microsoft QGemm, DynamicQuantizeMatMul and MatMulIntegerToFloat
///   live with Gemm and MatMul, in ShapeInferenceOpsNN.cpp.)
///   com.microsoft GatherBlockQuantized(data, indices, scales, ...) ->
///     data[:g] + indices + data[g+1:], the last axis times 8 / bits for
///     packed uint8 data, typed as scales.
///
//===----------------------------------------------------------------------===//

#include "passes/OpHandlers/ShapeInferenceImpl.h"

using namespace llvm;

namespace onnxprune {
namespace shapeinf {

Error inferDynamicQuantizeLinear(NodeContext &ctx) {
  const Type &t = ctx.inType(0);
  if (!t.isTensor())
    return Error::success();
  ctx.setOutput(0, DataType::UInt8, t.shape);
  ctx.setOutput(1, DataType::Float, Shape{});
  ctx.setOutput(2, DataType::UInt8, Shape{});
  return Error::success();
}

Error inferMatMulNBits(NodeContext &ctx) {
  const Shape *a = ctx.inShape(0);
  DataType elem = ctx.inElem(0);
  if (elem == DataType::Undefined)
    return Error::success();
  if (!a || a->empty()) {
    ctx.setOutput(0, elem, std::nullopt);
    return Error::success();
  }
  int64_t n = ctx.intAttr("N", -1), k = ctx.intAttr("K", -1);
  const Dim &ka = a->back();
  if (k > 0 && ka.isStatic() && ka.value != k)
    return ctx.error("input's last dim " + Twine(ka.value) +
                     " is not the attribute K = " + Twine(k));
  Dim nd = n > 0 ? Dim::of(n) : Dim::unknown();
  if (const Shape *b = ctx.inShape(1); b && !b->empty())
    nd = mergeDims(nd, (*b)[0]);
  Shape out(a->begin(), a->end() - 1);
  out.push_back(nd);
  ctx.setOutput(0, elem, std::move(out));
  return Error::success();
}

Error inferQLinearUnary(NodeContext &ctx) {
  const Type &t = ctx.inType(0);
  if (t.isTensor())
    ctx.setOutput(0, t);
  return Error::success();
}

Error inferQLinearBinary(NodeContext &ctx) {
  const Shape *a = ctx.inShape(0), *b = ctx.inShape(3);
  DataType elem = ctx.inElem(0);
  if (elem == DataType::Undefined)
    return Error::success();
  if (!a || !b) {
    ctx.setOutput(0, elem, std::nullopt);
    return Error::success();
  }
  Expected<Shape> out = broadcastShapes(ctx, {a, b});
  if (!out)
    return out.takeError();
  ctx.setOutput(0, elem, std::move(*out));
  return Error::success();
}

Error inferQLinearGlobalAveragePool(NodeContext &ctx) {
  if (!ctx.intAttr("channels_last", 0))
    return inferGlobalPool(ctx); // [N, C, 1...]
  // [N, 1..., C].
  const Type &t = ctx.inType(0);
  const Shape *x = ctx.inShape(0);
  if (!t.isTensor())
    return Error::success();
  if (!x || x->size() < 3) {
    ctx.setOutput(0, t.elemType, std::nullopt);
    return Error::success();
  }
  Shape out{(*x)[0]};
  out.append(x->size() - 2, Dim::of(1));
  out.push_back(x->back());
  ctx.setOutput(0, t.elemType, std::move(out));
  return Error::success();
}

Error inferQLinearAveragePool(NodeContext &ctx) {
  if (!ctx.intAttr("channels_last", 0))
    return inferPool(ctx);
  const Type &t = ctx.inType(0);
  if (t.isTensor())
    ctx.setOutput(0, t.elemType,
                  t.hasRank() ? std::optional<Shape>(unknownShape(t.rank()))
                              : std::nullopt);
  return Error::success();
}

Error inferQLinearConcat(NodeContext &ctx) {
  DataType elem = ctx.inElem(1);
  if (elem == DataType::Undefined)
    elem = ctx.inElem(2);
  if (elem == DataType::Undefined)
    return Error::success();
  std::optional<Shape> out;
  for (unsigned i = 2; i < ctx.numInputs(); i += 3) {
    const Shape *x = ctx.inShape(i);
    if (!x) {
      ctx.setOutput(0, elem, std::nullopt);
      return Error::success();
    }
    if (!out) {
      out = *x;
      auto axis = normalizeAxis(ctx, ctx.intAttr("axis", 0), x->size());
      if (!axis)
        return axis.takeError();
      continue;
    }
    if (x->size() != out->size())
      return ctx.error("inputs differ in rank: " + shapeToString(*out) +
                       " and " + shapeToString(*x));
    int64_t axis = ctx.intAttr("axis", 0);
    axis = axis < 0 ? axis + (int64_t)x->size() : axis;
    for (size_t d = 0; d < x->size(); ++d)
      (*out)[d] = (int64_t)d == axis ? addDims((*out)[d], (*x)[d])
                                     : mergeDims((*out)[d], (*x)[d]);
  }
  ctx.setOutput(0, elem, std::move(out));
  return Error::success();
}

Error inferGatherBlockQuantized(NodeContext &ctx) {
  DataType elem = ctx.inElem(2);
  if (elem == DataType::Undefined)
    return Error::success();
  const Shape *data = ctx.inShape(0), *idx = ctx.inShape(1);
  if (!data || !idx || data->empty()) {
    ctx.setOutput(0, elem, std::nullopt);
    return Error::success();
  }
  auto g = normalizeAxis(ctx, ctx.intAttr("gather_axis", 0), data->size());
  if (!g)
    return g.takeError();
  Shape out(data->begin(), data->begin() + *g);
  out.append(idx->begin(), idx->end());
  out.append(data->begin() + *g + 1, data->end());
  int64_t bits = ctx.intAttr("bits", 4);
  if (ctx.inElem(0) == DataType::UInt8 && bits > 0 && bits < 8 &&
      8 % bits == 0 && *g + 1 < (int64_t)data->size())
    out.back() = mulDims(out.back(), Dim::of(8 / bits));
  ctx.setOutput(0, elem, std::move(out));
  return Error::success();
}

} // namespace shapeinf
} // namespace onnxprune
