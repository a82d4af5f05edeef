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

#include "lib/IR/Tensor.h"
#include "lib/Support/Error.h"
#include "passes/OpHandlers/OpHandler.h"

#include "llvm/ADT/DenseMap.h"

#include <algorithm>
#include <cmath>

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
/// out[i] = ||t[.., i, ..]||. Quantized integers are read as the values
/// they stand for (OpHandler::dequantizeOperand).
Expected<std::vector<double>> sliceNorms(const Value &v, unsigned axis,
                                         double p) {
  const Tensor &t = *v.getWeight();
  auto dims = t.getDims();
  if (axis >= dims.size())
    return makeError("weight '" + t.getName() + "' has no axis " + Twine(axis));
  Expected<std::vector<double>> values = std::vector<double>();
  if (isFloatingPoint(t.getDataType())) {
    values = readAsDoubles(t);
  } else if (auto d = dequantizedWeight(v); !d) {
    values = d.takeError();
  } else if (!*d) {
    return makeError("weight '" + t.getName() + "' cannot be scored");
  } else {
    values = std::move(**d);
  }
  // The values are copied: let an external weight's pages leave memory, so
  // scoring a model bigger than RAM streams through it.
  t.releaseBytes();
  if (!values)
    return values.takeError();
  uint64_t size = dims[axis], inner = 1;
  for (size_t d = axis + 1; d < dims.size(); ++d)
    inner *= dims[d];
  std::vector<double> acc(size, 0.0);
  bool inf = std::isinf(p);
  for (uint64_t j = 0; j < values->size(); ++j) {
    double a = std::fabs((*values)[j]);
    double &s = acc[(j / inner) % size];
    if (inf)
      s = std::max(s, a);
    else if (p == 1)
      s += a;
    else if (p == 2)
      s += a * a;
    else
      s += std::pow(a, p);
  }
  if (!inf && p != 1)
    for (double &s : acc)
      s = p == 2 ? std::sqrt(s) : std::pow(s, 1.0 / p);
  return acc;
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
    return readNormalizeParam(params, opts);
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
    DenseMap<unsigned, std::vector<std::vector<double>>> norms;
    for (unsigned s : dg.getGroups()[group].spaces) {
      auto &perMember = norms[s];
      for (unsigned k = 0; k < spaces[s].numWeightMembers; ++k) {
        const AxisRef &a = spaces[s].members[k];
        if (!isScored(*a.value) || isStatisticsWeight(*a.value))
          continue;
        auto n = sliceNorms(*a.value, a.axis, opts.p);
        if (!n)
          return n.takeError();
        perMember.push_back(std::move(*n));
      }
    }

    std::vector<double> scores;
    for (unsigned u : prunableUnitsOf(dg, group)) {
      Reducer r;
      for (auto &[s, i] : dg.getUnit(u).elements)
        for (const std::vector<double> &n : norms[s])
          r.add(n[i]);
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
        auto n = sliceNorms(*w.weight, w.axis, opts.p);
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
        auto n = sliceNorms(*v, 0, opts.p);
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
};

} // namespace

std::unique_ptr<Criterion> createMagnitudeCriterion() {
  return std::make_unique<MagnitudeCriterion>();
}

} // namespace onnxprune
