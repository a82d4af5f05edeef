//===- StatisticsRepair.cpp - Match pruned outputs to the original --------===//
///
/// \file
/// Finds the linear layers downstream of pruned activations, measures their
/// outputs in the original and the pruned model, and folds the correction
/// into their weights and biases. See StatisticsRepair.h.
///
//===----------------------------------------------------------------------===//

#include "passes/Transforms/StatisticsRepair.h"

#include "lib/IR/Graph.h"
#include "lib/IR/Rewriter.h"
#include "lib/IR/Tensor.h"
#include "lib/Support/Error.h"
#include "passes/Criteria/LinearUses.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/StringSet.h"

#include <cmath>
#include <cstring>

using namespace llvm;

namespace onnxprune {

namespace {

/// A layer to repair and where its output channels and bias are.
struct Layer {
  Node *node = nullptr;
  Value *weight = nullptr;
  /// The output measured: the layer's, or the following bias Add's.
  Value *out = nullptr;
  unsigned axis = 0;
  Node *biasAdd = nullptr; ///< MatMul: the Add holding its bias.
  /// W's rows are the output channels (Conv, Gemm transB); else columns.
  bool rowsAreOutputs = true;
  int64_t channels = 0;
  unsigned level = 0;
};

bool isDefault(const Node &n) {
  return n.getDomain().empty() || n.getDomain() == "ai.onnx";
}

const Tensor *floatWeight(const Value *v) {
  const Tensor *t = v ? v->getWeight() : nullptr;
  return t && t->getDataType() == DataType::Float ? t : nullptr;
}

/// \p n as a layer this repair handles: a linear layer (LinearUses.h) with
/// its own float32 weight.
std::optional<Layer> layerOf(Node &n) {
  std::optional<LinearUse> lin = linearLayerOf(n);
  if (!lin || !floatWeight(lin->weight) || lin->weight->isGraphInput())
    return std::nullopt;
  Layer l;
  l.node = &n;
  l.weight = n.getInput(1);
  l.out = n.getOutput(0);
  l.rowsAreOutputs = !lin->transposed;
  l.channels = lin->outputs;
  if (n.getOpType() != "MatMul") {
    l.axis = 1;
    return l;
  }
  int64_t rank = l.out->getType().rank();
  if (rank < 1)
    return std::nullopt;
  l.axis = rank - 1;
  // A bias Add right after it, with a 1-D constant of N channels.
  if (l.out->getUses().size() == 1) {
    Node *add = l.out->getUses()[0].user;
    if (isDefault(*add) && add->getOpType() == "Add" &&
        add->getNumInputs() == 2) {
      Value *b = add->getInput(add->getInput(0) == l.out ? 1 : 0);
      const Tensor *bt = floatWeight(b);
      if (bt && bt->getDims().size() == 1 && bt->getDims()[0] == l.channels)
        l.biasAdd = add, l.out = add->getOutput(0);
    }
  }
  return l;
}

std::string floatBytes(ArrayRef<float> v) {
  return std::string(reinterpret_cast<const char *>(v.data()),
                     v.size() * sizeof(float));
}

/// The float bias of \p l (its values, \p channels long) and the value
/// holding it, made when missing and copied when shared, so writing it
/// changes this layer only.
Expected<Value *> ownBias(Layer &l, Rewriter &rw) {
  Graph &g = *l.node->getGraph();
  auto fresh = [&](StringRef base) {
    auto t = std::make_unique<Tensor>(
        rw.uniqueName((l.node->getName().empty() ? l.weight->getName()
                                                 : l.node->getName()) +
                      base.str()),
        DataType::Float, ArrayRef<int64_t>{l.channels});
    t->setData({l.channels}, floatBytes(std::vector<float>(l.channels, 0.0f)));
    return rw.createWeight(g, std::move(t));
  };
  auto own = [&](Value *b) -> Value * {
    if (b->getUses().size() == 1 && !b->isGraphInput())
      return b;
    return rw.createWeight(g,
                           b->getWeight()->clone(b->getName() + "_repaired"));
  };
  Node &n = *l.node;
  if (n.getOpType() == "Conv" || n.getOpType() == "Gemm") {
    if (n.getNumInputs() >= 3 && n.getInput(2)) {
      Value *b = n.getInput(2);
      const Tensor *t = floatWeight(b);
      if (!t || t->getDims().size() != 1 || t->getDims()[0] != l.channels)
        return nullptr; // A broadcast or computed bias: leave the layer.
      Value *mine = own(b);
      if (mine != b)
        rw.setInput(&n, 2, mine);
      return mine;
    }
    Value *b = fresh("_bias");
    g.addNodeInput(&n, b);
    return b;
  }
  if (l.biasAdd) {
    unsigned i = l.biasAdd->getInput(0) == n.getOutput(0) ? 1 : 0;
    Value *b = l.biasAdd->getInput(i);
    Value *mine = own(b);
    if (mine != b)
      rw.setInput(l.biasAdd, i, mine);
    return mine;
  }
  // A MatMul without bias: y = MatMul(..) becomes y' = Add(y, b), and the
  // readers of y read y'.
  Value *y = n.getOutput(0);
  if (y->isGraphOutput())
    return nullptr; // The output keeps its producer: leave the layer.
  Node *firstUser = nullptr;
  for (Node &o : g.getNodes())
    if (is_contained(o.getInputs(), y)) {
      firstUser = &o;
      break;
    }
  Value *b = fresh("_bias");
  Node *add =
      rw.createNode(g, "Add", {y, b}, 1, firstUser, "",
                    n.getName().empty() ? "bias" : n.getName() + "_bias");
  rw.setType(add->getOutput(0), y->getType());
  SmallVector<std::pair<Node *, unsigned>, 4> uses;
  for (const Use &u : y->getUses())
    if (u.user != add)
      uses.push_back({u.user, u.operandIndex});
  for (auto &[user, idx] : uses)
    rw.setInput(user, idx, add->getOutput(0));
  l.biasAdd = add;
  l.out = add->getOutput(0);
  return b;
}

} // namespace

Expected<RepairSummary> repairStatistics(Model &m, CalibrationProvider &cal,
                                         bool matchVariance) {
  Graph &g = m.getGraph();
  // Values whose statistics may have changed: pruned ones, and everything
  // computed from them. Levels: repaired layers on the longest path before.
  StringSet<> pruned;
  for (auto &[key, origins] : m.channelOrigins)
    pruned.insert(key.first);
  DenseMap<const Value *, unsigned> levelOf; // 1 + level, 0: unaffected
  std::vector<Layer> layers;
  for (Node &n : g.getNodes()) {
    unsigned in = 0;
    bool affected = false;
    for (const Value *v : n.getInputs()) {
      if (!v || v->isWeight())
        continue;
      auto it = levelOf.find(v);
      if (it != levelOf.end())
        affected = true, in = std::max(in, it->second - 1);
      if (pruned.count(v->getName()))
        affected = true;
    }
    if (!affected)
      continue;
    unsigned outLevel = in;
    if (auto l = layerOf(n)) {
      l->level = in;
      layers.push_back(*l);
      outLevel = in + 1;
    }
    for (const Value *o : n.getOutputs())
      if (o)
        levelOf[o] = outLevel + 1;
  }
  RepairSummary summary;
  if (layers.empty())
    return summary;

  auto request = [](const Layer &l) {
    StatRequest r;
    r.value = l.out->getName();
    r.axis = l.axis;
    return r;
  };
  std::vector<StatRequest> refReqs;
  for (const Layer &l : layers)
    refReqs.push_back(request(l));
  auto ref = cal.collectReference(refReqs);
  if (!ref)
    return addContext(ref.takeError(), "the original model");

  Rewriter rw(m);
  unsigned maxLevel = 0;
  for (const Layer &l : layers)
    maxLevel = std::max(maxLevel, l.level);
  for (unsigned level = 0; level <= maxLevel; ++level) {
    std::vector<unsigned> idx;
    std::vector<StatRequest> reqs;
    for (unsigned i = 0; i < layers.size(); ++i)
      if (layers[i].level == level) {
        idx.push_back(i);
        reqs.push_back(request(layers[i]));
      }
    if (idx.empty())
      continue;
    auto cur = cal.collect(m, reqs);
    if (!cur)
      return addContext(cur.takeError(), "the pruned model");
    ++summary.levels;
    for (size_t k = 0; k < idx.size(); ++k) {
      Layer &l = layers[idx[k]];
      const ActivationStats &now = (*cur)[k];
      const ActivationStats &orig = (*ref)[idx[k]];
      if (now.channels != l.channels)
        continue;
      const std::vector<int64_t> *origins =
          m.getChannelOrigins(l.out->getName(), l.axis);
      auto origOf = [&](int64_t c) { return origins ? (*origins)[c] : c; };
      if (origins && (int64_t)origins->size() != l.channels)
        continue;
      auto biasV = ownBias(l, rw);
      if (!biasV)
        return biasV.takeError();
      if (!*biasV)
        continue;
      auto bias = readAsDoubles(*(*biasV)->getWeight());
      auto w = readAsDoubles(*l.weight->getWeight());
      if (!bias || !w)
        return makeError("cannot read the weights of node '" +
                         l.node->getName() + "'");
      std::vector<float> b(bias->begin(), bias->end());
      std::vector<float> wv(w->begin(), w->end());
      int64_t per = wv.size() / l.channels;
      bool scaled = false;
      for (int64_t c = 0; c < l.channels; ++c) {
        int64_t o = origOf(c);
        if (o < 0 || o >= orig.channels)
          continue;
        double mo = orig.mean(o), mc = now.mean(c);
        if (!matchVariance) {
          b[c] = float(b[c] + (mo - mc));
          continue;
        }
        double sc = std::sqrt(now.variance(c)),
               so = std::sqrt(orig.variance(o));
        double s = sc > 1e-8 ? so / sc : 1.0;
        b[c] = float(s * (b[c] - mc) + mo);
        if (s != 1.0) {
          scaled = true;
          for (int64_t j = 0; j < per; ++j) {
            int64_t at = l.rowsAreOutputs ? c * per + j : j * l.channels + c;
            wv[at] = float(wv[at] * s);
          }
        }
      }
      rw.updateWeight(*biasV, {l.channels}, floatBytes(b));
      if (scaled) {
        // The weight may be shared (a tied projection): copy it first.
        if (l.weight->getUses().size() != 1) {
          Value *copy = rw.createWeight(
              g,
              l.weight->getWeight()->clone(l.weight->getName() + "_repaired"));
          rw.setInput(l.node, 1, copy);
          l.weight = copy;
        }
        auto dims = l.weight->getWeight()->getDims();
        rw.updateWeight(l.weight,
                        SmallVector<int64_t, 4>(dims.begin(), dims.end()),
                        floatBytes(wv));
      }
      ++summary.layers;
    }
  }
  return summary;
}

} // namespace onnxprune
