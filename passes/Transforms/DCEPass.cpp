//===- DCEPass.cpp - Dead code elimination --------------------------------===//
///
/// \file
/// The `dce` pass: a reverse walk per graph removes dead nodes (a node is
/// visited after all its users in the same graph, so a dead chain goes in
/// one walk), recursing into the subgraphs of live nodes first; then unused
/// initializers go. Repeats until nothing changes.
///
//===----------------------------------------------------------------------===//

#include "passes/Transforms/DCEPass.h"

#include "lib/IR/Rewriter.h"

using namespace llvm;

namespace onnxprune {

namespace {

bool isDead(const Node &n) {
  for (const Value *v : n.getOutputs())
    if (v && (v->hasUses() || v->isGraphOutput()))
      return false;
  return true;
}

void removeDeadNodes(Graph &g, Rewriter &rw) {
  // Snapshot: erasing a node only deletes that node (and its subgraphs),
  // never a sibling still in the list.
  SmallVector<Node *, 32> order;
  for (Node &n : g.getNodes())
    order.push_back(&n);
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    Node *n = *it;
    if (isDead(*n)) {
      rw.eraseNode(n);
      continue;
    }
    // Dead code inside a live node's bodies may release outer values, whose
    // producers come earlier in this graph and are visited next.
    for (Attribute &a : n->getAttrs())
      for (auto &sub : a.graphs)
        removeDeadNodes(*sub, rw);
  }
}

void removeDeadInitializers(Graph &g, Rewriter &rw) {
  SmallVector<Value *, 16> dead;
  for (Value *v : g.getInitializers())
    if (!v->hasUses() && !v->isGraphOutput() && !v->isGraphInput())
      dead.push_back(v);
  for (Value *v : dead)
    rw.eraseInitializer(v);
  for (Node &n : g.getNodes())
    for (Attribute &a : n.getAttrs())
      for (auto &sub : a.graphs)
        removeDeadInitializers(*sub, rw);
}

} // namespace

Expected<PreservedAnalyses> DCEPass::run(Model &m, ModelAnalysisManager &) {
  Rewriter rw(m);
  unsigned before;
  do {
    before = rw.getNumChanges();
    removeDeadNodes(m.getGraph(), rw);
    removeDeadInitializers(m.getGraph(), rw);
  } while (rw.getNumChanges() != before);
  return rw.getNumChanges() == 0 ? PreservedAnalyses::all()
                                 : PreservedAnalyses::none();
}

} // namespace onnxprune
