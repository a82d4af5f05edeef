//===- Criterion.h - Scoring the units of a dependency group ----*- C++ -*-===//
///
/// \file
/// A criterion is a small strategy object (Torch-Pruning's importance, in
/// C++): it sees one dependency group and the weights, and gives each
/// prunable unit of the group a score; prune-width removes the lowest.
/// Reduction across the members of a group and normalisation of the scores
/// are options (CriterionOptions), not new criteria.
///
/// The scores of group g are in the order of prunableUnitsOf(dg, g): the
/// prunable units of g.units, in that order. Criterion::score() calls the
/// criterion's computeScores() and then normalises, so every criterion
/// normalises alike.
///
/// In-tree criteria are listed in Criteria.def; out-of-tree ones register
/// with registerCriterion() (no static constructors). See docs/criteria.md.
///
//===----------------------------------------------------------------------===//
#ifndef ONNXPRUNE_PASSES_CRITERIA_CRITERION_H
#define ONNXPRUNE_PASSES_CRITERIA_CRITERION_H

#include "passes/Analysis/DepGraph.h"
#include "passes/Analysis/ResidualUnits.h"
#include "passes/PassParams.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace onnxprune {

/// How the per-member values of a unit become one score.
enum class ScoreReduce { Sum, Mean, Max };
/// How the scores of one group are rescaled (for ranking across groups).
enum class ScoreNormalize { None, Mean, Max, L2 };

/// The options of the weight-only criteria: magnitude reads p, reduce and
/// normalize, random reads seed (see Criterion::configure). Criteria with
/// other parameters keep them in their own object.
struct CriterionOptions {
  /// The p of the Lp norm: 1, 2, ... or infinity (max |w|).
  double p = 2;
  ScoreReduce reduce = ScoreReduce::Sum;
  ScoreNormalize normalize = ScoreNormalize::None;
  /// Seed of randomised criteria.
  uint64_t seed = 0;
};

/// "sum", "mean", "max".
llvm::StringRef reduceName(ScoreReduce r);
/// "none", "mean", "max", "l2".
llvm::StringRef normalizeName(ScoreNormalize n);
/// Parses reduceName() text; fails with the accepted names.
llvm::Expected<ScoreReduce> parseReduce(llvm::StringRef text);
/// Parses normalizeName() text; fails with the accepted names.
llvm::Expected<ScoreNormalize> parseNormalize(llvm::StringRef text);

class Criterion;
class CalibrationProvider;

/// The kinds of unit a pass asks a criterion to score.
enum class UnitKind : uint8_t {
  Width,  ///< Units of dependency groups (channels, heads): score().
  Expert, ///< Whole MoE experts, given as weight slices: scoreSlices().
  Depth,  ///< Residual units (layers): scoreDepth(), chooseDepthOrder().
};
/// "width", "expert", "depth".
llvm::StringRef unitKindName(UnitKind k);

/// Creates criterion \p name for units of kind \p kind (an error when it
/// does not score them) and lets it read its own keys from \p params
/// (marking them used) into \p opts or itself. The caller reads its own
/// keys, then calls params.finish(), which lists every valid key when one
/// is unknown. Errors name the key.
llvm::Expected<std::unique_ptr<Criterion>>
configureCriterion(PassParams &params, llvm::StringRef name,
                   CriterionOptions &opts, UnitKind kind = UnitKind::Width);

/// The criterion keys among the entries of \p params, as parameter text
/// ("lambda=0.01;compensate"): what a pass keeps to configure the criterion
/// again when it runs. Call after configureCriterion.
std::string criterionParamText(const PassParams &params,
                               llvm::ArrayRef<std::string> passKeys);

/// Reads magnitude's `p` and `reduce` into \p out (shared by the criteria
/// that take an Lp norm of weight slices). Errors name the key.
llvm::Error readLpParams(PassParams &params, CriterionOptions &out);
/// Reads `normalize` into \p out.
llvm::Error readNormalizeParam(PassParams &params, CriterionOptions &out);

/// The prunable units of group \p group, in group order: what score() scores.
std::vector<unsigned> prunableUnitsOf(const DepGraph &dg, unsigned group);

/// Rescales \p scores in place: divided by their mean, max or L2 norm (left
/// alone when that is 0).
void normalizeScores(std::vector<double> &scores, ScoreNormalize how);

/// One slice W[.., index, ..] of a weight along \p axis: what removing a unit
/// cuts from that weight.
struct WeightSlice {
  const Value *weight = nullptr;
  unsigned axis = 0;
  int64_t index = 0;
};

/// A unit given by the weight slices its removal cuts, for unit kinds that
/// are not dependency groups (a whole MoE expert: its slice of every expert
/// weight along the expert axis and its router row).
using SliceUnit = std::vector<WeightSlice>;

/// What a criterion sees besides a group: the model being pruned (before
/// any change), its groups, and the injected calibration (null when none).
struct CriterionContext {
  const Model *model = nullptr;
  const DepGraph *dg = nullptr;
  CalibrationProvider *calibration = nullptr;
  /// Progress and reports (solve times); never null while running.
  llvm::raw_ostream *log = nullptr;
};

/// What a criterion sees when it scores depth units (drop-layers): the
/// model before any unit is dropped, its residual units, and the injected
/// calibration (null when none).
struct DepthContext {
  const Model *model = nullptr;
  const ResidualUnits *units = nullptr;
  CalibrationProvider *calibration = nullptr;
  /// Progress and reports; never null while running.
  llvm::raw_ostream *log = nullptr;
};

/// A new value for a weight, given before slicing (same name, dtype and
/// dims as the weight; little-endian bytes): OBS's compensation of the kept
/// members. Part of the plan, so plan-in replays it without data.
struct WeightUpdate {
  std::string weight;
  DataType dtype = DataType::Float;
  std::vector<int64_t> dims;
  std::string bytes;
};

/// The interface of a criterion. A criterion object lives for one run of
/// one pass: configure, prepare, score every group, then updatesFor.
class Criterion {
public:
  virtual ~Criterion();
  /// The registry name ("magnitude").
  virtual llvm::StringRef name() const = 0;
  /// True when the criterion needs calibration data.
  virtual bool needsData() const { return false; }
  /// True when the criterion scores units of kind \p k; a pass checks this
  /// when it parses its parameters. Default: width units only.
  virtual bool scoresKind(UnitKind k) const { return k == UnitKind::Width; }

  /// Reads the criterion's own parameters from \p params (the getters mark
  /// them used) into \p opts or the criterion. Default: none.
  virtual llvm::Error configure(PassParams &params, CriterionOptions &opts);
  /// Prints every parameter configure reads, canonically.
  virtual void printParams(PassParamsPrinter &pp,
                           const CriterionOptions &opts) const;
  /// Called once before any score() with every group that will be scored,
  /// so data criteria gather all their statistics in one calibration run.
  /// Default: nothing to gather.
  virtual llvm::Error prepare(const CriterionContext &ctx,
                              llvm::ArrayRef<unsigned> groups);
  /// Optionally chooses the removal order of group \p group itself, when
  /// removals interact (OBS: each removal changes the cost of the next):
  /// up to \p maxCount of \p candidates (prunable, unprotected), first to
  /// go first, each with its marginal cost as score. None (the default):
  /// the pass removes the lowest score() first.
  virtual llvm::Expected<
      std::optional<std::vector<std::pair<unsigned, double>>>>
  chooseOrder(const CriterionContext &ctx, unsigned group,
              llvm::ArrayRef<unsigned> candidates, int64_t maxCount);
  /// Once the units to remove are chosen: new values for kept members
  /// (OBS compensation), in a fixed order. Default: none.
  virtual llvm::Expected<std::vector<WeightUpdate>>
  updatesFor(const CriterionContext &ctx, llvm::ArrayRef<unsigned> removed);
  /// Where the criterion's data came from, for plans and reports ("data
  /// 'calib.npz' (512 samples, batch 32)"); "" for weight-only criteria.
  virtual std::string source() const { return ""; }

  /// One score per prunable unit of \p group (prunableUnitsOf order),
  /// normalised as \p opts asks. Lower scores are removed first.
  llvm::Expected<std::vector<double>> score(const DepGraph &dg, unsigned group,
                                            const CriterionOptions &opts) const;

  /// One score per unit of \p units (same order), normalised as \p opts
  /// asks; lower scores are removed first. \p stream tells the unit sets
  /// of one run apart (an MoE block's index), as the group index does for
  /// score(): randomised criteria draw a separate stream for each. Fails
  /// for criteria that only know dependency groups.
  llvm::Expected<std::vector<double>>
  scoreSlices(llvm::ArrayRef<SliceUnit> units, uint64_t stream,
              const CriterionOptions &opts) const;

  /// One score per depth unit of \p candidates (indices into
  /// ctx.units->units, same order), normalised as \p opts asks; lower
  /// scores are dropped first. Fails for criteria without depth scores.
  llvm::Expected<std::vector<double>>
  scoreDepth(const DepthContext &ctx, llvm::ArrayRef<unsigned> candidates,
             const CriterionOptions &opts);
  /// Optionally chooses the drop order itself, when drops interact
  /// (FinerCut: each drop changes what the next one costs): units of
  /// \p candidates, first to go first, each with its score when chosen,
  /// until \p enough holds for the units chosen so far or none is left.
  /// None (the default): drop-layers drops the lowest scoreDepth() first.
  virtual llvm::Expected<
      std::optional<std::vector<std::pair<unsigned, double>>>>
  chooseDepthOrder(const DepthContext &ctx, llvm::ArrayRef<unsigned> candidates,
                   llvm::function_ref<bool(llvm::ArrayRef<unsigned>)> enough);

private:
  /// \p scores when there are \p want of them, all finite (\p what names
  /// the units in the error), normalised as \p opts asks.
  llvm::Expected<std::vector<double>>
  checkedScores(llvm::Expected<std::vector<double>> scores, size_t want,
                const llvm::Twine &what, const CriterionOptions &opts) const;

protected:
  /// What a width criterion implements: the raw scores, in
  /// prunableUnitsOf order. The default fails: "criterion 'x' cannot score
  /// dependency groups" (depth-only criteria).
  virtual llvm::Expected<std::vector<double>>
  computeScores(const DepGraph &dg, unsigned group,
                const CriterionOptions &opts) const;
  /// The raw scores of slice units. The default fails: "criterion 'x'
  /// cannot score units given as weight slices".
  virtual llvm::Expected<std::vector<double>>
  computeSliceScores(llvm::ArrayRef<SliceUnit> units, uint64_t stream,
                     const CriterionOptions &opts) const;
  /// The raw scores of depth units. The default fails: "criterion 'x'
  /// cannot score depth units".
  virtual llvm::Expected<std::vector<double>>
  computeDepthScores(const DepthContext &ctx,
                     llvm::ArrayRef<unsigned> candidates,
                     const CriterionOptions &opts);
};

using CriterionFactory = std::function<std::unique_ptr<Criterion>()>;

/// A registered criterion, for listings and docs.
struct CriterionInfo {
  std::string name;
  std::string description;
  bool needsData = false;
  /// The unit kinds it scores, e.g. "width, expert".
  std::string kinds;
};

/// The criteria known by name: the lines of Criteria.def plus those
/// registered with registerCriterion().
class CriteriaRegistry {
public:
  /// A new instance of criterion \p name; fails with "unknown criterion
  /// 'x'" and a did-you-mean hint.
  static llvm::Expected<std::unique_ptr<Criterion>>
  create(llvm::StringRef name);
  static bool contains(llvm::StringRef name);
  /// Every criterion, sorted by name.
  static std::vector<CriterionInfo> list();
};

/// Adds an out-of-tree criterion; a later registration of a name wins.
void registerCriterion(llvm::StringRef name, CriterionFactory factory,
                       llvm::StringRef description, bool needsData = false);

} // namespace onnxprune

#endif // ONNXPRUNE_PASSES_CRITERIA_CRITERION_H
