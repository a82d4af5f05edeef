//===- Criterion.cpp - Criterion interface and registry -------------------===//
///
/// \file
/// The shared part of every criterion (normalisation, checks on what a
/// criterion returns) and the name -> factory registry over Criteria.def.
///
//===----------------------------------------------------------------------===//

#include "passes/Criteria/Criterion.h"

#include "lib/Support/Error.h"
#include "passes/PassParams.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringMap.h"

#include <algorithm>
#include <cmath>
#include <mutex>

using namespace llvm;

namespace onnxprune {

StringRef reduceName(ScoreReduce r) {
  switch (r) {
  case ScoreReduce::Sum:
    return "sum";
  case ScoreReduce::Mean:
    return "mean";
  case ScoreReduce::Max:
    return "max";
  }
  llvm_unreachable("bad ScoreReduce");
}

StringRef normalizeName(ScoreNormalize n) {
  switch (n) {
  case ScoreNormalize::None:
    return "none";
  case ScoreNormalize::Mean:
    return "mean";
  case ScoreNormalize::Max:
    return "max";
  case ScoreNormalize::L2:
    return "l2";
  }
  llvm_unreachable("bad ScoreNormalize");
}

Expected<ScoreReduce> parseReduce(StringRef text) {
  for (ScoreReduce r : {ScoreReduce::Sum, ScoreReduce::Mean, ScoreReduce::Max})
    if (text == reduceName(r))
      return r;
  return makeError("'" + text + "' is not a reduction (sum, mean, max)");
}

Expected<ScoreNormalize> parseNormalize(StringRef text) {
  for (ScoreNormalize n : {ScoreNormalize::None, ScoreNormalize::Mean,
                           ScoreNormalize::Max, ScoreNormalize::L2})
    if (text == normalizeName(n))
      return n;
  return makeError("'" + text +
                   "' is not a normalisation (none, mean, max, l2)");
}

StringRef unitKindName(UnitKind k) {
  switch (k) {
  case UnitKind::Width:
    return "width";
  case UnitKind::Expert:
    return "expert";
  case UnitKind::Depth:
    return "depth";
  }
  llvm_unreachable("bad UnitKind");
}

/// "width, expert": the kinds \p c scores.
static std::string kindsOf(const Criterion &c) {
  std::string out;
  for (UnitKind k : {UnitKind::Width, UnitKind::Expert, UnitKind::Depth})
    if (c.scoresKind(k))
      out += (out.empty() ? "" : ", ") + unitKindName(k).str();
  return out;
}

Expected<std::unique_ptr<Criterion>> configureCriterion(PassParams &params,
                                                        StringRef name,
                                                        CriterionOptions &opts,
                                                        UnitKind kind) {
  auto c = CriteriaRegistry::create(name);
  if (!c)
    return params.makeParamError("criterion", toString(c.takeError()));
  if (!(*c)->scoresKind(kind))
    return params.makeParamError(
        "criterion", "'" + name + "' does not score " + unitKindName(kind) +
                         " units (it scores: " + kindsOf(**c) + ")");
  if (Error e = (*c)->configure(params, opts))
    return std::move(e);
  return std::move(*c);
}

std::string criterionParamText(const PassParams &params,
                               ArrayRef<std::string> passKeys) {
  std::string out;
  for (const PassParams::Entry &e : params.entries()) {
    if (!e.used || llvm::is_contained(passKeys, e.key))
      continue;
    if (!out.empty())
      out += ';';
    out += e.key;
    if (e.hasValue)
      out += "=" + e.value;
  }
  return out;
}

Error readLpParams(PassParams &params, CriterionOptions &out) {
  std::string p, reduce;
  if (Error e = params.getString("p", p))
    return e;
  if (Error e = params.getString("reduce", reduce))
    return e;
  if (!p.empty()) {
    double v = 0;
    if (p == "inf")
      out.p = INFINITY;
    else if (StringRef(p).getAsDouble(v) || !(v >= 1) || !std::isfinite(v))
      return params.makeParamError("p", "must be a number >= 1 or 'inf'");
    else
      out.p = v;
  }
  if (!reduce.empty()) {
    auto r = parseReduce(reduce);
    if (!r)
      return params.makeParamError("reduce", toString(r.takeError()));
    out.reduce = *r;
  }
  return Error::success();
}

Error readNormalizeParam(PassParams &params, CriterionOptions &out) {
  std::string normalize;
  if (Error e = params.getString("normalize", normalize))
    return e;
  if (!normalize.empty()) {
    auto n = parseNormalize(normalize);
    if (!n)
      return params.makeParamError("normalize", toString(n.takeError()));
    out.normalize = *n;
  }
  return Error::success();
}

std::vector<unsigned> prunableUnitsOf(const DepGraph &dg, unsigned group) {
  std::vector<unsigned> out;
  for (unsigned u : dg.getGroups()[group].units)
    if (dg.getUnit(u).prunable)
      out.push_back(u);
  return out;
}

void normalizeScores(std::vector<double> &scores, ScoreNormalize how) {
  if (how == ScoreNormalize::None || scores.empty())
    return;
  double d = 0;
  switch (how) {
  case ScoreNormalize::None:
    return;
  case ScoreNormalize::Mean:
    for (double s : scores)
      d += s;
    d /= scores.size();
    break;
  case ScoreNormalize::Max:
    for (double s : scores)
      d = std::max(d, s);
    break;
  case ScoreNormalize::L2:
    for (double s : scores)
      d += s * s;
    d = std::sqrt(d);
    break;
  }
  // All-zero scores stay zero: dividing would give NaN, and zero is what a
  // group of dead channels should score.
  if (d == 0)
    return;
  for (double &s : scores)
    s /= d;
}

Criterion::~Criterion() = default;

Error Criterion::configure(PassParams &, CriterionOptions &) {
  return Error::success();
}

void Criterion::printParams(PassParamsPrinter &,
                            const CriterionOptions &) const {}

Error Criterion::prepare(const CriterionContext &, ArrayRef<unsigned>) {
  return Error::success();
}

Expected<std::optional<std::vector<std::pair<unsigned, double>>>>
Criterion::chooseOrder(const CriterionContext &, unsigned, ArrayRef<unsigned>,
                       int64_t) {
  return std::nullopt;
}

Expected<std::vector<WeightUpdate>>
Criterion::updatesFor(const CriterionContext &, ArrayRef<unsigned>) {
  return std::vector<WeightUpdate>();
}

Expected<std::vector<double>>
Criterion::checkedScores(Expected<std::vector<double>> scores, size_t want,
                         const Twine &what,
                         const CriterionOptions &opts) const {
  if (!scores)
    return scores.takeError();
  if (scores->size() != want)
    return makeError("criterion '" + name() + "' gave " +
                     Twine(scores->size()) + " scores for " + Twine(want) +
                     " " + what);
  for (double s : *scores)
    if (!std::isfinite(s))
      return makeError("criterion '" + name() + "' gave a non-finite score (" +
                       what + ")");
  normalizeScores(*scores, opts.normalize);
  return scores;
}

Expected<std::vector<double>>
Criterion::score(const DepGraph &dg, unsigned group,
                 const CriterionOptions &opts) const {
  assert(group < dg.getGroups().size() && "no such group");
  return checkedScores(computeScores(dg, group, opts),
                       dg.getGroups()[group].numPrunable,
                       "prunable units of group " + Twine(group), opts);
}

Expected<std::vector<double>>
Criterion::scoreSlices(ArrayRef<SliceUnit> units, uint64_t stream,
                       const CriterionOptions &opts) const {
  return checkedScores(computeSliceScores(units, stream, opts), units.size(),
                       "units", opts);
}

Expected<std::vector<double>>
Criterion::computeSliceScores(ArrayRef<SliceUnit>, uint64_t,
                              const CriterionOptions &) const {
  return makeError("criterion '" + name() +
                   "' cannot score units given as weight slices (it scores "
                   "dependency groups only)");
}

Expected<std::vector<double>>
Criterion::scoreDepth(const DepthContext &ctx, ArrayRef<unsigned> candidates,
                      const CriterionOptions &opts) {
  return checkedScores(computeDepthScores(ctx, candidates, opts),
                       candidates.size(), "depth units", opts);
}

Expected<std::optional<std::vector<std::pair<unsigned, double>>>>
Criterion::chooseDepthOrder(const DepthContext &, ArrayRef<unsigned>,
                            function_ref<bool(ArrayRef<unsigned>)>) {
  return std::nullopt;
}

Expected<std::vector<double>>
Criterion::computeScores(const DepGraph &, unsigned,
                         const CriterionOptions &) const {
  return makeError("criterion '" + name() +
                   "' cannot score dependency groups (it scores depth units)");
}

Expected<std::vector<double>>
Criterion::computeDepthScores(const DepthContext &, ArrayRef<unsigned>,
                              const CriterionOptions &) {
  return makeError("criterion '" + name() + "' cannot score depth units");
}

// ---- Registry -------------------------------------------------------------

#define CRITERION(NAME, CLASS, NEEDS_DATA, DESCRIPTION)                        \
  std::unique_ptr<Criterion> create##CLASS();
#include "passes/Criteria/Criteria.def"

namespace {
struct Entry {
  CriterionFactory factory;
  std::string description;
  bool needsData;
};

struct Registry {
  std::mutex mu;
  StringMap<Entry> byName;
  Registry() {
#define CRITERION(NAME, CLASS, NEEDS_DATA, DESCRIPTION)                        \
  byName[NAME] = Entry{&create##CLASS, DESCRIPTION, NEEDS_DATA};
#include "passes/Criteria/Criteria.def"
  }
};

Registry &registry() {
  static Registry r;
  return r;
}
} // namespace

void registerCriterion(StringRef name, CriterionFactory factory,
                       StringRef description, bool needsData) {
  Registry &r = registry();
  std::lock_guard<std::mutex> lock(r.mu);
  r.byName[name] = Entry{std::move(factory), description.str(), needsData};
}

bool CriteriaRegistry::contains(StringRef name) {
  Registry &r = registry();
  std::lock_guard<std::mutex> lock(r.mu);
  return r.byName.count(name);
}

Expected<std::unique_ptr<Criterion>> CriteriaRegistry::create(StringRef name) {
  Registry &r = registry();
  CriterionFactory factory;
  std::vector<std::string> names;
  {
    std::lock_guard<std::mutex> lock(r.mu);
    auto it = r.byName.find(name);
    if (it != r.byName.end())
      factory = it->second.factory;
    for (auto &kv : r.byName)
      names.push_back(kv.getKey().str());
  }
  if (!factory) {
    std::sort(names.begin(), names.end());
    std::string near = suggestNearest(name, names);
    return makeError("unknown criterion '" + name + "'" +
                     (near.empty() ? " (known: " + join(names, ", ") + ")"
                                   : " (did you mean '" + near + "'?)"));
  }
  return factory();
}

std::vector<CriterionInfo> CriteriaRegistry::list() {
  Registry &r = registry();
  std::lock_guard<std::mutex> lock(r.mu);
  std::vector<CriterionInfo> out;
  for (auto &kv : r.byName) {
    std::unique_ptr<Criterion> c = kv.getValue().factory();
    out.push_back({kv.getKey().str(), kv.getValue().description,
                   kv.getValue().needsData, c ? kindsOf(*c) : ""});
  }
  std::sort(out.begin(), out.end(),
            [](auto &a, auto &b) { return a.name < b.name; });
  return out;
}

} // namespace onnxprune
