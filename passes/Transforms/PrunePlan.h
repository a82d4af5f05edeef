//===- PrunePlan.h - A saved choice of units to remove ----------*- C++ -*-===//
///
/// \file
/// The plan is what prune-width decided: which units of which dependency
/// groups go, with their scores, the criterion and the budget. It is saved
/// as JSON (`plan-out=PATH`) so a build pipeline can review, edit and apply
/// it again (`plan-in=PATH`) and get the same model bytes.
///
/// Groups and units are named by content, never by internal ids, which
/// depend on the order the analysis happened to visit axes: a unit is
/// (weight, axis, index): the first weight member of the first element of
/// the unit that lies in a space with weights, and the element's index. On
/// load any (weight, axis, index) inside the unit names it. A group is named
/// by the reference of its first prunable unit, without the index.
///
/// \code
///   {
///     "format": "onnx-prune-plan", "version": 1,
///     "pass": "prune-width<criterion=magnitude;...;ratio=0.3>",
///     "criterion": "magnitude", "budget": "ratio=0.3;global",
///     "groups": [
///       { "weight": "W1", "axis": 0, "units": 6,
///         "removed": [ { "weight": "W1", "axis": 0, "index": 1,
///                        "score": 0 } ] } ] }
/// \endcode
///
//===----------------------------------------------------------------------===//
#ifndef ONNXPRUNE_PASSES_TRANSFORMS_PRUNEPLAN_H
#define ONNXPRUNE_PASSES_TRANSFORMS_PRUNEPLAN_H

#include "passes/Analysis/DepGraph.h"
#include "passes/Criteria/Criterion.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace onnxprune {

/// A content name for one element of a unit: slice \p index of \p weight
/// along \p axis.
struct PlanUnitRef {
  std::string weight;
  unsigned axis = 0;
  int64_t index = 0;
  bool operator==(const PlanUnitRef &o) const {
    return weight == o.weight && axis == o.axis && index == o.index;
  }
};

struct PrunePlan {
  struct Removed {
    PlanUnitRef unit;
    double score = 0;
  };
  struct Group {
    /// The group's name: its first prunable unit's weight and axis.
    std::string weight;
    unsigned axis = 0;
    /// Units of the group before pruning (prunable or not).
    uint64_t numUnits = 0;
    std::vector<Removed> removed; ///< By increasing index.
  };

  std::string pass;      ///< The pipeline text of the pass that made it.
  std::string criterion; ///< Criterion name ("" when made by hand).
  std::string budget;    ///< The budget parameters ("ratio=0.3;global").
  /// Where the criterion's data came from ("" for weight-only criteria).
  std::string source;
  std::vector<Group> groups;
  /// A residual unit drop-layers dropped (ResidualUnits.h), by id.
  struct DroppedUnit {
    std::string unit;
    std::string kind; ///< "attn", "mlp", "block".
    uint64_t params = 0;
    double score = 0;
  };
  /// drop-layers: the units dropped, in the order they were chosen (the
  /// groups are empty then).
  std::vector<DroppedUnit> dropped;
  /// New values of unpruned weights (OBS compensation), applied before
  /// slicing. Saved in a sidecar `PLAN.weights` (raw little-endian, in
  /// order; the JSON gives each one's weight, dtype, dims, offset, bytes).
  std::vector<WeightUpdate> updates;
  /// Every scored group's candidates, for reports (PruneRecord.h); not
  /// saved: a plan names what goes, not what was weighed.
  struct GroupScores {
    std::string weight; ///< The group's root (groupDisplayRoot).
    unsigned axis = 0;
    uint64_t numUnits = 0; ///< All units, candidates or not.
    int64_t unitWidth = 1; ///< Channels per unit.
    /// The candidates' scores in the order they were ranked (lowest
    /// first, or the criterion's joint order); the first `removed` go.
    std::vector<double> scores;
    uint64_t removed = 0;
  };
  std::vector<GroupScores> scores;

  /// Number of units removed over all groups.
  size_t numRemoved() const;
  /// A copy without the weight updates (for reports: an OBS plan's
  /// updates can be as large as the model).
  PrunePlan withoutUpdates() const;

  /// Pretty-printed JSON, keys in a fixed order: the same plan gives the
  /// same bytes.
  std::string toJSON() const;
  /// The bytes of a plan's weight updates: the sidecar's name (for
  /// messages) and how to read it, called once, only when the plan has
  /// updates.
  struct WeightsFile {
    std::string name;
    std::function<llvm::Expected<llvm::StringRef>()> read;
  };
  /// Parses a plan; errors name \p source and the bad field. A plan with
  /// weight updates takes their bytes from \p weights (an error without).
  static llvm::Expected<PrunePlan> fromJSON(llvm::StringRef text,
                                            llvm::StringRef source,
                                            const WeightsFile &weights = {});
  /// Writes toJSON() to \p path atomically, and the updates' bytes to
  /// `PATH.weights` (first) when there are any.
  llvm::Error writeFile(llvm::StringRef path) const;
  static llvm::Expected<PrunePlan> readFile(llvm::StringRef path);
};

/// Replaces each updated weight of \p m by its new value (same dtype and
/// dims). Errors name \p source and the weight.
llvm::Error applyWeightUpdates(Model &m, llvm::ArrayRef<WeightUpdate> updates,
                               llvm::StringRef source);

/// The axis a group is shown by in reports: the first matrix or filter
/// (rank >= 2) among the weight members of its first space, else its first
/// member. Not a plan name (plans name groups by their first prunable unit).
AxisRef groupDisplayRoot(const DepGraph &dg, unsigned group);

/// The content name of unit \p unit (see the file comment).
PlanUnitRef getUnitRef(const DepGraph &dg, unsigned unit);

/// Builds a plan from removed unit ids and their scores (parallel arrays),
/// grouped by dependency group in group order.
PrunePlan makePrunePlan(const DepGraph &dg, llvm::ArrayRef<unsigned> units,
                        llvm::ArrayRef<double> scores);

/// The unit ids of \p plan in \p m (whose groups are \p dg). Fails with a
/// one-line error naming the unit that does not exist or cannot be pruned,
/// a unit listed twice, or a unit outside the group it is listed in.
/// \p source names the plan in messages.
llvm::Expected<std::vector<unsigned>> resolvePrunePlan(const PrunePlan &plan,
                                                       const Model &m,
                                                       const DepGraph &dg,
                                                       llvm::StringRef source);

} // namespace onnxprune

#endif // ONNXPRUNE_PASSES_TRANSFORMS_PRUNEPLAN_H
