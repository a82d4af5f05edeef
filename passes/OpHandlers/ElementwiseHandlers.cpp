//===- ElementwiseHandlers.cpp - Unary and broadcasting ops ---------------===//
///
/// \file
/// Ops that work element by element, so every channel axis passes through.
///
///   Unary (Relu, Sigmoid, Cast, Identity, Dropout, Clip...):
///     X[N,C,H,W] -> Y[N,C,H,W]        every axis of X joins the same of Y.
///     Extra inputs (Clip min/max, LeakyRelu has none) are scalars.
///
///   Broadcast (Add, Mul, Where, Max, PRelu...): the inputs are aligned from
///   the right (numpy rules); axes of equal size join each other and the
///   output, a size-1 axis broadcasts and is not coupled:
///     A[N,C,H,W] + B[C,1,1] -> Y     A.1 ~ B.0 ~ Y.1 (a per-channel bias)
///     A[N,C,H,W] + R[N,C,H,W] -> Y   a residual Add unifies both spaces.
///
/// Nothing to rewrite: shapes are sliced generically.
///
//===----------------------------------------------------------------------===//

#include "passes/OpHandlers/OpHandler.h"

namespace onnxprune {

namespace {

/// Output 0 (and every other output of the same shape, Dropout's mask)
/// follows input 0; other inputs must be scalars or broadcast along.
class UnaryHandler final : public OpHandler {
public:
  void build(const Node &n, CouplingBuilder &b) const override {
    Value *x = n.getInput(0);
    if (!x) {
      b.freezeNode(n, "missing input");
      return;
    }
    for (Value *out : n.getOutputs())
      if (out)
        joinAllAxes(b, x, out, n);
    // Clip's min/max, Dropout's ratio: scalars. Anything bigger would be a
    // broadcast operand; couple it like one.
    for (unsigned i = 1; i < n.getNumInputs(); ++i)
      if (Value *v = n.getInput(i); v && b.rank(v) != 0)
        joinBroadcast(b, v, x, n);
  }
};

/// Every input broadcasts against the output.
class BroadcastHandler final : public OpHandler {
public:
  void build(const Node &n, CouplingBuilder &b) const override {
    Value *y = n.getOutput(0);
    if (!y) {
      b.freezeNode(n, "missing output");
      return;
    }
    for (Value *in : n.getInputs()) {
      if (!in)
        continue;
      // An input of the output's full rank and shape joins axis by axis;
      // others align from the right.
      joinBroadcast(b, in, y, n);
    }
  }
};

/// Softmax-like ops normalise along one axis: that axis is read whole, so
/// it must not shrink; the others pass through.
class AxisNormalizingHandler final : public OpHandler {
public:
  void build(const Node &n, CouplingBuilder &b) const override {
    Value *x = n.getInput(0), *y = n.getOutput(0);
    int64_t r = b.rank(x);
    if (!x || !y || r < 0) {
      b.freezeNode(n, "rank unknown");
      return;
    }
    // Softmax: default axis 1 before opset 13, -1 from 13 on; before 13 it
    // also flattened the axes from `axis` on, which freezes them all.
    int64_t opset = n.getGraph()->getModel().getOpsetVersion(n.getDomain());
    bool old = opset < 13 && n.getOpType() != "LpNormalization";
    int64_t axis = normalizeAxis(n.getIntAttr("axis", old ? 1 : -1), r);
    joinAllAxes(b, x, y, n);
    for (int64_t i = 0; i < r; ++i)
      if (i == axis || (old && axis >= 0 && i > axis)) {
        b.freeze({x, (unsigned)i}, &n, "normalised along this axis");
        b.freeze({y, (unsigned)i}, &n, "normalised along this axis");
      }
  }
};

} // namespace

std::shared_ptr<const OpHandler> createUnaryHandler() {
  return std::make_shared<UnaryHandler>();
}
std::shared_ptr<const OpHandler> createBroadcastHandler() {
  return std::make_shared<BroadcastHandler>();
}
std::shared_ptr<const OpHandler> createAxisNormalizingHandler() {
  return std::make_shared<AxisNormalizingHandler>();
}

} // namespace onnxprune
