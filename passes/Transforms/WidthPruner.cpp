//===- WidthPruner.cpp - Remove units of dependency groups ----------------===//

#include "passes/Transforms/WidthPruner.h"
#include "lib/Support/Error.h"
#include "lib/Support/Parallel.h"
#include "passes/OpHandlers/OpHandler.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/MapVector.h"

#include <cstring>

using namespace llvm;

namespace onnxprune {

namespace {

class Context final : public PruneContext {
public:
  Context(Rewriter &rw) : rw(rw) {}
  const std::vector<int64_t> *kept(AxisRef a) const override {
    auto it = keptOf.find({a.value, a.axis});
    return it == keptOf.end() ? nullptr : it->second;
  }
  int64_t oldSize(AxisRef a) const override {
    auto it = oldSizes.find({a.value, a.axis});
    if (it != oldSizes.end())
      return it->second;
    return CouplingBuilder::size(a);
  }
  Rewriter &rewriter() override { return rw; }

  Rewriter &rw;
  DenseMap<std::pair<Value *, unsigned>, const std::vector<int64_t> *> keptOf;
  DenseMap<std::pair<Value *, unsigned>, int64_t> oldSizes;
};

} // namespace

Error applyPruning(Model &m, const DepGraph &dg, ArrayRef<unsigned> units,
                   Rewriter &rw) {
  std::vector<char> pruned(dg.getNumUnits(), 0);
  for (unsigned u : units) {
    if (u >= dg.getNumUnits() || !dg.getUnit(u).prunable)
      return makeError("unit " + Twine(u) + " is not prunable");
    pruned[u] = 1;
  }
  // Kept elements of every space that loses some.
  auto spaces = dg.getSpaces();
  std::vector<std::vector<int64_t>> keptOfSpace(spaces.size());
  std::vector<char> changed(spaces.size(), 0);
  for (unsigned s = 0; s < spaces.size(); ++s) {
    if (spaces[s].group < 0)
      continue; // no prunable unit: nothing there can change
    std::vector<int64_t> kept;
    for (int64_t i = 0; i < spaces[s].size; ++i)
      if (!pruned[dg.unitOf(s, i)])
        kept.push_back(i);
    if ((int64_t)kept.size() == spaces[s].size)
      continue;
    if (kept.empty()) {
      AxisRef a = spaces[s].members.front();
      return makeError("the plan removes every element of axis " +
                       Twine(a.axis) + " of '" + a.value->getName() +
                       "'; keep at least one unit");
    }
    keptOfSpace[s] = std::move(kept);
    changed[s] = 1;
  }

  Context ctx(rw);
  // Which axes of which weights change, weights in first-seen order.
  MapVector<Value *,
            SmallVector<std::pair<unsigned, const std::vector<int64_t> *>, 2>>
      weightAxes;
  DenseSet<Node *> touched;
  for (unsigned s = 0; s < spaces.size(); ++s) {
    if (!changed[s])
      continue;
    for (const AxisRef &a : spaces[s].members) {
      ctx.keptOf[{a.value, a.axis}] = &keptOfSpace[s];
      ctx.oldSizes[{a.value, a.axis}] = spaces[s].size;
      if (a.value->isWeight())
        weightAxes[a.value].push_back({a.axis, &keptOfSpace[s]});
      if (Node *p = a.value->getProducer())
        touched.insert(p);
      for (const Use &u : a.value->getUses())
        touched.insert(u.user);
    }
  }

  // Slice each weight once, all its changed axes in one go. Every weight
  // is checked before any changes.
  for (auto &[v, axes] : weightAxes) {
    const Tensor &t = *v->getWeight();
    unsigned es = elementSize(t.getDataType());
    if (t.getDataType() == DataType::String || es == 0 ||
        t.getDataType() == DataType::Int4 || t.getDataType() == DataType::UInt4)
      return makeError("weight '" + v->getName() + "' of type " +
                       dataTypeName(t.getDataType()) + " cannot be sliced");
    for (auto &[axis, kept] : axes)
      if (axis >= t.getDims().size())
        return makeError("weight '" + v->getName() + "' has no axis " +
                         Twine(axis));
  }
  // In-memory weights are sliced on getThreadCount() threads, each into
  // its own buffer, and handed to the rewriter in order afterwards.
  std::vector<std::pair<
      Value *, ArrayRef<std::pair<unsigned, const std::vector<int64_t> *>>>>
      inMemory;
  for (auto &[v, axes] : weightAxes) {
    Tensor &t = *v->getWeight();
    if (!t.hasExternalData()) {
      inMemory.push_back({v, axes});
      continue;
    }
    // Leave the bytes in their file: the writer streams the kept rows, so
    // pruning a model of many GB needs little memory and writes each kept
    // weight once.
    SmallVector<int64_t, 4> dims(t.getDims().begin(), t.getDims().end());
    std::vector<Tensor::SliceAxis> lazy;
    for (auto &[axis, kept] : axes) {
      lazy.push_back({axis, *kept});
      dims[axis] = kept->size();
    }
    rw.sliceWeightLazily(v, dims, std::move(lazy));
  }
  std::vector<std::pair<SmallVector<int64_t, 4>, std::string>> sliced(
      inMemory.size());
  if (Error e = parallelForEach(inMemory.size(), [&](size_t i) -> Error {
        auto [v, axes] = inMemory[i];
        const Tensor &t = *v->getWeight();
        auto bytesOr = t.getBytes();
        if (!bytesOr)
          return bytesOr.takeError();
        unsigned es = elementSize(t.getDataType());
        SmallVector<int64_t, 4> dims(t.getDims().begin(), t.getDims().end());
        std::string data(bytesOr->data(), bytesOr->size());
        for (auto &[axis, kept] : axes) {
          data = gatherAxis(data, dims, es, axis, *kept);
          dims[axis] = kept->size();
        }
        sliced[i] = {std::move(dims), std::move(data)};
        return Error::success();
      }))
    return e;
  for (size_t i = 0; i < inMemory.size(); ++i)
    rw.updateWeight(inMemory[i].first, sliced[i].first,
                    std::move(sliced[i].second));
  // Shrink the activations' shapes.
  for (unsigned s = 0; s < spaces.size(); ++s) {
    if (!changed[s])
      continue;
    for (const AxisRef &a : spaces[s].members) {
      if (a.value->isWeight())
        continue;
      Type t = a.value->getType();
      if (!t.hasRank() || a.axis >= t.shape->size())
        continue;
      // A dynamic axis in a space has a virtual size (b·H heads, see
      // CouplingBuilder::setVirtualSize): it stays dynamic.
      if (!(*t.shape)[a.axis].isStatic())
        continue;
      (*t.shape)[a.axis] = Dim::of(keptOfSpace[s].size());
      rw.setType(a.value, std::move(t));
      m.recordKeptChannels(a.value->getName(), a.axis, keptOfSpace[s]);
    }
  }
  // Op-specific fixes, in graph order so results are deterministic; nodes
  // inside If branches and Loop bodies too (their groups cross the
  // boundary, see ControlFlowHandlers.cpp).
  Error err = Error::success();
  m.forEachGraph([&](Graph &g) {
    for (Node &n : g.getNodes()) {
      if (err || !touched.count(&n) || n.isLiftedConstant())
        continue;
      int64_t opset = m.getOpsetVersion(n.getDomain());
      const OpHandler *h = lookupOpHandler(n.getDomain(), n.getOpType(), opset);
      if (!h)
        err = makeError("node " + n.describe() +
                        ": an axis changed but the op has no handler");
      else
        err = h->rewrite(n, ctx);
    }
  });
  return err;
}

/// Whether zeroing a weight's slices is a faithful stand-in for removing
/// them. Zeroing makes the masked channel exactly zero, so every consumer,
/// a MAC weight or an activation-activation product (Q·Kᵀ, where a bias
/// left alone would survive as a bq·bk term), sees nothing of it. The
/// exceptions are weights where zero is not neutral but poison: divisors,
/// exponents and moduli would turn the channel into inf or NaN, which even
/// a zero consumer column cannot cancel.
static bool zeroingIsSafe(const Value *v) {
  for (const Use &u : v->getUses()) {
    StringRef op = u.user->getOpType();
    if ((op == "Div" || op == "Mod") && u.operandIndex == 1)
      return false;
    if (op == "Pow")
      return false;
  }
  return true;
}

Error applyMasking(Model &m, const DepGraph &dg, ArrayRef<unsigned> units,
                   Rewriter &rw) {
  auto spaces = dg.getSpaces();
  // Removed indices per weight axis.
  MapVector<Value *, SmallVector<std::pair<unsigned, std::vector<int64_t>>, 2>>
      cut;
  for (unsigned u : units) {
    DepGraph::Unit unit = dg.getUnit(u);
    if (u >= dg.getNumUnits() || !unit.prunable)
      return makeError("unit " + Twine(u) + " is not prunable");
    for (auto &[s, i] : unit.elements)
      for (unsigned k = 0; k < spaces[s].numWeightMembers; ++k) {
        const AxisRef &a = spaces[s].members[k];
        if (!zeroingIsSafe(a.value))
          continue;
        auto &axes = cut[a.value];
        auto it =
            llvm::find_if(axes, [&](auto &p) { return p.first == a.axis; });
        if (it == axes.end()) {
          axes.push_back({a.axis, {}});
          it = std::prev(axes.end());
        }
        it->second.push_back(i);
      }
  }
  for (auto &[v, axes] : cut) {
    Tensor &t = *v->getWeight();
    unsigned es = elementSize(t.getDataType());
    if (t.getDataType() == DataType::String || es == 0)
      return makeError("weight '" + v->getName() + "' cannot be masked");
    auto bytesOr = t.getBytes();
    if (!bytesOr)
      return bytesOr.takeError();
    std::string data(bytesOr->data(), bytesOr->size());
    ArrayRef<int64_t> dims = t.getDims();
    for (auto &[axis, idx] : axes) {
      // Quantized weights take their zero point; their scales and zero
      // points stay (see OpHandler::maskOperand).
      auto mode = maskWeight(*v, axis, idx, dims, data);
      if (!mode)
        return mode.takeError();
      if (*mode != OpHandler::MaskMode::Zero)
        continue;
      uint64_t outer = 1, inner = es;
      for (unsigned i = 0; i < axis; ++i)
        outer *= dims[i];
      for (unsigned i = axis + 1; i < dims.size(); ++i)
        inner *= dims[i];
      for (uint64_t o = 0; o < outer; ++o)
        for (int64_t k : idx)
          std::memset(&data[(o * dims[axis] + k) * inner], 0, inner);
    }
    SmallVector<int64_t, 4> d(dims.begin(), dims.end());
    rw.updateWeight(v, d, std::move(data));
  }
  (void)m;
  return Error::success();
}

} // namespace onnxprune
