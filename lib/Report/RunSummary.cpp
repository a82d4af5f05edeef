//===- RunSummary.cpp - What a pipeline run did to a model ----------------===//
///
/// \file
/// The snapshot before a run and the comparison after it (RunSummary.h).
///
//===----------------------------------------------------------------------===//

#include "lib/Report/RunSummary.h"

#include "lib/IR/Graph.h"
#include "lib/IR/Node.h"
#include "lib/IR/Tensor.h"
#include "passes/Analysis/DepGraph.h"
#include "passes/Transforms/PrunePlan.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSet.h"

using namespace llvm;

namespace onnxprune {

namespace {

/// Weights of the main graph with their dims, by name.
std::vector<std::pair<std::string, std::vector<int64_t>>>
mainWeights(const Model &m) {
  std::vector<std::pair<std::string, std::vector<int64_t>>> out;
  for (const Value *v : m.getGraph().getValues())
    if (const Tensor *t = v->getWeight())
      out.emplace_back(v->getName(), std::vector<int64_t>(t->getDims().begin(),
                                                          t->getDims().end()));
  llvm::sort(out,
             [](const auto &a, const auto &b) { return a.first < b.first; });
  return out;
}

/// The size of axis \p axis of the main-graph value \p name now; 0 when
/// it is gone or its size is not known.
int64_t widthNow(const Model &m, StringRef name, unsigned axis) {
  const Value *v = m.getGraph().lookup(name);
  if (!v || (!v->hasUses() && !v->isGraphOutput()))
    return 0;
  if (const Tensor *t = v->getWeight())
    return axis < t->getDims().size() ? t->getDims()[axis] : 0;
  const Type &ty = v->getType();
  if (ty.hasRank() && axis < ty.shape->size() && (*ty.shape)[axis].isStatic())
    return (*ty.shape)[axis].value;
  return 0;
}

/// The layer that reads weight \p v: its first reader, looking through
/// the Identity, Cast and DequantizeLinear nodes that exporters put
/// between a weight and its Conv or MatMul (untied copies, fp16, QDQ).
const Node *layerReading(const Value *v) {
  const Node *n = nullptr;
  for (unsigned hop = 0; hop < 4 && v && v->hasUses(); ++hop) {
    n = v->getUses().front().user;
    StringRef op = n->getOpType();
    if (op != "Identity" && op != "Cast" && op != "DequantizeLinear")
      break;
    v = n->getNumOutputs() ? n->getOutput(0) : nullptr;
  }
  return n;
}

} // namespace

Expected<ReportCollector> ReportCollector::start(Model &m) {
  ReportCollector c;
  for (const Node &n : m.getGraph().getNodes())
    c.nodes.push_back(n.getName());
  c.weights = mainWeights(m);
  for (const Value *v : m.getGraph().getValues())
    if (v->isWeight())
      if (const Node *n = layerReading(v); n && !n->getName().empty())
        c.base.readerOf[v->getName()] = n->getName();
  c.base.before = computeStats(m);
  Expected<DepGraph> dg = buildDepGraph(m);
  if (!dg)
    return dg.takeError();
  auto spaces = dg->getSpaces();
  for (unsigned gi = 0; gi < dg->getGroups().size(); ++gi) {
    const DepGraph::Group &g = dg->getGroups()[gi];
    if (g.numPrunable == 0 || g.spaces.empty())
      continue;
    if (spaces[g.spaces.front()].members.empty())
      continue;
    AxisRef root = groupDisplayRoot(*dg, gi);
    GroupWidthRow w;
    w.group = gi;
    w.tensor = root.value->getName();
    if (auto it = c.base.readerOf.find(w.tensor); it != c.base.readerOf.end())
      w.layer = it->second;
    w.axis = root.axis;
    w.unitWidth = g.unitWidth > 0 ? g.unitWidth : 1;
    w.before = spaces[g.spaces.front()].size;
    c.base.groups.push_back(std::move(w));
  }
  for (const DepGraph::Space &sp : spaces)
    if (sp.frozen && sp.numWeightMembers > 0)
      c.base.frozen.push_back({sp.members.front().value->getName(),
                               sp.members.front().axis, sp.size, sp.reason.op,
                               sp.reason.rule, sp.reason.node});
  c.base.freezeCounts = dg->freezeCounts;
  c.base.unhandledOps = dg->unhandledOps;
  return c;
}

void ReportCollector::registerWith(ModelAnalysisManager &mam) const {
  mam.registerAnalysis(PruneRecordAnalysis(record));
}

RunSummary ReportCollector::finish(const Model &m, std::string pipeline) const {
  RunSummary r = base;
  r.pipeline = std::move(pipeline);
  r.after = computeStats(m);
  r.record = *record;
  StringSet<> nodesNow;
  for (const Node &n : m.getGraph().getNodes())
    nodesNow.insert(n.getName());
  for (const std::string &n : nodes)
    if (!nodesNow.contains(n))
      r.removedNodes.push_back(n);
  auto now = mainWeights(m);
  StringMap<const std::vector<int64_t> *> dimsNow;
  for (auto &[name, dims] : now)
    dimsNow[name] = &dims;
  for (auto &[name, dims] : weights) {
    auto it = dimsNow.find(name);
    if (it == dimsNow.end())
      r.removedWeights.push_back(name);
    else if (*it->second != dims)
      r.slicedWeights.push_back({name, dims, *it->second});
  }
  for (GroupWidthRow &g : r.groups)
    g.after = widthNow(m, g.tensor, g.axis);
  return r;
}

} // namespace onnxprune
