//===- PruneExpertsPass.h - Remove whole experts of MoE blocks --*- C++ -*-===//
///
/// \file
/// `prune-experts<count=N|ratio=R;criterion=...>`: the expert axis of a
/// Mixture-of-Experts block as a unit kind of its own. In every MoE block
/// the pass scores the experts, removes the N lowest (or floor(R * E)) whole
/// experts and rewrites the router to choose among the rest:
///
/// \code
///   before (E = 4, k = 2):                   after removing expert 2:
///     l = MatMul(x, R[H,4])                    l = MatMul(x, R'[H,3])
///     p = Softmax<axis=-1>(l)                  p = Softmax<axis=-1>(l)
///     v, i = TopK<axis=-1>(p, k)               v, i = TopK<axis=-1>(p, k)
///     c = Clip(Reshape(i, [-1]), 0, 3)         c = Clip(Reshape(i, [-1]), 0,
///     2) g = Gather<axis=0>(W[4,2I,H], c)         g =
///     Gather<axis=0>(W'[3,2I,H], c) (dynamo: GatherND(W, Unsqueeze(c, -1)))
///     (W' = W[{0,1,3}], R' = R[:,{0,1,3}])
/// \endcode
///
/// Blocks are found structurally, never by names: a TopK over the last
/// axis of a Softmax over the last axis of a router linear layer (MatMul
/// with a weight [H,E], Gemm with [E,H] or [H,E], an optional bias of E
/// elements, Casts in between), whose indices reach, through ops that keep
/// index values (Reshape, Unsqueeze, Squeeze, Flatten, Cast, Identity) and
/// Clip(0, E-1), only Gather<axis=0> or GatherND<batch_dims=0> (index depth
/// 1) of constant weights with a leading axis of E (the stacked expert
/// weights, through Cast or Identity), or Shape/Size. This is how both
/// torch exporters write transformers' Mixtral-style blocks. Anything else
/// the indices or the router logits reach (a one-hot expert mask, a
/// per-expert loop, a graph output) leaves the block alone with a remark
/// naming the node: the pass never guesses.
///
/// Removing expert e equals, exactly, the original model with e never
/// selected (its router logit at -inf): the softmax over the kept logits is
/// the softmax over all of them with e at probability exp(-inf) = 0, so
/// TopK picks the same experts with the same probabilities, whatever the
/// block does with them next (Mixtral renormalises them over the k picks).
/// The router probabilities must reach nothing but TopK. TopK's k stays, so
/// at least k experts must remain (an error otherwise); Clip bounds of E-1
/// become E'-1. Weights read also outside the block are copied, not
/// changed. Then dce runs.
///
/// Criteria: any criterion that scores units given as weight slices
/// (Criterion::scoreSlices): `magnitude` (Lp norm of each slice an expert's
/// removal cuts, its router row included, reduced with sum|mean|max) and
/// `random` (seeded; block b draws stream b). Ties go to the lower index.
///
/// Prints one line per block and a summary to the log (stderr); a model
/// without an MoE block is left unchanged, with a remark.
///
//===----------------------------------------------------------------------===//
#ifndef ONNXPRUNE_PASSES_TRANSFORMS_PRUNEEXPERTSPASS_H
#define ONNXPRUNE_PASSES_TRANSFORMS_PRUNEEXPERTSPASS_H

#include "passes/Criteria/Criterion.h"
#include "passes/PassManager.h"

#include <string>
#include <vector>

namespace onnxprune {

/// The parameters of prune-experts (see the file comment).
struct PruneExpertsOptions {
  std::string criterion = "magnitude";
  CriterionOptions criterionOptions;
  /// Experts removed per block: count, or floor(ratio * E) when useRatio.
  unsigned count = 0;
  double ratio = 0;
  bool useRatio = false;

  /// Parses the text between `prune-experts<` and `>`.
  static llvm::Expected<PruneExpertsOptions> parse(llvm::StringRef params);
};

/// The registry's PARSE_FN (passes/Pipeline/PassRegistry.def).
inline llvm::Expected<PruneExpertsOptions>
parsePruneExpertsOptions(llvm::StringRef params) {
  return PruneExpertsOptions::parse(params);
}

/// One MoE block as the pass sees it (for tests and tools).
struct MoEBlockInfo {
  std::string topK;    ///< Name of the router's TopK node.
  std::string softmax; ///< Name of the router's Softmax node.
  /// The value the Softmax reads: the router logits (values always have
  /// names; nodes may not).
  std::string routerLogits;
  int64_t numExperts = 0;
  int64_t k = 0;
  std::string routerWeight;
  /// The stacked expert weights, by name (each with the expert axis 0).
  std::vector<std::string> expertWeights;
  /// The experts the pass removes, ascending (planExpertPruning only).
  std::vector<int64_t> removed;
};

/// The MoE blocks of the main graph of \p m that prune-experts can prune, in
/// graph order. Candidates it must leave alone are described, one line
/// each, in \p skipped when given.
std::vector<MoEBlockInfo>
findMoEBlocks(Model &m, std::vector<std::string> *skipped = nullptr);

/// The blocks with the experts prune-experts (with \p opts) removes from
/// each, without changing \p m; the pass's own choice. Fails as the pass
/// does (too few experts left for k, a criterion that cannot score).
llvm::Expected<std::vector<MoEBlockInfo>>
planExpertPruning(Model &m, const PruneExpertsOptions &opts);

class PruneExpertsPass {
public:
  using Options = PruneExpertsOptions;

  /// \p log receives the summary and remarks (not owned; null means
  /// llvm::errs()).
  explicit PruneExpertsPass(Options opts, llvm::raw_ostream *log = nullptr)
      : opts(std::move(opts)), log(log) {}

  static llvm::StringRef name() { return "prune-experts"; }
  llvm::Expected<PreservedAnalyses> run(Model &m, ModelAnalysisManager &am);
  void printPipeline(llvm::raw_ostream &os) const;

private:
  Options opts;
  llvm::raw_ostream *log = nullptr;
};

} // namespace onnxprune

#endif // ONNXPRUNE_PASSES_TRANSFORMS_PRUNEEXPERTSPASS_H
