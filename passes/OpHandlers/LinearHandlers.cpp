//===- LinearHandlers.cpp - Gemm, MatMul and their fused forms ------------===//
///
/// \file
/// Matrix products. Every operand axis has an exact meaning, so one rule
/// covers a constant weight on either side and two activations alike:
/// the contraction axis K of one side is the K of the other, the free axes
/// M and N are the output's last two, batch axes broadcast. With a constant
/// weight this gives the stem (its N axis opens the output space) and the
/// consumer (its K axis is the input's channel); exporters write Linear as
/// `MatMul(x, W[in, out])`, so the axis is read from the op, never assumed.
///
///   MatMul, constant weight:
///     x[B,S,D] @ W[D,F] -> y[B,S,F]      W.1 ~ y.2 (stem), W.0 ~ x.2
///       before: Wg[16,64], Wd[64,16]   remove unit 7 of y's space
///       after:  Wg[16,63], Wd[63,16]
///     W[F,D] @ x[B,D,T] -> y[B,F,T]      W.0 ~ y.1, W.1 ~ x.1
///   MatMul of two activations (attention):
///     q[B,H,S,d] @ kT[B,H,d,T] -> s[B,H,S,T]
///       q.3 ~ kT.2 (contraction), q.2 ~ s.2, kT.3 ~ s.3, batch axes join
///       where neither side broadcasts (size 1).
///   1-D operands: a[K] @ B[..,K,N] -> y[..,N] and A[..,M,K] @ b[K] ->
///     y[..,M] (the 1 is dropped, not an axis); a[K] @ b[K] -> scalar.
///
///   Gemm: Y[M,N] = alpha * op(A) @ op(B) + beta * C, op = transpose when
///     transA / transB: the K axes of A and B join, A's M axis ~ Y.0, B's N
///     axis ~ Y.1, and C broadcasts to Y (a bias C[N] joins Y.1).
///       before: A[1,64] B[10,64] transB=1 C[10] -> Y[1,10]
///       remove input channel 3: B[10,63]
///
///   com.microsoft FusedMatMul: as MatMul with transA/transB on the last
///     two axes; transBatchA/transBatchB freeze (the batch axes move).
///   Quantized products (MatMulInteger, QLinearMatMul, MatMulNBits): the
///     same couplings through buildMatMulCoupling, with their scales and
///     zero points (QuantHandlers.cpp).
///
/// Nothing to rewrite: every attribute is independent of the channel
/// counts. Precondition: ranks known (else the node freezes).
///
//===----------------------------------------------------------------------===//

#include "passes/OpHandlers/OpHandler.h"

using namespace llvm;

namespace onnxprune {

namespace {

AxisRef ax(Value *v, int64_t axis) { return {v, (unsigned)axis}; }

/// Joins the batch axes \p numBatch of \p in (its leading axes, aligned from
/// the right against the output's) with the output's, skipping broadcast
/// ones.
void joinBatchAxes(CouplingBuilder &b, Value *in, int64_t inBatch, Value *y,
                   int64_t yBatch, const Node &n) {
  for (int64_t i = 1; i <= std::min(inBatch, yBatch); ++i) {
    AxisRef ai = ax(in, inBatch - i), ay = ax(y, yBatch - i);
    // A size-1 axis is read whole for every output index: not coupled.
    if (b.size(ai) == 1 && b.size(ay) != 1)
      continue;
    b.join(ai, ay, n);
  }
}

} // namespace

void buildMatMulCoupling(CouplingBuilder &b, const Node &n, Value *a, Value *bm,
                         Value *y, bool transA, bool transB) {
  int64_t ra = b.rank(a), rb = b.rank(bm), ry = b.rank(y);
  if (!a || !bm || !y || ra < 1 || rb < 1 || ry < 0 ||
      ((transA && ra < 2) || (transB && rb < 2))) {
    b.freezeNode(n, "operand rank unknown");
    return;
  }
  // The K, M, N axes of each side; -1 when absent (1-D operands).
  int64_t aK = ra == 1 ? 0 : (transA ? ra - 2 : ra - 1);
  int64_t aM = ra == 1 ? -1 : (transA ? ra - 1 : ra - 2);
  int64_t bK = rb == 1 ? 0 : (transB ? rb - 1 : rb - 2);
  int64_t bN = rb == 1 ? -1 : (transB ? rb - 2 : rb - 1);
  int64_t expectRank = std::max<int64_t>(std::max(ra, rb), 2) -
                       (ra == 1 ? 1 : 0) - (rb == 1 ? 1 : 0);
  if (ry != expectRank) {
    b.freezeNode(n, "output rank does not match the operands");
    return;
  }
  b.join(ax(a, aK), ax(bm, bK), n);
  // The output's free axes: M then N, at the end, whichever are present.
  int64_t yBatch = ry - (aM >= 0) - (bN >= 0);
  if (aM >= 0)
    b.join(ax(a, aM), ax(y, yBatch), n);
  if (bN >= 0)
    b.join(ax(bm, bN), ax(y, ry - 1), n);
  if (ra > 2)
    joinBatchAxes(b, a, ra - 2, y, yBatch, n);
  if (rb > 2)
    joinBatchAxes(b, bm, rb - 2, y, yBatch, n);
}

namespace {

class MatMulHandler final : public OpHandler {
public:
  void build(const Node &n, CouplingBuilder &b) const override {
    buildMatMulCoupling(b, n, n.getInput(0), n.getInput(1), n.getOutput(0),
                        false, false);
  }
};

class FusedMatMulHandler final : public OpHandler {
public:
  void build(const Node &n, CouplingBuilder &b) const override {
    if (n.getIntAttr("transBatchA", 0) || n.getIntAttr("transBatchB", 0)) {
      b.freezeNode(n, "transBatchA/transBatchB move the batch axes");
      return;
    }
    buildMatMulCoupling(b, n, n.getInput(0), n.getInput(1), n.getOutput(0),
                        n.getIntAttr("transA", 0), n.getIntAttr("transB", 0));
  }
};

class GemmHandler final : public OpHandler {
public:
  void build(const Node &n, CouplingBuilder &b) const override {
    Value *a = n.getInput(0), *bm = n.getInput(1), *c = n.getInput(2),
          *y = n.getOutput(0);
    if (!a || !bm || !y || b.rank(a) != 2 || b.rank(bm) != 2 ||
        b.rank(y) != 2) {
      b.freezeNode(n, "operand rank unknown or not 2");
      return;
    }
    bool transA = n.getIntAttr("transA", 0), transB = n.getIntAttr("transB", 0);
    b.join(ax(a, transA ? 0 : 1), ax(bm, transB ? 1 : 0), n);
    b.join(ax(a, transA ? 1 : 0), ax(y, 0), n);
    b.join(ax(bm, transB ? 0 : 1), ax(y, 1), n);
    // C broadcasts one way to [M, N]: a bias C[N] joins Y.1.
    if (c)
      joinBroadcast(b, c, y, n);
  }
};

} // namespace

std::shared_ptr<const OpHandler> createMatMulHandler() {
  return std::make_shared<MatMulHandler>();
}
std::shared_ptr<const OpHandler> createFusedMatMulHandler() {
  return std::make_shared<FusedMatMulHandler>();
}
std::shared_ptr<const OpHandler> createGemmHandler() {
  return std::make_shared<GemmHandler>();
}

} // namespace onnxprune
