//===- StatisticsRepair.h - Match pruned outputs to the original -*- C++
//-*-===//
///
/// \file
/// What bias-correct and recalibrate-bn (on models whose BatchNorm was
/// folded into the convs) share: after a prune, the outputs of the linear
/// layers (Conv, Gemm, MatMul with a constant weight) that read changed
/// activations drift from the original model's. Measured on calibration
/// data in both models, each kept output channel c (original channel o,
/// Model::getChannelOrigins) is put back:
///
///   mean only (bias-correct, FLAP's correction generalised: the removed
///   channels' mean contribution and any upstream shift):
///       b[c] += mean_orig[o] - mean_pruned[c]
///   mean and variance (REPAIR, Jordan et al. 2023), folded into W and b:
///       s = std_orig[o] / std_pruned[c];  W[c] *= s;
///       b[c] = s * (b[c] - mean_pruned[c]) + mean_orig[o]
///
/// A MatMul's bias is the constant of the Add that follows it, or a new Add.
/// Layers are repaired level by level (a level's inputs depend on the
/// repairs before it), one calibration run of the pruned model per level
/// and one of the original for all.
///
//===----------------------------------------------------------------------===//
#ifndef ONNXPRUNE_PASSES_TRANSFORMS_STATISTICSREPAIR_H
#define ONNXPRUNE_PASSES_TRANSFORMS_STATISTICSREPAIR_H

#include "passes/Analysis/Calibration.h"

#include "llvm/Support/raw_ostream.h"

namespace onnxprune {

struct RepairSummary {
  unsigned layers = 0; ///< Layers whose outputs were repaired.
  unsigned levels = 0; ///< Calibration runs of the pruned model.
};

/// Repairs the linear layers of \p m downstream of a pruned activation
/// (see the file comment). \p matchVariance: REPAIR; else mean only.
llvm::Expected<RepairSummary>
repairStatistics(Model &m, CalibrationProvider &cal, bool matchVariance);

} // namespace onnxprune

#endif // ONNXPRUNE_PASSES_TRANSFORMS_STATISTICSREPAIR_H
