//===- PrunePlan.cpp - A saved choice of units to remove ------------------===//
///
/// \file
/// Plan JSON (llvm/Support/JSON.h: objects print with sorted keys, so the
/// bytes are stable), content names of units, and resolving a loaded plan
/// against a model with one-line errors.
///
//===----------------------------------------------------------------------===//

#include "passes/Transforms/PrunePlan.h"

#include "lib/IR/Graph.h"
#include "lib/Support/Error.h"
#include "lib/Support/OutputFile.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"

#include <algorithm>

using namespace llvm;

namespace onnxprune {

PrunePlan PrunePlan::withoutUpdates() const {
  PrunePlan p;
  p.pass = pass;
  p.criterion = criterion;
  p.budget = budget;
  p.source = source;
  p.groups = groups;
  p.dropped = dropped;
  p.scores = scores;
  return p;
}

size_t PrunePlan::numRemoved() const {
  size_t n = 0;
  for (const Group &g : groups)
    n += g.removed.size();
  return n;
}

AxisRef groupDisplayRoot(const DepGraph &dg, unsigned group) {
  const DepGraph::Group &g = dg.getGroups()[group];
  assert(!g.spaces.empty() && "a group has spaces");
  const DepGraph::Space &sp = dg.getSpaces()[g.spaces.front()];
  assert(!sp.members.empty() && "a space has members");
  // Weights come first among the members: name the group after a matrix or
  // filter rather than a bias or a norm scale that happens to come first.
  for (unsigned k = 0; k < sp.numWeightMembers; ++k)
    if (const Tensor *t = sp.members[k].value->getWeight();
        t && t->getDims().size() >= 2)
      return sp.members[k];
  return sp.members.front();
}

PlanUnitRef getUnitRef(const DepGraph &dg, unsigned unit) {
  auto spaces = dg.getSpaces();
  const DepGraph::Unit u = dg.getUnit(unit);
  assert(!u.elements.empty() && "a unit has elements");
  // A prunable unit always has an element in a space with weights; others
  // fall back on their first element's first member.
  auto it = std::find_if(u.elements.begin(), u.elements.end(), [&](auto &e) {
    return spaces[e.first].numWeightMembers > 0;
  });
  if (it == u.elements.end())
    it = u.elements.begin();
  const AxisRef &a = spaces[it->first].members.front();
  return {a.value->getName(), a.axis, it->second};
}

PrunePlan makePrunePlan(const DepGraph &dg, ArrayRef<unsigned> units,
                        ArrayRef<double> scores) {
  assert(units.size() == scores.size() && "one score per unit");
  // Group of each unit: the group of its first element's space.
  auto spaces = dg.getSpaces();
  std::vector<std::vector<std::pair<unsigned, double>>> byGroup(
      dg.getGroups().size());
  for (size_t i = 0; i < units.size(); ++i) {
    auto [s, idx] = dg.getUnit(units[i]).elements.front();
    assert(spaces[s].group >= 0 && "a prunable unit is in a group");
    byGroup[spaces[s].group].push_back({units[i], scores[i]});
  }
  PrunePlan plan;
  for (unsigned g = 0; g < byGroup.size(); ++g) {
    if (byGroup[g].empty())
      continue;
    PrunePlan::Group pg;
    const DepGraph::Group &group = dg.getGroups()[g];
    for (unsigned u : group.units)
      if (dg.getUnit(u).prunable) {
        PlanUnitRef anchor = getUnitRef(dg, u);
        pg.weight = anchor.weight;
        pg.axis = anchor.axis;
        break;
      }
    pg.numUnits = group.units.size();
    for (auto &[u, score] : byGroup[g])
      pg.removed.push_back({getUnitRef(dg, u), score});
    std::sort(pg.removed.begin(), pg.removed.end(), [](auto &a, auto &b) {
      return std::tie(a.unit.weight, a.unit.axis, a.unit.index) <
             std::tie(b.unit.weight, b.unit.axis, b.unit.index);
    });
    plan.groups.push_back(std::move(pg));
  }
  return plan;
}

// ---- JSON -----------------------------------------------------------------

std::string PrunePlan::toJSON() const {
  json::Array jgroups;
  for (const Group &g : groups) {
    json::Array removedUnits;
    for (const Removed &r : g.removed)
      removedUnits.push_back(json::Object{{"weight", r.unit.weight},
                                          {"axis", int64_t(r.unit.axis)},
                                          {"index", r.unit.index},
                                          {"score", r.score}});
    jgroups.push_back(json::Object{{"weight", g.weight},
                                   {"axis", int64_t(g.axis)},
                                   {"units", int64_t(g.numUnits)},
                                   {"removed", std::move(removedUnits)}});
  }
  json::Object root{{"format", "onnx-prune-plan"},
                    {"version", 1},
                    {"pass", pass},
                    {"criterion", criterion},
                    {"budget", budget},
                    {"groups", std::move(jgroups)}};
  if (!source.empty())
    root["source"] = source;
  if (!dropped.empty()) {
    json::Array jdropped;
    for (const DroppedUnit &d : dropped)
      jdropped.push_back(json::Object{{"unit", d.unit},
                                      {"kind", d.kind},
                                      {"params", int64_t(d.params)},
                                      {"score", d.score}});
    root["dropped"] = std::move(jdropped);
  }
  if (!updates.empty()) {
    json::Array jupdates;
    uint64_t offset = 0;
    for (const WeightUpdate &u : updates) {
      json::Array dims;
      for (int64_t d : u.dims)
        dims.push_back(d);
      jupdates.push_back(json::Object{{"weight", u.weight},
                                      {"dtype", int64_t(u.dtype)},
                                      {"dims", std::move(dims)},
                                      {"offset", int64_t(offset)},
                                      {"bytes", int64_t(u.bytes.size())}});
      offset += u.bytes.size();
    }
    root["updates"] = std::move(jupdates);
  }
  std::string out;
  raw_string_ostream os(out);
  os << formatv("{0:2}", json::Value(std::move(root))) << "\n";
  return os.str();
}

namespace {

/// Reads the fields of one JSON object, naming the path on errors.
class FieldReader {
public:
  FieldReader(const json::Object &o, std::string where, StringRef source)
      : o(o), where(std::move(where)), source(source) {}

  Error fail(const Twine &msg) const {
    return makeError("plan '" + source + "': " + where + msg);
  }
  Error getString(StringRef key, std::string &out, bool required = true) {
    const json::Value *v = o.get(key);
    if (!v)
      return required ? fail("missing '" + key + "'") : Error::success();
    auto s = v->getAsString();
    if (!s)
      return fail("'" + key + "' must be a string");
    out = s->str();
    return Error::success();
  }
  Error getInt(StringRef key, int64_t &out) {
    const json::Value *v = o.get(key);
    if (!v)
      return fail("missing '" + key + "'");
    auto i = v->getAsInteger();
    if (!i || *i < 0)
      return fail("'" + key + "' must be a non-negative integer");
    out = *i;
    return Error::success();
  }
  Error getNumber(StringRef key, double &out) {
    const json::Value *v = o.get(key);
    if (!v)
      return Error::success(); // Scores are informative; hand-made plans may
                               // omit them.
    auto d = v->getAsNumber();
    if (!d)
      return fail("'" + key + "' must be a number");
    out = *d;
    return Error::success();
  }
  Expected<const json::Array *> getArray(StringRef key) {
    const json::Value *v = o.get(key);
    if (!v)
      return fail("missing '" + key + "'");
    const json::Array *a = v->getAsArray();
    if (!a)
      return fail("'" + key + "' must be an array");
    return a;
  }

private:
  const json::Object &o;
  std::string where;
  StringRef source;
};

} // namespace

Expected<PrunePlan> PrunePlan::fromJSON(StringRef text, StringRef source,
                                        const WeightsFile &weights) {
  auto parsed = json::parse(text);
  if (!parsed)
    return makeError("plan '" + source + "': invalid JSON: " +
                     oneLine(toString(parsed.takeError())));
  const json::Object *root = parsed->getAsObject();
  if (!root)
    return makeError("plan '" + source + "': not a JSON object");
  FieldReader top(*root, "", source);
  PrunePlan plan;
  std::string format;
  if (Error e = top.getString("format", format))
    return std::move(e);
  if (format != "onnx-prune-plan")
    return top.fail("'format' is '" + format + "', not 'onnx-prune-plan'");
  int64_t version = 0;
  if (Error e = top.getInt("version", version))
    return std::move(e);
  if (version != 1)
    return top.fail("version " + Twine(version) +
                    " is not supported (this build reads version 1)");
  if (Error e = top.getString("pass", plan.pass, false))
    return std::move(e);
  if (Error e = top.getString("criterion", plan.criterion, false))
    return std::move(e);
  if (Error e = top.getString("budget", plan.budget, false))
    return std::move(e);
  if (Error e = top.getString("source", plan.source, false))
    return std::move(e);
  auto groups = top.getArray("groups");
  if (!groups)
    return groups.takeError();
  for (size_t gi = 0; gi < (*groups)->size(); ++gi) {
    std::string gwhere = "groups[" + std::to_string(gi) + "]";
    const json::Object *go = (**groups)[gi].getAsObject();
    if (!go)
      return top.fail(gwhere + " must be an object");
    FieldReader gr(*go, gwhere + ": ", source);
    Group g;
    int64_t axis = 0, units = 0;
    if (Error e = gr.getString("weight", g.weight))
      return std::move(e);
    if (Error e = gr.getInt("axis", axis))
      return std::move(e);
    if (Error e = gr.getInt("units", units))
      return std::move(e);
    g.axis = axis;
    g.numUnits = units;
    auto removed = gr.getArray("removed");
    if (!removed)
      return removed.takeError();
    for (size_t ri = 0; ri < (*removed)->size(); ++ri) {
      std::string rwhere = gwhere + ".removed[" + std::to_string(ri) + "]";
      const json::Object *ro = (**removed)[ri].getAsObject();
      if (!ro)
        return top.fail(rwhere + " must be an object");
      FieldReader rr(*ro, rwhere + ": ", source);
      Removed r;
      int64_t raxis = 0;
      if (Error e = rr.getString("weight", r.unit.weight))
        return std::move(e);
      if (Error e = rr.getInt("axis", raxis))
        return std::move(e);
      if (Error e = rr.getInt("index", r.unit.index))
        return std::move(e);
      if (Error e = rr.getNumber("score", r.score))
        return std::move(e);
      r.unit.axis = raxis;
      g.removed.push_back(std::move(r));
    }
    plan.groups.push_back(std::move(g));
  }
  if (root->get("dropped")) {
    auto dropped = top.getArray("dropped");
    if (!dropped)
      return dropped.takeError();
    for (size_t di = 0; di < (*dropped)->size(); ++di) {
      std::string dwhere = "dropped[" + std::to_string(di) + "]";
      const json::Object *dobj = (**dropped)[di].getAsObject();
      if (!dobj)
        return top.fail(dwhere + " must be an object");
      FieldReader dr(*dobj, dwhere + ": ", source);
      DroppedUnit d;
      int64_t params = 0;
      if (Error e = dr.getString("unit", d.unit))
        return std::move(e);
      if (Error e = dr.getString("kind", d.kind))
        return std::move(e);
      if (Error e = dr.getInt("params", params))
        return std::move(e);
      if (Error e = dr.getNumber("score", d.score))
        return std::move(e);
      d.params = uint64_t(std::max<int64_t>(0, params));
      plan.dropped.push_back(std::move(d));
    }
  }
  if (root->get("updates")) {
    auto updates = top.getArray("updates");
    if (!updates)
      return updates.takeError();
    if (!weights.read)
      return top.fail("'updates' need the plan's weights file (read the "
                      "plan from a file, beside its .weights)");
    auto blob = weights.read();
    if (!blob)
      return blob.takeError();
    for (size_t ui = 0; ui < (*updates)->size(); ++ui) {
      std::string uwhere = "updates[" + std::to_string(ui) + "]";
      const json::Object *uo = (**updates)[ui].getAsObject();
      if (!uo)
        return top.fail(uwhere + " must be an object");
      FieldReader ur(*uo, uwhere + ": ", source);
      WeightUpdate u;
      int64_t dtype = 0, offset = 0, bytes = 0;
      if (Error e = ur.getString("weight", u.weight))
        return std::move(e);
      if (Error e = ur.getInt("dtype", dtype))
        return std::move(e);
      if (Error e = ur.getInt("offset", offset))
        return std::move(e);
      if (Error e = ur.getInt("bytes", bytes))
        return std::move(e);
      auto dims = ur.getArray("dims");
      if (!dims)
        return dims.takeError();
      uint64_t numel = 1;
      for (const json::Value &d : **dims) {
        auto v = d.getAsInteger();
        if (!v || *v < 0 || *v > (int64_t(1) << 40))
          return ur.fail("'dims' must hold non-negative integers");
        u.dims.push_back(*v);
        numel *= uint64_t(*v);
      }
      u.dtype = DataType(dtype);
      if (!isFloatingPoint(u.dtype) ||
          uint64_t(bytes) != numel * elementSize(u.dtype))
        return ur.fail("'bytes' (" + Twine(bytes) +
                       ") is not what a floating-point tensor of these dims "
                       "and dtype holds");
      if (uint64_t(offset) > blob->size() ||
          uint64_t(bytes) > blob->size() - uint64_t(offset))
        return makeError("plan '" + source + "': update of weight '" +
                         u.weight + "' lies past the end of '" + weights.name +
                         "' (" + Twine(blob->size()) + " bytes)");
      u.bytes = blob->substr(offset, bytes).str();
      plan.updates.push_back(std::move(u));
    }
  }
  return plan;
}

/// Writes \p data to \p path atomically.
static Error writeWhole(StringRef path, StringRef data, StringRef what) {
  if (Error e = OutputFile::writeWhole(path, data))
    return addContext(std::move(e), "cannot write " + what + " '" + path + "'");
  return Error::success();
}

Error PrunePlan::writeFile(StringRef path) const {
  if (!updates.empty()) {
    std::string blob;
    for (const WeightUpdate &u : updates)
      blob += u.bytes;
    if (Error e = writeWhole((path + ".weights").str(), blob, "plan weights"))
      return e;
  }
  return writeWhole(path, toJSON(), "plan");
}

Expected<PrunePlan> PrunePlan::readFile(StringRef path) {
  auto buf = MemoryBuffer::getFile(path, /*IsText=*/true);
  if (!buf)
    return makeError("cannot read plan '" + path +
                     "': " + buf.getError().message());
  std::string side = (path + ".weights").str();
  std::unique_ptr<MemoryBuffer> blob;
  WeightsFile weights{
      side, [&]() -> Expected<StringRef> {
        auto b = MemoryBuffer::getFile(side, /*IsText=*/false,
                                       /*RequiresNullTerminator=*/false);
        if (!b)
          return makeError("plan '" + path + "' has weight updates but '" +
                           side +
                           "' cannot be read: " + b.getError().message());
        blob = std::move(*b);
        return blob->getBuffer();
      }};
  return fromJSON((*buf)->getBuffer(), path, weights);
}

Error applyWeightUpdates(Model &m, ArrayRef<WeightUpdate> updates,
                         StringRef source) {
  Graph &g = m.getGraph();
  for (const WeightUpdate &u : updates) {
    Value *v = g.lookup(u.weight);
    Tensor *t = v ? v->getWeight() : nullptr;
    if (!t)
      return makeError("plan '" + source + "': update of weight '" + u.weight +
                       "': the model has no such weight");
    if (t->getDataType() != u.dtype ||
        ArrayRef<int64_t>(u.dims) != t->getDims() ||
        u.bytes.size() != t->getByteSize())
      return makeError("plan '" + source + "': update of weight '" + u.weight +
                       "' does not match its dtype, dims and size in the "
                       "model");
    t->setData(u.dims, u.bytes);
  }
  return Error::success();
}

// ---- Resolving ------------------------------------------------------------

namespace {

std::string describe(const PlanUnitRef &r) {
  return "(weight '" + r.weight + "', axis " + std::to_string(r.axis) +
         ", index " + std::to_string(r.index) + ")";
}

/// The unit of \p r, or why there is none.
/// The value named \p name in any graph of \p m (names are unique across
/// scopes): weights of If branches and Loop bodies are group members too.
static Value *lookupAnywhere(const Model &m, StringRef name) {
  Value *found = m.getGraph().lookup(name);
  if (!found)
    m.forEachGraph([&](const Graph &g) {
      if (!found)
        found = g.lookup(name);
    });
  return found;
}

Expected<unsigned> resolveUnit(const PlanUnitRef &r, const Model &m,
                               const DepGraph &dg, StringRef source) {
  auto fail = [&](const Twine &why) {
    return makeError("plan '" + source + "': unit " + describe(r) +
                     " does not exist: " + why);
  };
  Value *v = lookupAnywhere(m, r.weight);
  if (!v || !v->isWeight())
    return fail("no weight '" + r.weight + "' in the model");
  int64_t rank = v->getWeight()->getDims().size();
  if (r.axis >= rank)
    return fail("'" + r.weight + "' has rank " + Twine(rank));
  int s = dg.spaceOf({v, r.axis});
  if (s < 0)
    return fail("axis " + Twine(r.axis) + " of '" + r.weight +
                "' is not a channel axis");
  int64_t size = dg.getSpaces()[s].size;
  if (r.index >= size)
    return fail("axis " + Twine(r.axis) + " of '" + r.weight + "' has " +
                Twine(size) + " elements");
  unsigned u = dg.unitOf(s, r.index);
  if (!dg.getUnit(u).prunable) {
    // Say why, as print<dep-groups> would.
    std::string why = "frozen";
    for (auto &[t, i] : dg.getUnit(u).elements) {
      const DepGraph::Space &sp = dg.getSpaces()[t];
      if (sp.frozen) {
        why += ": " + sp.reason.rule;
        if (!sp.reason.node.empty())
          why += " at node " + sp.reason.node;
        break;
      }
    }
    return makeError("plan '" + source + "': unit " + describe(r) +
                     " cannot be pruned (" + why + ")");
  }
  return u;
}

} // namespace

Expected<std::vector<unsigned>> resolvePrunePlan(const PrunePlan &plan,
                                                 const Model &m,
                                                 const DepGraph &dg,
                                                 StringRef source) {
  std::vector<unsigned> units;
  DenseMap<unsigned, PlanUnitRef> seen;
  for (const PrunePlan::Group &g : plan.groups) {
    // The group's name must be a prunable unit's axis of some group.
    Value *av = lookupAnywhere(m, g.weight);
    int as = av && av->isWeight() && g.axis < av->getWeight()->getDims().size()
                 ? dg.spaceOf({av, g.axis})
                 : -1;
    if (as < 0 || dg.getSpaces()[as].group < 0)
      return makeError("plan '" + source + "': group (weight '" + g.weight +
                       "', axis " + Twine(g.axis) +
                       ") does not exist in this model");
    int group = dg.getSpaces()[as].group;
    for (const PrunePlan::Removed &r : g.removed) {
      auto u = resolveUnit(r.unit, m, dg, source);
      if (!u)
        return u.takeError();
      auto [it, inserted] = seen.try_emplace(*u, r.unit);
      if (!inserted)
        return makeError("plan '" + source + "': unit " + describe(r.unit) +
                         " is listed twice (also as " + describe(it->second) +
                         ")");
      auto [s, i] = dg.getUnit(*u).elements.front();
      if (dg.getSpaces()[s].group != group)
        return makeError("plan '" + source + "': unit " + describe(r.unit) +
                         " is not in the group of (weight '" + g.weight +
                         "', axis " + Twine(g.axis) + ")");
      units.push_back(*u);
    }
  }
  return units;
}

} // namespace onnxprune
