//===- AttentionHandlers.cpp - Fused attention ops (com.microsoft) --------===//
///
/// \file
/// ONNX Runtime's fused attention ops take whole projections and split them
/// into heads inside the kernel, so the head structure is only visible in
/// the `num_heads` attributes. The units of these handlers are heads: the d
/// channels of a head are tied together, and a head's query, key, value and
/// output channels are one unit (with GQA: one KV head and its r query
/// heads). Any form not fully understood (past state, packed 5-D inputs,
/// unequal qkv_hidden_sizes, rotary caches of another shape...) freezes.
///
/// Masking zeroes a head's projection weights; its attention output is then
/// finite (a mean of biases) and the output projection's zeroed rows drop
/// it, so masking and removing the head agree.
///
//===----------------------------------------------------------------------===//

#include "passes/OpHandlers/OpHandler.h"

#include "lib/Support/Error.h"

using namespace llvm;

namespace onnxprune {

namespace {

/// Ties the channels of each head of \p a (\p heads heads of \p d).
void tieHeads(CouplingBuilder &b, AxisRef a, int64_t heads, int64_t d,
              const Node &n) {
  for (int64_t h = 0; h < heads; ++h) {
    std::vector<int64_t> elems;
    for (int64_t i = 0; i < d; ++i)
      elems.push_back(h * d + i);
    b.tie(a, elems, n);
  }
}

/// Couples every channel of head h of \p a (heads of \p da channels) to
/// the first channel of head h / \p ratio of \p to (heads of \p dto); with
/// the heads' ties, whole heads join.
void joinHeads(CouplingBuilder &b, AxisRef a, AxisRef to, int64_t heads,
               int64_t da, int64_t dto, int64_t ratio, const Node &n) {
  std::vector<int64_t> map;
  for (int64_t h = 0; h < heads; ++h)
    for (int64_t i = 0; i < da; ++i)
      map.push_back((h / ratio) * dto);
  b.joinMap(a, to, map, n);
}

/// True when optional input \p i is absent.
bool absent(const Node &n, unsigned i) { return !n.getInput(i); }

/// Couples axis \p axis of optional per-head input \p x (attention_bias
/// [B, H or 1, S, L], head_sink [H]) of rank \p rank to the heads of \p q
/// (\p heads of \p d). False (nothing joined) for a layout not understood.
bool joinPerHead(CouplingBuilder &b, Value *x, int64_t rank, unsigned axis,
                 AxisRef q, int64_t heads, int64_t d, const Node &n) {
  if (!x)
    return true;
  if (b.rank(x) != rank)
    return false;
  int64_t size = b.size({x, axis});
  if (size == 1 && rank == 4)
    return true; // Broadcast over heads.
  if (size != heads)
    return false;
  b.joinBlocks({x, axis}, q, d, 0, n);
  return true;
}

/// Sets an int attribute.
void setIntAttr(Node &n, StringRef name, int64_t v, Rewriter &rw) {
  rw.setAttr(&n, Attribute::ofInt(name, v));
}

/// com.microsoft Attention(input[B,S,Din], weights[Din, 3·D], bias[3·D],
/// mask_index) -> output[B,S,D]: q, k and v are thirds of the packed weight.
///
///   W[Din, 3·D]: W.0 ~ input.2; head h = W.1 columns {h·d.., D+h·d..,
///   2D+h·d..} (d = D/num_heads) ~ bias.0 same ~ output.2 [h·d, (h+1)·d)
///
/// Preconditions: no past/present state, no relative-position bias, equal
/// qkv_hidden_sizes when given, static sizes. Rewrite: num_heads (and
/// qkv_hidden_sizes) from the pruned width.
class AttentionHandler final : public OpHandler {
public:
  void build(const Node &n, CouplingBuilder &b) const override {
    Value *x = n.getInput(0), *w = n.getInput(1), *bias = n.getInput(2),
          *y = n.getOutput(0);
    int64_t heads = n.getIntAttr("num_heads", 0);
    bool extras = false;
    for (unsigned i = 4; i < n.getNumInputs(); ++i)
      extras |= !absent(n, i);
    for (unsigned i = 1; i < n.getNumOutputs(); ++i)
      extras |= n.getOutput(i) != nullptr;
    auto hidden = n.getIntsAttr("qkv_hidden_sizes");
    bool unequal =
        hidden && (hidden->size() != 3 || (*hidden)[0] != (*hidden)[1] ||
                   (*hidden)[1] != (*hidden)[2]);
    int64_t din = b.size({w, 0}), packed = b.size({w, 1});
    int64_t dOut = b.size({y, 2});
    if (!x || !w || !y || !w->isWeight() || b.rank(x) != 3 || b.rank(y) != 3 ||
        extras || unequal || heads <= 0 || packed <= 0 || dOut <= 0 ||
        packed != 3 * dOut || dOut % heads != 0 || b.size({x, 2}) != din ||
        n.getIntAttr("unidirectional", 0) < 0) {
      b.freezeNode(n, "attention form not supported");
      return;
    }
    int64_t d = dOut / heads;
    b.join({x, 0}, {y, 0}, n);
    b.join({x, 1}, {y, 1}, n);
    b.join({x, 2}, {w, 0}, n);
    if (bias)
      b.join({bias, 0}, {w, 1}, n);
    // Output channel i is the v column 2D + i; a head ties its q, k and v
    // columns.
    b.joinBlocks({y, 2}, {w, 1}, 1, 2 * dOut, n);
    for (int64_t h = 0; h < heads; ++h) {
      std::vector<int64_t> elems;
      for (int64_t part = 0; part < 3; ++part)
        for (int64_t i = 0; i < d; ++i)
          elems.push_back(part * dOut + h * d + i);
      b.tie({w, 1}, elems, n);
    }
  }

  Error rewrite(Node &n, PruneContext &ctx) const override {
    Value *y = n.getOutput(0);
    if (!ctx.kept({y, 2}))
      return Error::success();
    int64_t heads = n.getIntAttr("num_heads", 0);
    int64_t d = ctx.oldSize({y, 2}) / heads, now = ctx.newSize({y, 2});
    if (now % d)
      return makeError("node " + n.describe() + ": a head was cut in part");
    setIntAttr(n, "num_heads", now / d, ctx.rewriter());
    if (n.hasAttr("qkv_hidden_sizes"))
      ctx.rewriter().setAttr(
          &n, Attribute::ofInts("qkv_hidden_sizes", {now, now, now}));
    return Error::success();
  }
};

/// com.microsoft MultiHeadAttention(query[B,S,D], key[B,L,D],
/// value[B,L,Dv], bias[2D+Dv]) -> output[B,S,Dv]:
///
///   q.2 ~ k.2 (channel by channel), head h of v.2 ~ head h of q.2,
///   output.2 ~ v.2; each head's channels tied.
///
///   attention_bias[B, H, S, L] axis 1 element h ~ head h (a broadcast
///   axis 1 of size 1 stays).
///
/// Preconditions: 3-D query, key and value (no packed forms), no past
/// state, no cross-attention cache outputs. Rewrite: num_heads.
class MultiHeadAttentionHandler final : public OpHandler {
public:
  void build(const Node &n, CouplingBuilder &b) const override {
    Value *q = n.getInput(0), *k = n.getInput(1), *v = n.getInput(2),
          *bias = n.getInput(3), *y = n.getOutput(0);
    int64_t heads = n.getIntAttr("num_heads", 0);
    bool extras = !absent(n, 6) || !absent(n, 7);
    for (unsigned i = 1; i < n.getNumOutputs(); ++i)
      extras |= n.getOutput(i) != nullptr;
    int64_t dq = b.size({q, 2}), dv = b.size({v, 2});
    if (!q || !k || !v || !y || b.rank(q) != 3 || b.rank(k) != 3 ||
        b.rank(v) != 3 || b.rank(y) != 3 || extras || heads <= 0 || dq <= 0 ||
        dv <= 0 || dq % heads || dv % heads || b.size({k, 2}) != dq ||
        b.size({y, 2}) != dv) {
      b.freezeNode(n, "attention form not supported");
      return;
    }
    int64_t d = dq / heads, dvh = dv / heads;
    b.join({q, 0}, {y, 0}, n);
    b.join({q, 1}, {y, 1}, n);
    b.join({k, 0}, {v, 0}, n);
    b.join({k, 1}, {v, 1}, n);
    b.join({q, 2}, {k, 2}, n);
    b.join({v, 2}, {y, 2}, n);
    if (bias) {
      if (b.size({bias, 0}) != 2 * dq + dv) {
        b.freezeNode(n, "attention bias size");
        return;
      }
      b.joinBlocks({q, 2}, {bias, 0}, 1, 0, n);
      b.joinBlocks({k, 2}, {bias, 0}, 1, dq, n);
      b.joinBlocks({v, 2}, {bias, 0}, 1, 2 * dq, n);
    }
    if (!joinPerHead(b, n.getInput(5), 4, 1, {q, 2}, heads, d, n)) {
      b.freezeNode(n, "attention bias layout");
      return;
    }
    tieHeads(b, {q, 2}, heads, d, n);
    tieHeads(b, {v, 2}, heads, dvh, n);
    joinHeads(b, {v, 2}, {q, 2}, heads, dvh, d, 1, n);
  }

  Error rewrite(Node &n, PruneContext &ctx) const override {
    Value *q = n.getInput(0);
    if (!ctx.kept({q, 2}))
      return Error::success();
    int64_t heads = n.getIntAttr("num_heads", 0);
    int64_t d = ctx.oldSize({q, 2}) / heads, now = ctx.newSize({q, 2});
    if (now % d)
      return makeError("node " + n.describe() + ": a head was cut in part");
    setIntAttr(n, "num_heads", now / d, ctx.rewriter());
    return Error::success();
  }
};

/// com.microsoft GroupQueryAttention(query[B,S,Hq·d], key[B,S,Hkv·d],
/// value[B,S,Hkv·d], past_key[B,Hkv,P,d], past_value, seqlens_k,
/// total_sequence_length, cos_cache, sin_cache) -> output[B,S,Hq·d],
/// present_key[B,Hkv,T,d], present_value:
///
///   KV head g (k.2, v.2 channels [g·d, (g+1)·d), past/present axis 1
///   element g) ~ query heads g·r .. g·r+r-1 (r = Hq/Hkv) ~ output.2 same;
///   attention_bias[B, Hq, S, T] axis 1 and head_sink[Hq] element h ~
///   query head h.
///
/// Preconditions: separate query/key/value (not packed), static sizes, no
/// output_qk.
/// Rewrite: num_heads and kv_num_heads.
class GroupQueryAttentionHandler final : public OpHandler {
public:
  void build(const Node &n, CouplingBuilder &b) const override {
    Value *q = n.getInput(0), *k = n.getInput(1), *v = n.getInput(2),
          *y = n.getOutput(0);
    int64_t hq = n.getIntAttr("num_heads", 0),
            hkv = n.getIntAttr("kv_num_heads", 0);
    int64_t dq = b.size({q, 2}), dkv = b.size({k, 2});
    bool extras = false;
    for (unsigned i = 3; i < n.getNumOutputs(); ++i)
      extras |= n.getOutput(i) != nullptr;
    if (!q || !k || !v || !y || b.rank(q) != 3 || b.rank(k) != 3 ||
        b.rank(v) != 3 || extras || hq <= 0 || hkv <= 0 || hq % hkv ||
        dq <= 0 || dkv <= 0 || dq % hq || dkv % hkv || dq / hq != dkv / hkv ||
        b.size({v, 2}) != dkv || b.size({y, 2}) != dq) {
      b.freezeNode(n, "attention form not supported");
      return;
    }
    int64_t d = dq / hq, r = hq / hkv;
    if (!joinPerHead(b, n.getInput(10), 4, 1, {q, 2}, hq, d, n) ||
        !joinPerHead(b, n.getInput(11), 1, 0, {q, 2}, hq, d, n)) {
      b.freezeNode(n, "attention bias or head sink layout");
      return;
    }
    b.join({q, 0}, {y, 0}, n);
    b.join({q, 1}, {y, 1}, n);
    b.join({q, 2}, {y, 2}, n);
    b.join({k, 2}, {v, 2}, n);
    tieHeads(b, {k, 2}, hkv, d, n);
    joinHeads(b, {q, 2}, {k, 2}, hq, d, d, r, n);
    // Past and present caches hold KV heads on axis 1.
    for (Value *cache :
         {n.getInput(3), n.getInput(4), n.getOutput(1), n.getOutput(2)}) {
      if (!cache)
        continue;
      if (b.rank(cache) != 4 || b.size({cache, 1}) != hkv ||
          b.size({cache, 3}) != d) {
        b.freezeValue(cache, &n, "kv cache layout not understood");
        b.freeze({k, 2}, &n, "kv cache layout not understood");
        continue;
      }
      b.joinBlocks({cache, 1}, {k, 2}, d, 0, n);
      b.freeze({cache, 3}, &n, "head dim of a kv cache");
    }
  }

  Error rewrite(Node &n, PruneContext &ctx) const override {
    Value *q = n.getInput(0), *k = n.getInput(1);
    if (!ctx.kept({q, 2}) && !ctx.kept({k, 2}))
      return Error::success();
    int64_t hq = n.getIntAttr("num_heads", 0);
    int64_t d = ctx.oldSize({q, 2}) / hq;
    int64_t nq = ctx.newSize({q, 2}), nkv = ctx.newSize({k, 2});
    if (nq % d || nkv % d)
      return makeError("node " + n.describe() + ": a head was cut in part");
    setIntAttr(n, "num_heads", nq / d, ctx.rewriter());
    setIntAttr(n, "kv_num_heads", nkv / d, ctx.rewriter());
    return Error::success();
  }
};

} // namespace

std::shared_ptr<const OpHandler> createAttentionHandler() {
  return std::make_shared<AttentionHandler>();
}
std::shared_ptr<const OpHandler> createMultiHeadAttentionHandler() {
  return std::make_shared<MultiHeadAttentionHandler>();
}
std::shared_ptr<const OpHandler> createGroupQueryAttentionHandler() {
  return std::make_shared<GroupQueryAttentionHandler>();
}

} // namespace onnxprune
