//===- NormHandlers.cpp - Normalisation ops -------------------------------===//
///
/// \file
/// Normalisations either work per channel (BatchNorm, InstanceNorm: the
/// channel passes through with its parameters) or compute statistics over
/// some axes (LayerNorm, RMSNorm, MVN, LRN): removing an element of such an
/// axis changes every other element's statistics, so masked != pruned and
/// those axes freeze ("normalised over"). Hidden-size pruning across norms
/// is opt-in (DepGraphOptions::hidden): then a single normalised last axis
/// passes through, and the error it brings is the user's to measure.
///
///   BatchNormalization (inference):
///     X[N,C,H,W], scale[C], B[C], mean[C], var[C] -> Y[N,C,H,W]
///     every axis of X ~ Y; the parameters' axis 0 ~ X.1.
///       before: X[1,8,..] scale[8]..  remove channel 2  after: scale[7]..
///     Training-mode outputs (running/saved mean and var) freeze the node;
///     opset < 9 `spatial = 0` (per-activation parameters) too. mean and
///     var are statistics (isStatisticsInput): sliced, never scored.
///   InstanceNormalization: like BatchNorm with scale[C], B[C].
///   GroupNormalization (num_groups G, C/G channels per group):
///     every axis of X ~ Y; the channels of one group are tied, so whole
///     groups go and rewrite sets num_groups to the new C/(C/G).
///     scale/bias are [C] (opset 21) ~ X.1, or [G] (opset 18) -> X.1 in
///     blocks of C/G. Told apart by the parameters' size.
///       before: X[1,6,..] G=3 scale[6]  remove group 1
///       after:  X[1,4,..] G=2 scale[4]  (channels 2,3 gone)
///   LayerNormalization (ai.onnx 17, com.microsoft LayerNormalization,
///   SimplifiedLayerNormalization): axes [axis, rank) are normalised over
///   and freeze, with scale/bias joined to them (aligned from the right);
///   the others pass through to Y and to Mean/InvStdDev.
///   SkipLayerNormalization, SkipSimplifiedLayerNormalization
///   (com.microsoft): input + skip (+ bias) normalised over the last axis;
///   skip broadcasts against input; input_skip_bias_sum follows input.
///   LRN: sums over neighbouring channels: the channel axis freezes.
///   MeanVarianceNormalization: the `axes` (default [0,2,3]) freeze.
///
/// Only GroupNormalization has something to rewrite.
///
//===----------------------------------------------------------------------===//

#include "passes/OpHandlers/OpHandler.h"

using namespace llvm;

namespace onnxprune {

namespace {

AxisRef ax(Value *v, int64_t axis) { return {v, (unsigned)axis}; }

/// The shared checks: X and Y present with the same known rank >= \p minRank.
bool checkXY(const Node &n, CouplingBuilder &b, int64_t minRank) {
  Value *x = n.getInput(0), *y = n.getOutput(0);
  int64_t r = b.rank(x);
  if (!x || !y || r < minRank || b.rank(y) != r) {
    b.freezeNode(n, "operand rank unknown or unexpected");
    return false;
  }
  return true;
}

/// Joins axis 0 of every 1-D parameter input from \p first on with X.1.
/// Returns false (having frozen the node) when one is not 1-D.
bool joinChannelParams(const Node &n, CouplingBuilder &b, unsigned first) {
  Value *x = n.getInput(0);
  for (unsigned i = first; i < n.getNumInputs(); ++i) {
    Value *p = n.getInput(i);
    if (!p)
      continue;
    if (b.rank(p) != 1) {
      b.freezeNode(n, "per-channel parameter is not 1-D");
      return false;
    }
    b.join(ax(p, 0), ax(x, 1), n);
  }
  return true;
}

class BatchNormHandler final : public OpHandler {
public:
  void build(const Node &n, CouplingBuilder &b) const override {
    if (!checkXY(n, b, 2))
      return;
    // Running/saved statistics as outputs: training mode, left alone.
    for (unsigned i = 1; i < n.getNumOutputs(); ++i)
      if (n.getOutput(i)) {
        b.freezeNode(n, "training-mode statistics outputs");
        return;
      }
    if (n.getIntAttr("training_mode", 0) || !n.getIntAttr("spatial", 1)) {
      b.freezeNode(n, n.getIntAttr("training_mode", 0)
                          ? "training mode"
                          : "per-activation parameters (spatial = 0)");
      return;
    }
    joinAllAxes(b, n.getInput(0), n.getOutput(0), n);
    joinChannelParams(n, b, 1);
  }
  // input_mean and input_var: what the data looked like, not weights.
  bool isStatisticsInput(const Node &, unsigned i) const override {
    return i == 3 || i == 4;
  }
};

class InstanceNormHandler final : public OpHandler {
public:
  void build(const Node &n, CouplingBuilder &b) const override {
    if (!checkXY(n, b, 3))
      return;
    joinAllAxes(b, n.getInput(0), n.getOutput(0), n);
    joinChannelParams(n, b, 1);
  }
};

class GroupNormHandler final : public OpHandler {
public:
  void build(const Node &n, CouplingBuilder &b) const override {
    if (!checkXY(n, b, 2))
      return;
    Value *x = n.getInput(0), *y = n.getOutput(0);
    int64_t c = b.size(ax(x, 1)), g = n.getIntAttr("num_groups", -1);
    if (c <= 0 || g <= 0 || c % g != 0) {
      b.freezeNode(n, "group structure could not be resolved");
      return;
    }
    int64_t perGroup = c / g;
    joinAllAxes(b, x, y, n);
    std::vector<int64_t> elems(perGroup);
    for (int64_t k = 0; k < g; ++k) {
      for (int64_t j = 0; j < perGroup; ++j)
        elems[j] = k * perGroup + j;
      b.tie(ax(x, 1), elems, n);
    }
    for (unsigned i = 1; i < 3; ++i) {
      Value *p = n.getInput(i);
      if (!p)
        continue;
      int64_t s = b.rank(p) == 1 ? b.size(ax(p, 0)) : -1;
      if (s == c)
        b.join(ax(p, 0), ax(x, 1), n); // opset 21: per channel
      else if (s == g)
        b.joinBlocks(ax(p, 0), ax(x, 1), perGroup, 0, n); // opset 18
      else
        b.freezeNode(n, "scale/bias is neither per channel nor per group");
    }
  }

  Error rewrite(Node &n, PruneContext &ctx) const override {
    AxisRef xc = ax(n.getInput(0), 1);
    if (!ctx.kept(xc))
      return Error::success();
    int64_t perGroup = ctx.oldSize(xc) / n.getIntAttr("num_groups", 1);
    ctx.rewriter().setAttr(
        &n, Attribute::ofInt("num_groups", ctx.newSize(xc) / perGroup));
    return Error::success();
  }
};

/// Freezes the normalised axes [first, rank) of X and Y and joins the
/// parameters \p params (aligned from the right) to them; the leading axes
/// pass through to Y and to the statistics outputs.
void buildNormalisedOver(const Node &n, CouplingBuilder &b, int64_t first,
                         ArrayRef<unsigned> params) {
  Value *x = n.getInput(0), *y = n.getOutput(0);
  int64_t r = b.rank(x);
  joinAllAxes(b, x, y, n);
  // Hidden-size mode lets one normalised (last) axis go, approximately.
  if (!(b.options().hidden && first == r - 1))
    for (int64_t i = first; i < r; ++i) {
      b.freeze(ax(x, i), &n, "normalised over");
      b.freeze(ax(y, i), &n, "normalised over");
    }
  for (unsigned pi : params)
    if (Value *p = n.getInput(pi))
      joinBroadcast(b, p, x, n);
  // Mean / InvStdDev: X's leading axes, then size-1 axes.
  for (unsigned o = 1; o < n.getNumOutputs(); ++o) {
    Value *s = n.getOutput(o);
    if (!s)
      continue;
    if (b.rank(s) != r) {
      b.freezeValue(s, &n, "statistics output rank unexpected");
      continue;
    }
    for (int64_t i = 0; i < first; ++i)
      b.join(ax(x, i), ax(s, i), n);
  }
}

/// ai.onnx LayerNormalization, com.microsoft LayerNormalization and
/// SimplifiedLayerNormalization: normalised over [axis, rank).
class LayerNormHandler final : public OpHandler {
public:
  void build(const Node &n, CouplingBuilder &b) const override {
    if (!checkXY(n, b, 1))
      return;
    int64_t r = b.rank(n.getInput(0));
    int64_t axis = normalizeAxis(n.getIntAttr("axis", -1), r);
    if (axis < 0) {
      b.freezeNode(n, "invalid axis");
      return;
    }
    buildNormalisedOver(n, b, axis, {1, 2});
  }
};

/// com.microsoft SkipLayerNormalization / SkipSimplifiedLayerNormalization:
/// (input, skip, gamma, beta?, bias?) -> (output, mean?, inv_std_var?,
/// input_skip_bias_sum?), normalised over the last axis.
class SkipLayerNormHandler final : public OpHandler {
public:
  void build(const Node &n, CouplingBuilder &b) const override {
    if (!checkXY(n, b, 1))
      return;
    Value *x = n.getInput(0), *y = n.getOutput(0);
    int64_t r = b.rank(x);
    joinAllAxes(b, x, y, n);
    if (!b.options().hidden)
      b.freeze(ax(x, r - 1), &n, "normalised over");
    if (Value *skip = n.getInput(1))
      joinBroadcast(b, skip, x, n);
    // gamma, beta, bias (simplified: gamma, bias): [hidden].
    for (unsigned i = 2; i < n.getNumInputs(); ++i)
      if (Value *p = n.getInput(i))
        joinBroadcast(b, p, x, n);
    for (unsigned o = 1; o < n.getNumOutputs(); ++o) {
      Value *s = n.getOutput(o);
      if (!s)
        continue;
      if (o == 3 && b.rank(s) == r) {
        joinAllAxes(b, x, s, n); // input_skip_bias_sum
        continue;
      }
      // mean / inv_std_var: [batch, seq, 1]; leading axes follow input.
      if (b.rank(s) != r) {
        b.freezeValue(s, &n, "statistics output rank unexpected");
        continue;
      }
      for (int64_t i = 0; i + 1 < r; ++i)
        b.join(ax(x, i), ax(s, i), n);
    }
  }
};

/// LRN: each channel is normalised by its `size` neighbours.
class LRNHandler final : public OpHandler {
public:
  void build(const Node &n, CouplingBuilder &b) const override {
    if (!checkXY(n, b, 2))
      return;
    joinAllAxes(b, n.getInput(0), n.getOutput(0), n);
    b.freeze(ax(n.getInput(0), 1), &n,
             "normalised over (neighbouring channels)");
  }
};

class MeanVarianceNormHandler final : public OpHandler {
public:
  void build(const Node &n, CouplingBuilder &b) const override {
    if (!checkXY(n, b, 1))
      return;
    Value *x = n.getInput(0);
    int64_t r = b.rank(x);
    std::vector<int64_t> axes =
        n.getIntsAttr("axes").value_or(std::vector<int64_t>{0, 2, 3});
    joinAllAxes(b, x, n.getOutput(0), n);
    for (int64_t a : axes) {
      int64_t na = normalizeAxis(a, r);
      if (na < 0) {
        b.freezeNode(n, "invalid axes");
        return;
      }
      b.freeze(ax(x, na), &n, "normalised over");
    }
  }
};

} // namespace

std::shared_ptr<const OpHandler> createBatchNormHandler() {
  return std::make_shared<BatchNormHandler>();
}
std::shared_ptr<const OpHandler> createInstanceNormHandler() {
  return std::make_shared<InstanceNormHandler>();
}
std::shared_ptr<const OpHandler> createGroupNormHandler() {
  return std::make_shared<GroupNormHandler>();
}
std::shared_ptr<const OpHandler> createLayerNormHandler() {
  return std::make_shared<LayerNormHandler>();
}
std::shared_ptr<const OpHandler> createSkipLayerNormHandler() {
  return std::make_shared<SkipLayerNormHandler>();
}
std::shared_ptr<const OpHandler> createLRNHandler() {
  return std::make_shared<LRNHandler>();
}
std::shared_ptr<const OpHandler> createMeanVarianceNormHandler() {
  return std::make_shared<MeanVarianceNormHandler>();
}

} // namespace onnxprune
