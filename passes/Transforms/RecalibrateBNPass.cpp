//===- RecalibrateBNPass.cpp - Re-estimate BatchNorm statistics -----------===//
///
/// \file
/// recalibrate-bn: BN levels, one calibration run per level, statistics
/// written into each BN's own mean and variance tensors.
///
//===----------------------------------------------------------------------===//

#include "passes/Transforms/RecalibrateBNPass.h"

#include "lib/IR/Graph.h"
#include "lib/IR/Rewriter.h"
#include "lib/IR/Tensor.h"
#include "lib/Support/Error.h"
#include "passes/Analysis/Calibration.h"
#include "passes/Transforms/StatisticsRepair.h"

#include "llvm/ADT/DenseMap.h"

#include <cstring>

using namespace llvm;

namespace onnxprune {

namespace {

bool isBatchNorm(const Node &n) {
  return (n.getDomain().empty() || n.getDomain() == "ai.onnx") &&
         n.getOpType() == "BatchNormalization" && n.getNumInputs() == 5 &&
         n.getOutput(0);
}

/// Float weight \p i of \p bn, given a copy of its own when shared.
Expected<Value *> ownStatistic(Node &bn, unsigned i, Rewriter &rw) {
  Value *v = bn.getInput(i);
  const Tensor *t = v ? v->getWeight() : nullptr;
  if (!t || t->getDataType() != DataType::Float)
    return makeError("node '" + bn.getName() +
                     "' (BatchNormalization): input " + Twine(i) +
                     " is not a float32 weight");
  if (v->getUses().size() == 1 && !v->isGraphInput())
    return v;
  Value *copy =
      rw.createWeight(*bn.getGraph(), t->clone(v->getName() + "_recalibrated"));
  rw.setInput(&bn, i, copy);
  return copy;
}

} // namespace

Expected<PreservedAnalyses> RecalibrateBNPass::run(Model &m,
                                                   ModelAnalysisManager &am) {
  raw_ostream &out = log ? *log : errs();
  Graph &g = m.getGraph();
  // Level of every BN: BNs on the longest path from the inputs before it.
  DenseMap<const Value *, unsigned> depth;
  std::vector<std::vector<Node *>> levels;
  for (Node &n : g.getNodes()) {
    unsigned d = 0;
    for (const Value *in : n.getInputs())
      if (in)
        d = std::max(d, depth.lookup(in));
    if (isBatchNorm(n)) {
      if (levels.size() <= d)
        levels.resize(d + 1);
      levels[d].push_back(&n);
      ++d;
    }
    for (const Value *o : n.getOutputs())
      if (o)
        depth[o] = d;
  }
  if (levels.empty()) {
    // BN folded into the convs by the exporter: match each kept channel's
    // mean and variance to the original model's instead (REPAIR).
    if (m.channelOrigins.empty()) {
      out << "recalibrate-bn: remark: no BatchNormalization node and nothing "
             "pruned before it in this run; nothing to do\n";
      return PreservedAnalyses::all();
    }
    auto cal = getCalibration(m, am, "pass 'recalibrate-bn'");
    if (!cal)
      return cal.takeError();
    auto s = repairStatistics(m, *cal, /*matchVariance=*/true);
    if (!s)
      return addContext(s.takeError(), "pass 'recalibrate-bn'");
    out << "recalibrate-bn: no BatchNormalization node (folded?): matched "
           "the output mean and variance of "
        << s->layers << " layers to the original's in " << s->levels
        << " levels on " << cal->describe({}) << "\n";
    return s->layers ? PreservedAnalyses::none() : PreservedAnalyses::all();
  }
  auto cal = getCalibration(m, am, "pass 'recalibrate-bn'");
  if (!cal)
    return cal.takeError();

  Rewriter rw(m);
  unsigned updated = 0;
  for (std::vector<Node *> &level : levels) {
    std::vector<StatRequest> reqs;
    for (Node *bn : level) {
      StatRequest r;
      r.kind = StatRequest::Kind::Moments;
      r.value = bn->getInput(0)->getName();
      r.axis = 1;
      reqs.push_back(r);
    }
    auto stats = cal->collect(m, reqs);
    if (!stats)
      return addContext(stats.takeError(), "pass 'recalibrate-bn'");
    for (size_t k = 0; k < level.size(); ++k) {
      Node &bn = *level[k];
      const ActivationStats &st = (*stats)[k];
      auto meanV = ownStatistic(bn, 3, rw);
      if (!meanV)
        return meanV.takeError();
      auto varV = ownStatistic(bn, 4, rw);
      if (!varV)
        return varV.takeError();
      int64_t c = st.channels;
      if ((*meanV)->getWeight()->getNumElements() != uint64_t(c) ||
          (*varV)->getWeight()->getNumElements() != uint64_t(c))
        return makeError("node '" + bn.getName() +
                         "' (BatchNormalization): its statistics do not have "
                         "the " +
                         Twine(c) + " channels of its input");
      std::vector<float> mean(c), var(c);
      for (int64_t i = 0; i < c; ++i)
        mean[i] = float(st.mean(i)), var[i] = float(st.variance(i));
      auto bytes = [](const std::vector<float> &v) {
        return std::string(reinterpret_cast<const char *>(v.data()),
                           v.size() * sizeof(float));
      };
      rw.updateWeight(*meanV, {c}, bytes(mean));
      rw.updateWeight(*varV, {c}, bytes(var));
      ++updated;
    }
    // The next level's run serializes the model again, with these new
    // statistics: its inputs depend on them.
  }
  out << "recalibrate-bn: re-estimated " << updated
      << " BatchNormalization nodes in " << levels.size() << " levels on "
      << cal->describe({}) << "\n";
  return PreservedAnalyses::none();
}

} // namespace onnxprune
