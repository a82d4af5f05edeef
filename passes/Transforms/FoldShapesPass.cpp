//===- FoldShapesPass.cpp - Fold static shape computations ----------------===//
///
/// \file
/// The `fold-shapes` pass: one walk over the main graph; each shape operand
/// that is computed (not already a weight) and evaluates to static ints
/// becomes a new initializer. Values are evaluated with the types the model
/// has now, so running it after prune-width folds the pruned sizes.
///
//===----------------------------------------------------------------------===//

#include "passes/Transforms/FoldShapesPass.h"

#include "passes/OpHandlers/ShapeValues.h"

#include "lib/IR/Rewriter.h"
#include "lib/IR/Tensor.h"

#include <cstring>

using namespace llvm;

namespace onnxprune {

namespace {

/// Ops whose operands past the first are shape-like parameters.
bool takesShapeOperands(const Node &n) {
  if (!n.getDomain().empty())
    return false;
  StringRef op = n.getOpType();
  return op == "Reshape" || op == "Expand" || op == "Tile" || op == "Slice" ||
         op == "Pad" || op == "Resize" || op == "ConstantOfShape" ||
         op == "Range" || op == "Squeeze" || op == "Unsqueeze" ||
         op == "Split" || op.startswith("Reduce");
}

/// Operands that are data, never folded (ConstantOfShape's input is its
/// shape: first operand; Range's are all scalars).
unsigned firstShapeOperand(const Node &n) {
  StringRef op = n.getOpType();
  return op == "ConstantOfShape" || op == "Range" ? 0 : 1;
}

} // namespace

Expected<PreservedAnalyses> FoldShapesPass::run(Model &m,
                                                ModelAnalysisManager &) {
  Rewriter rw(m);
  Graph &g = m.getGraph();
  ShapeValueEvaluator ev;
  unsigned folded = 0;
  for (Node &n : g.getNodes()) {
    if (!takesShapeOperands(n))
      continue;
    for (unsigned i = firstShapeOperand(n); i < n.getNumInputs(); ++i) {
      Value *v = n.getInput(i);
      if (!v || v->isWeight() || !v->getProducer())
        continue;
      const Type &t = v->getType();
      if (!t.isTensor() || t.rank() > 1 ||
          (t.elemType != DataType::Int64 && t.elemType != DataType::Int32))
        continue;
      std::optional<std::vector<int64_t>> vals = ev.evaluateInts(v);
      if (!vals)
        continue;
      // Keep the value's own element type and rank (a scalar stays one).
      bool scalar = t.rank() == 0;
      if (scalar && vals->size() != 1)
        continue;
      SmallVector<int64_t, 1> dims;
      if (!scalar)
        dims.push_back(vals->size());
      std::string bytes;
      if (t.elemType == DataType::Int32) {
        bytes.resize(vals->size() * 4);
        for (size_t k = 0; k < vals->size(); ++k) {
          int32_t x = (int32_t)(*vals)[k];
          std::memcpy(&bytes[4 * k], &x, 4);
        }
      } else {
        bytes.assign(reinterpret_cast<const char *>(vals->data()),
                     vals->size() * 8);
      }
      auto tensor =
          std::make_unique<Tensor>(v->getName() + "_folded", t.elemType, dims);
      tensor->setData(dims, std::move(bytes));
      Value *w = rw.createWeight(g, std::move(tensor));
      rw.setInput(&n, i, w);
      ++folded;
    }
  }
  return folded ? PreservedAnalyses::none() : PreservedAnalyses::all();
}

} // namespace onnxprune
