//===- PruneWidthPass.h - Structured width pruning --------------*- C++ -*-===//
///
/// \file
/// `prune-width`: scores the prunable units of every dependency group with a
/// criterion, chooses which go under a budget, records the choice as a plan
/// (PrunePlan.h), removes the units with applyPruning and cleans up with
/// dce. Parameters (defaults first):
///
///   criterion=magnitude|random|wanda|amp|obs|obspa|...  scorer, by
///                  registry name (Criteria.def); it reads its own keys
///                  (magnitude: p, reduce, normalize; random: seed; obs:
///                  lambda, compensate...; docs/criteria.md), and an unknown
///                  key is an error listing the valid ones
///   budget, exactly one of:
///     ratio=R      remove units until at most (1 - R) x the ORIGINAL
///                  model's parameters remain: all of them, frozen ones
///                  too, counted as the framework counts them
///                  (StatsAnalysis.h: masks, RoPE tables, BatchNorm
///                  statistics and other buffers are not parameters)
///     flops=R      the same with the estimated FLOPs
///     per-group=R  remove floor(R * units) of every prunable group
///     threshold=T  remove every unit scoring <= T (after normalisation)
///   The original is the model the pipeline started from (Model::original,
///   recorded by originalCounts(): the tool records the file as read; a
///   library user's first prune-width records the model it is given), not
///   the model this pass receives: in `drop-layers<ratio=0.1>,
///   prune-width<ratio=0.3>` prune-width removes only what is still needed
///   for 70% of the original to remain, not 30% of what drop-layers left
///   (which would leave 63%). When earlier passes removed enough already,
///   the pass removes nothing (the criterion does not run) and says so in a
///   remark. per-group and threshold do not depend on the original.
///   global|uniform  ratio/flops only. global (default): one ranking of all
///                  units of all groups, lowest first, until the budget is
///                  met. uniform: the smallest fraction f removed from every
///                  group (floor(f * units)) that meets the budget.
///   round-to=auto|N  every pruned group keeps a multiple of N channels of
///                  each weight axis it spans (at least N): a channel group
///                  keeps a multiple of N units, a group of 64-channel heads
///                  any number of heads (64 is a multiple of 8), 4-channel
///                  heads under round-to=8 an even number; a depthwise
///                  conv's group count is its channel count, so it rounds
///                  too, and a grouped conv's unit is one channel in every
///                  group (the group count never changes). The kept count
///                  rounds up, so a group removes less. auto (default):
///                  N = 16 for groups whose width is a multiple of 16, 8
///                  for other multiples of 8, no rounding for the rest
///                  (autoQuantum); a grouped conv's channels per group
///                  round to 16 when they were a multiple of 16 and not
///                  at all below (autoGroupedQuantum; docs/latency.md has
///                  the measurements). An
///                  explicit N that is not a multiple of 8 warns when it leaves
///                  such widths.
///   latency=R      a budget too: prune until the model's latency in ONNX
///                  Runtime is at most R x the original's (see
///                  docs/latency.md): units go by least score per
///                  millisecond saved, predicted from a per-layer table
///                  (Conv/MatMul/Gemm timed alone at each width); each
///                  attempt (a plan from the original to a predicted
///                  target) is tried on a copy and measured against the
///                  original (interleaved), the target searched from both
///                  sides of the budget (at most 6 attempts) until a plan
///                  measures within 0.93-1.00 x R; the closest plan under
///                  the budget is applied once (plan-out records it).
///                  Needs a runtime (the tool's or the library's build with
///                  ORT) unless the table is pinned.
///   latency-threads=N  intra-op threads of those timings (0: all cores;
///                  default 1)
///   latency-table=PATH  the per-layer table: loaded when the file exists
///                  (pinned: nothing is timed, the chosen attempt's target
///                  replayed, the same output every time), else measured
///                  and saved
///                  there; without it nothing is written
///   max-per-group=R  no group loses more than floor(R * units); default 0.9;
///                  every group and every axis keeps at least one unit
///   protect=REGEX  units of a space holding a weight whose name, or the
///                  name of a node reading it, contains a match (searched,
///                  as grep does; anchor with ^ and $) stay: a protected
///                  weight is left exactly as it was
///   plan-out=PATH  write the plan (JSON)
///   plan-in=PATH   apply a saved plan instead of scoring (no criterion or
///                  budget parameters then)
///
/// Costs. A group's units are counted with all its units (prunable or not).
/// Parameters and FLOPs removed are tracked exactly under a multilinear
/// model: a weight's elements scale with kept/size along each of its
/// channel axes (exact), and a node's FLOPs (StatsAnalysis conventions)
/// scale with kept/size of every distinct channel space its inputs and
/// outputs touch (exact for Conv, Gemm, MatMul, elementwise and norms; a
/// bias add counts with its node). When the budget cannot be met, the pass
/// removes what it can and warns on stderr with how much was possible.
///
/// Prints one summary line to the log (stderr): units removed, params and
/// FLOPs before -> after, each with the share of the original that remains:
///
///   prune-width: removed 3 units in 2 groups; params 1000 -> 700 (70.0% of
///   the original 1000), FLOPs 5000 -> 3600 (72.0% of the original 5000)
///
/// Returns PreservedAnalyses::all() when it removed nothing. A plan
/// (plan-out) records the chosen units, so plan-in replays it exactly
/// without any budget, whatever ran before.
///
//===----------------------------------------------------------------------===//
#ifndef ONNXPRUNE_PASSES_TRANSFORMS_PRUNEWIDTHPASS_H
#define ONNXPRUNE_PASSES_TRANSFORMS_PRUNEWIDTHPASS_H

#include "passes/Analysis/DepGraph.h"
#include "passes/Criteria/Criterion.h"
#include "passes/PassManager.h"
#include "passes/Transforms/PrunePlan.h"

#include <string>

namespace onnxprune {

enum class PruneBudget { None, Ratio, Flops, PerGroup, Threshold, Latency };

class LatencyProvider;
class LatencyTable;
struct LatencyOptions;

/// The parameters of prune-width (see the file comment).
struct PruneWidthOptions {
  std::string criterion = "magnitude";
  CriterionOptions criterionOptions;
  /// The criterion's own parameters as text ("lambda=0.01;compensate"):
  /// what makeCriterion() configures it from (CriterionOptions aside).
  std::string criterionParams;
  PruneBudget budget = PruneBudget::None;
  double amount = 0; ///< R or T of the budget.
  bool uniform = false;
  /// round-to=N, or 0 for auto (the default: autoQuantum).
  unsigned roundTo = 0;
  double maxPerGroup = 0.9;
  std::string protect;
  std::string planOut;
  std::string planIn;
  /// Hidden-size pruning: groups from dep-groups-hidden (the residual
  /// stream through the norms, DepGraphOptions::hidden). Norms whose axis
  /// carries no skip connection prune without it.
  bool hidden = false;
  /// round-to was given (the slow-width warning is for explicit choices).
  bool roundToGiven = false;
  /// latency=R: intra-op threads of the timing sessions (0: all cores).
  unsigned latencyThreads = 1;
  /// latency=R: the per-layer table to load (when the file exists) or save.
  std::string latencyTable;

  /// Parses the text between `prune-width<` and `>`.
  static llvm::Expected<PruneWidthOptions> parse(llvm::StringRef params);
  /// A new criterion object, configured from criterionParams.
  llvm::Expected<std::unique_ptr<Criterion>> makeCriterion() const;
  /// The budget as parameter text: "ratio=0.3;global;round-to=8".
  std::string budgetText() const;
};

/// Channels one unit of group \p g holds on the pruned axis: the fewest
/// elements it has in any space with a weight member, combined over the
/// prunable units by gcd. A channel: 1; a head of d channels: d (the heads
/// axis of a [B, h, S, d] activation holds no weight, so it does not make
/// it 1); a GQA unit: d (its K/V projection columns); a grouped conv's unit
/// (one channel in each of g groups): g.
int64_t channelsPerUnit(const DepGraph &dg, unsigned g);

/// Units per rounding step of a group whose unit holds \p channels
/// channels: k kept units are a multiple of \p roundTo channels when k is a
/// multiple of roundTo / gcd(roundTo, channels). round-to=8 on 64-channel
/// heads: 1; on channels: 8; on 4-channel heads: 2.
int64_t roundingQuantum(unsigned roundTo, int64_t channels);

/// round-to=auto, the default: a group of \p units units of \p channels
/// channels whose width is a multiple of 16 keeps a multiple of 16
/// channels, one whose width is a multiple of 8 a multiple of 8; any other
/// group is not rounded. Chosen from measurement (docs/latency.md): ORT's
/// CPU convs run NCHWc blocks of 16 channels (AVX-512) or 8 (AVX2), and a
/// width off the blocks falls to slower kernels.
int64_t autoQuantum(int64_t units, int64_t channels);

/// The channels per conv group of group \p g when its units are one
/// channel in every group of a grouped conv (Conv with group > 1 and more
/// than one channel per group: not depthwise), i.e. its unit count; 0 when
/// it spans no such conv.
int64_t groupedConvWidth(const DepGraph &dg, unsigned g);

/// round-to=auto for a group of grouped-conv units (groupedConvWidth):
/// widths of 16 per group (ORT's NCHWc block on AVX-512) keep multiples of
/// 16 per group; narrower groups are not rounded (measured: ORT's grouped
/// kernel has no blocks below 16, its time falls with every channel).
int64_t autoGroupedQuantum(int64_t perGroup);

/// The registry's PARSE_FN (passes/Pipeline/PassRegistry.def).
inline llvm::Expected<PruneWidthOptions>
parsePruneWidthOptions(llvm::StringRef params) {
  return PruneWidthOptions::parse(params);
}

/// What the latency budget chooses with (latency=R): the per-layer table,
/// the provider that fills it (null when the table is pinned), the
/// latency of the model now and the latency to reach, in milliseconds.
struct LatencyBudget {
  LatencyProvider *provider = nullptr;
  const LatencyOptions *options = nullptr;
  LatencyTable *table = nullptr;
  std::string tablePath;
  double current = 0;
  double target = 0;
  /// Out: the predicted latency of the chosen plan.
  double predicted = 0;
};

/// Chooses the units to remove from \p m (groups \p dg) as \p opts asks,
/// without changing \p m, with the criterion's weight updates. ratio= and
/// flops= are relative to m.original (the counts of \p m itself when it is
/// unset; PruneWidthPass::run records it first); when \p m is within the
/// budget already, the plan is empty and a remark says so. Warnings (budget
/// not reachable) and remarks go to \p log. Data criteria run \p m through
/// \p calibration (null: none, and they fail saying so).
llvm::Expected<PrunePlan>
computePrunePlan(const Model &m, const DepGraph &dg,
                 const PruneWidthOptions &opts, llvm::raw_ostream &log,
                 CalibrationProvider *calibration = nullptr,
                 LatencyBudget *latency = nullptr);

class PruneWidthPass {
public:
  using Options = PruneWidthOptions;

  /// \p log receives the summary and warnings (not owned; null means
  /// llvm::errs()).
  explicit PruneWidthPass(Options opts, llvm::raw_ostream *log = nullptr)
      : opts(std::move(opts)), log(log) {}

  static llvm::StringRef name() { return "prune-width"; }
  llvm::Expected<PreservedAnalyses> run(Model &m, ModelAnalysisManager &am);
  /// Every parameter spelled out; protect and the plan paths only when set.
  void printPipeline(llvm::raw_ostream &os) const;

  const Options &getOptions() const { return opts; }

  /// Widths that ONNX Runtime's CPU kernels run fast: blocked convs work on
  /// 8 channels (AVX2 NCHWc) at a time (docs/latency.md).
  static constexpr unsigned kFastWidth = 8;

private:
  /// One plan (computed, or read from plan-in) applied to \p m; counts
  /// what it removed; true when \p m changed.
  llvm::Expected<bool> pruneOnce(Model &m, ModelAnalysisManager &am,
                                 llvm::raw_ostream &out, size_t &numUnits,
                                 size_t &numGroups);
  /// Resolves \p plan on \p m and applies it (weight updates, slicing,
  /// dce), writing it to plan-out first when \p writePlan.
  llvm::Expected<bool> applyPlan(Model &m, ModelAnalysisManager &am,
                                 const PrunePlan &plan, llvm::StringRef source,
                                 bool writePlan, llvm::raw_ostream &out,
                                 size_t &numUnits, size_t &numGroups);
  /// latency=R: plans from \p m to predicted targets, each tried on a copy
  /// and measured, searched from both sides of the budget; the plan chosen
  /// is applied to \p m once. \p line gets the summary's latency part.
  llvm::Expected<bool> runLatency(Model &m, ModelAnalysisManager &am,
                                  llvm::raw_ostream &out, size_t &numUnits,
                                  size_t &numGroups, std::string &line);
  /// Warns when an explicit round-to leaves Conv/MatMul/Gemm widths off
  /// the multiples of kFastWidth.
  void warnSlowWidths(const Model &m, const DepGraph &dg,
                      llvm::ArrayRef<unsigned> units,
                      llvm::raw_ostream &out) const;

  Options opts;
  llvm::raw_ostream *log = nullptr;
};

} // namespace onnxprune

#endif // ONNXPRUNE_PASSES_TRANSFORMS_PRUNEWIDTHPASS_H
