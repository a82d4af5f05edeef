//===- ConvHandlers.cpp - Conv and ConvTranspose --------------------------===//
///
/// \file
/// Convolutions: the stems of CNNs. The output channel axis opens an index
/// space (each output channel is one filter), the input channel axis is a
/// consumer of its producer's space. Spatial axes of X, Y and W are left
/// uncoupled: they carry no channel and are never prunable.
///
///   Conv, group == 1:  X[N,C,H,W] * W[M,C,kh,kw] + B[M] -> Y[N,M,H',W']
///     W.0 ~ B.0 ~ Y.1 (stem), X.1 ~ W.1 (consumer), X.0 ~ Y.0.
///       before: W[8,4,3,3]  remove out-channel 5  after: W[7,4,3,3], B[7]
///
///   Conv, depthwise (group == C, W[C*k,1,kh,kw], channel multiplier k):
///     input channel c makes output channels [c*k, (c+1)*k): X.1 -> Y.1 in
///     blocks of k, W.0 ~ B.0 ~ Y.1. Removing channel c removes its k
///     filters and one group; rewrite sets `group` to the new C.
///       before: X[1,6,..] W[12,1,3,3] group=6 -> Y[1,12,..]
///       remove c=2:  X[1,5,..] W[10,1,3,3] group=5 -> Y[1,10,..]
///
///   Conv, grouped (1 < group < C): W[M, C/g, ..]; in-channel i reads
///     filter column i mod C/g; out-channel o is filter row o. Couplings are
///     stated so every group keeps the same count and `group` never
///     changes: X.1 element i ~ W.1 element i mod (C/g) (which ties the
///     in-channels j + k*C/g of all groups), and the out-channels
///     j + k*M/g of all groups are tied.
///       before: X[1,4,..] W[6,2,..] group=2 -> Y[1,6,..]
///       remove out position 1: W rows {1,4} go: W[4,2,..], Y[1,4,..]
///       remove in position 0:  X channels {0,2} go: W[6,1,..], X[1,2,..]
///
///   ConvTranspose: W[C, M/g, kh, kw] (axis 0 is the input channel):
///     group == 1: X.1 ~ W.0, W.1 ~ B.0 ~ Y.1 (stem).
///     depthwise (group == C): X.1 ~ W.0, X.1 -> Y.1 in blocks of M/C;
///       `group` is rewritten.
///     grouped: X.1 ~ W.0 with in positions tied across groups, Y.1
///       element o ~ W.1 element o mod (M/g).
///     An `output_shape` that names N and C (rank(X) entries instead of the
///     spatial ones) freezes the channels.
///
///   QLinearConv, ConvInteger: the same couplings through
///   buildConvCoupling (QuantHandlers.cpp adds their scales and zero
///   points).
///
/// Preconditions: static sizes of W (a constant or typed activation) and of
/// the channel axes; otherwise the channel axes freeze.
///
//===----------------------------------------------------------------------===//

#include "passes/OpHandlers/OpHandler.h"

using namespace llvm;

namespace onnxprune {

namespace {

AxisRef ax(Value *v, int64_t axis) { return {v, (unsigned)axis}; }

/// Freezes the channel axes of a conv-like node (X.1, Y.1, W.0, W.1, B.0).
void freezeChannels(CouplingBuilder &b, const Node &n, StringRef rule, Value *x,
                    Value *w, Value *bias, Value *y) {
  for (Value *v : {x, y})
    if (v && b.rank(v) > 1)
      b.freeze(ax(v, 1), &n, rule);
  if (w && b.rank(w) > 1) {
    b.freeze(ax(w, 0), &n, rule);
    b.freeze(ax(w, 1), &n, rule);
  }
  if (bias && b.rank(bias) > 0)
    b.freeze(ax(bias, 0), &n, rule);
}

/// Ties elements j + k*block of \p a for every k, for each j < block.
void tieAcrossGroups(CouplingBuilder &b, AxisRef a, int64_t groups,
                     int64_t block, const Node &n) {
  std::vector<int64_t> elems(groups);
  for (int64_t j = 0; j < block; ++j) {
    for (int64_t k = 0; k < groups; ++k)
      elems[k] = j + k * block;
    b.tie(a, elems, n);
  }
}

/// The axis i -> i mod block map of a grouped weight axis.
std::vector<int64_t> moduloMap(int64_t size, int64_t block) {
  std::vector<int64_t> map(size);
  for (int64_t i = 0; i < size; ++i)
    map[i] = i % block;
  return map;
}

/// Common checks: ranks known and X, W, Y present. Returns false (having
/// frozen the node) when the node cannot be analysed.
bool checkOperands(const Node &n, CouplingBuilder &b, Value *x, Value *w,
                   Value *y) {
  int64_t rx = b.rank(x), rw = b.rank(w), ry = b.rank(y);
  if (!x || !w || !y || rx < 3 || rw != rx || ry != rx) {
    b.freezeNode(n, "operand rank unknown or unexpected");
    return false;
  }
  return true;
}

/// Sets `group` to the new input channel count of a depthwise conv.
Error rewriteDepthwiseGroup(Node &n, PruneContext &ctx, bool depthwise) {
  if (!depthwise)
    return Error::success();
  AxisRef xc = ax(n.getInput(0), 1);
  if (!ctx.kept(xc))
    return Error::success();
  ctx.rewriter().setAttr(&n, Attribute::ofInt("group", ctx.newSize(xc)));
  return Error::success();
}

} // namespace

void buildConvCoupling(const Node &n, CouplingBuilder &b, Value *x, Value *w,
                       Value *bias, Value *y) {
  if (!checkOperands(n, b, x, w, y))
    return;
  b.join(ax(x, 0), ax(y, 0), n);
  int64_t g = n.getIntAttr("group", 1);
  int64_t m = b.size(ax(w, 0)), cinG = b.size(ax(w, 1));
  int64_t cin = b.size(ax(x, 1));
  if (g < 1 || m <= 0 || cinG <= 0 || m % g != 0 ||
      (cin >= 0 && cin != cinG * g)) {
    freezeChannels(b, n, "group structure could not be resolved", x, w, bias,
                   y);
    return;
  }
  // The stem: one filter per output channel.
  b.join(ax(w, 0), ax(y, 1), n);
  if (bias)
    b.join(ax(bias, 0), ax(y, 1), n);
  if (g == 1) {
    b.join(ax(x, 1), ax(w, 1), n);
    return;
  }
  if (cinG == 1) {
    // Depthwise (with multiplier m/g): whole groups go, `group` follows.
    b.joinBlocks(ax(x, 1), ax(y, 1), m / g, 0, n);
    return;
  }
  // Grouped: prune the same positions in every group.
  b.joinMap(ax(x, 1), ax(w, 1), moduloMap(cinG * g, cinG), n);
  tieAcrossGroups(b, ax(y, 1), g, m / g, n);
}

Error rewriteConvGroup(Node &n, PruneContext &ctx, const Value *w) {
  int64_t g = n.getIntAttr("group", 1);
  // W.1 is never sliced for a depthwise conv: it stays 1.
  bool depthwise =
      g > 1 && CouplingBuilder::size(ax(const_cast<Value *>(w), 1)) == 1;
  return rewriteDepthwiseGroup(n, ctx, depthwise);
}

namespace {

/// Conv: W[M, C/g, k...].
class ConvHandler final : public OpHandler {
public:
  void build(const Node &n, CouplingBuilder &b) const override {
    buildConvCoupling(n, b, n.getInput(0), n.getInput(1), n.getInput(2),
                      n.getOutput(0));
  }

  Error rewrite(Node &n, PruneContext &ctx) const override {
    return rewriteConvGroup(n, ctx, n.getInput(1));
  }
};

/// ConvTranspose: W[C, M/g, k...].
class ConvTransposeHandler final : public OpHandler {
public:
  void build(const Node &n, CouplingBuilder &b) const override {
    Value *x = n.getInput(0), *w = n.getInput(1), *bias = n.getInput(2),
          *y = n.getOutput(0);
    if (!checkOperands(n, b, x, w, y))
      return;
    b.join(ax(x, 0), ax(y, 0), n);
    int64_t g = n.getIntAttr("group", 1);
    int64_t cin = b.size(ax(w, 0)), mG = b.size(ax(w, 1));
    int64_t m = b.size(ax(y, 1));
    if (auto os = n.getIntsAttr("output_shape");
        os && (int64_t)os->size() != b.rank(x) - 2) {
      freezeChannels(b, n, "output_shape names the channel count", x, w, bias,
                     y);
      return;
    }
    if (g < 1 || cin <= 0 || mG <= 0 || cin % g != 0 ||
        (m >= 0 && m != mG * g)) {
      freezeChannels(b, n, "group structure could not be resolved", x, w, bias,
                     y);
      return;
    }
    b.join(ax(x, 1), ax(w, 0), n);
    if (bias)
      b.join(ax(bias, 0), ax(y, 1), n);
    if (g == 1) {
      b.join(ax(w, 1), ax(y, 1), n);
      return;
    }
    int64_t cinG = cin / g;
    if (cinG == 1) {
      b.joinBlocks(ax(x, 1), ax(y, 1), mG, 0, n);
      return;
    }
    tieAcrossGroups(b, ax(x, 1), g, cinG, n);
    b.joinMap(ax(y, 1), ax(w, 1), moduloMap(mG * g, mG), n);
  }

  Error rewrite(Node &n, PruneContext &ctx) const override {
    int64_t g = n.getIntAttr("group", 1);
    AxisRef xc = ax(n.getInput(0), 1);
    bool depthwise = g > 1 && ctx.oldSize(xc) == g;
    return rewriteDepthwiseGroup(n, ctx, depthwise);
  }
};

} // namespace

std::shared_ptr<const OpHandler> createConvHandler() {
  return std::make_shared<ConvHandler>();
}
std::shared_ptr<const OpHandler> createConvTransposeHandler() {
  return std::make_shared<ConvTransposeHandler>();
}

} // namespace onnxprune
