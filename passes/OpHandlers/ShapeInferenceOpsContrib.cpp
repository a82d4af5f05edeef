//===- ShapeInferenceOpsContrib.cpp - com.microsoft shape handlers --------===//
///
/// \file
/// Shape handlers of the ONNX Runtime contrib ops that transformer exports
/// use, with output shapes as ONNX Runtime's operator documentation gives
/// them. Only the main output is inferred where the docs leave the others'
/// layout to attributes or to the runtime (present/past key-value caches,
/// SkipLayerNormalization's mean and inverse-std outputs).
///
//===----------------------------------------------------------------------===//

#include "passes/OpHandlers/ShapeInferenceImpl.h"

using namespace llvm;

namespace onnxprune {
namespace shapeinf {

Error inferSkipLayerNorm(NodeContext &ctx) {
  const Type &t = ctx.inType(0);
  if (!t.isTensor())
    return Error::success();
  ctx.setOutput(0, t);
  // Output 3 is input + skip (+ bias), kept for a later residual.
  ctx.setOutput(3, t);
  return Error::success();
}

/// [B, S, hidden] from the [B, S, *] query-like input \p q.
static void setBSH(NodeContext &ctx, const Shape &q, const Dim &hidden) {
  ctx.setOutput(0, ctx.inElem(0), Shape{q[0], q[1], hidden});
}

Error inferAttention(NodeContext &ctx) {
  const Shape *in = ctx.inShape(0);
  if (!in || in->size() != 3 || ctx.inElem(0) == DataType::Undefined)
    return Error::success();
  // The value projection's width: qkv_hidden_sizes[2], or a third of the
  // packed weight's columns.
  Dim hidden = Dim::unknown();
  if (auto sizes = ctx.intsAttr("qkv_hidden_sizes");
      sizes && sizes->size() == 3)
    hidden = Dim::of((*sizes)[2]);
  else if (const Shape *w = ctx.inShape(1); w && w->size() == 2)
    hidden = (*w)[1].isStatic() && (*w)[1].value % 3 == 0
                 ? Dim::of((*w)[1].value / 3)
                 : Dim::unknown();
  setBSH(ctx, *in, hidden);
  return Error::success();
}

Error inferMultiHeadAttention(NodeContext &ctx) {
  const Shape *q = ctx.inShape(0);
  if (!q || ctx.inElem(0) == DataType::Undefined)
    return Error::success();
  if (q->size() == 5) {
    // Packed QKV: [B, S, N, 3, H].
    setBSH(ctx, *q, mulDims((*q)[2], (*q)[4]));
    return Error::success();
  }
  if (q->size() != 3)
    return Error::success();
  const Shape *k = ctx.inShape(1), *v = ctx.inShape(2);
  if (v && v->size() == 3)
    setBSH(ctx, *q, (*v)[2]); // [B, L, Dv]
  else if (v && v->size() == 4)
    setBSH(ctx, *q, mulDims((*v)[1], (*v)[3])); // [B, N, L, H]
  else if (!ctx.hasInput(2) && k && k->size() == 5)
    setBSH(ctx, *q, mulDims((*k)[2], (*k)[4])); // packed KV [B, L, N, 2, H]
  else if (!ctx.hasInput(1) && !ctx.hasInput(2))
    setBSH(ctx, *q, (*q)[2]);
  return Error::success();
}

Error inferGroupQueryAttention(NodeContext &ctx) {
  const Shape *q = ctx.inShape(0);
  if (!q || q->size() != 3 || ctx.inElem(0) == DataType::Undefined)
    return Error::success();
  if (ctx.hasInput(1)) {
    setBSH(ctx, *q, (*q)[2]);
    return Error::success();
  }
  // Packed QKV: D = (num_heads + 2 * kv_num_heads) * head_size.
  int64_t heads = ctx.intAttr("num_heads", 0);
  int64_t kvHeads = ctx.intAttr("kv_num_heads", 0);
  const Dim &d = (*q)[2];
  int64_t parts = heads + 2 * kvHeads;
  if (heads > 0 && d.isStatic() && parts > 0 && d.value % parts == 0)
    setBSH(ctx, *q, Dim::of(d.value / parts * heads));
  else
    setBSH(ctx, *q, Dim::unknown());
  return Error::success();
}

} // namespace shapeinf
} // namespace onnxprune
