//===- DepGraph.h - Dependency groups of channel axes -----------*- C++ -*-===//
///
/// \file
/// The heart of structural pruning: which channels (elements of an axis of a
/// value) must be removed together.
///
/// Op handlers (passes/OpHandlers) state how the axes of a node's inputs and
/// outputs relate, through the CouplingBuilder interface
/// (passes/OpHandlers/CouplingBuilder.h), which DepGraphBuilder implements:
///
///   join(a, b)              element i of a is element i of b (Relu, BN,
///                           residual Add, a weight's output axis and the
///                           activation it makes);
///   joinBlocks(c, f, k, o)  element i of c is elements [o+i*k, o+(i+1)*k)
///                           of f (Concat inputs, Flatten of C*H*W, a head
///                           axis after Reshape [h*d] -> [h, d]);
///   joinMap(a, b, map)      element i of a is element map[i] of b (channel
///                           shuffle, Gather with constant indices);
///   tie(a, elems)           these elements of a go together (a conv group
///                           position, a RoPE pair);
///   freeze(a, node, rule)   nothing on this axis may be removed.
///
/// Building is two-level so it stays near-linear: identity joins unite whole
/// axes (union-find over axis variables); only the few mapped joins work
/// per element (union-find over the elements of the axis classes involved).
///
/// The result: *groups* (axis classes connected by mapped joins), each with
/// *units* (element classes that can be removed alone). A unit is prunable
/// when it touches at least one weight and nothing froze it. Graph inputs
/// and outputs, unknown ops and unknown sizes freeze what they touch; every
/// frozen axis keeps the reason (op, node, rule) for print<dep-groups>.
///
//===----------------------------------------------------------------------===//
#ifndef ONNXPRUNE_PASSES_ANALYSIS_DEPGRAPH_H
#define ONNXPRUNE_PASSES_ANALYSIS_DEPGRAPH_H

#include "lib/IR/Model.h"
#include "passes/OpHandlers/CouplingBuilder.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/Support/raw_ostream.h"

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <optional>
#include <string>
#include <vector>

namespace onnxprune {

/// Why an axis is frozen, for users ("why was this layer not pruned?").
struct FreezeReason {
  std::string node; ///< Node description, "" for graph inputs/outputs.
  std::string op;
  std::string rule;
};

class DepGraph;

/// The dependency graph's implementation of the handlers' interface: it
/// records the couplings into a DepGraph under construction.
class DepGraphBuilder final : public CouplingBuilder {
public:
  explicit DepGraphBuilder(DepGraph &g) : g(g) {}

  const DepGraphOptions &options() const override;

  void join(AxisRef a, AxisRef b, const Node &why) override;
  void joinBlocks(AxisRef coarse, AxisRef fine, int64_t block,
                  int64_t fineOffset, const Node &why) override;
  void joinMap(AxisRef a, AxisRef b, llvm::ArrayRef<int64_t> map,
               const Node &why) override;
  void tie(AxisRef a, llvm::ArrayRef<int64_t> elements,
           const Node &why) override;
  void freeze(AxisRef a, const Node *n, llvm::StringRef rule) override;
  void freezeIfResidual(AxisRef a, const Node *n,
                        llvm::StringRef rule) override;
  void setVirtualSize(AxisRef a, int64_t size) override;
  int64_t virtualSize(AxisRef a) override;
  void freezeValue(Value *v, const Node *n, llvm::StringRef rule) override;
  void freezeNode(const Node &n, llvm::StringRef rule) override;

private:
  /// Static size, else virtual size, else -1.
  int64_t couplingSize(AxisRef a);
  /// True when axis a of a ranked value exists (a variable can be made).
  static bool hasAxis(AxisRef a);
  DepGraph &g;
};

/// The dependency groups of a model (result of DepGroupsAnalysis).
class DepGraph {
public:
  /// One axis class: the axes that share an index space one to one.
  struct Space {
    int64_t size = 0;
    std::vector<AxisRef> members; ///< Weights first, then activations.
    unsigned numWeightMembers = 0;
    /// Frozen directly (an axis of it was frozen); elements can also be
    /// blocked through a coupling to a frozen space (see Unit::prunable).
    bool frozen = false;
    FreezeReason reason; ///< First reason, when frozen.
    int group = -1;
    /// A grouped space that no mapped join touches: element e is unit
    /// elemBase + e, alone. Most channel spaces of a CNN are trivial; they
    /// get no per-element storage.
    bool trivial = false;
    /// Trivial spaces: the first unit id. Other grouped spaces: element e is
    /// element elemBase + e in the element table.
    uint64_t elemBase = 0;
  };
  /// The elements (space, index) of a unit: a view into storage the
  /// DepGraph owns, or one element held inline (a unit of a space that no
  /// mapped join touches). Cheap to copy; a copy stays valid.
  class Elements {
  public:
    using value_type = std::pair<unsigned, int64_t>;
    using const_iterator = const value_type *;
    using iterator = const_iterator;
    Elements() = default;
    explicit Elements(value_type one) : one(one), n(1) {}
    explicit Elements(llvm::ArrayRef<value_type> r)
        : ptr(r.data()), n(r.size()) {}
    const_iterator begin() const { return ptr ? ptr : &one; }
    const_iterator end() const { return begin() + n; }
    size_t size() const { return n; }
    bool empty() const { return n == 0; }
    const value_type &front() const { return *begin(); }
    const value_type &operator[](size_t i) const { return begin()[i]; }

  private:
    value_type one{0, 0};
    const value_type *ptr = nullptr;
    size_t n = 0;
  };
  /// A unit: elements (space, index) removed together. A value: getUnit()
  /// makes one on demand (most units are implicit, see Space::trivial).
  struct Unit {
    Elements elements;
    bool prunable = false;
  };
  /// Unit ids of a group: a contiguous range (a trivial space) or a list.
  class UnitList {
  public:
    class iterator {
    public:
      using iterator_category = std::forward_iterator_tag;
      using value_type = unsigned;
      using difference_type = std::ptrdiff_t;
      using pointer = const unsigned *;
      using reference = unsigned;
      iterator(const unsigned *p, unsigned v) : p(p), v(v) {}
      unsigned operator*() const { return p ? *p : v; }
      iterator &operator++() {
        p ? (void)++p : (void)++v;
        return *this;
      }
      iterator operator++(int) {
        iterator t = *this;
        ++*this;
        return t;
      }
      bool operator==(const iterator &o) const { return p == o.p && v == o.v; }
      bool operator!=(const iterator &o) const { return !(*this == o); }

    private:
      const unsigned *p;
      unsigned v;
    };
    size_t size() const { return list.empty() ? count : list.size(); }
    bool empty() const { return size() == 0; }
    unsigned operator[](size_t i) const {
      return list.empty() ? first + (unsigned)i : list[i];
    }
    iterator begin() const {
      return list.empty() ? iterator(nullptr, first) : iterator(list.data(), 0);
    }
    iterator end() const {
      return list.empty() ? iterator(nullptr, first + count)
                          : iterator(list.data() + list.size(), 0);
    }

  private:
    friend class DepGraph;
    unsigned first = 0, count = 0; ///< When list is empty.
    std::vector<unsigned> list;
  };
  struct Group {
    std::vector<unsigned> spaces;
    UnitList units; ///< All units, prunable or not.
    unsigned numPrunable = 0;
    /// Elements per prunable unit when all units are alike (a channel: 1,
    /// a head: d), else 0.
    int64_t unitWidth = 0;
  };

  DepGraph() = default;
  // Units view storage the graph owns: moving keeps it, copying would not.
  DepGraph(DepGraph &&) = default;
  DepGraph &operator=(DepGraph &&) = default;
  DepGraph(const DepGraph &) = delete;
  DepGraph &operator=(const DepGraph &) = delete;

  llvm::ArrayRef<Space> getSpaces() const { return spaces; }
  /// Units are numbered by their first element in (space, index) order;
  /// the last one is the shared unit of ungrouped spaces (see unitOf).
  unsigned getNumUnits() const { return ungroupedUnit + 1; }
  Unit getUnit(unsigned u) const;
  llvm::ArrayRef<Group> getGroups() const { return groups; }

  /// The space an axis belongs to, or -1 when it is in none (unknown size,
  /// never mentioned).
  int spaceOf(AxisRef a) const;
  /// The unit of element \p index of space \p space (for a space in no
  /// group: one shared, empty, unprunable unit).
  unsigned unitOf(unsigned space, int64_t index) const {
    const Space &s = spaces[space];
    if (s.group < 0)
      return ungroupedUnit;
    if (s.trivial)
      return (unsigned)(s.elemBase + index);
    return mappedUnitId[elemUnit[s.elemBase + index]];
  }

  /// Parameters (as torch counts them, see StatsAnalysis.h) in total and in
  /// weights that have an axis in a group with a prunable unit. Counted on
  /// first use, from the model the graph was built on, which must still be
  /// as it was (the pass manager drops the analysis when a pass changes
  /// the model); building the groups does not pay for it.
  uint64_t getTotalParams() const {
    countCoverage();
    return coverage->first;
  }
  uint64_t getPrunableParams() const {
    countCoverage();
    return coverage->second;
  }
  /// Spaces with weights that cannot be pruned, by cause: "op: rule", or
  /// "coupled to op: rule" when the freeze arrives through a coupling; for
  /// the coverage summary.
  std::vector<std::pair<std::string, unsigned>> freezeCounts;
  /// Ops of the model that have no handler, with their node counts.
  std::vector<std::pair<std::string, unsigned>> unhandledOps;

  void print(llvm::raw_ostream &os, const Model &m) const;
  void printCoverage(llvm::raw_ostream &os) const;
  const DepGraphOptions &getOptions() const { return options; }

private:
  friend class DepGraphBuilder;
  friend llvm::Expected<DepGraph> buildDepGraph(const Model &m,
                                                const DepGraphOptions &opts);
  DepGraphOptions options;
  /// The model the graph was built on (for the coverage count).
  const Model *source = nullptr;
  mutable std::optional<std::pair<uint64_t, uint64_t>> coverage;
  void countCoverage() const;

  // ---- Building (DepGraph.cpp) ----
  /// Creates on first use; size must be > 0. All axes of a value get their
  /// variables at once (one map lookup per value, not per axis); they count
  /// as created, for numbering, when first used.
  unsigned axisVar(AxisRef a);
  unsigned findAxis(unsigned v);
  void finalize(const Model &m);
  /// Applies the freezeIfResidual() requests whose axis is coupled (by
  /// identity or mapped joins) to an axis of a skip-connection Add.
  void freezeResidualStreams(const Model &m);
  Unit mappedUnit(unsigned m) const;
  static bool isPrunableTrivial(const Space &s) {
    return !s.frozen && s.numWeightMembers > 0;
  }
  /// Counts in \p blocked the elements of \p sp that cannot be removed and
  /// returns the frozen space that blocks them: \p sp itself, or one it is
  /// coupled to (null when none is frozen).
  const Space *blockedBy(const Space &sp, int64_t &blocked) const;

  /// Kept small (tens of thousands are made per model): the freeze reason
  /// lives out of line, only for frozen variables.
  struct AxisVar {
    Value *value;
    int64_t size;
    unsigned axis;
    unsigned parent; ///< ~0u until first used.
    int reason = -1; ///< Index into reasons; >= 0 when frozen.
    bool weight;     ///< value->isWeight(), read while the value is hot.
  };
  std::vector<FreezeReason> reasons;
  /// freezeIfResidual() requests, resolved by freezeResidualStreams().
  std::vector<std::pair<AxisRef, FreezeReason>> freezesIfResidual;
  enum class EdgeKind { Blocks, Map, Tie };
  struct Edge {
    EdgeKind kind;
    unsigned a, b; ///< Axis vars (b unused for Tie).
    int64_t block = 1, offset = 0;
    std::vector<int64_t> indices; ///< Map targets or tied elements.
  };
  std::vector<AxisVar> vars;
  std::vector<unsigned> varOrder; ///< Used axis variables, by first use.
  /// Value id (Value::getId) -> the var of its axis 0, or kNoVar: a vector
  /// over the model's value ids, as dense as the values a graph has.
  static constexpr unsigned kNoVar = ~0u;
  std::vector<unsigned> firstVar;
  /// The var of axis 0 of \p v, or kNoVar (v unseen, or made after the
  /// graph was built).
  unsigned firstVarOf(const Value *v) const {
    return v->getId() < firstVar.size() ? firstVar[v->getId()] : kNoVar;
  }
  std::vector<Edge> edges;
  /// Root axis variable of a class of dynamic axes -> its virtual size.
  llvm::DenseMap<unsigned, int64_t> virtualOfRoot;

  // ---- Result ----
  std::vector<Space> spaces;
  std::vector<int> varSpace;      ///< Axis var -> space.
  std::vector<unsigned> elemUnit; ///< Elements of mapped spaces -> mapped unit.
  /// Storage of the elements of every mapped unit, unit after unit:
  /// mapped unit m has [mappedFill[m], mappedFill[m + 1]).
  std::vector<std::pair<unsigned, int64_t>> unitElements;
  std::vector<uint64_t> mappedFill;
  std::vector<char> mappedPrunable;
  std::vector<unsigned> mappedUnitId; ///< Mapped unit -> unit id.
  /// Runs of unit ids, by first id: one per trivial space (space >= 0), one
  /// per run of mapped units (space < 0, from mapped unit mappedFirst).
  struct UnitRun {
    unsigned firstUnit;
    int space;
    unsigned mappedFirst;
  };
  std::vector<UnitRun> unitRuns;
  unsigned ungroupedUnit = 0;
  std::vector<Group> groups;
};

/// Builds the dependency groups of the main graph of \p m. Fails only on
/// internal inconsistencies; unsupported graphs freeze, they do not fail.
llvm::Expected<DepGraph> buildDepGraph(const Model &m,
                                       const DepGraphOptions &opts = {});

} // namespace onnxprune

#endif // ONNXPRUNE_PASSES_ANALYSIS_DEPGRAPH_H
