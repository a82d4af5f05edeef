//===- PruneRecord.h - What the pruning passes decided, for reports -*- C++
//-*-===//
///
/// \file
/// The HTML report (lib/Report) shows why a model lost what it lost: every
/// group's score distribution with the cut, and the residual units that
/// drop-layers dropped. Those numbers exist only inside the passes while
/// they run, so a caller that wants them registers a PruneRecordAnalysis
/// holding a PruneRecord, and prune-width and drop-layers append what they
/// decided to it, as calibration and latency providers are injected
/// (Calibration.h, Latency.h). Without one registered (the default) the
/// passes record nothing and pay nothing.
///
//===----------------------------------------------------------------------===//
#ifndef ONNXPRUNE_PASSES_TRANSFORMS_PRUNERECORD_H
#define ONNXPRUNE_PASSES_TRANSFORMS_PRUNERECORD_H

#include "passes/PassManager.h"
#include "passes/Transforms/PrunePlan.h"

#include <memory>
#include <string>
#include <vector>

namespace onnxprune {

/// One residual unit as drop-layers saw it.
struct DepthCandidate {
  std::string unit; ///< Its id (ResidualUnits.h).
  std::string kind; ///< "attn", "mlp", "block".
  uint64_t params = 0;
  bool dropped = false;
  double score = 0; ///< Dropped units only.
  /// Why it could not be dropped ("" when it could).
  std::string blocker;
};

/// The decisions of the passes of one pipeline run, in pass order.
struct PruneRecord {
  /// One prune-width run: its plan, whose `scores` hold every candidate's
  /// score (empty for a replayed plan: then only the removed units'
  /// scores are known, from `groups`).
  std::vector<PrunePlan> width;
  /// One drop-layers run.
  struct DepthRun {
    std::string pass, criterion, budget;
    std::vector<DepthCandidate> units; ///< Every residual unit, in order.
  };
  std::vector<DepthRun> depth;
};

/// Holds the record the passes append to (null: record nothing).
class PruneRecordAnalysis {
public:
  using Result = PruneRecord *;
  static inline AnalysisKey Key;
  static llvm::StringRef name() { return "prune-record"; }
  PruneRecordAnalysis() = default;
  explicit PruneRecordAnalysis(std::shared_ptr<PruneRecord> r)
      : record(std::move(r)) {}
  llvm::Expected<Result> run(const Model &, ModelAnalysisManager &) {
    return record.get();
  }

private:
  std::shared_ptr<PruneRecord> record;
};

/// The record registered in \p am, or null.
inline PruneRecord *getPruneRecord(const Model &m, ModelAnalysisManager &am) {
  auto r = am.getResult<PruneRecordAnalysis>(m);
  if (!r) {
    llvm::consumeError(r.takeError());
    return nullptr;
  }
  return *r;
}

} // namespace onnxprune

#endif // ONNXPRUNE_PASSES_TRANSFORMS_PRUNERECORD_H
