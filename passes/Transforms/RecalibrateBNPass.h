//===- RecalibrateBNPass.h - Re-estimate BatchNorm statistics ---*- C++ -*-===//
///
/// \file
/// `recalibrate-bn`: re-estimates the running mean and variance of every
/// BatchNormalization node from the calibration data, in place. After a
/// prune, the channels a BN sees are sums over fewer inputs, so the
/// statistics the model was trained with are wrong; measured once on
/// real data they are right again, and most of the lost accuracy comes
/// back without training (Torch-Pruning's BN re-estimation).
///
/// \code
///   before:  y = BatchNormalization(x, scale, B, mean, var)  mean = [0.3, ..]
///   after:   the same node; mean = E[x] per channel, var = Var[x]
///            (population), over every sample and position of the data
/// \endcode
///
/// A BN's input depends on the BNs before it, so the statistics are taken
/// level by level: level k holds the BNs with k BNs on their longest path
/// from the inputs, and one calibration run updates a whole level with the
/// levels before it already updated. A mean or variance tensor shared with
/// another node gets a copy of its own first. In a model without BatchNorm
/// nodes (BN folded into the convs by the exporter) that was pruned in
/// this run, each kept output channel of the layers downstream of the
/// prune gets the mean and variance it had in the original model instead,
/// folded into its weights and bias (REPAIR, StatisticsRepair.h). Needs
/// --calibration=PATH.
///
//===----------------------------------------------------------------------===//
#ifndef ONNXPRUNE_PASSES_TRANSFORMS_RECALIBRATEBNPASS_H
#define ONNXPRUNE_PASSES_TRANSFORMS_RECALIBRATEBNPASS_H

#include "passes/PassManager.h"

namespace onnxprune {

class RecalibrateBNPass {
public:
  /// \p log receives one summary line (not owned; null means llvm::errs()).
  explicit RecalibrateBNPass(llvm::raw_ostream *log = nullptr) : log(log) {}
  static llvm::StringRef name() { return "recalibrate-bn"; }
  llvm::Expected<PreservedAnalyses> run(Model &m, ModelAnalysisManager &am);

private:
  llvm::raw_ostream *log;
};

} // namespace onnxprune

#endif // ONNXPRUNE_PASSES_TRANSFORMS_RECALIBRATEBNPASS_H
