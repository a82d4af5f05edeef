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

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace onnxprune {

/// How the per-member values of a unit become one score.
enum class ScoreReduce { Sum, Mean, Max };
/// How the scores of one group are rescaled (for ranking across groups).
enum class ScoreNormalize { None, Mean, Max, L2 };

/// The options every criterion sees (each uses those that apply to it).
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

class PassParams;

/// Checks and applies the criterion keys a pruning pass read from \p params
/// (`criterion`, `p`, `reduce`, `normalize`; empty text: not given) to
/// \p out. The criterion must be registered. Errors name the key.
llvm::Error applyCriterionParams(const PassParams &params,
                                 llvm::StringRef criterion, llvm::StringRef p,
                                 llvm::StringRef reduce,
                                 llvm::StringRef normalize,
                                 CriterionOptions &out);

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

/// The interface of a criterion.
class Criterion {
public:
  virtual ~Criterion();
  /// The registry name ("magnitude").
  virtual llvm::StringRef name() const = 0;
  /// True when the criterion needs calibration data.
  virtual bool needsData() const { return false; }

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

protected:
  /// What a criterion implements: the raw scores, in prunableUnitsOf order.
  virtual llvm::Expected<std::vector<double>>
  computeScores(const DepGraph &dg, unsigned group,
                const CriterionOptions &opts) const = 0;
  /// The raw scores of slice units. The default fails: "criterion 'x'
  /// cannot score units given as weight slices".
  virtual llvm::Expected<std::vector<double>>
  computeSliceScores(llvm::ArrayRef<SliceUnit> units, uint64_t stream,
                     const CriterionOptions &opts) const;
};

using CriterionFactory = std::function<std::unique_ptr<Criterion>()>;

/// A registered criterion, for listings and docs.
struct CriterionInfo {
  std::string name;
  std::string description;
  bool needsData = false;
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
