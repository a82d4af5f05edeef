//===- example_plugin.cpp - An onnx-prune plugin, built out of tree -------===//
///
/// \file
/// Loaded with `onnx-prune -load=libexample_plugin.so` (or
/// onnxprune.load_plugin in Python), it adds:
///
///   * an op handler for com.example.SoftClip, an elementwise activation of
///     a custom domain: its output channels are its input channels, so the
///     convolutions around it can be pruned together;
///   * the criterion `example-stem-l1`: a unit scores the L1 norm of the
///     slice of its producing weight (the first weight member of each of
///     its spaces) alone, not of every weight it touches as `magnitude`
///     does;
///   * the pass `example-count-domains`, which prints how many nodes each
///     op domain has (to stderr) and changes nothing.
///
/// Everything registers through the one entry point, onnxprunePluginInfo,
/// into the registries of the libonnxprune.so the tool runs on.
///
//===----------------------------------------------------------------------===//

#include <onnxprune/Plugin.h>

#include "lib/IR/Graph.h"
#include "lib/IR/Model.h"
#include "lib/IR/Node.h"
#include "lib/IR/Tensor.h"
#include "passes/Criteria/Criterion.h"
#include "passes/OpHandlers/OpHandler.h"
#include "passes/Pipeline/PassBuilder.h"

#include "llvm/Support/raw_ostream.h"

#include <climits>
#include <cmath>
#include <map>
#include <memory>

using namespace onnxprune;

namespace {

/// com.example.SoftClip(x): elementwise, one input, one output.
class SoftClipHandler final : public OpHandler {
public:
  void build(const Node &n, CouplingBuilder &b) const override {
    if (n.getNumInputs() != 1 || n.getNumOutputs() != 1 || !n.getInput(0) ||
        !n.getOutput(0)) {
      b.freezeNode(n, "SoftClip takes one input and one output");
      return;
    }
    joinAllAxes(b, n.getInput(0), n.getOutput(0), n);
  }
};

/// Scores a unit by sum |W[.., i, ..]| over the first weight member of each
/// space it touches (the stem: the weight that produces the channel).
class StemL1Criterion final : public Criterion {
public:
  llvm::StringRef name() const override { return "example-stem-l1"; }

protected:
  llvm::Expected<std::vector<double>>
  computeScores(const DepGraph &dg, unsigned group,
                const CriterionOptions &) const override {
    std::vector<double> scores;
    for (unsigned u : prunableUnitsOf(dg, group)) {
      double score = 0;
      for (auto [space, index] : dg.getUnit(u).elements) {
        const DepGraph::Space &sp = dg.getSpaces()[space];
        if (sp.numWeightMembers == 0)
          continue;
        AxisRef stem = sp.members.front();
        const Tensor &w = *stem.value->getWeight();
        llvm::Expected<std::vector<double>> values = readAsDoubles(w);
        if (!values)
          return values.takeError();
        llvm::ArrayRef<int64_t> dims = w.getDims();
        int64_t inner = 1;
        for (size_t d = stem.axis + 1; d < dims.size(); ++d)
          inner *= dims[d];
        for (size_t j = 0; j < values->size(); ++j)
          if ((int64_t(j) / inner) % dims[stem.axis] == index)
            score += std::fabs((*values)[j]);
      }
      scores.push_back(score);
    }
    return scores;
  }
};

/// Counts the main graph's nodes by domain ("" is ai.onnx).
class CountDomainsPass {
public:
  static llvm::StringRef name() { return "example-count-domains"; }
  llvm::Expected<PreservedAnalyses> run(Model &m, ModelAnalysisManager &) {
    std::map<std::string, unsigned> counts;
    for (const Node &n : m.getGraph().getNodes())
      ++counts[n.getDomain().empty() ? "ai.onnx" : n.getDomain()];
    for (auto &[domain, count] : counts)
      llvm::errs() << "example-count-domains: " << domain << ": " << count
                   << "\n";
    return PreservedAnalyses::all();
  }
};

void registerPasses(PassBuilder &pb) {
  pb.registerPipelineParsingCallback(
      [](llvm::StringRef name, llvm::StringRef params,
         ModelPassManager &mpm) -> llvm::Expected<bool> {
        if (name != CountDomainsPass::name())
          return false;
        if (!params.empty())
          return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                         "example-count-domains takes no "
                                         "parameters");
        mpm.addPass(CountDomainsPass());
        return true;
      },
      {CountDomainsPass::name().str()});
}

void registerExample() {
  registerOpHandler("com.example", "SoftClip", 1, INT_MAX,
                    std::make_shared<SoftClipHandler>());
  registerCriterion(
      "example-stem-l1", [] { return std::make_unique<StemL1Criterion>(); },
      "L1 norm of the producing weight's slice (example plugin)");
}

} // namespace

extern "C" ONNXPRUNE_PLUGIN_EXPORT onnxprune::PluginInfo onnxprunePluginInfo() {
  return {ONNXPRUNE_PLUGIN_API_VERSION, "example-plugin", "1.0",
          registerExample, registerPasses};
}
