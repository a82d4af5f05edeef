//===- PoolReduceHandlers.cpp - Pooling, reductions, Resize, Pad ----------===//
///
/// \file
/// Ops that work along some axes and leave the others alone: the others
/// pass through (join input and output), the worked-on ones are frozen when
/// removing an element there would change the rest (reductions), and simply
/// not coupled when they carry no channel (pooled spatial axes).
///
///   Pools (MaxPool, AveragePool, LpPool, Global*Pool):
///     X[N,C,H,W] -> Y[N,C,H',W']    X.0 ~ Y.0, X.1 ~ Y.1.
///     MaxPool's Indices output numbers elements as ((n*C + c)*H + h)*W + w:
///     it freezes the channel.
///   Reductions (ReduceMean/Sum/Max/Min/Prod/L1/L2/LogSum/LogSumExp/
///   SumSquare, ArgMax, ArgMin): axes from the `axes` attribute or, from
///   opset 13 (ReduceSum) / 18 (the rest), the second input, which must be a
///   constant; empty axes reduce everything unless noop_with_empty_axes.
///     X[B,S,D] --ReduceMean(axes=[-1], keepdims=1)--> Y[B,S,1]
///       X.0 ~ Y.0, X.1 ~ Y.1; X.2 frozen "reduced over".
///     keepdims=0 drops the reduced axes: kept axis i maps to i minus the
///     reduced axes before it. Freezing the reduced axis is what pins the
///     hidden size under a decomposed LayerNorm / RMSNorm: correct, since
///     the statistics would change.
///   Resize / Upsample: an axis whose scale is 1 (or whose target size is
///     its own size) passes through; a resized axis freezes. Scales and
///     sizes must be constants. A `sizes` input that names the channel count
///     is rewritten:
///       before: X[1,8,4,4] sizes=[1,8,8,8] -> Y[1,8,8,8]
///       remove a channel: X[1,7,4,4] sizes=[1,7,8,8] -> Y[1,7,8,8]
///     tf_crop_and_resize (roi crops) and keep_aspect_ratio_policy with
///     sizes (one scale for all axes) freeze the node.
///   Pad: axes padded by constant zero at both ends pass through, padded
///     axes freeze; pads must be a constant (attribute before opset 11,
///     input from 11, with the `axes` input from 18).
///
//===----------------------------------------------------------------------===//

#include "lib/IR/Rewriter.h"
#include "lib/IR/Tensor.h"
#include "lib/Support/Error.h"
#include "passes/OpHandlers/OpHandler.h"

#include "llvm/ADT/SmallBitVector.h"

using namespace llvm;

namespace onnxprune {

namespace {

AxisRef ax(Value *v, int64_t axis) { return {v, (unsigned)axis}; }

/// Reads a constant floating-point input.
std::optional<std::vector<double>> constantDoubles(const Value *v) {
  if (!v || !v->isWeight() || !isFloatingPoint(v->getWeight()->getDataType()))
    return std::nullopt;
  auto vals = readAsDoubles(*v->getWeight());
  if (!vals) {
    consumeError(vals.takeError());
    return std::nullopt;
  }
  return std::move(*vals);
}

int64_t opsetOf(const Node &n) {
  return n.getGraph()->getModel().getOpsetVersion(n.getDomain());
}

class PoolHandler final : public OpHandler {
public:
  void build(const Node &n, CouplingBuilder &b) const override {
    Value *x = n.getInput(0), *y = n.getOutput(0);
    int64_t r = b.rank(x);
    if (!x || !y || r < 3 || b.rank(y) != r) {
      b.freezeNode(n, "operand rank unknown or unexpected");
      return;
    }
    b.join(ax(x, 0), ax(y, 0), n);
    b.join(ax(x, 1), ax(y, 1), n);
    if (Value *indices = n.getOutput(1)) {
      b.freeze(ax(x, 1), &n, "MaxPool Indices number the channels");
      b.freezeValue(indices, &n, "MaxPool Indices number the channels");
    }
  }
};

/// Reductions and ArgMax/ArgMin: kept axes pass through, reduced ones
/// freeze.
class ReduceHandler final : public OpHandler {
public:
  void build(const Node &n, CouplingBuilder &b) const override {
    Value *x = n.getInput(0), *y = n.getOutput(0);
    int64_t r = b.rank(x);
    if (!x || !y || r < 0 || b.rank(y) < 0) {
      b.freezeNode(n, "operand rank unknown");
      return;
    }
    bool arg = n.getOpType() == "ArgMax" || n.getOpType() == "ArgMin";
    std::vector<int64_t> axes;
    if (arg) {
      axes.push_back(n.getIntAttr("axis", 0));
    } else if (n.getInput(1)) {
      auto c = constantInts(n.getInput(1));
      if (!c) {
        b.freezeNode(n, "reduction axes are not a constant");
        return;
      }
      axes = std::move(*c);
    } else {
      axes = n.getIntsAttr("axes").value_or(std::vector<int64_t>{});
    }
    if (axes.empty() && !arg) {
      if (n.getIntAttr("noop_with_empty_axes", 0)) {
        joinAllAxes(b, x, y, n);
        return;
      }
      for (int64_t i = 0; i < r; ++i)
        axes.push_back(i);
    }
    SmallBitVector reduced(r);
    for (int64_t a : axes) {
      int64_t na = normalizeAxis(a, r);
      if (na < 0) {
        b.freezeNode(n, "invalid reduction axes");
        return;
      }
      reduced.set(na);
    }
    bool keep = n.getIntAttr("keepdims", 1);
    if (b.rank(y) != (keep ? r : r - (int64_t)reduced.count())) {
      b.freezeNode(n, "output rank does not match the reduction");
      return;
    }
    // The mean or sum over the last axis of a decomposed LayerNorm /
    // RMSNorm can let that axis go (see rewrite()): always in hidden-size
    // mode; by default when it is a norm's statistic (exact, see
    // isNormStatistic) and the axis is no residual stream.
    bool lastOnly =
        reduced.count() == 1 && reduced[r - 1] && !y->isGraphOutput() &&
        (n.getOpType() == "ReduceMean" || n.getOpType() == "ReduceSum");
    bool hiddenPasses = lastOnly && b.options().hidden;
    bool normPasses = lastOnly && !hiddenPasses && isNormStatistic(n, r);
    int64_t out = 0;
    for (int64_t i = 0; i < r; ++i) {
      if (reduced[i]) {
        if (normPasses)
          b.freezeIfResidual(ax(x, i), &n,
                             "reduced over (a residual stream: see hidden)");
        else if (!hiddenPasses)
          b.freeze(ax(x, i), &n, "reduced over");
        out += keep;
        continue;
      }
      b.join(ax(x, i), ax(y, out++), n);
    }
  }

  /// A ReduceMean whose reduced axis lost elements
  /// keeps dividing by the original count, so a norm over channels that
  /// were zero (masked) computes exactly what it did:
  ///
  ///   before: X[b,s,64] -> ReduceMean<axes=[-1]> -> Y
  ///   after:  X[b,s,48] -> ReduceMean<axes=[-1]> -> Mul(., 48/64) -> Y'
  ///
  /// ReduceSum needs nothing (zeros add nothing).
  Error rewrite(Node &n, PruneContext &ctx) const override {
    Value *x = n.getInput(0), *y = n.getOutput(0);
    int64_t r = CouplingBuilder::rank(x);
    if (n.getOpType() != "ReduceMean" || r < 1 || !ctx.kept(ax(x, r - 1)))
      return Error::success();
    DataType dt = y->getType().elemType;
    double ratio =
        (double)ctx.newSize(ax(x, r - 1)) / ctx.oldSize(ax(x, r - 1));
    if (dt != DataType::Float && dt != DataType::Double) {
      return makeError("node " + n.describe() +
                       ": hidden-size pruning through a ReduceMean of type " +
                       dataTypeName(dt) + " is not supported");
    }
    Rewriter &rw = ctx.rewriter();
    Graph &g = *n.getGraph();
    Value *c = scalarWeight(rw, g, y->getName() + "_count_ratio", dt, ratio);
    // Right after the node (its users all come later); at the end when it
    // is the last one.
    auto after = std::next(n.getIterator());
    Node *next = after == g.getNodes().end() ? nullptr : &*after;
    Node *mul = rw.createNode(g, "Mul", {y, c}, 1, next, "",
                              y->getName() + "_rescaled");
    Value *result = mul->getOutput(0);
    rw.setType(result, y->getType());
    SmallVector<Node *, 4> made{mul};
    // A LayerNorm's variance, mean((x - m)^2): each removed channel was
    // zero when masked, so it added m^2 to the sum; adding (k/N)·m^2 back
    // keeps masked and pruned LayerNorms equal (wake-word and audio
    // models normalise their dense blocks this way).
    //
    //   after: ... -> Mul(., 48/64) -> Add(., Mul(Mul(m, m), 16/64)) -> Y'
    if (Value *m = layerNormMean(x, r)) {
      Value *k =
          scalarWeight(rw, g, y->getName() + "_removed_ratio", dt, 1.0 - ratio);
      Node *sq = rw.createNode(g, "Mul", {m, m}, 1, next, "",
                               y->getName() + "_mean_sq");
      rw.setType(sq->getOutput(0), m->getType());
      Node *part = rw.createNode(g, "Mul", {sq->getOutput(0), k}, 1, next, "",
                                 y->getName() + "_removed_part");
      rw.setType(part->getOutput(0), m->getType());
      Node *add = rw.createNode(g, "Add", {result, part->getOutput(0)}, 1, next,
                                "", y->getName() + "_restored");
      rw.setType(add->getOutput(0), y->getType());
      result = add->getOutput(0);
      made.append({sq, part, add});
    }
    SmallVector<Use, 4> uses(y->getUses().begin(), y->getUses().end());
    for (const Use &u : uses)
      if (!is_contained(made, u.user))
        rw.setInput(u.user, u.operandIndex, result);
    return Error::success();
  }

private:
  /// A new scalar initializer of type \p dt (float or double).
  static Value *scalarWeight(Rewriter &rw, Graph &g, const std::string &name,
                             DataType dt, double v) {
    std::string bytes;
    if (dt == DataType::Float) {
      float f = (float)v;
      bytes.assign(reinterpret_cast<const char *>(&f), sizeof f);
    } else {
      bytes.assign(reinterpret_cast<const char *>(&v), sizeof v);
    }
    auto t = std::make_unique<Tensor>(name, dt, ArrayRef<int64_t>{});
    t->setData({}, std::move(bytes));
    return rw.createWeight(g, std::move(t));
  }

  /// True when reduction \p n (over the last axis of rank \p r) is a
  /// statistic of a decomposed norm that the rewrite keeps exact for
  /// removed channels that are zero in X:
  ///   the mean of a LayerNorm: ReduceMean(X) read by Sub(X, .);
  ///   the variance of a LayerNorm: ReduceMean(Pow(Sub(X, m), 2)), m that
  ///     mean (the removed channels' share is added back);
  ///   the mean square of an RMSNorm: ReduceMean/ReduceSum(Pow(X, 2)) or of
  ///     Mul(X, X), X not a difference.
  /// Any other reduction over a channel (a Sigmoid's mean, say) would see
  /// removed channels that are not zero: it stays frozen unless hidden.
  static bool isNormStatistic(const Node &n, int64_t r) {
    Value *x = n.getInput(0), *y = n.getOutput(0);
    bool mean = n.getOpType() == "ReduceMean";
    if (mean)
      for (const Use &u : y->getUses())
        if (u.user->getDomain().empty() && u.user->getOpType() == "Sub" &&
            u.operandIndex == 1 && u.user->getInput(0) == x)
          return true;
    if (layerNormMean(x, r))
      return mean;
    const Node *p = x->getProducer();
    if (!p || !p->getDomain().empty() || p->getNumInputs() != 2 || !squares(*p))
      return false;
    const Node *d = p->getInput(0)->getProducer();
    return !d || d->getOpType() != "Sub";
  }

  /// `Mul(d, d)` or `Pow(d, 2)`.
  static bool squares(const Node &p) {
    if (p.getOpType() == "Mul")
      return p.getInput(0) && p.getInput(1) == p.getInput(0);
    if (p.getOpType() != "Pow")
      return false;
    const Value *e = p.getInput(1);
    if (!e || !e->isWeight())
      return false;
    auto vals = readAsDoubles(*e->getWeight());
    if (!vals) {
      consumeError(vals.takeError());
      return false;
    }
    return vals->size() == 1 && (*vals)[0] == 2;
  }

  /// The mean m when \p x is (X - m)^2 (`Pow(Sub(X, m), 2)` or
  /// `Mul(d, d)` with d = Sub(X, m)) and m is a ReduceMean of X over the
  /// same last axis, kept (rank \p r, last dim 1): a LayerNorm's variance.
  static Value *layerNormMean(Value *x, int64_t r) {
    const Node *p = x ? x->getProducer() : nullptr;
    if (!p || !p->getDomain().empty() || p->getNumInputs() != 2)
      return nullptr;
    if (!squares(*p))
      return nullptr;
    Value *d = p->getInput(0);
    const Node *sub = d ? d->getProducer() : nullptr;
    if (!sub || sub->getOpType() != "Sub" || !sub->getDomain().empty())
      return nullptr;
    Value *m = sub->getInput(1);
    // The mean as its own rewrite left it: ReduceMean -> Mul (rescale).
    const Node *q = m ? m->getProducer() : nullptr;
    if (q && q->getOpType() == "Mul")
      q = q->getInput(0) ? q->getInput(0)->getProducer() : nullptr;
    if (!q || q->getOpType() != "ReduceMean" ||
        q->getInput(0) != sub->getInput(0) || CouplingBuilder::rank(m) != r ||
        CouplingBuilder::size({m, (unsigned)(r - 1)}) != 1)
      return nullptr;
    return m;
  }
};

/// Resize (opset 10: X, scales; 11+: X, roi, scales, sizes) and Upsample
/// (opset 7-8: `scales` attribute; 9: X, scales).
class ResizeHandler final : public OpHandler {
  /// The sizes input, when the node uses one.
  static Value *sizesInput(const Node &n) {
    if (n.getOpType() != "Resize" || opsetOf(n) < 11)
      return nullptr;
    return n.getInput(3);
  }

  static std::optional<std::vector<double>> scalesOf(const Node &n) {
    if (n.getOpType() == "Upsample" && !n.getInput(1)) {
      const Attribute *a = n.getAttr("scales");
      if (!a)
        return std::nullopt;
      return std::vector<double>(a->floats.begin(), a->floats.end());
    }
    bool newForm = n.getOpType() == "Resize" && opsetOf(n) >= 11;
    Value *s = n.getInput(newForm ? 2 : 1);
    if (!s)
      return std::vector<double>{};
    return constantDoubles(s);
  }

  /// The axes that scales/sizes list (opset 18 `axes`), all by default.
  static std::optional<std::vector<int64_t>> listedAxes(const Node &n,
                                                        int64_t r) {
    std::vector<int64_t> axes;
    if (auto a = n.getIntsAttr("axes")) {
      for (int64_t v : *a) {
        int64_t na = normalizeAxis(v, r);
        if (na < 0)
          return std::nullopt;
        axes.push_back(na);
      }
    } else {
      for (int64_t i = 0; i < r; ++i)
        axes.push_back(i);
    }
    return axes;
  }

public:
  void build(const Node &n, CouplingBuilder &b) const override {
    Value *x = n.getInput(0), *y = n.getOutput(0);
    int64_t r = b.rank(x);
    if (!x || !y || r < 1 || b.rank(y) != r) {
      b.freezeNode(n, "operand rank unknown or unexpected");
      return;
    }
    if (n.getStringAttr("coordinate_transformation_mode", "") ==
        "tf_crop_and_resize") {
      b.freezeNode(n, "tf_crop_and_resize crops every axis");
      return;
    }
    auto axes = listedAxes(n, r);
    auto scales = scalesOf(n);
    if (!axes || !scales) {
      b.freezeNode(n, "scales are not a constant");
      return;
    }
    // An empty scales tensor means the target sizes are given instead.
    std::optional<std::vector<int64_t>> sizes;
    if (scales->empty()) {
      sizes = constantInts(sizesInput(n));
      if (!sizes) {
        b.freezeNode(n, "sizes are not a constant");
        return;
      }
      if (n.getStringAttr("keep_aspect_ratio_policy", "stretch") != "stretch") {
        b.freezeNode(n, "keep_aspect_ratio_policy scales all axes alike");
        return;
      }
    }
    if ((sizes ? sizes->size() : scales->size()) != axes->size()) {
      b.freezeNode(n, "scales or sizes do not match the axes");
      return;
    }
    SmallBitVector identity(r, true);
    for (size_t k = 0; k < axes->size(); ++k) {
      int64_t a = (*axes)[k];
      identity[a] =
          sizes ? (*sizes)[k] == b.size(ax(x, a)) : (*scales)[k] == 1.0;
    }
    for (int64_t i = 0; i < r; ++i) {
      if (identity[i]) {
        b.join(ax(x, i), ax(y, i), n);
        continue;
      }
      b.freeze(ax(x, i), &n, "resized axis");
      b.freeze(ax(y, i), &n, "resized axis");
    }
  }

  Error rewrite(Node &n, PruneContext &ctx) const override {
    Value *s = sizesInput(n);
    auto sizes = constantInts(s);
    if (!sizes || sizes->empty())
      return Error::success();
    Value *x = n.getInput(0);
    auto axes = listedAxes(n, CouplingBuilder::rank(x));
    if (!axes || axes->size() != sizes->size())
      return Error::success();
    bool changed = false;
    for (size_t k = 0; k < axes->size(); ++k) {
      AxisRef a = ax(x, (*axes)[k]);
      if (ctx.kept(a)) {
        (*sizes)[k] = ctx.newSize(a);
        changed = true;
      }
    }
    if (changed)
      replaceConstantInts(n, 3, *sizes, ctx.rewriter());
    return Error::success();
  }
};

class PadHandler final : public OpHandler {
public:
  void build(const Node &n, CouplingBuilder &b) const override {
    Value *x = n.getInput(0), *y = n.getOutput(0);
    int64_t r = b.rank(x);
    if (!x || !y || r < 0 || b.rank(y) != r) {
      b.freezeNode(n, "operand rank unknown or unexpected");
      return;
    }
    std::optional<std::vector<int64_t>> pads;
    if (n.getInput(1))
      pads = constantInts(n.getInput(1));
    else
      pads = n.getIntsAttr(opsetOf(n) < 2 ? "paddings" : "pads");
    std::vector<int64_t> axes;
    if (Value *a = n.getInput(3)) {
      auto c = constantInts(a);
      if (!c) {
        b.freezeNode(n, "pad axes are not a constant");
        return;
      }
      for (int64_t v : *c)
        axes.push_back(normalizeAxis(v, r));
    } else {
      for (int64_t i = 0; i < r; ++i)
        axes.push_back(i);
    }
    if (!pads || pads->size() != 2 * axes.size() ||
        llvm::is_contained(axes, -1)) {
      b.freezeNode(n, "pads are not a constant");
      return;
    }
    SmallBitVector padded(r);
    for (size_t k = 0; k < axes.size(); ++k)
      if ((*pads)[k] != 0 || (*pads)[k + axes.size()] != 0)
        padded.set(axes[k]);
    for (int64_t i = 0; i < r; ++i) {
      if (!padded[i]) {
        b.join(ax(x, i), ax(y, i), n);
        continue;
      }
      b.freeze(ax(x, i), &n, "padded axis");
      b.freeze(ax(y, i), &n, "padded axis");
    }
  }
};

} // namespace

std::shared_ptr<const OpHandler> createPoolHandler() {
  return std::make_shared<PoolHandler>();
}
std::shared_ptr<const OpHandler> createReduceHandler() {
  return std::make_shared<ReduceHandler>();
}
std::shared_ptr<const OpHandler> createResizeHandler() {
  return std::make_shared<ResizeHandler>();
}
std::shared_ptr<const OpHandler> createPadHandler() {
  return std::make_shared<PadHandler>();
}

} // namespace onnxprune
