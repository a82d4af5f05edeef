//===- MagnitudeCriterion.cpp - Lp-norm magnitude criterion ---------------===//
///
/// \file
/// `magnitude`: a unit scores the Lp norm of every weight slice its removal
/// cuts away, reduced over them. Each element (space, index) of a unit
/// touches, for every weight member (W, axis) of that space, the slice
/// W[..., index, ...] along axis; its norm is one value. All members count,
/// not only the stem: a Conv output channel is scored by its filter, its
/// bias, its BatchNorm scale and shift, and the next Conv's input slice.
/// The values of a unit are reduced with sum (default), mean or max.
///
/// \code
///   W1[3,2] = [[1,2],[0,0],[3,4]]  (rows: units 0..2), b1[3] = [1,0,-2]
///   p=2, reduce=sum: u0 = |(1,2)| + |1| = 3.236..., u1 = 0, u2 = 5 + 2 = 7
/// \endcode
///
/// Only floating-point weights are read (integer weights are shapes and
/// indices, not magnitudes), and statistics are skipped: BatchNorm's running
/// mean and variance describe the data, not what the channel contributes
/// (OpHandler::isStatisticsInput). A channel whose conv filter and BN scale
/// and shift are zero outputs zero whatever its statistics, so it scores 0.
/// A unit touching none scores 0. Units given as weight slices (whole MoE
/// experts) score the same way: the norm of each slice, reduced over the
/// unit's slices.
///
//===----------------------------------------------------------------------===//

#include "passes/Criteria/Criterion.h"
#include "passes/Criteria/SliceNorms.h"

#include "lib/IR/Tensor.h"
#include "lib/Support/Error.h"
#include "lib/Support/Parallel.h"
#include "lib/Support/Progress.h"
#include "passes/OpHandlers/OpHandler.h"

#include "llvm/ADT/DenseMap.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <mutex>
#include <set>
#include <tuple>

using namespace llvm;

namespace onnxprune {

namespace {

/// True when \p v is a weight magnitude scores: floating point, or
/// quantized integers whose reader can dequantize them.
bool isScored(const Value &v) {
  const Tensor *t = v.getWeight();
  if (!t)
    return false;
  if (isFloatingPoint(t->getDataType()))
    return true;
  auto d = dequantizedWeight(v);
  if (!d) {
    consumeError(d.takeError());
    return false;
  }
  return d->has_value();
}

/// The Lp norm of every slice of weight \p v along \p axis:
/// out[i] = ||t[.., i, ..]||. Floating-point weights stream in storage order
/// (SliceNorms.h); quantized integers are read as the values they stand for
/// (OpHandler::dequantizeOperand), a copy in doubles: they are small.
Expected<std::vector<double>> valueNorms(const Value &v, unsigned axis,
                                         double p) {
  const Tensor &t = *v.getWeight();
  if (isFloatingPoint(t.getDataType()))
    return sliceNorms(t, axis, p);
  auto dims = t.getDims();
  if (axis >= dims.size())
    return makeError("weight '" + t.getName() + "' has no axis " + Twine(axis));
  auto d = dequantizedWeight(v);
  if (!d)
    return d.takeError();
  if (!*d)
    return makeError("weight '" + t.getName() + "' cannot be scored");
  return sliceNormsOfValues(**d, dims, axis, p);
}

/// Reduces the slice norms of one unit (sum, mean or max).
struct Reducer {
  double sum = 0, max = 0;
  uint64_t count = 0;
  void add(double v) {
    sum += v;
    max = std::max(max, v);
    ++count;
  }
  double get(ScoreReduce how) const {
    switch (how) {
    case ScoreReduce::Sum:
      return sum;
    case ScoreReduce::Mean:
      return count ? sum / count : 0.0;
    case ScoreReduce::Max:
      return max;
    }
    llvm_unreachable("bad ScoreReduce");
  }
};

class MagnitudeCriterion final : public Criterion {
public:
  StringRef name() const override { return "magnitude"; }
  bool scoresKind(UnitKind) const override { return true; }

  Error configure(PassParams &params, CriterionOptions &opts) override {
    if (Error e = readLpParams(params, opts))
      return e;
    configuredP = opts.p;
    return readNormalizeParam(params, opts);
  }

  /// Computes the slice norms of every weight member of every group to be
  /// scored, all at once: one task per (weight, axis) on getThreadCount()
  /// threads, largest first. score() then only reduces them. Each task
  /// computes its own norms alone, so the cache holds the same values for
  /// any number of threads.
  Error prepare(const CriterionContext &ctx,
                ArrayRef<unsigned> groups) override {
    if (!(configuredP >= 1))
      return Error::success(); // computeScores reports it
    const DepGraph &dg = *ctx.dg;
    auto spaces = dg.getSpaces();
    std::vector<NormKey> keys;
    std::set<NormKey> seen;
    for (unsigned g : groups)
      for (unsigned s : dg.getGroups()[g].spaces)
        for (unsigned k = 0; k < spaces[s].numWeightMembers; ++k) {
          const AxisRef &a = spaces[s].members[k];
          const Tensor &t = *a.value->getWeight();
          if (!isFloatingPoint(t.getDataType()) || isStatisticsWeight(*a.value))
            continue;
          NormKey key{&t, a.axis, configuredP};
          if (seen.insert(key).second && !normCache.count(key))
            keys.push_back(key);
        }
    // Largest first: the last task to start is a short one.
    std::stable_sort(keys.begin(), keys.end(), [](auto &a, auto &b) {
      return std::get<0>(a)->getByteSize() > std::get<0>(b)->getByteSize();
    });
    uint64_t total = 0;
    for (const NormKey &k : keys)
      total += std::get<0>(k)->getByteSize();
    std::vector<std::vector<double>> results(keys.size());
    {
      Progress progress("scoring", total);
      if (Error e = parallelForEach(keys.size(), [&](size_t i) -> Error {
            auto [tensor, axis, p] = keys[i];
            auto n = sliceNorms(*tensor, axis, p, &progress);
            if (!n)
              return n.takeError();
            results[i] = std::move(*n);
            return Error::success();
          }))
        return e;
    }
    for (size_t i = 0; i < keys.size(); ++i)
      normCache[keys[i]] = std::move(results[i]);
    return Error::success();
  }
  void printParams(PassParamsPrinter &pp,
                   const CriterionOptions &opts) const override {
    pp.add("p",
           std::isinf(opts.p) ? std::string("inf") : formatParamDouble(opts.p));
    pp.add("reduce", reduceName(opts.reduce));
    pp.add("normalize", normalizeName(opts.normalize));
  }

protected:
  Expected<std::vector<double>>
  computeScores(const DepGraph &dg, unsigned group,
                const CriterionOptions &opts) const override {
    if (!(opts.p >= 1))
      return makeError("magnitude: p must be at least 1");
    auto spaces = dg.getSpaces();
    // Norms of every floating-point weight member of the group's spaces,
    // computed once per (space, member): [space][member][index].
    DenseMap<unsigned, std::vector<const std::vector<double> *>> norms;
    for (unsigned s : dg.getGroups()[group].spaces) {
      auto &perMember = norms[s];
      for (unsigned k = 0; k < spaces[s].numWeightMembers; ++k) {
        const AxisRef &a = spaces[s].members[k];
        if (!isScored(*a.value) || isStatisticsWeight(*a.value))
          continue;
        auto n = cachedNorms(*a.value, a.axis, opts.p);
        if (!n)
          return n.takeError();
        perMember.push_back(*n);
      }
    }

    std::vector<double> scores;
    for (unsigned u : prunableUnitsOf(dg, group)) {
      Reducer r;
      for (auto &[s, i] : dg.getUnit(u).elements)
        for (const std::vector<double> *n : norms[s])
          r.add((*n)[i]);
      scores.push_back(r.get(opts.reduce));
    }
    return scores;
  }

  Expected<std::vector<double>>
  computeSliceScores(ArrayRef<SliceUnit> units, uint64_t,
                     const CriterionOptions &opts) const override {
    if (!(opts.p >= 1))
      return makeError("magnitude: p must be at least 1");
    // Norms of every (weight, axis) the units cut, computed once.
    DenseMap<std::pair<const Value *, unsigned>, std::vector<double>> norms;
    for (const SliceUnit &unit : units)
      for (const WeightSlice &w : unit) {
        if (norms.count({w.weight, w.axis}) || !isScored(*w.weight))
          continue;
        auto n = valueNorms(*w.weight, w.axis, opts.p);
        if (!n)
          return n.takeError();
        norms[{w.weight, w.axis}] = std::move(*n);
      }
    std::vector<double> scores;
    for (const SliceUnit &unit : units) {
      Reducer r;
      for (const WeightSlice &w : unit) {
        auto it = norms.find({w.weight, w.axis});
        if (it == norms.end())
          continue;
        if (w.index < 0 || w.index >= (int64_t)it->second.size())
          return makeError("magnitude: weight '" + w.weight->getName() +
                           "' has no index " + Twine(w.index) + " on axis " +
                           Twine(w.axis));
        r.add(it->second[w.index]);
      }
      scores.push_back(r.get(opts.reduce));
    }
    return scores;
  }

  /// Depth units: the Lp norm of each weight the unit removes, reduced over
  /// its weights (a baseline: it sees neither data nor the stream).
  Expected<std::vector<double>>
  computeDepthScores(const DepthContext &ctx, ArrayRef<unsigned> candidates,
                     const CriterionOptions &opts) override {
    if (!(opts.p >= 1))
      return makeError("magnitude: p must be at least 1");
    std::vector<double> scores;
    for (unsigned c : candidates) {
      Reducer r;
      for (const std::string &name : ctx.units->units[c].weights) {
        const Value *v = ctx.model->getGraph().lookup(name);
        const Tensor *t = v ? v->getWeight() : nullptr;
        if (!t || t->getDims().empty() || !isScored(*v))
          continue;
        auto n = valueNorms(*v, 0, opts.p);
        if (!n)
          return n.takeError();
        // The norm of the whole tensor from the norms of its slices.
        double whole = 0;
        for (double x : *n)
          whole = std::isinf(opts.p) ? std::max(whole, x)
                                     : whole + std::pow(x, opts.p);
        r.add(std::isinf(opts.p) ? whole : std::pow(whole, 1 / opts.p));
      }
      scores.push_back(r.get(opts.reduce));
    }
    return scores;
  }

private:
  /// A weight's slice norms along an axis, for one p.
  using NormKey = std::tuple<const Tensor *, unsigned, double>;

  /// The norms prepare() computed, or computed now (a caller that scores
  /// without prepare(), or with another p).
  Expected<const std::vector<double> *>
  cachedNorms(const Value &v, unsigned axis, double p) const {
    std::lock_guard<std::mutex> lock(cacheMu);
    NormKey key{v.getWeight(), axis, p};
    auto it = normCache.find(key);
    if (it != normCache.end())
      return &it->second;
    auto n = valueNorms(v, axis, p);
    if (!n)
      return n.takeError();
    return &normCache.try_emplace(key, std::move(*n)).first->second;
  }

  double configuredP = 2;
  mutable std::mutex cacheMu;
  /// Node-based: pointers to the vectors stay valid as it grows.
  mutable std::map<NormKey, std::vector<double>> normCache;
};

} // namespace

std::unique_ptr<Criterion> createMagnitudeCriterion() {
  return std::make_unique<MagnitudeCriterion>();
}

} // namespace onnxprune
