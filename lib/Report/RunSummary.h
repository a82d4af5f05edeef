//===- RunSummary.h - What a pipeline run did to a model --------*- C++ -*-===//
///
/// \file
/// The facts every report of a run shows (the library's Report struct and
/// JSON, the tool's and library's HTML/SVG report): sizes before and
/// after, nodes and weights removed or sliced, the width of every prunable
/// group before and after, the frozen spaces with their reasons, and what
/// the pruning passes decided (PruneRecord: scores and cuts, depth units).
///
/// A ReportCollector is started on the model before the pipeline runs (it
/// snapshots the groups), registered with the analysis manager (so the
/// passes record into it), and finished on the model afterwards.
///
/// \code
///   auto rc = ReportCollector::start(model);   // before
///   rc->registerWith(mam);
///   mpm.run(model, mam);
///   RunSummary s = rc->finish(model, pipelineText);
/// \endcode
///
//===----------------------------------------------------------------------===//
#ifndef ONNXPRUNE_LIB_REPORT_RUNSUMMARY_H
#define ONNXPRUNE_LIB_REPORT_RUNSUMMARY_H

#include "lib/IR/Model.h"
#include "passes/Analysis/StatsAnalysis.h"
#include "passes/PassManager.h"
#include "passes/Transforms/PruneRecord.h"

#include "llvm/Support/Error.h"

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace onnxprune {

/// One prunable group: its root (the first matrix or filter of its first
/// space) and that axis' width before and after (0: the tensor is gone).
struct GroupWidthRow {
  unsigned group = 0;
  std::string tensor;
  /// The layer it is: the first node that reads the root ("" if none).
  std::string layer;
  unsigned axis = 0;
  int64_t unitWidth = 1;
  int64_t before = 0, after = 0;
};

/// A space with weights that cannot be pruned, and why.
struct FrozenSpaceRow {
  std::string weight; ///< Its first weight member.
  unsigned axis = 0;
  int64_t size = 0;
  std::string op, rule, node;
};

struct RunSummary {
  std::string title;    ///< What the report is about (a file name).
  std::string pipeline; ///< Canonical form.
  ModelStats before, after;
  std::vector<std::string> removedNodes;   ///< In original order.
  std::vector<std::string> removedWeights; ///< By name.
  struct Sliced {
    std::string tensor;
    std::vector<int64_t> before, after;
  };
  std::vector<Sliced> slicedWeights;  ///< By name.
  std::vector<GroupWidthRow> groups;  ///< Group order.
  std::vector<FrozenSpaceRow> frozen; ///< Space order.
  /// Frozen spaces by cause, and ops without a handler (DepGraph's).
  std::vector<std::pair<std::string, unsigned>> freezeCounts, unhandledOps;
  PruneRecord record;
  /// The first node that read each main-graph weight before the run, to
  /// name groups after layers.
  std::map<std::string, std::string> readerOf;
};

class ReportCollector {
public:
  /// Snapshots \p m before a pipeline runs on it. Fails when its groups
  /// cannot be built.
  static llvm::Expected<ReportCollector> start(Model &m);
  /// Lets the passes run by \p mam record their decisions here.
  void registerWith(ModelAnalysisManager &mam) const;
  /// Compares \p m, after the pipeline, with the snapshot.
  RunSummary finish(const Model &m, std::string pipeline) const;

private:
  ReportCollector() = default;
  std::vector<std::string> nodes;
  std::vector<std::pair<std::string, std::vector<int64_t>>> weights;
  RunSummary base; ///< What is known before: stats, groups, frozen spaces.
  std::shared_ptr<PruneRecord> record = std::make_shared<PruneRecord>();
};

} // namespace onnxprune

#endif // ONNXPRUNE_LIB_REPORT_RUNSUMMARY_H
