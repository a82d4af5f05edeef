//===- UntieWeights.cpp - One logical copy of a merged weight per reader --===//

#include "lib/IR/UntieWeights.h"
#include "lib/IR/Rewriter.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SmallVector.h"

using namespace llvm;

namespace onnxprune {

namespace {

/// Integer vectors are shape data (pads, axes, target shapes): they never
/// form channel groups, so sharing them couples nothing.
bool mayCouple(const Tensor &t) {
  DataType dt = t.getDataType();
  if (dt == DataType::String || dt == DataType::Bool)
    return false;
  bool shapeInt = dt == DataType::Int64 || dt == DataType::Int32;
  return !(shapeInt && t.getDims().size() <= 1);
}

} // namespace

unsigned untieSharedSplats(Model &m) {
  Rewriter rw(m);
  unsigned group = 0, copies = 0;
  m.forEachGraph([&](Graph &g) {
    SmallVector<Value *, 64> inits(g.getInitializers().begin(),
                                   g.getInitializers().end());
    for (Value *v : inits) {
      if (v->getUses().size() < 2 || v->isGraphInput() || v->isGraphOutput() ||
          !mayCouple(*v->getWeight()))
        continue;
      if (any_of(v->getUses(),
                 [&](const Use &u) { return u.user->getGraph() != &g; }))
        continue;
      // Last: reading the bytes maps external data.
      if (!v->getWeight()->isSplat())
        continue;
      SmallVector<Use, 8> uses(v->getUses().begin(), v->getUses().end());
      v->tieGroup = ++group;
      for (const Use &u : drop_begin(uses)) {
        Value *c = rw.createWeight(g, v->getWeight()->clone(v->getName()));
        c->setType(v->getType());
        c->tieGroup = group;
        rw.setInput(u.user, u.operandIndex, c);
        ++copies;
      }
    }
  });
  return copies;
}

} // namespace onnxprune
