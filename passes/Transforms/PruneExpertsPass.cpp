//===- PruneExpertsPass.cpp - Remove whole experts of MoE blocks ----------===//
///
/// \file
/// prune-experts: parameters, the structural match of MoE blocks (router
/// chain up from TopK, index chain down from its indices), scoring with a
/// slice criterion, and the rewrite (weights sliced along the expert axis,
/// router logits retyped, Clip bounds moved), then dce.
///
//===----------------------------------------------------------------------===//

#include "passes/Transforms/PruneExpertsPass.h"

#include "lib/IR/Graph.h"
#include "lib/IR/Rewriter.h"
#include "lib/IR/Tensor.h"
#include "lib/Support/Error.h"
#include "passes/Analysis/StatsAnalysis.h"
#include "passes/OpHandlers/OpHandler.h"
#include "passes/PassParams.h"
#include "passes/Transforms/DCEPass.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/MapVector.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/Support/Format.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <optional>

using namespace llvm;

namespace onnxprune {

// ---- Parameters -----------------------------------------------------------

Expected<PruneExpertsOptions> PruneExpertsOptions::parse(StringRef text) {
  auto params = PassParams::parse(PruneExpertsPass::name(), text);
  if (!params)
    return params.takeError();
  PruneExpertsOptions o;
  if (Error e = params->getString("criterion", o.criterion))
    return std::move(e);
  if (Error e = params->getUnsigned("count", o.count))
    return std::move(e);
  if (Error e = params->getDouble("ratio", o.ratio))
    return std::move(e);
  auto criterion = configureCriterion(*params, o.criterion, o.criterionOptions,
                                      UnitKind::Expert);
  if (!criterion)
    return criterion.takeError();
  if (Error e = params->finish())
    return std::move(e);

  bool hasCount = params->has("count"), hasRatio = params->has("ratio");
  if (hasCount && hasRatio)
    return params->makeParamError("ratio",
                                  "cannot be combined with 'count': give one");
  if (!hasCount && !hasRatio)
    return makeError("pass 'prune-experts': needs count=N (experts removed "
                     "per MoE block) or ratio=R (a fraction of each block's "
                     "experts)");
  if (hasRatio) {
    if (!(o.ratio >= 0 && o.ratio < 1))
      return params->makeParamError("ratio", "must be a fraction in [0, 1)");
    o.useRatio = true;
  }
  return o;
}

void PruneExpertsPass::printPipeline(raw_ostream &os) const {
  PassParamsPrinter pp(os, name());
  pp.add("criterion", opts.criterion);
  if (auto c = CriteriaRegistry::create(opts.criterion))
    (*c)->printParams(pp, opts.criterionOptions);
  else
    consumeError(c.takeError());
  if (opts.useRatio)
    pp.add("ratio", opts.ratio);
  else
    pp.add("count", (uint64_t)opts.count);
}

// ---- Matching MoE blocks ----------------------------------------------------

namespace {

bool isDefaultDomain(const Node &n) {
  return n.getDomain().empty() || n.getDomain() == "ai.onnx";
}

bool isOp(const Node *n, StringRef op) {
  return n && isDefaultDomain(*n) && n->getOpType() == op;
}

/// Ops whose output 0 holds exactly the values of input 0 (only the shape
/// or the integer type may change): index values pass through them.
bool keepsValues(const Node &n) {
  return isDefaultDomain(n) && StringSwitch<bool>(n.getOpType())
                                   .Cases("Reshape", "Unsqueeze", "Squeeze",
                                          "Flatten", "Cast", "Identity", true)
                                   .Default(false);
}

const Shape *dimsOf(const Value *v) {
  return v && v->getType().hasRank() ? &*v->getType().shape : nullptr;
}

/// Static size of axis \p axis of \p v (negative axes count from the end),
/// or -1.
int64_t staticDim(const Value *v, int64_t axis) {
  const Shape *s = dimsOf(v);
  if (!s)
    return -1;
  int64_t r = s->size();
  if (axis < 0)
    axis += r;
  if (axis < 0 || axis >= r || !(*s)[axis].isStatic())
    return -1;
  return (*s)[axis].value;
}

/// True when \p v is a weight, or a weight through Cast / Identity.
bool isCastWeight(const Value *v) {
  while (v && !v->isWeight()) {
    const Node *p = v->getProducer();
    v = isOp(p, "Cast") || isOp(p, "Identity") ? p->getInput(0) : nullptr;
  }
  return v != nullptr;
}

/// A weight the pass slices along one axis, and where this block reads it.
struct SlicedWeight {
  Value *weight = nullptr;
  unsigned axis = 0;
  /// The uses of the weight inside the block: a copy is wired to these.
  SmallVector<Use, 1> readers;
  /// Values between the weight and the node that reads it for the block
  /// (Cast / Identity outputs): their axis shrinks with the weight's.
  SmallVector<Value *, 1> via;
};

/// A matched block, with everything the rewrite touches.
struct Block {
  Node *topK = nullptr, *softmax = nullptr;
  int64_t numExperts = 0, k = 0;
  /// Values whose last axis is the expert axis: the router's output, its
  /// bias Add and Casts, the Softmax output.
  SmallVector<Value *, 4> logits;
  /// The router weight (and bias) first, then the expert weights.
  std::vector<SlicedWeight> weights;
  unsigned numRouterWeights = 0;
  /// Clip nodes on the index chain whose max (input 2) is E - 1.
  SmallVector<Node *, 2> clipsAtMax;
};

/// Follows \p v up through Cast / Identity to a weight. Fills \p sw (the
/// weight, its reader, the values in between) and returns true, or sets
/// \p why.
bool findWeight(Node *reader, unsigned operand, unsigned axis, SlicedWeight &sw,
                std::string &why) {
  Value *v = reader->getInput(operand);
  Use use{reader, operand};
  SmallVector<Value *, 1> via;
  while (v && !v->isWeight()) {
    Node *p = v->getProducer();
    if (!p || !(isOp(p, "Cast") || isOp(p, "Identity"))) {
      why = "node " + reader->describe() + " reads '" +
            (v ? v->getName() : std::string("?")) +
            "', which is not a constant weight";
      return false;
    }
    // The in-between values change shape: nothing else may read them.
    if (v->getUses().size() != 1 || v->isGraphOutput()) {
      why = "'" + v->getName() + "' (a cast of a weight) has other readers";
      return false;
    }
    via.push_back(v);
    use = Use{p, 0};
    v = p->getInput(0);
  }
  if (!v) {
    why = "node " + reader->describe() + " has a missing input";
    return false;
  }
  if (v->isGraphInput()) {
    // An initializer that is also a graph input can be overridden by the
    // caller: its shape is part of the interface.
    why = "weight '" + v->getName() + "' is also a graph input";
    return false;
  }
  if (axis >= v->getWeight()->getDims().size()) {
    why = "weight '" + v->getName() + "' has no axis " + std::to_string(axis);
    return false;
  }
  sw.weight = v;
  sw.axis = axis;
  sw.readers = {use};
  sw.via = std::move(via);
  return true;
}

/// A bias of the router logits: sliced on its last axis when that axis has
/// E elements, left alone when it broadcasts (size 1, scalar). Any other
/// shape fails.
bool addBias(Node *reader, unsigned operand, int64_t numExperts, Block &b,
             std::string &why) {
  SlicedWeight sw;
  const Value *in = reader->getInput(operand);
  int64_t r = in && dimsOf(in) ? (int64_t)dimsOf(in)->size() : -1;
  if (r < 0 ||
      !findWeight(reader, operand, std::max<int64_t>(r - 1, 0), sw, why)) {
    if (why.empty())
      why = "node " + reader->describe() + ": bias rank unknown";
    return false;
  }
  ArrayRef<int64_t> dims = sw.weight->getWeight()->getDims();
  for (size_t i = 0; i + 1 < dims.size(); ++i)
    if (dims[i] != 1) {
      why = "node " + reader->describe() + ": router bias '" +
            sw.weight->getName() + "' is not a vector of experts";
      return false;
    }
  if (dims.empty() || dims.back() == 1)
    return true; // Broadcast: the same for every expert.
  if (dims.back() != numExperts) {
    why = "node " + reader->describe() + ": router bias '" +
          sw.weight->getName() + "' does not have " +
          std::to_string(numExperts) + " elements";
    return false;
  }
  b.weights.push_back(std::move(sw));
  return true;
}

/// The router: from the Softmax input up through Cast / Identity and an
/// optional bias Add to MatMul(x, W[H,E]) or Gemm(x, W, C).
bool matchRouter(Block &b, std::string &why) {
  Value *v = b.softmax->getInput(0);
  b.logits.push_back(b.softmax->getOutput(0));
  bool sawBias = false;
  while (true) {
    if (!v || v->isGraphOutput() || v->getUses().size() != 1) {
      why = "router logits '" + (v ? v->getName() : std::string("?")) +
            "' are read outside the router";
      return false;
    }
    b.logits.push_back(v);
    Node *p = v->getProducer();
    if (isOp(p, "Cast") || isOp(p, "Identity")) {
      v = p->getInput(0);
      continue;
    }
    if (isOp(p, "Add") && !sawBias) {
      // One operand is the bias (a weight, maybe cast), the other the
      // linear layer's output.
      unsigned biasOp = isCastWeight(p->getInput(0))   ? 0
                        : isCastWeight(p->getInput(1)) ? 1
                                                       : 2;
      if (biasOp == 2) {
        why = "node " + p->describe() + " on the router logits adds no bias";
        return false;
      }
      if (!addBias(p, biasOp, b.numExperts, b, why))
        return false;
      sawBias = true;
      v = p->getInput(1 - biasOp);
      continue;
    }
    if (isOp(p, "MatMul") || isOp(p, "Gemm")) {
      bool gemm = isOp(p, "Gemm");
      const Value *w = p->getInput(1);
      if (!w || !dimsOf(w) || dimsOf(w)->size() != 2) {
        why = "router " + p->describe() + " has no 2-D weight";
        return false;
      }
      unsigned axis = gemm && p->getIntAttr("transB", 0) ? 0 : 1;
      SlicedWeight sw;
      if (!findWeight(p, 1, axis, sw, why))
        return false;
      if (sw.weight->getWeight()->getDims()[axis] != b.numExperts) {
        why = "router weight '" + sw.weight->getName() + "' does not have " +
              std::to_string(b.numExperts) + " outputs";
        return false;
      }
      b.weights.insert(b.weights.begin(), std::move(sw));
      if (gemm && p->getInput(2) && !addBias(p, 2, b.numExperts, b, why))
        return false;
      b.numRouterWeights = b.weights.size();
      return true;
    }
    why = "router logits come from " +
          (p ? "node " + p->describe() : "'" + v->getName() + "'") +
          ", not a linear layer";
    return false;
  }
}

/// Reads a one-element integer constant.
std::optional<int64_t> scalarConstant(const Value *v) {
  auto c = constantInts(v);
  if (!c || c->size() != 1)
    return std::nullopt;
  return (*c)[0];
}

/// The index chain: every node the TopK indices reach must be one the
/// rewrite understands; the expert gathers are recorded.
bool matchIndices(Block &b, std::string &why) {
  SmallVector<Value *, 8> work{b.topK->getOutput(1)};
  while (!work.empty()) {
    Value *v = work.pop_back_val();
    if (v->isGraphOutput()) {
      why = "expert indices '" + v->getName() + "' are a graph output";
      return false;
    }
    for (const Use &u : v->getUses()) {
      Node *n = u.user;
      auto refuse = [&](const Twine &what) {
        why =
            ("expert indices reach node " + n->describe() + ", " + what).str();
        return false;
      };
      if (!isDefaultDomain(*n))
        return refuse("which prune-experts does not rewrite");
      StringRef op = n->getOpType();
      if (op == "Shape" || op == "Size")
        continue; // Reads the shape only, and that stays.
      if (u.operandIndex == 0 && keepsValues(*n)) {
        work.push_back(n->getOutput(0));
        continue;
      }
      if (op == "Clip" && u.operandIndex == 0) {
        if (n->hasAttr("min") || n->hasAttr("max"))
          return refuse("whose bounds are attributes");
        std::optional<int64_t> lo = 0, hi = b.numExperts - 1;
        if (n->getInput(1))
          lo = scalarConstant(n->getInput(1));
        if (n->getInput(2))
          hi = scalarConstant(n->getInput(2));
        // Bounds inside [0, E-1] would change which expert a token gets.
        if (!lo || !hi || *lo > 0 || *hi < b.numExperts - 1)
          return refuse("whose bounds are not constants around [0, E-1]");
        if (n->getInput(2) && *hi == b.numExperts - 1)
          b.clipsAtMax.push_back(n);
        work.push_back(n->getOutput(0));
        continue;
      }
      bool gather = op == "Gather" && u.operandIndex == 1;
      bool gatherND = op == "GatherND" && u.operandIndex == 1;
      if (!gather && !gatherND)
        return refuse("which prune-experts does not rewrite");
      const Value *data = n->getInput(0);
      int64_t rank = dimsOf(data) ? (int64_t)dimsOf(data)->size() : -1;
      if (gather && normalizeAxis(n->getIntAttr("axis", 0), rank) != 0)
        return refuse("which does not gather along the expert axis 0");
      if (gatherND && (n->getIntAttr("batch_dims", 0) != 0 ||
                       staticDim(n->getInput(1), -1) != 1))
        return refuse("which is not a GatherND of whole experts (batch_dims "
                      "0, index depth 1)");
      SlicedWeight sw;
      if (!findWeight(n, 0, 0, sw, why))
        return false;
      if (sw.weight->getWeight()->getDims()[0] != b.numExperts)
        return refuse("whose weight '" + sw.weight->getName() +
                      "' does not have the router's " + Twine(b.numExperts) +
                      " experts on axis 0");
      b.weights.push_back(std::move(sw));
    }
  }
  if (b.weights.size() == b.numRouterWeights) {
    why = "its indices gather no stacked expert weights";
    return false;
  }
  return true;
}

/// Matches the block whose router ends in \p topK. Returns nullopt with an
/// empty \p why when \p topK is not an MoE router at all (no Softmax before
/// it), with a reason when it is one this pass must leave alone.
std::optional<Block> matchBlock(Node &topK, std::string &why) {
  why.clear();
  Block b;
  b.topK = &topK;
  Value *x = topK.getInput(0);
  Node *sm = x ? x->getProducer() : nullptr;
  if (!isOp(sm, "Softmax"))
    return std::nullopt;
  b.softmax = sm;
  auto fail = [&](const std::string &reason) {
    why = "node " + topK.describe() + ": not pruned: " + reason;
    return std::nullopt;
  };
  int64_t r = dimsOf(x) ? (int64_t)dimsOf(x)->size() : -1;
  if (r < 1 || normalizeAxis(topK.getIntAttr("axis", -1), r) != r - 1 ||
      normalizeAxis(sm->getIntAttr("axis", -1), r) != r - 1)
    return fail("the router's Softmax and TopK are not over the last axis");
  if (!topK.getIntAttr("largest", 1))
    return fail("TopK selects the smallest scores");
  b.numExperts = staticDim(x, -1);
  if (b.numExperts < 1)
    return fail("the number of experts (router output size) is unknown");
  std::optional<int64_t> k =
      topK.getInput(1) ? scalarConstant(topK.getInput(1))
                       : std::optional<int64_t>(topK.getIntAttr("k", -1));
  if (!k || *k < 1)
    return fail("k is not a constant");
  b.k = *k;
  if (x->isGraphOutput() || x->getUses().size() != 1)
    return fail("the router probabilities are read outside the router");
  if (!topK.getOutput(1))
    return fail("TopK has no indices output");
  if (!matchRouter(b, why) || !matchIndices(b, why))
    return fail(why);
  // One axis per weight: a weight read as router and as experts (or on two
  // axes) would need two slicings.
  for (size_t i = 0; i < b.weights.size(); ++i)
    for (size_t j = i + 1; j < b.weights.size(); ++j)
      if (b.weights[i].weight == b.weights[j].weight &&
          (b.weights[i].axis != b.weights[j].axis ||
           (i < b.numRouterWeights) != (j < b.numRouterWeights)))
        return fail("weight '" + b.weights[i].weight->getName() +
                    "' is read both as router and as experts");
  return b;
}

std::vector<Block> matchBlocks(Model &m, std::vector<std::string> *skipped) {
  std::vector<Block> blocks;
  for (Node &n : m.getGraph().getNodes()) {
    if (!isOp(&n, "TopK"))
      continue;
    std::string why;
    if (std::optional<Block> b = matchBlock(n, why))
      blocks.push_back(std::move(*b));
    else if (!why.empty() && skipped)
      skipped->push_back(why);
  }
  return blocks;
}

// ---- Rewriting
// ----------------------------------------------------------------

/// \p t sliced to the \p kept indices of \p axis: new dims and bytes.
Expected<std::pair<SmallVector<int64_t, 4>, std::string>>
sliceBytes(const Tensor &t, unsigned axis, ArrayRef<int64_t> kept) {
  unsigned es = elementSize(t.getDataType());
  if (t.getDataType() == DataType::String || es == 0 ||
      t.getDataType() == DataType::Int4 || t.getDataType() == DataType::UInt4)
    return makeError("weight '" + t.getName() + "' of type " +
                     dataTypeName(t.getDataType()) + " cannot be sliced");
  auto bytes = t.getBytes();
  if (!bytes)
    return bytes.takeError();
  SmallVector<int64_t, 4> dims(t.getDims().begin(), t.getDims().end());
  std::string data =
      gatherAxis(StringRef(bytes->data(), bytes->size()), dims, es, axis, kept);
  dims[axis] = kept.size();
  return std::make_pair(std::move(dims), std::move(data));
}

/// Slices the weights of one block along their expert axis. A weight only
/// this block reads is changed in place (an external one lazily, as
/// prune-width does); one that others read too (exporters merge equal
/// tensors) is copied for this block's readers.
Error sliceWeights(const Block &b, ArrayRef<int64_t> kept, Rewriter &rw) {
  MapVector<Value *, std::pair<unsigned, SmallVector<Use, 2>>> byWeight;
  for (const SlicedWeight &sw : b.weights) {
    auto &entry = byWeight[sw.weight];
    entry.first = sw.axis;
    for (const Use &u : sw.readers)
      if (!is_contained(entry.second, u))
        entry.second.push_back(u);
  }
  for (auto &[w, axisReaders] : byWeight) {
    auto &[axis, readers] = axisReaders;
    Tensor &t = *w->getWeight();
    bool onlyHere = !w->isGraphOutput() &&
                    all_of(w->getUses(), [&, &readers = readers](const Use &u) {
                      return is_contained(readers, u);
                    });
    if (onlyHere && t.hasExternalData()) {
      SmallVector<int64_t, 4> dims(t.getDims().begin(), t.getDims().end());
      dims[axis] = kept.size();
      rw.sliceWeightLazily(w, dims, {{axis, std::vector<int64_t>(kept)}});
      continue;
    }
    auto sliced = sliceBytes(t, axis, kept);
    if (!sliced)
      return sliced.takeError();
    if (onlyHere) {
      rw.updateWeight(w, sliced->first, std::move(sliced->second));
      continue;
    }
    auto copy = std::make_unique<Tensor>(w->getName() + "_experts",
                                         t.getDataType(), sliced->first);
    copy->setData(sliced->first, std::move(sliced->second));
    Value *c = rw.createWeight(*w->getGraph(), std::move(copy));
    for (const Use &u : readers)
      rw.setInput(u.user, u.operandIndex, c);
  }
  return Error::success();
}

/// Sets axis \p axis (negative: from the end) of \p v to \p size when it
/// is static.
void resizeAxis(Value *v, int64_t axis, int64_t size, Rewriter &rw) {
  Type t = v->getType();
  if (!t.hasRank())
    return;
  int64_t r = t.shape->size();
  if (axis < 0)
    axis += r;
  if (axis < 0 || axis >= r || !(*t.shape)[axis].isStatic())
    return;
  (*t.shape)[axis] = Dim::of(size);
  rw.setType(v, std::move(t));
}

/// New Clip bounds by (old bound, new value): blocks that shared a bound
/// share its replacement (written once, as exporters wrote it).
using BoundCache = DenseMap<std::pair<Value *, int64_t>, Value *>;

Error pruneBlock(const Block &b, ArrayRef<int64_t> kept, BoundCache &bounds,
                 Rewriter &rw) {
  if (Error e = sliceWeights(b, kept, rw))
    return e;
  int64_t newE = kept.size();
  for (Value *v : b.logits)
    resizeAxis(v, -1, newE, rw);
  for (const SlicedWeight &sw : b.weights)
    for (Value *v : sw.via)
      resizeAxis(v, sw.axis, newE, rw);
  for (Node *clip : b.clipsAtMax) {
    Value *old = clip->getInput(2);
    Value *&repl = bounds[{old, newE - 1}];
    if (repl) {
      rw.setInput(clip, 2, repl);
      continue;
    }
    // Same dims (a scalar: Clip takes no other) and integer type as before.
    ArrayRef<int64_t> dims = old->getWeight()->getDims();
    replaceConstantInts(*clip, 2, {newE - 1},
                        SmallVector<int64_t, 1>(dims.begin(), dims.end()), rw);
    repl = clip->getInput(2);
  }
  return Error::success();
}

/// What removing expert \p e cuts: its slice of every weight of the block.
SliceUnit expertSlices(const Block &b, int64_t e) {
  SliceUnit unit;
  for (const SlicedWeight &sw : b.weights)
    if (!any_of(unit,
                [&](const WeightSlice &s) { return s.weight == sw.weight; }))
      unit.push_back({sw.weight, sw.axis, e});
  return unit;
}

} // namespace

namespace {

MoEBlockInfo describeBlock(const Block &b) {
  MoEBlockInfo info;
  info.topK = b.topK->getName();
  info.softmax = b.softmax->getName();
  info.routerLogits = b.softmax->getInput(0)->getName();
  info.numExperts = b.numExperts;
  info.k = b.k;
  info.routerWeight = b.weights.front().weight->getName();
  for (size_t i = b.numRouterWeights; i < b.weights.size(); ++i)
    if (!is_contained(info.expertWeights, b.weights[i].weight->getName()))
      info.expertWeights.push_back(b.weights[i].weight->getName());
  return info;
}

/// Scores every block's experts and fills MoEBlockInfo::removed.
Expected<std::vector<MoEBlockInfo>>
chooseExperts(ArrayRef<Block> blocks, const PruneExpertsOptions &opts) {
  auto criterion = CriteriaRegistry::create(opts.criterion);
  if (!criterion)
    return criterion.takeError();
  std::vector<MoEBlockInfo> out;
  for (size_t bi = 0; bi < blocks.size(); ++bi) {
    const Block &b = blocks[bi];
    int64_t e = b.numExperts;
    // floor(R * E), forgiving the rounding of a decimal R (0.29 * 100 is
    // 28.999999999999996).
    int64_t n = opts.useRatio ? (int64_t)std::floor(opts.ratio * e + 1e-9)
                              : (int64_t)opts.count;
    if (e - n < b.k)
      return makeError("node " + b.topK->describe() + ": removing " + Twine(n) +
                       " of " + Twine(e) + " experts leaves " +
                       Twine(std::max<int64_t>(e - n, 0)) +
                       ", fewer than the k=" + Twine(b.k) +
                       " experts each token is routed to");
    std::vector<SliceUnit> units;
    for (int64_t i = 0; i < e; ++i)
      units.push_back(expertSlices(b, i));
    auto scores = (*criterion)->scoreSlices(units, bi, opts.criterionOptions);
    if (!scores)
      return addContext(scores.takeError(), "node " + b.topK->describe());
    std::vector<int64_t> order(e);
    std::iota(order.begin(), order.end(), 0);
    // Stable: equal scores remove the lower index first.
    std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t c) {
      return (*scores)[a] < (*scores)[c];
    });
    MoEBlockInfo info = describeBlock(b);
    info.removed.assign(order.begin(), order.begin() + n);
    std::sort(info.removed.begin(), info.removed.end());
    out.push_back(std::move(info));
  }
  return out;
}

} // namespace

std::vector<MoEBlockInfo> findMoEBlocks(Model &m,
                                        std::vector<std::string> *skipped) {
  std::vector<MoEBlockInfo> out;
  for (const Block &b : matchBlocks(m, skipped))
    out.push_back(describeBlock(b));
  return out;
}

Expected<std::vector<MoEBlockInfo>>
planExpertPruning(Model &m, const PruneExpertsOptions &opts) {
  return chooseExperts(matchBlocks(m, nullptr), opts);
}

// ---- The pass -------------------------------------------------------------

Expected<PreservedAnalyses> PruneExpertsPass::run(Model &m,
                                                  ModelAnalysisManager &am) {
  raw_ostream &out = log ? *log : errs();
  std::vector<std::string> skipped;
  std::vector<Block> blocks = matchBlocks(m, &skipped);
  for (const std::string &s : skipped)
    out << "prune-experts: remark: " << s << "\n";
  if (blocks.empty()) {
    out << "prune-experts: remark: no MoE block found (a Softmax -> TopK "
           "router whose indices gather stacked expert weights); the model "
           "is unchanged\n";
    return PreservedAnalyses::all();
  }

  // Choose every block's experts before changing anything: a failure
  // leaves the model as it was.
  auto plan = chooseExperts(blocks, opts);
  if (!plan)
    return plan.takeError();

  ModelStats before = computeStats(m);
  Rewriter rw(m);
  BoundCache bounds;
  unsigned numRemoved = 0;
  for (size_t bi = 0; bi < blocks.size(); ++bi) {
    const Block &b = blocks[bi];
    ArrayRef<int64_t> removed = (*plan)[bi].removed;
    out << "prune-experts: " << b.topK->describe() << ": " << b.numExperts
        << " -> " << b.numExperts - (int64_t)removed.size() << " experts";
    if (!removed.empty()) {
      out << ", removed";
      for (int64_t e : removed)
        out << ' ' << e;
    }
    out << "\n";
    if (removed.empty())
      continue;
    std::vector<int64_t> kept;
    for (int64_t i = 0; i < b.numExperts; ++i)
      if (!is_contained(removed, i))
        kept.push_back(i);
    numRemoved += removed.size();
    if (Error e = pruneBlock(b, kept, bounds, rw))
      return std::move(e);
  }
  if (rw.getNumChanges() == 0) {
    out << "prune-experts: removed no expert in " << blocks.size()
        << (blocks.size() == 1 ? " MoE block\n" : " MoE blocks\n");
    return PreservedAnalyses::all();
  }
  // Replaced Clip bounds and weights copied away from shared ones.
  auto dce = DCEPass().run(m, am);
  if (!dce)
    return dce.takeError();
  ModelStats after = computeStats(m);
  // Copies made for blocks that shared weights can outweigh what was
  // removed: the change is signed.
  double delta =
      before.numParams
          ? 100.0 * ((double)after.numParams - (double)before.numParams) /
                (double)before.numParams
          : 0.0;
  out << "prune-experts: removed " << numRemoved
      << (numRemoved == 1 ? " expert" : " experts") << " in " << blocks.size()
      << (blocks.size() == 1 ? " MoE block" : " MoE blocks") << "; params "
      << before.numParams << " -> " << after.numParams << " ("
      << format("%+.1f%%", delta) << ")\n";
  return PreservedAnalyses::none();
}

} // namespace onnxprune
