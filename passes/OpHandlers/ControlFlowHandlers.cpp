//===- ControlFlowHandlers.cpp - If and Loop across their subgraphs -------===//
///
/// \file
/// Groups cross subgraph boundaries. buildDepGraph runs the handlers of the
/// nodes inside an If branch or a Loop body before the op's own handler; a
/// value a branch reads from an enclosing graph is the same Value inside
/// (use lists span scopes), so those joins need nothing here. What these
/// handlers add is the boundary itself:
///
///   If: output i is then_branch output i or else_branch output i, so the
///   three join axis by axis.
///     before: x -> If(c){ then: Conv(x, Wt[64,..]) -> Relu -> yt
///                          else: Conv(x, We[64,..]) -> Relu -> ye } -> y
///             y -> Conv(., Wn[8,64,..])
///     remove channel 5 of y's space: Wt[63,..], We[63,..], Wn[8,63,..]
///   Branch outputs of different ranks (exporters' `Squeeze` in one branch,
///   `Identity` in the other) cannot be matched axis by axis: frozen, with
///   the If named.
///
///   Loop: loop-carried value k is one value in four places, the initial
///   value (input 2+k), the body's input 2+k and output 1+k, and the Loop's
///   output k; they join axis by axis. Scan output j (body output 1+N+j)
///   stacks one body output per iteration: body axis i is Loop output
///   N+j's axis i+1. The trip count, the condition and the iteration number
///   are scalars.
///
/// Pruning slices the weights inside branches and bodies in place (they are
/// group members like any other) and shrinks the value types there; these
/// ops have no attribute that counts channels, so there is nothing to
/// rewrite. Precondition: ranks known (shape inference gives If outputs the
/// union of the branch types and Loop bodies their carried types).
///
//===----------------------------------------------------------------------===//

#include "passes/OpHandlers/OpHandler.h"

using namespace llvm;

namespace onnxprune {

namespace {

const Graph *subgraph(const Node &n, StringRef name) {
  const Attribute *a = n.getAttr(name);
  return a && a->graphs.size() == 1 ? a->graphs[0].get() : nullptr;
}

/// Joins \p outer with \p inner axis by axis, \p inner's axis i being
/// \p outer's axis i + \p shift; freezes all when the ranks do not fit.
void joinAcross(CouplingBuilder &b, Value *outer, Value *inner, unsigned shift,
                const Node &n, StringRef rule) {
  int64_t ro = b.rank(outer), ri = b.rank(inner);
  if (!outer || !inner)
    return;
  if (ro < 0 || ri < 0 || ro != ri + shift) {
    b.freezeValue(outer, &n, rule);
    b.freezeValue(inner, &n, rule);
    return;
  }
  for (int64_t i = 0; i < ri; ++i)
    b.join({outer, (unsigned)(i + shift)}, {inner, (unsigned)i}, n);
}

class IfHandler final : public OpHandler {
public:
  void build(const Node &n, CouplingBuilder &b) const override {
    const Graph *thenG = subgraph(n, "then_branch");
    const Graph *elseG = subgraph(n, "else_branch");
    if (!thenG || !elseG) {
      b.freezeNode(n, "branches missing");
      return;
    }
    for (unsigned i = 0; i < n.getNumOutputs(); ++i) {
      Value *y = n.getOutput(i);
      if (!y)
        continue;
      if (i >= thenG->getOutputs().size() || i >= elseG->getOutputs().size()) {
        b.freezeValue(y, &n, "no matching branch output");
        continue;
      }
      Value *t = thenG->getOutputs()[i], *e = elseG->getOutputs()[i];
      // All three or nothing: pruning one branch's output alone would make
      // the branches disagree on the If's output type.
      int64_t r = b.rank(y);
      if (r < 0 || b.rank(t) != r || b.rank(e) != r) {
        StringRef rule =
            b.rank(t) >= 0 && b.rank(e) >= 0 && b.rank(t) != b.rank(e)
                ? "branch outputs differ in rank"
                : "branch output rank unknown";
        b.freezeValue(y, &n, rule);
        b.freezeValue(t, &n, rule);
        b.freezeValue(e, &n, rule);
        continue;
      }
      joinAcross(b, y, t, 0, n, "branch output rank unknown");
      joinAcross(b, y, e, 0, n, "branch output rank unknown");
    }
  }
};

class LoopHandler final : public OpHandler {
public:
  void build(const Node &n, CouplingBuilder &b) const override {
    const Graph *body = subgraph(n, "body");
    if (!body) {
      b.freezeNode(n, "body missing");
      return;
    }
    ArrayRef<Value *> ins = body->getInputs(), outs = body->getOutputs();
    unsigned numCarried = n.getNumInputs() > 2 ? n.getNumInputs() - 2 : 0;
    if (ins.size() != numCarried + 2 || outs.size() < numCarried + 1) {
      b.freezeNode(n, "body inputs and outputs do not match the loop");
      return;
    }
    const char *rule = "loop-carried value changes rank or size";
    for (unsigned k = 0; k < numCarried; ++k) {
      Value *init = n.getInput(2 + k);
      joinAcross(b, init, ins[2 + k], 0, n, rule);
      joinAcross(b, init, outs[1 + k], 0, n, rule);
      joinAcross(b, init, n.getOutput(k), 0, n, rule);
    }
    for (unsigned j = numCarried; j < n.getNumOutputs(); ++j) {
      Value *y = n.getOutput(j);
      if (1 + j >= outs.size()) {
        if (y)
          b.freezeValue(y, &n, "no matching body output");
        continue;
      }
      joinAcross(b, y, outs[1 + j], 1, n, "scan output rank unknown");
      // The stacking axis counts iterations, never channels.
      if (b.rank(y) > 0)
        b.freeze({y, 0}, &n, "iteration axis");
    }
  }
};

} // namespace

std::shared_ptr<const OpHandler> createIfHandler() {
  return std::make_shared<IfHandler>();
}
std::shared_ptr<const OpHandler> createLoopHandler() {
  return std::make_shared<LoopHandler>();
}

} // namespace onnxprune
