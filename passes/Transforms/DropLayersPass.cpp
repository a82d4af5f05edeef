//===- DropLayersPass.cpp - Depth pruning: remove residual units ----------===//
///
/// \file
/// Chooses residual units with a depth criterion under a budget and drops
/// them. See DropLayersPass.h.
///
//===----------------------------------------------------------------------===//

#include "passes/Transforms/DropLayersPass.h"

#include "lib/IR/Graph.h"
#include "lib/IR/Rewriter.h"
#include "lib/Support/Error.h"
#include "passes/Analysis/Calibration.h"
#include "passes/Analysis/StatsAnalysis.h"
#include "passes/Transforms/DCEPass.h"
#include "passes/Transforms/PrunePlan.h"
#include "passes/Transforms/PruneRecord.h"

#include "llvm/ADT/DenseSet.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/Regex.h"
#include "llvm/Support/raw_ostream.h"

#include <numeric>

using namespace llvm;

namespace onnxprune {

// ---- Parameters -----------------------------------------------------------

namespace {

const char *const PassKeys[] = {"criterion", "count",    "ratio",  "kind",
                                "protect",   "plan-out", "plan-in"};

StringRef filterName(DepthFilter f) {
  switch (f) {
  case DepthFilter::Any:
    return "any";
  case DepthFilter::Attention:
    return "attn";
  case DepthFilter::Mlp:
    return "mlp";
  case DepthFilter::Block:
    return "block";
  }
  llvm_unreachable("bad DepthFilter");
}

} // namespace

Expected<DropLayersOptions> DropLayersOptions::parse(StringRef text) {
  auto params = PassParams::parse(DropLayersPass::name(), text);
  if (!params)
    return params.takeError();
  DropLayersOptions o;
  std::string kind = "any";
  if (Error e = params->getString("criterion", o.criterion))
    return std::move(e);
  if (Error e = params->getUnsigned("count", o.count))
    return std::move(e);
  if (Error e = params->getDouble("ratio", o.ratio))
    return std::move(e);
  if (Error e = params->getString("kind", kind))
    return std::move(e);
  if (Error e = params->getRegex("protect", o.protect))
    return std::move(e);
  if (Error e = params->getPath("plan-out", o.planOut))
    return std::move(e);
  if (Error e = params->getPath("plan-in", o.planIn))
    return std::move(e);

  if (params->has("plan-in")) {
    for (const PassParams::Entry &e : params->entries())
      if (!is_contained(ArrayRef<const char *>{"plan-in", "plan-out"}, e.key))
        return params->makeParamError(
            e.key, "cannot be combined with plan-in (the plan already says "
                   "what to drop)");
  } else {
    auto criterion = configureCriterion(*params, o.criterion,
                                        o.criterionOptions, UnitKind::Depth);
    if (!criterion)
      return criterion.takeError();
  }
  if (Error e = params->finish())
    return std::move(e);
  o.criterionParams =
      criterionParamText(*params, std::vector<std::string>(std::begin(PassKeys),
                                                           std::end(PassKeys)));

  bool hasCount = params->has("count"), hasRatio = params->has("ratio");
  if (hasCount && hasRatio)
    return params->makeParamError("ratio",
                                  "cannot be combined with 'count': give one");
  if (hasCount)
    o.budget = Budget::Count;
  if (hasRatio) {
    if (!(o.ratio >= 0 && o.ratio <= 1))
      return params->makeParamError("ratio", "must be a fraction in [0, 1]");
    o.budget = Budget::Ratio;
  }
  if (o.budget == Budget::None && o.planIn.empty())
    return makeError("pass 'drop-layers': needs a budget: count=N (units) or "
                     "ratio=R (of the parameters), or plan-in=PATH");
  if (kind == "any")
    o.kind = DepthFilter::Any;
  else if (kind == "attn")
    o.kind = DepthFilter::Attention;
  else if (kind == "mlp")
    o.kind = DepthFilter::Mlp;
  else if (kind == "block")
    o.kind = DepthFilter::Block;
  else
    return params->makeParamError(
        "kind", "must be any, attn, mlp or block, not '" + kind + "'");
  return o;
}

Expected<std::unique_ptr<Criterion>> DropLayersOptions::makeCriterion() const {
  auto params = PassParams::parse(DropLayersPass::name(), criterionParams);
  if (!params)
    return params.takeError();
  CriterionOptions scratch = criterionOptions;
  return configureCriterion(*params, criterion, scratch, UnitKind::Depth);
}

void DropLayersPass::printPipeline(raw_ostream &os) const {
  PassParamsPrinter pp(os, name());
  if (!opts.planIn.empty()) {
    pp.add("plan-in", opts.planIn);
    if (!opts.planOut.empty())
      pp.add("plan-out", opts.planOut);
    return;
  }
  pp.add("criterion", opts.criterion);
  if (auto c = opts.makeCriterion())
    (*c)->printParams(pp, opts.criterionOptions);
  else
    consumeError(c.takeError());
  if (opts.budget == DropLayersOptions::Budget::Count)
    pp.add("count", uint64_t(opts.count));
  else
    pp.add("ratio", opts.ratio);
  pp.add("kind", filterName(opts.kind));
  if (!opts.protect.empty())
    pp.add("protect", opts.protect);
  if (!opts.planOut.empty())
    pp.add("plan-out", opts.planOut);
}

// ---- Dropping -------------------------------------------------------------

Error dropResidualUnit(Model &m, const ResidualUnits &units,
                       const ResidualUnit &u) {
  std::vector<const ResidualUnit *> subLayers;
  if (u.parts.empty())
    subLayers.push_back(&u);
  for (unsigned p : u.parts)
    subLayers.push_back(&units.units[p]);
  Rewriter rw(m);
  for (const ResidualUnit *s : subLayers) {
    Value *sum = m.getGraph().lookup(s->id);
    Node *add = sum ? sum->getProducer() : nullptr;
    if (!add || add->getOpType() != "Add" || add->getNumInputs() != 2)
      return makeError("drop-layers: unit '" + s->id +
                       "' is not the output of an Add in this model");
    unsigned branch = add->getInput(0)->getName() == s->branchOut   ? 0
                      : add->getInput(1)->getName() == s->branchOut ? 1
                                                                    : 2;
    if (branch == 2)
      return makeError("drop-layers: unit '" + s->id + "': node " +
                       add->describe() + " does not read branch '" +
                       s->branchOut + "'");
    unsigned stream = 1 - branch;
    if (sum->isGraphOutput()) {
      rw.replaceWithIdentity(add, stream);
    } else {
      rw.replaceAllUsesWith(sum, add->getInput(stream));
      rw.eraseNode(add);
    }
  }
  return Error::success();
}

namespace {

bool matchesKind(const ResidualUnit &u, DepthFilter f) {
  switch (f) {
  case DepthFilter::Any:
    return u.isSubLayer();
  case DepthFilter::Attention:
    return u.kind == DepthKind::Attention;
  case DepthFilter::Mlp:
    return u.kind == DepthKind::Mlp;
  case DepthFilter::Block:
    return u.kind == DepthKind::Block;
  }
  llvm_unreachable("bad DepthFilter");
}

bool isProtected(const ResidualUnit &u, const Regex &re) {
  if (re.match(u.id))
    return true;
  for (const std::string &n : u.nodes)
    if (re.match(n))
      return true;
  for (const std::string &w : u.weights)
    if (re.match(w))
      return true;
  return false;
}

/// The units to drop, in the order chosen, with their scores.
Expected<std::vector<std::pair<unsigned, double>>>
chooseUnits(Model &m, const ResidualUnits &units, const DropLayersOptions &opts,
            uint64_t paramsToRemove, CalibrationProvider *calibration,
            raw_ostream &out, std::string &source) {
  std::optional<Regex> protect;
  if (!opts.protect.empty())
    protect.emplace(opts.protect);
  std::vector<unsigned> candidates;
  for (unsigned i = 0; i < units.units.size(); ++i) {
    const ResidualUnit &u = units.units[i];
    if (u.droppable() && matchesKind(u, opts.kind) &&
        !(protect && isProtected(u, *protect)))
      candidates.push_back(i);
  }
  auto enough = [&](ArrayRef<unsigned> chosen) {
    if (opts.budget == DropLayersOptions::Budget::Count)
      return chosen.size() >= opts.count;
    uint64_t removed = 0;
    for (unsigned c : chosen)
      removed += units.units[c].params;
    return removed >= paramsToRemove;
  };
  if (candidates.empty() || enough({}))
    return std::vector<std::pair<unsigned, double>>();

  auto criterion = opts.makeCriterion();
  if (!criterion)
    return criterion.takeError();
  DepthContext ctx{&m, &units, calibration, &out};
  auto order = (*criterion)->chooseDepthOrder(ctx, candidates, enough);
  if (!order)
    return order.takeError();
  std::vector<std::pair<unsigned, double>> chosen;
  if (*order) {
    chosen = std::move(**order);
  } else {
    auto scores =
        (*criterion)->scoreDepth(ctx, candidates, opts.criterionOptions);
    if (!scores)
      return scores.takeError();
    std::vector<unsigned> rank(candidates.size());
    std::iota(rank.begin(), rank.end(), 0);
    // Lowest first; ties go to the earlier unit.
    std::stable_sort(rank.begin(), rank.end(), [&](unsigned a, unsigned b) {
      return (*scores)[a] < (*scores)[b];
    });
    std::vector<unsigned> ids;
    for (unsigned r : rank) {
      if (enough(ids))
        break;
      ids.push_back(candidates[r]);
      chosen.push_back({candidates[r], (*scores)[r]});
    }
  }
  source = (*criterion)->source();
  return chosen;
}

} // namespace

Expected<PreservedAnalyses> DropLayersPass::run(Model &m,
                                                ModelAnalysisManager &am) {
  raw_ostream &out = log ? *log : errs();
  auto unitsOr = am.getResult<ResidualUnitsAnalysis>(m);
  if (!unitsOr)
    return unitsOr.takeError();
  // A copy: the analysis is invalidated as soon as the model changes.
  const ResidualUnits units = *unitsOr;

  ModelStats before = computeStats(m);
  OriginalCounts original = originalCounts(m, &before);
  PrunePlan plan;
  {
    raw_string_ostream os(plan.pass);
    printPipeline(os);
  }
  std::vector<std::pair<unsigned, double>> chosen;
  if (!opts.planIn.empty()) {
    auto saved = PrunePlan::readFile(opts.planIn);
    if (!saved)
      return saved.takeError();
    if (!saved->groups.empty())
      return makeError("plan '" + opts.planIn +
                       "' is a prune-width plan (it removes channels); "
                       "drop-layers replays drop-layers plans");
    for (const PrunePlan::DroppedUnit &d : saved->dropped) {
      const ResidualUnit *u = units.find(d.unit);
      if (!u)
        return makeError("plan '" + opts.planIn + "': unit '" + d.unit +
                         "' is not a residual unit of this model");
      if (!u->droppable())
        return makeError("plan '" + opts.planIn + "': unit '" + d.unit +
                         "' cannot be dropped: " + u->blocker);
      if (depthKindName(u->kind) != d.kind)
        return makeError("plan '" + opts.planIn + "': unit '" + d.unit +
                         "' is " + depthKindName(u->kind) + ", not " + d.kind);
      unsigned idx = u - units.units.data();
      if (llvm::any_of(chosen, [&](auto &c) { return c.first == idx; }))
        return makeError("plan '" + opts.planIn + "': unit '" + d.unit +
                         "' is listed twice");
      chosen.push_back({idx, d.score});
    }
    plan.criterion = saved->criterion;
    plan.budget = saved->budget;
    plan.source = saved->source;
  } else {
    // Budgets count from the model the pipeline started from.
    uint64_t keep = uint64_t((1.0 - opts.ratio) * double(original.params));
    uint64_t toRemove = opts.budget == DropLayersOptions::Budget::Ratio &&
                                before.numParams > keep
                            ? before.numParams - keep
                            : 0;
    if (opts.budget == DropLayersOptions::Budget::Ratio && !toRemove) {
      out << "drop-layers: remark: " << before.numParams
          << " params remain, already at most "
          << format("%.1f%%", 100.0 * (1.0 - opts.ratio)) << " of the original "
          << original.params << "; nothing to drop\n";
      return PreservedAnalyses::all();
    }
    CalibrationProvider *calibration = nullptr;
    if (auto c = am.getResult<CalibrationAnalysis>(m))
      calibration = *c;
    auto picked =
        chooseUnits(m, units, opts, toRemove, calibration, out, plan.source);
    if (!picked)
      return picked.takeError();
    chosen = std::move(*picked);
    uint64_t removable = 0;
    for (auto &c : chosen)
      removable += units.units[c.first].params;
    if (opts.budget == DropLayersOptions::Budget::Count
            ? chosen.size() < opts.count
            : removable < toRemove)
      out << "drop-layers: warning: the budget cannot be met: " << chosen.size()
          << (chosen.size() == 1 ? " unit" : " units") << " (" << removable
          << " params) can be dropped"
          << (opts.kind == DepthFilter::Any
                  ? ""
                  : " of kind " + filterName(opts.kind).str())
          << (opts.protect.empty() ? "" : " outside protect=" + opts.protect)
          << "\n";
    plan.criterion = opts.criterion;
    std::string budget;
    raw_string_ostream bs(budget);
    if (opts.budget == DropLayersOptions::Budget::Count)
      bs << "count=" << opts.count;
    else
      bs << "ratio=" << formatParamDouble(opts.ratio);
    bs << ";kind=" << filterName(opts.kind);
    plan.budget = bs.str();
  }

  // Units overlap only as a block and its own parts: refuse both.
  DenseSet<unsigned> taken;
  for (auto &[idx, score] : chosen) {
    const ResidualUnit &u = units.units[idx];
    SmallVector<unsigned, 2> subs;
    if (u.parts.empty())
      subs.push_back(idx);
    subs.append(u.parts.begin(), u.parts.end());
    for (unsigned s : subs)
      if (!taken.insert(s).second)
        return makeError("drop-layers: unit '" + u.id +
                         "' overlaps a unit already dropped");
    plan.dropped.push_back(
        {u.id, depthKindName(u.kind).str(), u.params, score});
  }
  if (PruneRecord *record = getPruneRecord(m, am)) {
    PruneRecord::DepthRun run{plan.pass, plan.criterion, plan.budget, {}};
    for (const ResidualUnit &u : units.units)
      run.units.push_back({u.id, depthKindName(u.kind).str(), u.params, false,
                           0.0, u.droppable() ? "" : u.blocker});
    for (auto &[idx, score] : chosen) {
      run.units[idx].dropped = true;
      run.units[idx].score = score;
    }
    record->depth.push_back(std::move(run));
  }
  for (auto &[idx, score] : chosen) {
    const ResidualUnit &u = units.units[idx];
    out << "drop-layers: " << depthKindName(u.kind) << " '" << u.id << "' ("
        << u.params << " params, score " << format("%.6g", score) << ")\n";
    if (Error e = dropResidualUnit(m, units, u))
      return std::move(e);
  }
  if (!opts.planOut.empty())
    if (Error e = plan.writeFile(opts.planOut))
      return std::move(e);
  if (chosen.empty()) {
    out << "drop-layers: dropped no unit (" << units.units.size()
        << " residual units)\n";
    return PreservedAnalyses::all();
  }
  auto dce = DCEPass().run(m, am);
  if (!dce)
    return dce.takeError();
  ModelStats after = computeStats(m);
  out << "drop-layers: dropped " << chosen.size()
      << (chosen.size() == 1 ? " unit" : " units") << "; params "
      << before.numParams << " -> " << after.numParams << " ("
      << format("%.1f%%", original.params ? 100.0 * double(after.numParams) /
                                                double(original.params)
                                          : 100.0)
      << " of the original " << original.params << ")\n";
  return PreservedAnalyses::none();
}

} // namespace onnxprune
