//===- RecurrentHandlers.cpp - LSTM, GRU and RNN --------------------------===//
///
/// \file
/// The recurrent ops keep every gate of every direction in one tensor:
///
///   W[dirs, G*H, in]  R[dirs, G*H, H]  B[dirs, 2*G*H]  P[dirs, 3*H] (LSTM)
///   initial_h / initial_c / Y_h / Y_c [dirs, batch, H]   (layout=1: [batch,
///   dirs, H]) Y [seq, dirs, batch, H]                              (layout=1:
///   [batch, seq, dirs, H])
///
/// with G = 4 (LSTM: i, o, f, c), 3 (GRU: z, r, h) or 1 (RNN). Hidden unit
/// j is one index space: row g*H + j of every gate block of W, R and B
/// (both halves of B), column j of R (the recurrence reads h_j), element
/// g*H + j of P, and the last axis of the states and of Y. Removing it
/// removes a whole cell. The input axis of W is a consumer member: it joins
/// X's last axis, the channel space of whatever feeds the op.
///
///   before: X[T,1,32] W[1,4*16,32] R[1,4*16,16] B[1,8*16] -> Y[T,1,1,16]
///           Y -> ... -> MatMul(., Wd[16,10])
///   remove hidden unit 3:
///   after:  W[1,4*15,32] R[1,4*15,15] B[1,8*15] hidden_size=15
///           Y[T,1,1,15], Wd[15,10]
///
/// Both directions of a bidirectional op share the hidden axis of Y, Y_h
/// and the weights, so a unit goes from both at once. `layout`, `clip`,
/// `input_forget`, GRU's `linear_before_reset` and the activation functions
/// change nothing structural: a removed unit's row and column are gone in
/// every gate, and a masked unit's state reaches nothing (its column of R
/// and its consumers' columns are zero), so masking and pruning agree.
/// Initial states that are zeros by construction (torch's exporter builds
/// them with ConstantOfShape) couple nothing and are dropped when the
/// hidden size changes: an omitted state means zeros. Initial states that
/// are graph inputs, and final states that are graph outputs, are the
/// interface: they pin the hidden units (frozen like any
/// graph input or output), while the layers before and after stay
/// prunable.
///
/// Rewrite: `hidden_size` follows the new unit count. Precondition: the
/// hidden size is static (from the attribute or R's shape); otherwise the
/// op freezes with that reason.
///
//===----------------------------------------------------------------------===//

#include "passes/OpHandlers/OpHandler.h"

#include "lib/IR/Tensor.h"

using namespace llvm;

namespace onnxprune {

namespace {

AxisRef ax(Value *v, int64_t axis) { return {v, (unsigned)axis}; }

/// True when every element of \p t is zero (an unreadable tensor is not).
bool allZero(const Tensor &t) {
  auto vals = readAsDoubles(t);
  if (!vals) {
    consumeError(vals.takeError());
    return false;
  }
  return llvm::all_of(*vals, [](double d) { return d == 0; });
}

/// True when \p v is all zeros by construction: torch's exporter makes the
/// default initial states as `ConstantOfShape(Concat([L*dirs], batch, [H]))`
/// sliced per layer. Such a state is what an omitted one means, so it
/// couples nothing: the rewrite drops it instead of resizing the shape
/// arithmetic that sizes it.
bool isZeroState(const Value *v) {
  for (unsigned depth = 0; v && depth < 8; ++depth) {
    if (v->isWeight())
      return allZero(*v->getWeight());
    const Node *p = v->getProducer();
    if (!p || !p->getDomain().empty())
      return false;
    StringRef op = p->getOpType();
    if (op == "ConstantOfShape") {
      const Attribute *a = p->getAttr("value");
      return !a || (a->tensors.size() == 1 && allZero(*a->tensors[0]));
    }
    // Ops that move or pick elements keep a zero tensor zero.
    if (op != "Slice" && op != "Identity" && op != "Squeeze" &&
        op != "Unsqueeze" && op != "Reshape" && op != "Expand" &&
        op != "Transpose" && op != "Cast" && op != "Gather")
      return false;
    v = p->getInput(0);
  }
  return false;
}

/// The initial-state inputs: initial_h (5) and, for LSTM, initial_c (6).
SmallVector<unsigned, 2> stateInputs(int64_t gates) {
  if (gates == 4)
    return {5, 6};
  return {5};
}

class RecurrentHandler final : public OpHandler {
public:
  explicit RecurrentHandler(int64_t gates) : gates(gates) {}

  void build(const Node &n, CouplingBuilder &b) const override {
    Value *x = n.getInput(0), *w = n.getInput(1), *r = n.getInput(2);
    if (!x || !w || !r || b.rank(x) != 3 || b.rank(w) != 3 || b.rank(r) != 3) {
      b.freezeNode(n, "input or weight rank unknown");
      return;
    }
    int64_t h = n.getIntAttr("hidden_size", -1);
    if (h <= 0)
      h = b.size(ax(r, 2));
    if (h <= 0 || b.size(ax(r, 2)) != h || b.size(ax(w, 1)) != gates * h ||
        b.size(ax(r, 1)) != gates * h) {
      b.freezeNode(n, "hidden size unknown or weights do not match it");
      return;
    }
    // The per-element maps below are 2*G*H long: a declared size no real
    // model has (a fuzzed file) freezes instead of allocating.
    if (h > (int64_t(1) << 24)) {
      b.freezeNode(n, "hidden size too large");
      return;
    }
    AxisRef hidden = ax(r, 2);
    // Row g*H + j of a gate-stacked axis is hidden unit j.
    auto joinGates = [&](Value *v, int64_t axis, int64_t blocks) {
      if (!v)
        return;
      if (b.size(ax(v, axis)) != blocks * h) {
        b.freezeValue(v, &n, "gate axis does not match the hidden size");
        return;
      }
      if (blocks == 1) {
        b.join(ax(v, axis), hidden, n);
        return;
      }
      std::vector<int64_t> map(blocks * h);
      for (int64_t i = 0; i < blocks * h; ++i)
        map[i] = i % h;
      b.joinMap(ax(v, axis), hidden, map, n);
    };
    joinGates(w, 1, gates);
    joinGates(r, 1, gates);
    if (Value *bias = n.getInput(3)) {
      if (b.rank(bias) == 2)
        joinGates(bias, 1, 2 * gates);
      else
        b.freezeValue(bias, &n, "bias rank unknown");
    }
    if (gates == 4)
      if (Value *p = n.getInput(7)) {
        if (b.rank(p) == 2)
          joinGates(p, 1, 3);
        else
          b.freezeValue(p, &n, "peephole rank unknown");
      }
    // The input axis of W reads X's channels.
    b.join(ax(w, 2), ax(x, 2), n);
    // States and outputs: the hidden axis is the last one in both layouts.
    auto joinLast = [&](Value *v, int64_t rank) {
      if (!v)
        return;
      if (b.rank(v) != rank) {
        b.freezeValue(v, &n, "state or output rank unknown");
        return;
      }
      b.join(ax(v, rank - 1), hidden, n);
    };
    for (unsigned i : stateInputs(gates))
      if (!isZeroState(n.getInput(i)))
        joinLast(n.getInput(i), 3);
    joinLast(n.getOutput(0), 4);
    joinLast(n.getOutput(1), 3);
    if (gates == 4)
      joinLast(n.getOutput(2), 3);
  }

  Error rewrite(Node &n, PruneContext &ctx) const override {
    Value *r = n.getInput(2);
    if (!r || !ctx.kept(ax(r, 2)))
      return Error::success();
    ctx.rewriter().setAttr(
        &n, Attribute::ofInt("hidden_size", ctx.newSize(ax(r, 2))));
    // Zero initial states were left out of the group (see isZeroState):
    // omitting them means the same and needs no resized shape arithmetic.
    for (unsigned i : stateInputs(gates))
      if (Value *st = n.getInput(i); st && isZeroState(st) &&
                                     CouplingBuilder::rank(st) == 3 &&
                                     !ctx.kept(ax(st, 2)))
        ctx.rewriter().setInput(&n, i, nullptr);
    return Error::success();
  }

private:
  int64_t gates;
};

} // namespace

std::shared_ptr<const OpHandler> createLSTMHandler() {
  return std::make_shared<RecurrentHandler>(4);
}
std::shared_ptr<const OpHandler> createGRUHandler() {
  return std::make_shared<RecurrentHandler>(3);
}
std::shared_ptr<const OpHandler> createRNNHandler() {
  return std::make_shared<RecurrentHandler>(1);
}

} // namespace onnxprune
