//===- DepGroupsAnalysis.h - The dep-groups analysis ------------*- C++ -*-===//
///
/// \file
/// Caches the dependency groups (DepGraph) of a model for the pass manager;
/// print<dep-groups> prints every group with its members and units, every
/// space that cannot be pruned with the reason, and a coverage summary.
///
//===----------------------------------------------------------------------===//
#ifndef ONNXPRUNE_PASSES_ANALYSIS_DEPGROUPSANALYSIS_H
#define ONNXPRUNE_PASSES_ANALYSIS_DEPGROUPSANALYSIS_H

#include "passes/Analysis/DepGraph.h"
#include "passes/PassManager.h"

namespace onnxprune {

class DepGroupsAnalysis {
public:
  using Result = DepGraph;
  static inline AnalysisKey Key;
  static llvm::StringRef name() { return "dep-groups"; }
  llvm::Expected<DepGraph> run(const Model &m, ModelAnalysisManager &) {
    return buildDepGraph(m);
  }
};

/// The groups with hidden-size pruning on (DepGraphOptions::hidden), for
/// prune-width<hidden> and print<dep-groups-hidden>.
class DepGroupsHiddenAnalysis {
public:
  using Result = DepGraph;
  static inline AnalysisKey Key;
  static llvm::StringRef name() { return "dep-groups-hidden"; }
  llvm::Expected<DepGraph> run(const Model &m, ModelAnalysisManager &) {
    DepGraphOptions opts;
    opts.hidden = true;
    return buildDepGraph(m, opts);
  }
};

} // namespace onnxprune

#endif // ONNXPRUNE_PASSES_ANALYSIS_DEPGROUPSANALYSIS_H
