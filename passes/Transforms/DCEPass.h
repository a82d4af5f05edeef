//===- DCEPass.h - Dead code elimination ------------------------*- C++ -*-===//
///
/// \file
/// `dce`: removes nodes none of whose outputs is used (by any node, in this
/// graph or in a subgraph that captures the value) or is a graph output,
/// and initializers nobody reads that are not graph inputs. Runs to a
/// fixpoint, so whole dead chains disappear, and also cleans subgraph
/// bodies. Graph inputs are never removed: the model keeps its interface.
///
/// \code
///   before:                          after:
///     t = Relu(x)      (t unused)      y = Sigmoid(x)
///     y = Sigmoid(x)                   graph outputs: y
///     initializer W    (W unused)
///     graph outputs: y
/// \endcode
///
/// All ONNX ops are side-effect free, so a node whose results nobody reads
/// is dead whatever its op or domain. Returns PreservedAnalyses::all() when
/// nothing was removed.
///
//===----------------------------------------------------------------------===//
#ifndef ONNXPRUNE_PASSES_TRANSFORMS_DCEPASS_H
#define ONNXPRUNE_PASSES_TRANSFORMS_DCEPASS_H

#include "passes/PassManager.h"

namespace onnxprune {

class DCEPass {
public:
  static llvm::StringRef name() { return "dce"; }
  llvm::Expected<PreservedAnalyses> run(Model &m, ModelAnalysisManager &am);
};

} // namespace onnxprune

#endif // ONNXPRUNE_PASSES_TRANSFORMS_DCEPASS_H
