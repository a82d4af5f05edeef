//===- FoldShapesPass.h - Fold static shape computations ---------*- C++
//-*-===//
///
/// \file
/// `fold-shapes`: replaces a shape operand computed at run time (Shape ->
/// Gather -> Unsqueeze -> Concat ...) by a constant initializer when every
/// element of its value is a static int. Dynamic dims (a symbolic batch or
/// sequence length) keep the chain as it is: folding them would pin the
/// model to one input size. The chain itself is left for `dce`.
///
/// \code
///   before:                                  after (x: float[2,8,32]):
///     s = Shape(x)                             y = Reshape(x, c')
///     c = Concat(Gather(s, 0), Gather(s, 1),   c' = int64[4] {2, 8, 4, 8}
///                [4], [8])
///     y = Reshape(x, c)
/// \endcode
///
/// Operands folded: Reshape/Expand/Tile/Slice/Pad/Resize/ConstantOfShape/
/// Range/Squeeze/Unsqueeze/ReduceXxx/Split integer inputs past the data
/// input, i.e. every non-data int64/int32 operand of rank <= 1.
///
//===----------------------------------------------------------------------===//
#ifndef ONNXPRUNE_PASSES_TRANSFORMS_FOLDSHAPESPASS_H
#define ONNXPRUNE_PASSES_TRANSFORMS_FOLDSHAPESPASS_H

#include "passes/PassManager.h"

namespace onnxprune {

class FoldShapesPass {
public:
  static llvm::StringRef name() { return "fold-shapes"; }
  llvm::Expected<PreservedAnalyses> run(Model &m, ModelAnalysisManager &am);
};

} // namespace onnxprune

#endif // ONNXPRUNE_PASSES_TRANSFORMS_FOLDSHAPESPASS_H
