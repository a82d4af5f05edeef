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
  llvm::Expected<DepGraph> run(Model &m, ModelAnalysisManager &) {
    return buildDepGraph(m);
  }
};

} // namespace onnxprune

#endif // ONNXPRUNE_PASSES_ANALYSIS_DEPGROUPSANALYSIS_H
