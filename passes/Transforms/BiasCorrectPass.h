//===- BiasCorrectPass.h - Correct biases after a prune ---------*- C++ -*-===//
///
/// \file
/// `bias-correct`: after prune-width, puts the mean of every output channel
/// of the layers that read pruned activations (and of the layers after
/// them) back to the original model's, measured on the calibration data:
/// b[c] += mean_orig[c] - mean_pruned[c] (StatisticsRepair.h). Where only
/// the removed channels changed this is FLAP's bias compensation, the mean
/// contribution W[:, removed] * E[x_removed] added to the next bias; it
/// also absorbs the shift of convs whose BatchNorm was folded. Works after
/// any criterion; a MatMul without bias gets an Add.
///
/// \code
///   before:  y = MatMul(h', W2')         (h' lost channel 3 of h)
///   after:   y = Add(MatMul(h', W2'), b)  b = W2[3, :] * E[h_3] + shifts
/// \endcode
///
/// Needs --calibration and the original model as a file (not stdin). Does
/// nothing, with a remark, on a model nothing was pruned from.
///
//===----------------------------------------------------------------------===//
#ifndef ONNXPRUNE_PASSES_TRANSFORMS_BIASCORRECTPASS_H
#define ONNXPRUNE_PASSES_TRANSFORMS_BIASCORRECTPASS_H

#include "passes/PassManager.h"

namespace onnxprune {

class BiasCorrectPass {
public:
  /// \p log receives one summary line (not owned; null means llvm::errs()).
  explicit BiasCorrectPass(llvm::raw_ostream *log = nullptr) : log(log) {}
  static llvm::StringRef name() { return "bias-correct"; }
  llvm::Expected<PreservedAnalyses> run(Model &m, ModelAnalysisManager &am);

private:
  llvm::raw_ostream *log;
};

} // namespace onnxprune

#endif // ONNXPRUNE_PASSES_TRANSFORMS_BIASCORRECTPASS_H
