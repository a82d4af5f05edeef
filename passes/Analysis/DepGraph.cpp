//===- DepGraph.cpp - Dependency groups of channel axes -------------------===//

#include "passes/Analysis/DepGraph.h"
#include "passes/Analysis/StatsAnalysis.h"
#include "passes/OpHandlers/OpHandler.h"

#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/SmallPtrSet.h"
#include "llvm/ADT/StringMap.h"

#include <algorithm>
#include <cassert>
#include <functional>
#include <numeric>

using namespace llvm;

namespace onnxprune {

// ---- Builder -------------------------------------------------------------

unsigned DepGraph::axisVar(AxisRef a) {
  assert(a.value->getId() < firstVar.size() && "value made during building");
  unsigned &base = firstVar[a.value->getId()];
  if (base == kNoVar) {
    base = (unsigned)vars.size();
    // Callers know the size of axis a (>= 0), so a.axis < rank.
    const Type &t = a.value->getType();
    unsigned r = t.shape->size();
    bool weight = a.value->isWeight();
    for (unsigned i = 0; i < r; ++i) {
      const Dim &d = (*t.shape)[i];
      vars.push_back(
          {a.value, d.isStatic() ? d.value : -1, i, ~0u, -1, weight});
    }
  }
  unsigned id = base + a.axis;
  assert(id < vars.size() && vars[id].axis == a.axis && "axis within rank");
  if (vars[id].parent == ~0u) {
    vars[id].parent = id;
    varOrder.push_back(id);
  }
  return id;
}

unsigned DepGraph::findAxis(unsigned v) {
  while (vars[v].parent != v) {
    vars[v].parent = vars[vars[v].parent].parent;
    v = vars[v].parent;
  }
  return v;
}

static FreezeReason reasonFor(const Node *n, StringRef rule) {
  FreezeReason r;
  if (n) {
    r.node = n->describe();
    r.op =
        (n->getDomain().empty() ? "" : n->getDomain() + ".") + n->getOpType();
  }
  r.rule = rule.str();
  return r;
}

bool DepGraphBuilder::hasAxis(AxisRef a) {
  if (!a.value)
    return false;
  const Type &t = a.value->getType();
  return t.hasRank() && a.axis < t.shape->size();
}

int64_t DepGraphBuilder::virtualSize(AxisRef a) {
  if (size(a) >= 0 || !hasAxis(a))
    return -1;
  unsigned first = g.firstVarOf(a.value);
  if (first == DepGraph::kNoVar || g.vars[first + a.axis].parent == ~0u)
    return -1;
  auto v = g.virtualOfRoot.find(g.findAxis(first + a.axis));
  return v == g.virtualOfRoot.end() ? -1 : v->second;
}

int64_t DepGraphBuilder::couplingSize(AxisRef a) {
  int64_t s = size(a);
  return s >= 0 ? s : virtualSize(a);
}

void DepGraphBuilder::setVirtualSize(AxisRef a, int64_t sz) {
  if (size(a) >= 0 || !hasAxis(a) || sz <= 0)
    return;
  int64_t have = virtualSize(a);
  unsigned r = g.findAxis(g.axisVar(a));
  if (have > 0 && have != sz) {
    g.virtualOfRoot[r] = have;
    freeze(a, nullptr, "conflicting virtual sizes");
    return;
  }
  g.virtualOfRoot[r] = sz;
}

void DepGraphBuilder::freeze(AxisRef a, const Node *n, StringRef rule) {
  // Dynamic axes too: their class may get a virtual size.
  if (size(a) == 0 || !hasAxis(a))
    return;
  DepGraph::AxisVar &v = g.vars[g.axisVar(a)];
  if (v.reason < 0) {
    v.reason = g.reasons.size();
    g.reasons.push_back(reasonFor(n, rule));
  }
}

void DepGraphBuilder::freezeIfResidual(AxisRef a, const Node *n,
                                       StringRef rule) {
  if (size(a) == 0 || !hasAxis(a))
    return;
  g.axisVar(a);
  g.freezesIfResidual.emplace_back(a, reasonFor(n, rule));
}

/// Where the rank of \p v was lost, for freeze reasons: the first node
/// upstream whose output has no rank though its inputs all have one (an If
/// whose branches differ, an op no shape rule knows), or the graph input
/// that has none; "" when \p v has a rank.
static std::string rankLostAt(const Value *v) {
  SmallPtrSet<const Value *, 16> seen;
  while (v && seen.insert(v).second) {
    if (v->getType().hasRank())
      return "";
    const Node *p = v->getProducer();
    if (!p)
      return v->isGraphInput() ? "graph input '" + v->getName() + "'" : "";
    const Value *next = nullptr;
    for (const Value *in : p->getInputs())
      if (in && !in->getType().hasRank() && !isShapeData(in)) {
        next = in;
        break;
      }
    if (!next)
      return "node " + p->describe();
    v = next;
  }
  return "";
}

/// \p rule, naming where the rank was lost when it is about an unknown
/// rank of one of \p n's operands that some other node lost.
static std::string withRankOrigin(const Node &n, StringRef rule) {
  if (!rule.contains("rank unknown"))
    return rule.str();
  auto origin = [&](const Value *v) -> std::string {
    std::string o = v ? rankLostAt(v) : "";
    return o == "node " + n.describe() ? "" : o;
  };
  for (const Value *v : n.getInputs())
    if (std::string o = origin(v); !o.empty())
      return (rule + " (lost by " + o + ")").str();
  for (const Value *v : n.getOutputs())
    if (std::string o = origin(v); !o.empty())
      return (rule + " (lost by " + o + ")").str();
  return rule.str();
}

void DepGraphBuilder::freezeValue(Value *v, const Node *n, StringRef rule) {
  int64_t r = rank(v);
  for (int64_t i = 0; i < r; ++i)
    freeze({v, (unsigned)i}, n, rule);
}

void DepGraphBuilder::freezeNode(const Node &n, StringRef rule) {
  std::string why = withRankOrigin(n, rule);
  for (Value *v : n.getInputs())
    if (v)
      freezeValue(v, &n, why);
  for (Value *v : n.getOutputs())
    if (v)
      freezeValue(v, &n, why);
}

void DepGraphBuilder::join(AxisRef a, AxisRef b, const Node &why) {
  int64_t sa = size(a), sb = size(b);
  if (sa < 0 && sb < 0) {
    // Two dynamic axes: one class, whose virtual size (if any) both share.
    if (!hasAxis(a) || !hasAxis(b))
      return;
    int64_t va = virtualSize(a), vb = virtualSize(b);
    if (va > 0 && vb > 0 && va != vb) {
      freeze(a, &why, "coupled axes differ in size");
      freeze(b, &why, "coupled axes differ in size");
      return;
    }
    unsigned ra = g.findAxis(g.axisVar(a)), rb = g.findAxis(g.axisVar(b));
    if (ra == rb)
      return;
    int64_t v = std::max(va, vb);
    g.virtualOfRoot.erase(ra);
    g.virtualOfRoot.erase(rb);
    g.vars[std::max(ra, rb)].parent = std::min(ra, rb);
    if (v > 0)
      g.virtualOfRoot[std::min(ra, rb)] = v;
    return;
  }
  if (sa < 0 || sb < 0) {
    // A static axis with a dynamic one: not provable. The dynamic one is
    // frozen too, in case its class has or gets a virtual size.
    freeze(a, &why, "the size of a coupled axis is unknown");
    freeze(b, &why, "the size of a coupled axis is unknown");
    return;
  }
  if (sa != sb) {
    freeze(a, &why, "coupled axes differ in size");
    freeze(b, &why, "coupled axes differ in size");
    return;
  }
  unsigned ra = g.findAxis(g.axisVar(a)), rb = g.findAxis(g.axisVar(b));
  if (ra != rb)
    g.vars[std::max(ra, rb)].parent = std::min(ra, rb);
}

void DepGraphBuilder::joinBlocks(AxisRef coarse, AxisRef fine, int64_t block,
                                 int64_t fineOffset, const Node &why) {
  int64_t sc = couplingSize(coarse), sf = couplingSize(fine);
  if (sc < 0 || sf < 0 || block <= 0 || fineOffset < 0 ||
      fineOffset + sc * block > sf) {
    freeze(coarse, &why, "axis mapping could not be resolved");
    freeze(fine, &why, "axis mapping could not be resolved");
    return;
  }
  if (block == 1 && fineOffset == 0 && sc == sf &&
      (size(coarse) >= 0) == (size(fine) >= 0))
    return join(coarse, fine, why);
  DepGraph::Edge e{DepGraph::EdgeKind::Blocks,
                   g.axisVar(coarse),
                   g.axisVar(fine),
                   block,
                   fineOffset,
                   {}};
  g.edges.push_back(std::move(e));
}

void DepGraphBuilder::joinMap(AxisRef a, AxisRef b, ArrayRef<int64_t> map,
                              const Node &why) {
  int64_t sa = couplingSize(a), sb = couplingSize(b);
  bool ok = sa >= 0 && sb >= 0 && (int64_t)map.size() == sa;
  for (int64_t t : map)
    ok &= t >= -1 && t < sb;
  if (!ok) {
    freeze(a, &why, "axis mapping could not be resolved");
    freeze(b, &why, "axis mapping could not be resolved");
    return;
  }
  DepGraph::Edge e{DepGraph::EdgeKind::Map,
                   g.axisVar(a),
                   g.axisVar(b),
                   1,
                   0,
                   std::vector<int64_t>(map.begin(), map.end())};
  g.edges.push_back(std::move(e));
}

void DepGraphBuilder::tie(AxisRef a, ArrayRef<int64_t> elements,
                          const Node &why) {
  int64_t sa = couplingSize(a);
  bool ok = sa >= 0;
  for (int64_t t : elements)
    ok &= t >= 0 && t < sa;
  if (!ok) {
    freeze(a, &why, "tied elements could not be resolved");
    return;
  }
  if (elements.size() < 2)
    return;
  unsigned v = g.axisVar(a);
  DepGraph::Edge e{DepGraph::EdgeKind::Tie,
                   v,
                   v,
                   1,
                   0,
                   std::vector<int64_t>(elements.begin(), elements.end())};
  g.edges.push_back(std::move(e));
}

// ---- Finalize ------------------------------------------------------------

namespace {
/// Plain union-find over dense ids.
struct UnionFind {
  std::vector<uint32_t> parent;
  explicit UnionFind(size_t n) : parent(n) {
    std::iota(parent.begin(), parent.end(), 0);
  }
  uint32_t find(uint32_t x) {
    while (parent[x] != x) {
      parent[x] = parent[parent[x]];
      x = parent[x];
    }
    return x;
  }
  void unite(uint32_t a, uint32_t b) {
    a = find(a);
    b = find(b);
    if (a != b)
      parent[std::max(a, b)] = std::min(a, b);
  }
};
} // namespace

void DepGraph::freezeResidualStreams(const Model &m) {
  if (freezesIfResidual.empty())
    return;
  // Classes of axis variables, connected by mapped joins as groups are.
  UnionFind uf(vars.size());
  auto root = [&](unsigned v) { return uf.find(findAxis(v)); };
  for (const Edge &e : edges)
    uf.unite(findAxis(e.a), findAxis(e.b));
  // Axes of skip connections: an output axis of an Add or Sum that two
  // activation operands hold whole (not broadcast: `x - mean` and bias
  // adds are not skips; a constant operand is a bias).
  DenseSet<uint32_t> residual;
  m.forEachGraph([&](const Graph &cur) {
    for (const Node &n : cur.getNodes()) {
      if (!n.getDomain().empty() ||
          (n.getOpType() != "Add" && n.getOpType() != "Sum"))
        continue;
      Value *y = n.getOutput(0);
      int64_t r = DepGraphBuilder::rank(y);
      unsigned first = y ? firstVarOf(y) : kNoVar;
      if (r < 0 || first == kNoVar)
        continue;
      for (int64_t i = 0; i < r; ++i) {
        int64_t sz = DepGraphBuilder::size({y, (unsigned)i});
        unsigned whole = 0;
        for (Value *in : n.getInputs()) {
          int64_t ri = DepGraphBuilder::rank(in);
          if (!in || in->isWeight() || isShapeData(in) || ri < r - i)
            continue;
          whole += DepGraphBuilder::size({in, (unsigned)(ri - r + i)}) == sz;
        }
        unsigned v = first + i;
        if (whole >= 2 && sz > 1 && vars[v].parent != ~0u)
          residual.insert(root(v));
      }
    }
  });
  for (auto &[a, why] : freezesIfResidual) {
    AxisVar &v = vars[axisVar(a)];
    if (v.reason < 0 && residual.count(root(axisVar(a)))) {
      v.reason = reasons.size();
      reasons.push_back(std::move(why));
    }
  }
  freezesIfResidual.clear();
}

int DepGraph::spaceOf(AxisRef a) const {
  unsigned first = firstVarOf(a.value);
  if (first == kNoVar)
    return -1;
  unsigned v = first + a.axis;
  if (v >= vars.size() || vars[v].value != a.value || vars[v].axis != a.axis)
    return -1;
  return varSpace[v];
}

DepGraph::Unit DepGraph::mappedUnit(unsigned m) const {
  Unit r;
  r.elements = Elements(ArrayRef<std::pair<unsigned, int64_t>>(
      unitElements.data() + mappedFill[m], mappedFill[m + 1] - mappedFill[m]));
  r.prunable = mappedPrunable[m];
  return r;
}

DepGraph::Unit DepGraph::getUnit(unsigned u) const {
  if (u >= ungroupedUnit)
    return Unit(); // the shared unit of ungrouped spaces
  auto it = std::upper_bound(
      unitRuns.begin(), unitRuns.end(), u,
      [](unsigned u, const UnitRun &r) { return u < r.firstUnit; });
  assert(it != unitRuns.begin() && "unit runs start at 0");
  --it;
  if (it->space < 0)
    return mappedUnit(it->mappedFirst + (u - it->firstUnit));
  const Space &sp = spaces[it->space];
  Unit r;
  r.elements = Elements(
      std::pair<unsigned, int64_t>(it->space, (int64_t)(u - it->firstUnit)));
  r.prunable = isPrunableTrivial(sp);
  return r;
}

void DepGraph::finalize(const Model &) {
  // 0. Dynamic axes of a class with a virtual size take that size.
  if (!virtualOfRoot.empty())
    for (unsigned v : varOrder)
      if (vars[v].size < 0) {
        auto it = virtualOfRoot.find(findAxis(v));
        if (it != virtualOfRoot.end())
          vars[v].size = it->second;
      }
  // 1. Spaces: one per axis class with a known size.
  varSpace.assign(vars.size(), -1);
  // Numbered first, then made at once: growing a vector of Spaces one by
  // one moved each of them (and its strings) a few times over.
  std::vector<int> rootSpace(vars.size(), -1);
  unsigned numSpaces = 0;
  for (unsigned v : varOrder)
    if (vars[v].size > 0) {
      int &id = rootSpace[findAxis(v)];
      if (id < 0)
        id = numSpaces++;
    }
  spaces.resize(numSpaces);
  std::vector<unsigned> numMembers(numSpaces, 0);
  for (unsigned v : varOrder) {
    if (vars[v].size <= 0)
      continue;
    unsigned r = findAxis(v);
    Space &s = spaces[rootSpace[r]];
    if (!numMembers[rootSpace[r]])
      s.size = vars[v].size;
    varSpace[v] = rootSpace[r];
    if (vars[v].reason >= 0 && !s.frozen) {
      s.frozen = true;
      s.reason = reasons[vars[v].reason];
    }
    ++numMembers[rootSpace[r]];
    s.numWeightMembers += vars[v].weight;
  }
  // Members: weights first, each part in axis-variable order. (Two sweeps
  // into exactly reserved vectors; inserting each weight in front was
  // quadratic in the members of big spaces, e.g. a residual stream.)
  for (unsigned s = 0; s < spaces.size(); ++s)
    spaces[s].members.reserve(numMembers[s]);
  for (int weights = 1; weights >= 0; --weights)
    for (unsigned v : varOrder)
      if (varSpace[v] >= 0 && vars[v].weight == (bool)weights)
        spaces[varSpace[v]].members.push_back({vars[v].value, vars[v].axis});
  // 2. Groups: spaces connected by mapped joins.
  UnionFind groupsUF(spaces.size());
  for (const Edge &e : edges)
    if (varSpace[e.a] >= 0 && varSpace[e.b] >= 0)
      groupsUF.unite(varSpace[e.a], varSpace[e.b]);
  // A weight axis that no handler tied to an activation (a kernel's spatial
  // axes, a weight of an op that ignored it) is not a channel: it can
  // never be pruned, and it is not worth reporting. Tied means directly
  // (same space) or through a mapped join: a grouped conv's W axis 1 maps
  // onto every group's input channels, a GroupNorm-18 scale onto blocks.
  {
    // Union-find roots are space numbers: plain vectors, no hashing.
    std::vector<char> rootHasActivation(spaces.size(), 0);
    for (unsigned s = 0; s < spaces.size(); ++s)
      if (spaces[s].numWeightMembers < spaces[s].members.size())
        rootHasActivation[groupsUF.find(s)] = 1;
    for (unsigned s = 0; s < spaces.size(); ++s)
      if (spaces[s].numWeightMembers == spaces[s].members.size() &&
          !spaces[s].frozen && !rootHasActivation[groupsUF.find(s)]) {
        spaces[s].frozen = true;
        spaces[s].reason.rule = "weight axis not tied to any activation";
      }
  }
  // Worth a group: holds a weight and some activation (a channel). Only
  // those get elements and units below: spatial, batch and kernel axes are
  // most of a CNN's axes and can never be pruned, so the per-element work
  // stays proportional to the channels. A shape constant (an integer
  // tensor of rank <= 1: `Concat(Gather(Shape(x)), [12], [64])`, Paddle's
  // fill_constant) is not a weight in that sense: shape arithmetic joined
  // through Cast/Concat would otherwise show as one-element groups that
  // only ever freeze. Integer weights of real channels (QLinearConv's int8
  // kernel) have rank >= 2 and still make their group, with the int32 bias
  // and zero points it holds.
  std::vector<std::pair<bool, bool>> rootHas(spaces.size(), {false, false});
  for (unsigned s = 0; s < spaces.size(); ++s) {
    auto &h = rootHas[groupsUF.find(s)];
    for (unsigned k = 0; k < spaces[s].numWeightMembers && !h.first; ++k)
      h.first |= !isShapeData(spaces[s].members[k].value);
    h.second |= spaces[s].numWeightMembers < spaces[s].members.size();
  }
  // -2: root not seen yet; -1: seen, no group.
  std::vector<int> rootGroup(spaces.size(), -2);
  for (unsigned s = 0; s < spaces.size(); ++s) {
    uint32_t r = groupsUF.find(s);
    int &gr = rootGroup[r];
    if (gr == -2) {
      gr = -1;
      if (rootHas[r].first && rootHas[r].second) {
        gr = groups.size();
        groups.emplace_back();
      }
    }
    if (gr < 0)
      continue;
    spaces[s].group = gr;
    groups[gr].spaces.push_back(s);
  }

  // 3. Elements of the grouped spaces. Only spaces that a mapped join
  //    touches need per-element union-find; in the others (most channel
  //    spaces of a CNN) every element is its own unit, numbered directly and
  //    never stored (Space::trivial).
  std::vector<char> mapped(spaces.size(), 0);
  for (const Edge &e : edges)
    if (varSpace[e.a] >= 0 && varSpace[e.b] >= 0)
      mapped[varSpace[e.a]] = mapped[varSpace[e.b]] = 1;
  uint64_t mappedTotal = 0;
  for (unsigned s = 0; s < spaces.size(); ++s) {
    Space &sp = spaces[s];
    sp.elemBase = 0;
    if (sp.group < 0)
      continue;
    sp.trivial = !mapped[s];
    if (!sp.trivial) {
      sp.elemBase = mappedTotal;
      mappedTotal += sp.size;
    }
  }
  UnionFind elems(mappedTotal);
  auto elem = [&](unsigned var, int64_t i) {
    return (uint32_t)(spaces[varSpace[var]].elemBase + i);
  };
  for (const Edge &e : edges) {
    if (varSpace[e.a] < 0 || varSpace[e.b] < 0 ||
        spaces[varSpace[e.a]].group < 0)
      continue;
    switch (e.kind) {
    case EdgeKind::Blocks:
      for (int64_t i = 0; i < vars[e.a].size; ++i)
        for (int64_t j = 0; j < e.block; ++j)
          elems.unite(elem(e.a, i), elem(e.b, e.offset + i * e.block + j));
      break;
    case EdgeKind::Map:
      for (size_t i = 0; i < e.indices.size(); ++i)
        if (e.indices[i] >= 0)
          elems.unite(elem(e.a, i), elem(e.b, e.indices[i]));
      break;
    case EdgeKind::Tie:
      for (int64_t t : e.indices)
        elems.unite(elem(e.a, e.indices[0]), elem(e.a, t));
      break;
    }
  }
  // 4. Units, numbered by their first element in (space, index) order.
  //    Frozen if any element's space is frozen; prunable if not frozen and
  //    some element's space holds a weight. A trivial space's units are the
  //    run [elemBase, elemBase + size). Units of mapped spaces ("mapped
  //    units") are stored: their elements live in one array, unit after
  //    unit.
  elemUnit.assign(mappedTotal, 0);
  std::vector<uint32_t> unitSize;
  std::vector<char> unitFrozen, unitHasWeight;
  unsigned nextUnit = 0;
  {
    std::vector<int32_t> classUnit(mappedTotal, -1);
    for (unsigned s = 0; s < spaces.size(); ++s) {
      Space &sp = spaces[s];
      if (sp.group < 0)
        continue;
      if (sp.trivial) {
        sp.elemBase = nextUnit;
        unitRuns.push_back({nextUnit, (int)s, 0});
        nextUnit += sp.size;
        continue;
      }
      bool hasWeight = sp.numWeightMembers > 0;
      for (int64_t i = 0; i < sp.size; ++i) {
        int32_t &cu = classUnit[elems.find(sp.elemBase + i)];
        if (cu < 0) {
          cu = unitSize.size();
          if (unitRuns.empty() || unitRuns.back().space >= 0)
            unitRuns.push_back({nextUnit, -1, (unsigned)cu});
          mappedUnitId.push_back(nextUnit++);
          unitSize.push_back(0);
          unitFrozen.push_back(0);
          unitHasWeight.push_back(0);
        }
        elemUnit[sp.elemBase + i] = cu;
        ++unitSize[cu];
        unitFrozen[cu] |= sp.frozen;
        unitHasWeight[cu] |= hasWeight;
      }
    }
  }
  size_t numMapped = unitSize.size();
  mappedFill.assign(numMapped + 1, 0);
  for (size_t m = 0; m < numMapped; ++m)
    mappedFill[m + 1] = mappedFill[m] + unitSize[m];
  unitElements.resize(mappedTotal);
  {
    std::vector<uint64_t> next(mappedFill.begin(), mappedFill.end() - 1);
    for (unsigned s = 0; s < spaces.size(); ++s)
      if (spaces[s].group >= 0 && !spaces[s].trivial)
        for (int64_t i = 0; i < spaces[s].size; ++i)
          unitElements[next[elemUnit[spaces[s].elemBase + i]]++] = {s, i};
  }
  mappedPrunable.resize(numMapped);
  for (size_t m = 0; m < numMapped; ++m)
    mappedPrunable[m] = !unitFrozen[m] && unitHasWeight[m];
  // Every element of an ungrouped space belongs to one empty, unprunable
  // unit, so unitOf() answers for any space.
  ungroupedUnit = nextUnit;

  std::vector<char> seenUnit(numMapped, 0);
  for (Group &g : groups) {
    if (spaces[g.spaces.front()].trivial) {
      // No mapped join: one space (a mapped join would make it mapped).
      assert(g.spaces.size() == 1 && "a trivial space is a group alone");
      const Space &sp = spaces[g.spaces.front()];
      g.units.first = sp.elemBase;
      g.units.count = sp.size;
      bool prunable = isPrunableTrivial(sp);
      g.numPrunable = prunable ? sp.size : 0;
      g.unitWidth = prunable ? 1 : 0;
      continue;
    }
    int64_t width = -1;
    for (unsigned s : g.spaces) {
      assert(!spaces[s].trivial && "a group is trivial or mapped");
      for (int64_t i = 0; i < spaces[s].size; ++i) {
        unsigned m = elemUnit[spaces[s].elemBase + i];
        if (seenUnit[m])
          continue;
        seenUnit[m] = 1;
        g.units.list.push_back(mappedUnitId[m]);
        if (!mappedPrunable[m])
          continue;
        ++g.numPrunable;
        int64_t w = unitSize[m];
        width = width < 0 ? w : (width == w ? w : 0);
      }
    }
    g.unitWidth = width < 0 ? 0 : width;
  }
  // Every cause, direct or through a coupling, for each space that holds
  // weights and cannot lose all it has: users ask why a layer was kept.
  StringMap<unsigned> freezes;
  for (const Space &s : spaces) {
    if (!s.numWeightMembers || s.group < 0)
      continue;
    int64_t blocked = 0;
    const Space *why = blockedBy(s, blocked);
    if (!blocked || !why)
      continue;
    ++freezes[(why == &s ? "" : "coupled to ") +
              (why->reason.op.empty() ? std::string("graph") : why->reason.op) +
              ": " + why->reason.rule];
  }
  for (auto &kv : freezes)
    freezeCounts.emplace_back(kv.getKey().str(), kv.getValue());
  std::sort(freezeCounts.begin(), freezeCounts.end(), [](auto &a, auto &b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;
  });
}

// ---- Building the whole graph --------------------------------------------

/// True when \p v is defined in a subgraph of \p n (at any depth).
static bool definedInside(const Value *v, const Node &n) {
  for (const Graph *g = v->getGraph(); g; g = g->getParentGraph())
    if (g->getOwnerNode() == &n)
      return true;
  return false;
}

/// Values of enclosing graphs (at any depth) that nodes inside \p g, a
/// subgraph of \p owner, read.
static void collectCaptured(const Graph &g, const Node &owner,
                            SmallVectorImpl<Value *> &out) {
  for (const Node &n : g.getNodes()) {
    for (Value *v : n.getInputs())
      if (v && !definedInside(v, owner))
        out.push_back(v);
    n.forEachSubgraph(
        [&](const Graph &sg) { collectCaptured(sg, owner, out); });
  }
}

const DepGraphOptions &DepGraphBuilder::options() const { return g.options; }

Expected<DepGraph> buildDepGraph(const Model &m, const DepGraphOptions &opts) {
  DepGraph dg;
  dg.options = opts;
  DepGraphBuilder b(dg);
  StringMap<unsigned> unhandled;
  const Graph &g = m.getGraph();
  // Most values are 4-d activations or weights; reserving avoids regrowing
  // (and re-faulting) the largest arrays. Unused capacity is never touched.
  size_t numValues = m.getValueIdBound();
  dg.firstVar.assign(numValues, DepGraph::kNoVar);
  dg.vars.reserve(numValues * 4);
  dg.varOrder.reserve(numValues * 4);
  for (Value *v : g.getInputs())
    b.freezeValue(v, nullptr,
                  v->isWeight() ? "initializer that is also a graph input"
                                : "graph input '" + v->getName() + "'");
  for (Value *v : g.getOutputs())
    b.freezeValue(v, nullptr, "graph output '" + v->getName() + "'");
  // Subgraphs of ops with a handler (If, Loop: ControlFlowHandlers.cpp) are
  // part of the one dependency graph: their nodes read outer values
  // directly (a captured value is the same Value inside), so their
  // handlers join across the boundary like any other; the op's own handler
  // then joins branch and body outputs with its results. Their inputs and
  // outputs are not the model's interface and are not frozen.
  std::function<void(const Graph &)> buildNodes = [&](const Graph &cur) {
    for (const Node &n : cur.getNodes()) {
      if (n.isLiftedConstant())
        continue;
      int64_t opset = m.getOpsetVersion(n.getDomain());
      const OpHandler *h = lookupOpHandler(n.getDomain(), n.getOpType(), opset);
      if (n.hasSubgraphs()) {
        if (h) {
          for (const Attribute &a : n.getAttrs())
            for (auto &sg : a.graphs)
              buildNodes(*sg);
          h->build(n, b);
          continue;
        }
        b.freezeNode(n, "has subgraphs");
        SmallVector<Value *, 8> captured;
        n.forEachSubgraph(
            [&](const Graph &sg) { collectCaptured(sg, n, captured); });
        for (Value *v : captured)
          b.freezeValue(v, &n, "read inside a subgraph");
        continue;
      }
      if (h)
        h->build(n, b);
      else {
        b.freezeNode(n, "no handler for this op");
        ++unhandled[(n.getDomain().empty() ? "" : n.getDomain() + ".") +
                    n.getOpType()];
      }
    }
  };
  buildNodes(g);
  // A virtual size (see setVirtualSize) is only stated through the ops
  // whose handlers join it as an index space: Transpose, MatMul, Softmax,
  // elementwise arithmetic, and Reshape (which factors or freezes it). Any
  // other op reading or making such an axis may treat it as the dynamic
  // size it is (Slice, Gather, Shape, reductions): its class is frozen.
  if (!dg.virtualOfRoot.empty())
    m.forEachGraph([&](const Graph &cur) {
      for (const Node &n : cur.getNodes()) {
        StringRef op = n.getOpType();
        if (n.getDomain().empty() &&
            (op == "Transpose" || op == "MatMul" || op == "Softmax" ||
             op == "Add" || op == "Sub" || op == "Mul" || op == "Div" ||
             op == "Reshape") &&
            !n.hasSubgraphs())
          continue;
        auto check = [&](Value *v) {
          int64_t r = v ? DepGraphBuilder::rank(v) : -1;
          for (int64_t i = 0; i < r; ++i)
            if (b.virtualSize({v, (unsigned)i}) > 0)
              b.freeze({v, (unsigned)i}, &n,
                       "virtual head axis read by an op that cannot carry it");
        };
        for (Value *v : n.getInputs())
          check(v);
        for (Value *v : n.getOutputs())
          check(v);
      }
    });
  // Graph inputs and outputs were frozen before any virtual size existed;
  // the freeze is on the axis, so it holds.
  dg.freezeResidualStreams(m);
  for (auto &kv : unhandled)
    dg.unhandledOps.emplace_back(kv.getKey().str(), kv.getValue());
  std::sort(dg.unhandledOps.begin(), dg.unhandledOps.end());
  dg.finalize(m);

  dg.source = &m;
  return std::move(dg);
}

// ---- Coverage --------------------------------------------------------------

void DepGraph::countCoverage() const {
  if (coverage)
    return;
  // Parameters of weights with an axis in a prunable unit. A space with a
  // prunable element contributes all its weights: mark spaces first, so a
  // big space's weights are visited once, not once per element.
  std::vector<char> spaceHasPrunable(spaces.size(), 0);
  for (unsigned s = 0; s < spaces.size(); ++s)
    if (spaces[s].group >= 0 && spaces[s].trivial)
      spaceHasPrunable[s] = isPrunableTrivial(spaces[s]);
  for (size_t u = 0; u < mappedPrunable.size(); ++u) {
    if (!mappedPrunable[u])
      continue;
    for (uint64_t k = mappedFill[u]; k < mappedFill[u + 1]; ++k)
      spaceHasPrunable[unitElements[k].first] = 1;
  }
  DenseSet<const Tensor *> counted, prunableW;
  for (unsigned s = 0; s < spaces.size(); ++s)
    if (spaceHasPrunable[s])
      for (unsigned k = 0; k < spaces[s].numWeightMembers; ++k)
        prunableW.insert(spaces[s].members[k].value->getWeight());
  // Parameters as the framework counts them (StatsAnalysis.h): masks and
  // RoPE tables are not, so they do not dilute the coverage.
  ParameterCounts params = findParameters(*source);
  std::pair<uint64_t, uint64_t> c{0, 0};
  source->forEachGraph([&](const Graph &g) {
    for (const Value *v : g.getValues()) {
      const Tensor *t = v->getWeight();
      if (!t || !counted.insert(t).second)
        continue;
      uint64_t n = params.paramsOf(t);
      c.first += n;
      if (prunableW.count(t))
        c.second += n;
    }
  });
  coverage = c;
}

// ---- Printing ------------------------------------------------------------

const DepGraph::Space *DepGraph::blockedBy(const Space &sp,
                                           int64_t &blocked) const {
  blocked = 0;
  const Space *why = sp.frozen ? &sp : nullptr;
  for (int64_t i = 0; i < sp.size; ++i) {
    if (sp.trivial) {
      // Every unit alike: the element alone.
      if (!isPrunableTrivial(sp))
        blocked = sp.size;
      break;
    }
    Unit u = mappedUnit(elemUnit[sp.elemBase + i]);
    if (u.prunable)
      continue;
    ++blocked;
    for (auto &[t, j] : u.elements)
      if (!why && spaces[t].frozen)
        why = &spaces[t];
  }
  return why;
}

static void printAxis(raw_ostream &os, AxisRef a) {
  os << (a.value->isWeight() ? "weight " : "") << a.value->getName() << "["
     << a.axis << "]";
}

void DepGraph::printCoverage(raw_ostream &os) const {
  unsigned prunableUnits = 0, prunableGroups = 0;
  for (const Group &g : groups) {
    prunableUnits += g.numPrunable;
    prunableGroups += g.numPrunable > 0;
  }
  uint64_t total = getTotalParams(), prunable = getPrunableParams();
  double pct = total ? 100.0 * prunable / total : 0.0;
  os << "coverage: " << prunableGroups << " of " << groups.size()
     << " groups prunable, " << prunableUnits << " prunable units, ";
  os << format("%.1f", pct) << "% of " << total
     << " parameters in prunable groups\n";
  for (auto &[why, count] : freezeCounts)
    os << "  frozen " << count << "x: " << why << "\n";
  if (!unhandledOps.empty()) {
    os << "  ops without a handler (everything they touch is frozen):";
    for (auto &[op, count] : unhandledOps)
      os << " " << op << " x" << count;
    os << "\n";
  }
}

void DepGraph::print(raw_ostream &os, const Model &m) const {
  printCoverage(os);
  for (unsigned gi = 0; gi < groups.size(); ++gi) {
    const Group &g = groups[gi];
    os << "group " << gi << ": " << g.units.size() << " units, "
       << g.numPrunable << " prunable";
    if (g.unitWidth > 1)
      os << ", " << g.unitWidth << " elements per unit";
    os << "\n";
    for (unsigned s : g.spaces) {
      const Space &sp = spaces[s];
      os << "  space " << s << " (size " << sp.size << ")";
      int64_t blocked = 0;
      const Space *why = blockedBy(sp, blocked);
      if (blocked)
        os << ", " << blocked << " not prunable";
      if (why) {
        os << ": " << (why == &sp ? "" : "coupled to ") << why->reason.rule;
        if (!why->reason.node.empty())
          os << " at node " << why->reason.node;
      }
      os << "\n    ";
      for (size_t i = 0; i < sp.members.size(); ++i) {
        if (i)
          os << ", ";
        printAxis(os, sp.members[i]);
      }
      os << "\n";
    }
  }
}

} // namespace onnxprune
