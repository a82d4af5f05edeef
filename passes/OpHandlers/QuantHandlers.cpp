//===- QuantHandlers.cpp - Quantized ops: QDQ, QOperator, MatMulNBits -----===//
///
/// \file
/// Quantized models prune like float ones: an integer weight's axes are the
/// channel axes of the float weight it stands for, a per-channel scale and
/// zero point ride along the quantized axis (sliced with the weight), and
/// per-tensor ones stay. Three forms occur in the wild:
///
///   QDQ: a float graph whose weights are DequantizeLinear(Wq, s, zp, axis)
///     and whose activations pass through QuantizeLinear -> DequantizeLinear.
///       Wq[M,C,k,k] int8 --DequantizeLinear(s[M], zp[M], axis=0)--> W
///       Wq.i ~ W.i for every axis, s.0 ~ zp.0 ~ Wq.0 (per channel);
///       a scalar s / zp (per tensor) is not coupled.
///       before: Wq[8,4,3,3] s[8] zp[8]  remove out-channel 5
///       after:  Wq[7,4,3,3] s[7] zp[7]
///
///   QOperator: integer ops on quantized activations.
///     ConvInteger(xq, Wq, x_zp, w_zp) and QLinearConv(x, xs, xzp, W, ws,
///     wzp, ys, yzp, B): the Conv couplings (buildConvCoupling), with w_zp /
///     ws / wzp of size M joined to W.0. MatMulInteger(A, B, a_zp, b_zp)
///     and QLinearMatMul(a, as, azp, b, bs, bzp, ys, yzp): the MatMul
///     couplings, a per-column b zero point / scale joined to B's N axis
///     (a per-row one for A to A's M axis). DynamicQuantizeLinear passes
///     channels through (its scale and zero point outputs are scalars).
///     com.microsoft QLinearSigmoid / QLinearLeakyRelu (elementwise),
///     QLinearAdd / QLinearMul (broadcasting, a residual joins its inputs)
///     QLinearGlobalAveragePool / QLinearAveragePool (N and C pass),
///     QLinearConcat (a Concat of its X inputs), QLinearSoftmax (the softmax
///     axis freezes) and QGemm (the Gemm couplings, per-column b_scale /
///     b_zp on B's N axis, int32 bias C) complete ONNX Runtime's static
///     QOperator format; activation scales are per tensor.
///     com.microsoft DynamicQuantizeMatMul (float A) and
///     MatMulIntegerToFloat (what ORT's fusions make of the dynamic chain)
///     are MatMuls with per-column B parameters and a float bias.
///     com.microsoft GatherBlockQuantized (a block-quantized embedding
///     table) passes its non-gathered axes, the quantized one in whole
///     blocks (see its class comment).
///     ONNX Runtime's dynamic quantizer writes
///       x -> DynamicQuantizeLinear -> ConvInteger(Wq) -> Cast -> Mul(xs*ws)
///         -> Add(Reshape(bias, [1,-1,1,1]))
///     whose Cast, Mul and Add are ordinary elementwise ops.
///
///   com.microsoft MatMulNBits(A[..,K], B[N, n_blocks, blob], scales,
///     zero_points, g_idx, bias): B holds `bits`-bit codes packed low-first,
///     block_size of them per block along K, one scale (and zero point) per
///     (n, block). N is free: B.0 ~ bias.0 ~ Y.last. K goes in whole
///     blocks: B.1 element j ~ A.last elements [j*block_size,
///     (j+1)*block_size), when K == n_blocks * block_size (otherwise A.last
///     and B.1 freeze, with that reason). Scales and zero points are
///     indexed (n, block) and sliced by rewrite(), which also sets N and K.
///       before: K=64 N=32 block_size=16: B[32,4,8] scales[128]
///       remove out-channel 3 and input block 1:
///       after:  K=48 N=31: B[31,3,8] scales[93]
///
/// Masking (masked == pruned): a removed element of an integer weight gets
/// the value that dequantizes to 0, its zero point (per tensor, or the
/// one of its channel or block); scales and zero points are kept.
///
/// Frozen, with the reason printed: blocked QDQ (opset 21 block_size),
/// int4/uint4 QDQ weights (two to a byte), per-channel activation zero
/// points of ConvInteger / QLinearConv, MatMulNBits with g_idx (it reorders
/// K), with bits that do not divide a byte, or with scales / zero points
/// that are not constants or are shared.
///
//===----------------------------------------------------------------------===//

#include "passes/OpHandlers/OpHandler.h"

#include "lib/IR/Tensor.h"
#include "lib/Support/Error.h"

#include <array>
#include <cmath>
#include <cstring>

using namespace llvm;

namespace onnxprune {

namespace {

AxisRef ax(Value *v, int64_t axis) { return {v, (unsigned)axis}; }

/// True when \p v is a per-channel parameter: rank 1, more than one
/// element. A scalar or a 1-element vector is per tensor.
bool isPerChannel(const Value *v) {
  return v && CouplingBuilder::rank(v) == 1 &&
         CouplingBuilder::size(ax(const_cast<Value *>(v), 0)) != 1;
}

/// Joins a per-channel parameter \p p (a scale or zero point) to axis
/// \p axis of \p w; leaves a per-tensor one alone.
void joinPerChannel(CouplingBuilder &b, const Node &n, Value *p, Value *w,
                    int64_t axis) {
  if (!p || !isPerChannel(p))
    return;
  if (axis < 0 || b.rank(w) <= axis) {
    b.freezeValue(p, &n, "per-channel parameter on an unknown axis");
    return;
  }
  b.join(ax(p, 0), ax(w, axis), n);
}

/// Writes the zero point into elements \p removed of axis \p axis of the
/// integer tensor \p data (dims \p dims, elements of \p es bytes). \p zp is
/// a scalar (or null: zero) or a per-channel vector along \p zpAxis.
Expected<OpHandler::MaskMode> writeZeroPoint(const Value *zp, int64_t zpAxis,
                                             unsigned axis,
                                             ArrayRef<int64_t> removed,
                                             ArrayRef<int64_t> dims,
                                             unsigned es, std::string &data) {
  std::string zeros(es, '\0');
  ArrayRef<char> zpBytes(zeros.data(), zeros.size());
  uint64_t zpCount = 1;
  if (zp) {
    const Tensor *t = zp->getWeight();
    if (!t)
      return makeError("zero point '" + zp->getName() +
                       "' is not a constant; cannot mask");
    if (elementSize(t->getDataType()) != es)
      return makeError("zero point '" + zp->getName() +
                       "' does not have its weight's type");
    auto bytes = t->getBytes();
    if (!bytes)
      return bytes.takeError();
    zpBytes = *bytes;
    zpCount = t->getNumElements();
    if (zpCount == 0)
      return makeError("zero point '" + zp->getName() + "' is empty");
  }
  if (zpCount > 1 && (zpAxis < 0 || zpAxis >= (int64_t)dims.size() ||
                      (uint64_t)dims[zpAxis] != zpCount))
    return makeError("zero point '" + zp->getName() +
                     "' does not match its weight's axis");
  uint64_t outer = 1, inner = 1;
  for (unsigned i = 0; i < axis; ++i)
    outer *= dims[i];
  for (unsigned i = axis + 1; i < dims.size(); ++i)
    inner *= dims[i];
  // Stride of the zero point's axis, to find the channel of an element.
  uint64_t zpStride = 1;
  if (zpCount > 1)
    for (size_t i = zpAxis + 1; i < dims.size(); ++i)
      zpStride *= dims[i];
  for (uint64_t o = 0; o < outer; ++o)
    for (int64_t k : removed) {
      uint64_t base = (o * dims[axis] + k) * inner;
      for (uint64_t e = 0; e < inner; ++e) {
        uint64_t flat = base + e;
        uint64_t c = zpCount > 1 ? (flat / zpStride) % zpCount : 0;
        std::memcpy(&data[flat * es], zpBytes.data() + c * es, es);
      }
    }
  return OpHandler::MaskMode::Written;
}

/// Masks a quantized weight operand \p i whose zero point is input \p zpIn
/// (per channel along \p zpAxis of the weight).
Expected<OpHandler::MaskMode>
maskWithZeroPoint(const Node &n, unsigned i, unsigned zpIn, int64_t zpAxis,
                  unsigned axis, ArrayRef<int64_t> removed,
                  ArrayRef<int64_t> dims, std::string &data) {
  const Value *w = n.getInput(i);
  unsigned es = elementSize(w->getWeight()->getDataType());
  if (es == 0 || es > 4)
    return makeError(
        "node " + n.describe() + ": weight '" + w->getName() + "' of type " +
        dataTypeName(w->getWeight()->getDataType()) + " cannot be masked");
  return writeZeroPoint(n.getInput(zpIn), zpAxis, axis, removed, dims, es,
                        data);
}

using Doubles = std::optional<std::vector<double>>;

/// (q - zp) * scale for every element of the constant \p q; \p scale and
/// \p zp are null (1, 0), scalars, or vectors along \p axis of q.
Expected<Doubles> dequantize(const Value *q, const Value *scale,
                             const Value *zp, int64_t axis) {
  const Tensor *t = q ? q->getWeight() : nullptr;
  if (!t)
    return Doubles();
  auto values = readAsDoubles(*t);
  if (!values)
    return values.takeError();
  ArrayRef<int64_t> dims = t->getDims();
  // The zero point first: (q - zp) * scale.
  for (const Value *p : {zp, scale}) {
    if (!p)
      continue;
    const Tensor *pt = p->getWeight();
    if (!pt)
      return Doubles(); // computed at run time: not scored
    auto pv = readAsDoubles(*pt);
    if (!pv)
      return pv.takeError();
    uint64_t count = pv->size(), stride = 1;
    if (count == 0)
      return Doubles();
    if (count > 1) {
      if (axis < 0 || axis >= (int64_t)dims.size() ||
          (uint64_t)dims[axis] != count)
        return Doubles();
      for (size_t d = axis + 1; d < dims.size(); ++d)
        stride *= dims[d];
    }
    for (uint64_t j = 0; j < values->size(); ++j) {
      double v = (*pv)[count > 1 ? (j / stride) % count : 0];
      (*values)[j] = p == zp ? (*values)[j] - v : (*values)[j] * v;
    }
  }
  return Doubles(std::move(*values));
}

/// The L2 norm of the weights (code - \p zp) * \p scale of the
/// \p bits-bit codes packed low-first in \p byte: one score per stored
/// byte of a packed weight (exact for an L2 slice norm).
double packedNorm(uint8_t byte, int64_t bits, double zp, double scale) {
  unsigned mask = (1u << bits) - 1;
  double sq = 0;
  for (int64_t sh = 0; sh < 8; sh += bits) {
    double w = (((byte >> sh) & mask) - zp) * scale;
    sq += w * w;
  }
  return std::sqrt(sq);
}

/// How many leading axes of \p w, a dequantized constant of rank \p rank,
/// are channels: 2 when every reader is a Conv / ConvTranspose kernel
/// (W[M, C/g, k...]: the kernel's spatial axes are not channels and must
/// not make groups of their own), else all of them.
int64_t channelAxesOfKernel(const Value &w, int64_t rank) {
  if (!w.hasUses())
    return rank;
  for (const Use &u : w.getUses()) {
    StringRef op = u.user->getOpType();
    if (!((op == "Conv" || op == "ConvTranspose") && u.operandIndex == 1))
      return rank;
  }
  return std::min<int64_t>(rank, 2);
}

/// The quantized axis of a QuantizeLinear / DequantizeLinear input.
int64_t quantAxis(const Node &n, const Value *x) {
  return normalizeAxis(n.getIntAttr("axis", 1), CouplingBuilder::rank(x));
}

/// QuantizeLinear(x, y_scale, y_zero_point) and
/// DequantizeLinear(x, x_scale, x_zero_point): elementwise, with a
/// per-axis scale and zero point on `axis`.
class QuantizeLinearHandler final : public OpHandler {
public:
  void build(const Node &n, CouplingBuilder &b) const override {
    Value *x = n.getInput(0), *s = n.getInput(1), *zp = n.getInput(2),
          *y = n.getOutput(0);
    if (!x || !y || b.rank(x) < 0 || b.rank(x) != b.rank(y)) {
      b.freezeNode(n, "operand rank unknown");
      return;
    }
    if (n.getIntAttr("block_size", 0) > 0 || (s && b.rank(s) > 1)) {
      b.freezeNode(n, "blocked quantization is not pruned");
      return;
    }
    if (const Tensor *t = x->getWeight();
        t && (t->getDataType() == DataType::Int4 ||
              t->getDataType() == DataType::UInt4)) {
      b.freezeNode(n, "int4 weights are packed two to a byte");
      return;
    }
    // A dequantized kernel: only its channel axes are joined (see
    // channelAxesOfKernel), and no axis of size 1 (a depthwise kernel's
    // C/g, which the conv leaves alone); activations keep every axis.
    int64_t rank = b.rank(x);
    for (int64_t a = 0; a < rank; ++a)
      if (!x->isWeight() ||
          (a < channelAxesOfKernel(*y, rank) && b.size(ax(x, a)) != 1))
        b.join(ax(x, a), ax(y, a), n);
    int64_t axis = quantAxis(n, x);
    joinPerChannel(b, n, s, x, axis);
    joinPerChannel(b, n, zp, x, axis);
  }

  Expected<Doubles> dequantizeOperand(const Node &n,
                                      unsigned i) const override {
    if (i != 0 || n.getOpType() != "DequantizeLinear")
      return Doubles();
    const Value *x = n.getInput(0);
    return dequantize(x, n.getInput(1), n.getInput(2), quantAxis(n, x));
  }
  Expected<MaskMode> maskOperand(const Node &n, unsigned i, unsigned axis,
                                 ArrayRef<int64_t> removed,
                                 ArrayRef<int64_t> dims,
                                 std::string &data) const override {
    if (i != 0)
      return MaskMode::Keep;
    if (n.getOpType() != "DequantizeLinear")
      return MaskMode::Zero; // a float input: 0 quantizes to the zero point
    const Value *zp = n.getInput(2);
    return maskWithZeroPoint(
        n, 0, 2, isPerChannel(zp) ? quantAxis(n, n.getInput(0)) : -1, axis,
        removed, dims, data);
  }
};

/// DynamicQuantizeLinear(x) -> (y, y_scale, y_zero_point): y is x's
/// channels; the scale and zero point are scalars.
class DynamicQuantizeLinearHandler final : public OpHandler {
public:
  void build(const Node &n, CouplingBuilder &b) const override {
    // joinAllAxes freezes both when a rank is unknown or differs.
    joinAllAxes(b, n.getInput(0), n.getOutput(0), n);
  }
};

/// Freezes the input channel axis when an activation zero point is per
/// channel (not allowed by ONNX, seen nowhere; pinned rather than guessed).
void freezePerChannelActivation(CouplingBuilder &b, const Node &n, Value *x,
                                Value *p, int64_t axis) {
  if (p && isPerChannel(p) && x && b.rank(x) > axis)
    b.freeze(ax(x, axis), &n, "per-channel activation quantization");
}

/// ConvInteger(x, w, x_zero_point, w_zero_point) and QLinearConv(x,
/// x_scale, x_zp, w, w_scale, w_zp, y_scale, y_zp, B), told apart by their
/// operand positions.
class QuantConvHandler final : public OpHandler {
  struct Operands {
    unsigned w, wZp;
    int wScale, bias;                    ///< -1 when the op has none.
    std::array<int, 2> xParams, yParams; ///< Per tensor; -1: none.
  };
  static Operands operands(const Node &n) {
    if (n.getOpType() == "QLinearConv")
      return {3, 5, 4, 8, {1, 2}, {6, 7}};
    // The scale is applied after the op (Mul): no scale operand.
    return {1, 3, -1, -1, {2, -1}, {-1, -1}};
  }
  static Value *in(const Node &n, int i) {
    return i < 0 ? nullptr : n.getInput((unsigned)i);
  }

public:
  void build(const Node &n, CouplingBuilder &b) const override {
    Operands o = operands(n);
    Value *x = n.getInput(0), *w = n.getInput(o.w), *y = n.getOutput(0);
    buildConvCoupling(n, b, x, w, in(n, o.bias), y);
    for (int p : o.xParams)
      freezePerChannelActivation(b, n, x, in(n, p), 1);
    for (int p : o.yParams)
      freezePerChannelActivation(b, n, y, in(n, p), 1);
    joinPerChannel(b, n, in(n, o.wScale), w, 0);
    joinPerChannel(b, n, n.getInput(o.wZp), w, 0);
  }
  Error rewrite(Node &n, PruneContext &ctx) const override {
    return rewriteConvGroup(n, ctx, n.getInput(operands(n).w));
  }
  Expected<Doubles> dequantizeOperand(const Node &n,
                                      unsigned i) const override {
    Operands o = operands(n);
    if (i != o.w)
      return Doubles();
    return dequantize(n.getInput(o.w), in(n, o.wScale), n.getInput(o.wZp), 0);
  }
  Expected<MaskMode> maskOperand(const Node &n, unsigned i, unsigned axis,
                                 ArrayRef<int64_t> removed,
                                 ArrayRef<int64_t> dims,
                                 std::string &data) const override {
    Operands o = operands(n);
    if (i == o.w)
      return maskWithZeroPoint(n, i, o.wZp, 0, axis, removed, dims, data);
    if (i == 0)
      return maskWithZeroPoint(n, 0, 2, -1, axis, removed, dims, data);
    if ((int)i == o.bias)
      return MaskMode::Zero; // int32 bias, zero point 0
    return MaskMode::Keep;
  }
};

/// Freezes what a per-channel scale or zero point (operands \p params) of
/// an activation-only op touches: ONNX Runtime's QLinear activation ops
/// take per-tensor ones.
bool freezePerChannelParams(CouplingBuilder &b, const Node &n,
                            std::initializer_list<unsigned> params) {
  for (unsigned p : params)
    if (isPerChannel(n.getInput(p))) {
      b.freezeNode(n, "per-channel activation quantization");
      return true;
    }
  return false;
}

/// MatMulInteger(A, B, a_zp, b_zp), QLinearMatMul(a, a_scale, a_zp, b,
/// b_scale, b_zp, y_scale, y_zp), and com.microsoft
/// DynamicQuantizeMatMul(A float, B, b_scale, b_zp?, bias?) and
/// MatMulIntegerToFloat(A, B, a_scale, b_scale, a_zp?, b_zp?, bias?), told
/// apart by their operand positions. The float bias[N] joins Y's last axis.
class QuantMatMulHandler final : public OpHandler {
  struct Operands {
    unsigned a, b;
    int aScale, aZp, bScale, bZp, bias; ///< -1 when the op has none.
  };
  static Operands operands(const Node &n) {
    StringRef op = n.getOpType();
    if (op == "QLinearMatMul")
      return {0, 3, 1, 2, 4, 5, -1};
    if (op == "DynamicQuantizeMatMul")
      return {0, 1, -1, -1, 2, 3, 4};
    if (op == "MatMulIntegerToFloat")
      return {0, 1, 2, 4, 3, 5, 6};
    return {0, 1, -1, 2, -1, 3, -1};
  }
  static Value *in(const Node &n, int i) {
    return i < 0 ? nullptr : n.getInput((unsigned)i);
  }

public:
  void build(const Node &n, CouplingBuilder &b) const override {
    Operands o = operands(n);
    Value *a = n.getInput(o.a), *bm = n.getInput(o.b), *y = n.getOutput(0);
    buildMatMulCoupling(b, n, a, bm, y, false, false);
    // Per-row parameters of A (rank 2: [M, K]) and per-column ones of B
    // ([K, N]); for other ranks they are pinned. MatMulIntegerToFloat's A
    // parameters would be per column of A (K): ONNX Runtime takes only
    // scalars there.
    int64_t ra = b.rank(a), rb = b.rank(bm);
    bool perRowA =
        n.getOpType() == "QLinearMatMul" || n.getOpType() == "MatMulInteger";
    if (Value *bias = in(n, o.bias); bias && y && b.rank(y) >= 1) {
      if (b.rank(bias) == 1)
        b.join(ax(bias, 0), ax(y, b.rank(y) - 1), n);
      else
        b.freezeValue(bias, &n, "bias is not a vector");
    }
    for (int p : {o.aScale, o.aZp})
      if (Value *v = in(n, p); v && isPerChannel(v)) {
        if (ra == 2 && perRowA)
          joinPerChannel(b, n, v, a, 0);
        else
          b.freezeValue(v, &n, "per-row parameter of a batched operand");
      }
    for (int p : {o.bScale, o.bZp})
      if (Value *v = in(n, p); v && isPerChannel(v)) {
        if (rb == 2)
          joinPerChannel(b, n, v, bm, 1);
        else
          b.freezeValue(v, &n, "per-column parameter of a batched operand");
      }
    if (n.getOpType() == "QLinearMatMul")
      for (unsigned p : {6u, 7u})
        if (Value *v = n.getInput(p); v && isPerChannel(v))
          b.freezeValue(v, &n, "per-column output quantization");
  }
  Expected<Doubles> dequantizeOperand(const Node &n,
                                      unsigned i) const override {
    Operands o = operands(n);
    if (i != o.a && i != o.b)
      return Doubles();
    const Value *v = n.getInput(i);
    int64_t r = CouplingBuilder::rank(v);
    if (i == o.a)
      return dequantize(v, in(n, o.aScale), in(n, o.aZp), r - 2);
    return dequantize(v, in(n, o.bScale), in(n, o.bZp), r - 1);
  }
  Expected<MaskMode> maskOperand(const Node &n, unsigned i, unsigned axis,
                                 ArrayRef<int64_t> removed,
                                 ArrayRef<int64_t> dims,
                                 std::string &data) const override {
    Operands o = operands(n);
    if (i == o.a || i == o.b) {
      bool isA = i == o.a;
      int zpIn = isA ? o.aZp : o.bZp;
      Value *zp = in(n, zpIn);
      int64_t zpAxis =
          isA ? (int64_t)dims.size() - 2 : (int64_t)dims.size() - 1;
      if (!zp)
        return writeZeroPoint(
            nullptr, -1, axis, removed, dims,
            elementSize(n.getInput(i)->getWeight()->getDataType()), data);
      return maskWithZeroPoint(n, i, zpIn, isPerChannel(zp) ? zpAxis : -1, axis,
                               removed, dims, data);
    }
    if ((int)i == o.bias)
      return MaskMode::Zero;
    return MaskMode::Keep;
  }
};

/// com.microsoft QGemm(A, a_scale, a_zp, B, b_scale, b_zp, C?, y_scale?,
/// y_zp?): the Gemm couplings of A and B (transA / transB), b_scale and
/// b_zp per column (N) joined to B's N axis, the int32 bias C broadcast to
/// Y[M, N]. A's and Y's parameters are per tensor (frozen otherwise).
///   before: B int8[64,32] (transB) b_scale[64] b_zp[64] C int32[64]
///   remove output 5: B[63,32] b_scale[63] b_zp[63] C[63]
class QGemmHandler final : public OpHandler {
public:
  void build(const Node &n, CouplingBuilder &b) const override {
    Value *a = n.getInput(0), *bm = n.getInput(3), *c = n.getInput(6),
          *y = n.getOutput(0);
    if (!a || !bm || !y || b.rank(a) != 2 || b.rank(bm) != 2 ||
        b.rank(y) != 2) {
      b.freezeNode(n, "operand rank unknown or not 2");
      return;
    }
    if (freezePerChannelParams(b, n, {1, 2, 7, 8}))
      return;
    bool transA = n.getIntAttr("transA", 0), transB = n.getIntAttr("transB", 0);
    b.join(ax(a, transA ? 0 : 1), ax(bm, transB ? 1 : 0), n);
    b.join(ax(a, transA ? 1 : 0), ax(y, 0), n);
    b.join(ax(bm, nAxis(n)), ax(y, 1), n);
    if (c)
      joinBroadcast(b, c, y, n);
    joinPerChannel(b, n, n.getInput(4), bm, nAxis(n));
    joinPerChannel(b, n, n.getInput(5), bm, nAxis(n));
  }
  Expected<Doubles> dequantizeOperand(const Node &n,
                                      unsigned i) const override {
    if (i != 3)
      return Doubles();
    return dequantize(n.getInput(3), n.getInput(4), n.getInput(5), nAxis(n));
  }
  Expected<MaskMode> maskOperand(const Node &n, unsigned i, unsigned axis,
                                 ArrayRef<int64_t> removed,
                                 ArrayRef<int64_t> dims,
                                 std::string &data) const override {
    if (i == 6)
      return MaskMode::Zero; // int32 bias, zero point 0
    if (i != 0 && i != 3)
      return MaskMode::Keep;
    unsigned zpIn = i == 0 ? 2 : 5;
    const Value *zp = n.getInput(zpIn);
    if (!zp)
      return writeZeroPoint(
          nullptr, -1, axis, removed, dims,
          elementSize(n.getInput(i)->getWeight()->getDataType()), data);
    return maskWithZeroPoint(n, i, zpIn,
                             i == 3 && isPerChannel(zp) ? nAxis(n) : -1, axis,
                             removed, dims, data);
  }

private:
  /// B's N axis: 0 with transB, else 1.
  static int64_t nAxis(const Node &n) {
    return n.getIntAttr("transB", 0) ? 0 : 1;
  }
};

/// com.microsoft QLinearSigmoid / QLinearLeakyRelu (X, X_scale, X_zp,
/// Y_scale, Y_zp): elementwise on quantized activations.
class QLinearUnaryHandler final : public OpHandler {
public:
  void build(const Node &n, CouplingBuilder &b) const override {
    if (!freezePerChannelParams(b, n, {1, 2, 3, 4}))
      joinAllAxes(b, n.getInput(0), n.getOutput(0), n);
  }
};

/// com.microsoft QLinearAdd / QLinearMul (A, A_scale, A_zp, B, B_scale,
/// B_zp, C_scale, C_zp): numpy broadcasting of A and B, as Add / Mul (a
/// residual QLinearAdd joins its two inputs' channels). A constant operand
/// is a quantized weight: masked to its zero point.
class QLinearBinaryHandler final : public OpHandler {
public:
  void build(const Node &n, CouplingBuilder &b) const override {
    Value *y = n.getOutput(0);
    if (!y || b.rank(y) < 0) {
      b.freezeNode(n, "operand rank unknown");
      return;
    }
    if (freezePerChannelParams(b, n, {1, 2, 4, 5, 6, 7}))
      return;
    for (unsigned i : {0u, 3u})
      if (Value *v = n.getInput(i))
        joinBroadcast(b, v, y, n);
  }
  Expected<Doubles> dequantizeOperand(const Node &n,
                                      unsigned i) const override {
    if (i != 0 && i != 3)
      return Doubles();
    return dequantize(n.getInput(i), n.getInput(i + 1), n.getInput(i + 2), -1);
  }
  Expected<MaskMode> maskOperand(const Node &n, unsigned i, unsigned axis,
                                 ArrayRef<int64_t> removed,
                                 ArrayRef<int64_t> dims,
                                 std::string &data) const override {
    if (i == 0 || i == 3)
      return maskWithZeroPoint(n, i, i + 2, -1, axis, removed, dims, data);
    return MaskMode::Keep;
  }
};

/// com.microsoft QLinearSoftmax (X, X_scale, x_zp, y_scale, y_zp; axis,
/// opset): Softmax on quantized activations. The softmax axis is read
/// whole and freezes (with opset < 13 the axes from `axis` on, which it
/// flattens); the others pass through.
class QLinearSoftmaxHandler final : public OpHandler {
public:
  void build(const Node &n, CouplingBuilder &b) const override {
    Value *x = n.getInput(0), *y = n.getOutput(0);
    int64_t r = b.rank(x);
    if (!x || !y || r < 0) {
      b.freezeNode(n, "operand rank unknown");
      return;
    }
    if (freezePerChannelParams(b, n, {1, 2, 3, 4}))
      return;
    bool old = n.getIntAttr("opset", 13) < 13;
    int64_t axis = normalizeAxis(n.getIntAttr("axis", -1), r);
    joinAllAxes(b, x, y, n);
    for (int64_t i = 0; i < r; ++i)
      if (i == axis || (old && axis >= 0 && i > axis)) {
        b.freeze(ax(x, i), &n, "normalised along this axis");
        b.freeze(ax(y, i), &n, "normalised along this axis");
      }
  }
};

/// com.microsoft QLinearConcat (Y_scale, Y_zp, X0, X0_scale, X0_zp, X1,
/// ...; axis): a Concat of the X inputs (every third operand from 2), with
/// per-tensor parameters. Like Concat, input k is a range of Y's axis.
///   before: X0[1,8,4,4] X1[1,16,4,4] -> Y[1,24,4,4]
///   remove X1's channel 3: X1[1,15,4,4] -> Y[1,23,4,4]
class QLinearConcatHandler final : public OpHandler {
public:
  void build(const Node &n, CouplingBuilder &b) const override {
    Value *y = n.getOutput(0);
    int64_t r = b.rank(y);
    if (!y || r < 0 || n.getNumInputs() < 5 || (n.getNumInputs() - 2) % 3) {
      b.freezeNode(n, "operand rank unknown or inputs not in triples");
      return;
    }
    std::vector<unsigned> params = {0, 1};
    for (unsigned i = 2; i < n.getNumInputs(); i += 3)
      params.insert(params.end(), {i + 1, i + 2});
    for (unsigned p : params)
      if (isPerChannel(n.getInput(p))) {
        b.freezeNode(n, "per-channel activation quantization");
        return;
      }
    int64_t axis = normalizeAxis(n.getIntAttr("axis", 0), r);
    if (axis < 0) {
      b.freezeNode(n, "invalid axis");
      return;
    }
    SmallVector<Value *, 8> inputs;
    for (unsigned i = 2; i < n.getNumInputs(); i += 3)
      inputs.push_back(n.getInput(i));
    buildConcatCoupling(n, b, inputs, y, axis);
  }
  Expected<MaskMode> maskOperand(const Node &n, unsigned i, unsigned axis,
                                 ArrayRef<int64_t> removed,
                                 ArrayRef<int64_t> dims,
                                 std::string &data) const override {
    if (i >= 2 && (i - 2) % 3 == 0)
      return maskWithZeroPoint(n, i, i + 2, -1, axis, removed, dims, data);
    return MaskMode::Keep;
  }
};

/// com.microsoft QLinearGlobalAveragePool and QLinearAveragePool (X,
/// x_scale, x_zp, y_scale, y_zp): N and the channel axis (1, or the last
/// with channels_last) pass through; the spatial axes are pooled.
class QLinearGlobalAveragePoolHandler final : public OpHandler {
public:
  void build(const Node &n, CouplingBuilder &b) const override {
    Value *x = n.getInput(0), *y = n.getOutput(0);
    int64_t r = b.rank(x);
    if (!x || !y || r < 3 || b.rank(y) != r) {
      b.freezeNode(n, "operand rank unknown");
      return;
    }
    if (freezePerChannelParams(b, n, {1, 2, 3, 4}))
      return;
    int64_t c = n.getIntAttr("channels_last", 0) ? r - 1 : 1;
    b.join(ax(x, 0), ax(y, 0), n);
    b.join(ax(x, c), ax(y, c), n);
  }
};

/// com.microsoft MatMulNBits. See the file comment.
class MatMulNBitsHandler final : public OpHandler {
  /// The block structure, read and checked from the attributes and B.
  struct Layout {
    int64_t n = 0, k = 0, bits = 0, blockSize = 0, blocks = 0, blob = 0;
  };
  /// Bytes per row of packed zero points.
  static int64_t packedRowBytes(const Layout &l) {
    return (l.blocks * l.bits + 7) / 8;
  }
  /// True when the zero points are packed `bits`-bit codes (uint8), not
  /// values of the scales' type.
  static bool packedZeroPoints(const Value *zp) {
    return zp && zp->getWeight()->getDataType() == DataType::UInt8;
  }
  /// Fills \p l; returns the reason when the node cannot be pruned. B's
  /// first two dims are \p bDims when given (rewrite: B is already sliced).
  static std::optional<std::string>
  layout(const Node &n, Layout &l,
         std::optional<std::pair<int64_t, int64_t>> bDims = std::nullopt) {
    l.n = n.getIntAttr("N", -1);
    l.k = n.getIntAttr("K", -1);
    l.bits = n.getIntAttr("bits", 4);
    l.blockSize = n.getIntAttr("block_size", -1);
    Value *bw = n.getInput(1);
    if (l.n <= 0 || l.k <= 0 || l.blockSize <= 0)
      return std::string("attributes N, K or block_size missing");
    if (l.bits <= 0 || l.bits > 8 || 8 % l.bits != 0)
      return "bits = " + std::to_string(l.bits) + " does not divide a byte";
    if (!bw || !bw->getWeight() || bw->getWeight()->getDims().size() != 3 ||
        bw->getWeight()->getDataType() != DataType::UInt8)
      return std::string("B is not a constant uint8 [N, blocks, blob]");
    ArrayRef<int64_t> d = bw->getWeight()->getDims();
    l.blocks = (l.k + l.blockSize - 1) / l.blockSize;
    l.blob = l.blockSize * l.bits / 8;
    auto [d0, d1] = bDims.value_or(std::make_pair(d[0], d[1]));
    if (d0 != l.n || d1 != l.blocks || d[2] != l.blob)
      return std::string("B's dims do not match N, K, bits and block_size");
    if (n.getInput(4))
      return std::string("g_idx reorders K");
    for (unsigned i : {2u, 3u}) {
      Value *v = n.getInput(i);
      if (!v)
        continue;
      if (!v->getWeight())
        return std::string(i == 2 ? "scales" : "zero points") +
               " are not constants";
      if (v->getUses().size() != 1)
        return std::string(i == 2 ? "scales" : "zero points") +
               " are shared with another node";
    }
    // One scale per (row, block); packed zero points: whole bytes per row.
    if (!n.getInput(2) ||
        (int64_t)n.getInput(2)->getWeight()->getNumElements() != l.n * l.blocks)
      return std::string("scales do not hold N * blocks elements");
    if (const Value *zp = n.getInput(3);
        zp && packedZeroPoints(zp) &&
        (int64_t)zp->getWeight()->getNumElements() != l.n * packedRowBytes(l))
      return std::string("zero points do not hold N packed rows");
    return std::nullopt;
  }
  /// The code of zero point (row, block).
  static uint8_t zeroCode(const Layout &l, const Value *zp, ArrayRef<char> zb,
                          int64_t row, int64_t block) {
    if (!zp)
      return (uint8_t)(1u << (l.bits - 1));
    int64_t bit = block * l.bits;
    uint8_t byte = (uint8_t)zb[row * packedRowBytes(l) + bit / 8];
    return (uint8_t)((byte >> (bit % 8)) & ((1u << l.bits) - 1));
  }

public:
  void build(const Node &n, CouplingBuilder &b) const override {
    Value *a = n.getInput(0), *bw = n.getInput(1), *bias = n.getInput(5),
          *y = n.getOutput(0);
    int64_t ra = b.rank(a);
    if (!a || !y || ra < 1 || b.rank(y) != ra) {
      b.freezeNode(n, "operand rank unknown");
      return;
    }
    Layout l;
    if (auto why = layout(n, l)) {
      b.freezeNode(n, *why);
      return;
    }
    if (Value *zp = n.getInput(3); zp && !packedZeroPoints(zp)) {
      b.freezeNode(n, "zero points of the scales' type (not packed codes)");
      return;
    }
    for (int64_t i = 0; i + 1 < ra; ++i)
      b.join(ax(a, i), ax(y, i), n);
    // N: one row of B per output channel.
    b.join(ax(bw, 0), ax(y, ra - 1), n);
    if (bias)
      b.join(ax(bias, 0), ax(y, ra - 1), n);
    // K: whole blocks only.
    if (l.k == l.blocks * l.blockSize) {
      b.joinBlocks(ax(bw, 1), ax(a, ra - 1), l.blockSize, 0, n);
    } else {
      b.freeze(ax(a, ra - 1), &n, "K is not a whole number of blocks");
      b.freeze(ax(bw, 1), &n, "K is not a whole number of blocks");
    }
  }

  Error rewrite(Node &n, PruneContext &ctx) const override {
    Layout l;
    Value *bw = n.getInput(1);
    if (auto why = layout(
            n, l,
            std::make_pair(ctx.oldSize(ax(bw, 0)), ctx.oldSize(ax(bw, 1)))))
      return makeError("node " + n.describe() + ": " + *why);
    const std::vector<int64_t> *keptN = ctx.kept(ax(bw, 0));
    const std::vector<int64_t> *keptB = ctx.kept(ax(bw, 1));
    if (!keptN && !keptB)
      return Error::success();
    std::vector<int64_t> rows, blocks;
    for (int64_t i = 0; i < l.n; ++i)
      rows.push_back(i);
    for (int64_t i = 0; i < l.blocks; ++i)
      blocks.push_back(i);
    if (keptN)
      rows = *keptN;
    if (keptB)
      blocks = *keptB;
    Rewriter &rw = ctx.rewriter();
    // Scales: [N * blocks] or [N, blocks], one element per (row, block).
    if (Value *s = n.getInput(2)) {
      const Tensor &t = *s->getWeight();
      unsigned es = elementSize(t.getDataType());
      auto bytes = t.getBytes();
      if (!bytes)
        return bytes.takeError();
      if ((int64_t)t.getNumElements() != l.n * l.blocks)
        return makeError("node " + n.describe() +
                         ": scales do not hold N * blocks elements");
      std::string out;
      for (int64_t r : rows)
        for (int64_t c : blocks)
          out.append(bytes->data() + (r * l.blocks + c) * es, es);
      SmallVector<int64_t, 2> dims;
      if (t.getDims().size() == 2)
        dims = {(int64_t)rows.size(), (int64_t)blocks.size()};
      else
        dims = {(int64_t)(rows.size() * blocks.size())};
      rw.updateWeight(s, dims, std::move(out));
    }
    // Packed zero points: one `bits`-bit code per (row, block), each row
    // padded to whole bytes.
    if (Value *zp = n.getInput(3)) {
      auto bytes = zp->getWeight()->getBytes();
      if (!bytes)
        return bytes.takeError();
      if ((int64_t)bytes->size() != l.n * packedRowBytes(l))
        return makeError("node " + n.describe() +
                         ": zero points do not hold N packed rows");
      Layout nl = l;
      nl.blocks = blocks.size();
      std::string out(rows.size() * packedRowBytes(nl), '\0');
      for (size_t r = 0; r < rows.size(); ++r)
        for (size_t c = 0; c < blocks.size(); ++c) {
          uint8_t code = zeroCode(l, zp, *bytes, rows[r], blocks[c]);
          int64_t bit = c * l.bits;
          out[r * packedRowBytes(nl) + bit / 8] |= (char)(code << (bit % 8));
        }
      SmallVector<int64_t, 2> dims;
      if (zp->getWeight()->getDims().size() == 2)
        dims = {(int64_t)rows.size(), packedRowBytes(nl)};
      else
        dims = {(int64_t)out.size()};
      rw.updateWeight(zp, dims, std::move(out));
    }
    rw.setAttr(&n, Attribute::ofInt("N", (int64_t)rows.size()));
    rw.setAttr(&n, Attribute::ofInt("K", (int64_t)blocks.size() * l.blockSize));
    return Error::success();
  }

  /// One value per byte of B: the L2 norm of its codes' weights, so an L2
  /// slice norm is exact (other norms are close).
  Expected<Doubles> dequantizeOperand(const Node &n,
                                      unsigned i) const override {
    Layout l;
    if (i != 1 || layout(n, l))
      return Doubles();
    const Value *zp = n.getInput(3);
    if (zp && !packedZeroPoints(zp))
      return Doubles();
    auto b = n.getInput(1)->getWeight()->getBytes();
    if (!b)
      return b.takeError();
    ArrayRef<char> zb;
    if (zp) {
      auto z = zp->getWeight()->getBytes();
      if (!z)
        return z.takeError();
      zb = *z;
    }
    auto scales = readAsDoubles(*n.getInput(2)->getWeight());
    if (!scales)
      return scales.takeError();
    if ((int64_t)scales->size() != l.n * l.blocks)
      return Doubles();
    std::vector<double> out(b->size());
    for (int64_t r = 0; r < l.n; ++r)
      for (int64_t c = 0; c < l.blocks; ++c) {
        double s = (*scales)[r * l.blocks + c];
        int z = zeroCode(l, zp, zb, r, c);
        for (int64_t e = 0; e < l.blob; ++e) {
          size_t at = (r * l.blocks + c) * l.blob + e;
          out[at] = packedNorm((uint8_t)(*b)[at], l.bits, z, s);
        }
      }
    return Doubles(std::move(out));
  }
  Expected<MaskMode> maskOperand(const Node &n, unsigned i, unsigned axis,
                                 ArrayRef<int64_t> removed,
                                 ArrayRef<int64_t> dims,
                                 std::string &data) const override {
    if (i == 5)
      return MaskMode::Zero;
    if (i != 1)
      return MaskMode::Keep;
    Layout l;
    if (auto why = layout(n, l))
      return makeError("node " + n.describe() + ": " + *why);
    if (axis > 1)
      return makeError("node " + n.describe() + ": B axis 2 is not a channel");
    const Value *zp = n.getInput(3);
    ArrayRef<char> zb;
    if (zp) {
      auto bytes = zp->getWeight()->getBytes();
      if (!bytes)
        return bytes.takeError();
      zb = *bytes;
    }
    // Every code of block (row, block) becomes its zero point.
    auto fill = [&](int64_t row, int64_t block) {
      uint8_t code = zeroCode(l, zp, zb, row, block), byte = 0;
      for (int64_t s = 0; s < 8; s += l.bits)
        byte |= (uint8_t)(code << s);
      std::memset(&data[(row * dims[1] + block) * dims[2]], byte, dims[2]);
    };
    for (int64_t k : removed)
      for (int64_t o = 0; o < dims[axis == 0 ? 1 : 0]; ++o)
        axis == 0 ? fill(k, o) : fill(o, k);
    return MaskMode::Written;
  }
};

/// com.microsoft GatherBlockQuantized(data, indices, scales, zero_points?;
/// gather_axis, quantize_axis, block_size, bits): rows of a block-quantized
/// table (a quantized embedding) picked by computed indices, dequantized.
///   data uint8[V, H] (bits 8; bits 4: [V, H/2], two codes a byte, low
///   first), scales[V, H/block], zero_points like scales (bits 8)
///   -> Y[indices..., H]
/// The gathered axis (V, the vocabulary) freezes: token ids index it. Any
/// other axis of data passes to Y with the same axis of scales and zero
/// points; the block-quantized axis goes in whole blocks (element j of
/// scales ~ a block of data and of Y), or freezes when H is not a whole
/// number of blocks. Nothing to rewrite: scales keep data's rank.
///   before: data[100,64] scales[100,4] (block 16) -> Y[B,S,64]
///   remove block 2: data[100,48] scales[100,3] -> Y[B,S,48]
/// Frozen with a reason: int4/uint4 data, bits other than 4 and 8, packed
/// (bits 4) zero points, a packed axis that is not the quantized one.
class GatherBlockQuantizedHandler final : public OpHandler {
  struct Layout {
    int64_t g = 0, q = 0, block = 0, bits = 0, r = 0;
  };
  /// Reads and checks the attributes; the reason when not prunable.
  static std::optional<std::string> layout(const Node &n, Layout &l) {
    const Value *data = n.getInput(0);
    l.r = CouplingBuilder::rank(data);
    l.g = normalizeAxis(n.getIntAttr("gather_axis", 0), l.r);
    l.q = normalizeAxis(n.getIntAttr("quantize_axis", 1), l.r);
    l.block = n.getIntAttr("block_size", 128);
    l.bits = n.getIntAttr("bits", 4);
    if (l.r < 1 || l.g < 0 || l.q < 0 || l.block <= 0)
      return std::string("axes or block_size invalid");
    const Tensor *t = data->getWeight();
    if (!t || t->getDataType() != DataType::UInt8)
      return std::string("data is not a constant uint8 table (int4 data "
                         "is packed two to a byte)");
    if (l.bits != 8 && l.bits != 4)
      return "bits = " + std::to_string(l.bits) + " is not pruned";
    if (l.bits < 8 && l.q != l.r - 1)
      return std::string("codes packed along an axis that is not the "
                         "quantized one");
    if (l.bits < 8 && n.getInput(3))
      return std::string("packed zero points");
    const Value *s = n.getInput(2);
    if (!s || !s->getWeight() || CouplingBuilder::rank(s) != l.r)
      return std::string("scales are not a constant of data's rank");
    if (const Value *zp = n.getInput(3);
        zp && (!zp->getWeight() || CouplingBuilder::rank(zp) != l.r))
      return std::string("zero points are not a constant of data's rank");
    return std::nullopt;
  }
  /// Codes per stored byte.
  static int64_t perByte(const Layout &l) { return 8 / l.bits; }

public:
  void build(const Node &n, CouplingBuilder &b) const override {
    Value *data = n.getInput(0), *idx = n.getInput(1), *s = n.getInput(2),
          *zp = n.getInput(3), *y = n.getOutput(0);
    int64_t ri = b.rank(idx);
    Layout l;
    if (!data || !y || ri < 0 || b.rank(data) < 1 ||
        b.rank(y) != b.rank(data) - 1 + ri) {
      b.freezeNode(n, "operand rank unknown");
      return;
    }
    if (auto why = layout(n, l)) {
      b.freezeNode(n, *why);
      return;
    }
    // Y = data[:g] + indices + data[g+1:].
    auto yAxis = [&](int64_t j) { return j < l.g ? j : j - 1 + ri; };
    for (int64_t k = 0; k < ri; ++k)
      b.join(ax(idx, k), ax(y, l.g + k), n);
    b.freeze(ax(data, l.g), &n, "gathered axis (rows picked by index)");
    for (Value *p : {s, zp})
      if (p)
        b.freeze(ax(p, l.g), &n, "gathered axis (rows picked by index)");
    for (int64_t j = 0; j < l.r; ++j) {
      if (j == l.g)
        continue;
      if (j != l.q) {
        b.join(ax(data, j), ax(y, yAxis(j)), n);
        for (Value *p : {s, zp})
          if (p)
            b.join(ax(p, j), ax(data, j), n);
        continue;
      }
      // The quantized axis: H values, H / perByte bytes, H / block scales.
      int64_t h = b.size(ax(y, yAxis(j))), blocks = b.size(ax(s, j));
      if (h < 0 || h % l.block || blocks * l.block != h ||
          b.size(ax(data, j)) * perByte(l) != h) {
        b.freeze(ax(data, j), &n, "quantized axis is not whole blocks");
        b.freeze(ax(y, yAxis(j)), &n, "quantized axis is not whole blocks");
        for (Value *p : {s, zp})
          if (p)
            b.freeze(ax(p, j), &n, "quantized axis is not whole blocks");
        continue;
      }
      if (zp)
        b.join(ax(zp, j), ax(s, j), n);
      b.joinBlocks(ax(s, j), ax(data, j), l.block / perByte(l), 0, n);
      if (perByte(l) == 1)
        b.join(ax(data, j), ax(y, yAxis(j)), n);
      else
        b.joinBlocks(ax(data, j), ax(y, yAxis(j)), perByte(l), 0, n);
    }
  }

  /// One value per stored byte: the L2 norm of the weights its codes
  /// stand for (one with bits 8, so exact there).
  Expected<Doubles> dequantizeOperand(const Node &n,
                                      unsigned i) const override {
    Layout l;
    if (i != 0 || layout(n, l))
      return Doubles();
    std::vector<double> zps, scales;
    if (auto v = readAsDoubles(*n.getInput(2)->getWeight()))
      scales = std::move(*v);
    else
      return v.takeError();
    if (const Value *zp = n.getInput(3)) {
      auto v = readAsDoubles(*zp->getWeight());
      if (!v)
        return v.takeError();
      zps = std::move(*v);
    }
    auto bytes = n.getInput(0)->getWeight()->getBytes();
    if (!bytes)
      return bytes.takeError();
    ArrayRef<int64_t> dims = n.getInput(0)->getWeight()->getDims();
    std::vector<double> out(bytes->size());
    forEachElement(l, dims, [&](uint64_t flat, uint64_t param) {
      if (param >= scales.size() || (!zps.empty() && param >= zps.size()))
        return;
      double z = zps.empty() ? double(1u << (l.bits - 1)) : zps[param];
      out[flat] = packedNorm((uint8_t)(*bytes)[flat], l.bits, z, scales[param]);
    });
    return Doubles(std::move(out));
  }

  Expected<MaskMode> maskOperand(const Node &n, unsigned i, unsigned axis,
                                 ArrayRef<int64_t> removed,
                                 ArrayRef<int64_t> dims,
                                 std::string &data) const override {
    if (i != 0)
      return MaskMode::Keep;
    Layout l;
    if (auto why = layout(n, l))
      return makeError("node " + n.describe() + ": " + *why);
    std::vector<double> zps;
    if (const Value *zp = n.getInput(3)) {
      auto v = readAsDoubles(*zp->getWeight());
      if (!v)
        return v.takeError();
      zps = std::move(*v);
    }
    std::vector<char> gone(dims[axis], 0);
    for (int64_t k : removed)
      gone[k] = 1;
    uint64_t inner = 1;
    for (size_t d = axis + 1; d < dims.size(); ++d)
      inner *= dims[d];
    forEachElement(l, dims, [&](uint64_t flat, uint64_t param) {
      if (!gone[(flat / inner) % dims[axis]])
        return;
      uint8_t code = zps.empty() || param >= zps.size()
                         ? (uint8_t)(1u << (l.bits - 1))
                         : (uint8_t)zps[param];
      uint8_t byte = 0;
      for (int64_t sh = 0; sh < 8; sh += l.bits)
        byte |= (uint8_t)(code << sh);
      data[flat] = (char)byte;
    });
    return MaskMode::Written;
  }

private:
  /// Calls \p fn(flat byte index, flat index of its scale / zero point)
  /// for every stored byte of data (dims \p dims).
  static void forEachElement(const Layout &l, ArrayRef<int64_t> dims,
                             function_ref<void(uint64_t, uint64_t)> fn) {
    std::vector<int64_t> pdims(dims.begin(), dims.end());
    int64_t bytesPerBlock = l.block / perByte(l);
    pdims[l.q] = (dims[l.q] + bytesPerBlock - 1) / bytesPerBlock;
    uint64_t total = 1;
    for (int64_t d : dims)
      total *= d;
    std::vector<int64_t> index(dims.size(), 0);
    for (uint64_t flat = 0; flat < total; ++flat) {
      uint64_t param = 0;
      for (size_t d = 0; d < dims.size(); ++d)
        param = param * pdims[d] +
                (d == (size_t)l.q ? index[d] / bytesPerBlock : index[d]);
      fn(flat, param);
      for (int64_t d = (int64_t)dims.size() - 1; d >= 0; --d) {
        if (++index[d] < dims[d])
          break;
        index[d] = 0;
      }
    }
  }
};

} // namespace

std::shared_ptr<const OpHandler> createQuantizeLinearHandler() {
  return std::make_shared<QuantizeLinearHandler>();
}
std::shared_ptr<const OpHandler> createDynamicQuantizeLinearHandler() {
  return std::make_shared<DynamicQuantizeLinearHandler>();
}
std::shared_ptr<const OpHandler> createQuantConvHandler() {
  return std::make_shared<QuantConvHandler>();
}
std::shared_ptr<const OpHandler> createQuantMatMulHandler() {
  return std::make_shared<QuantMatMulHandler>();
}
std::shared_ptr<const OpHandler> createQLinearUnaryHandler() {
  return std::make_shared<QLinearUnaryHandler>();
}
std::shared_ptr<const OpHandler> createQLinearBinaryHandler() {
  return std::make_shared<QLinearBinaryHandler>();
}
std::shared_ptr<const OpHandler> createQLinearGlobalAveragePoolHandler() {
  return std::make_shared<QLinearGlobalAveragePoolHandler>();
}
std::shared_ptr<const OpHandler> createQLinearSoftmaxHandler() {
  return std::make_shared<QLinearSoftmaxHandler>();
}
std::shared_ptr<const OpHandler> createQLinearConcatHandler() {
  return std::make_shared<QLinearConcatHandler>();
}
std::shared_ptr<const OpHandler> createQGemmHandler() {
  return std::make_shared<QGemmHandler>();
}
std::shared_ptr<const OpHandler> createGatherBlockQuantizedHandler() {
  return std::make_shared<GatherBlockQuantizedHandler>();
}
std::shared_ptr<const OpHandler> createMatMulNBitsHandler() {
  return std::make_shared<MatMulNBitsHandler>();
}

} // namespace onnxprune
