//===- StatsAnalysis.cpp - Size and cost of a model -----------------------===//
///
/// \file
/// Node, weight, parameter, buffer and FLOP counts (conventions and the
/// parameter rule in the header).
///
//===----------------------------------------------------------------------===//

#include "passes/Analysis/StatsAnalysis.h"

#include "lib/IR/Tensor.h"
#include "passes/OpHandlers/OpHandler.h"

#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/MapVector.h"
#include "llvm/ADT/SmallPtrSet.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/Format.h"

using namespace llvm;

namespace onnxprune {

namespace {

using Dims = DerivedDims::mapped_type::first_type;

/// Reads value dims: from the value's type, a weight's tensor, or dims the
/// estimate derived earlier for an untyped value. Non-static dims read as 1
/// and clear the caller's allStatic flag.
class DimsReader {
public:
  explicit DimsReader(DerivedDims *derived) : derived(derived) {}

  /// The dims of \p v, or std::nullopt when its rank is unknown.
  std::optional<Dims> operator()(const Value *v, bool &allStatic) const {
    if (!v)
      return std::nullopt;
    const Type &t = v->getType();
    Dims out;
    if (t.hasRank()) {
      for (const Dim &d : *t.shape) {
        if (d.isStatic()) {
          out.push_back(d.value);
        } else {
          out.push_back(1);
          allStatic = false;
        }
      }
      return out;
    }
    if (const Tensor *w = v->getWeight()) {
      out.append(w->getDims().begin(), w->getDims().end());
      return out;
    }
    if (derived) {
      auto it = derived->find(v);
      if (it != derived->end()) {
        allStatic &= it->second.second;
        return it->second.first;
      }
    }
    return std::nullopt;
  }

  /// Remembers \p dims for output 0 of \p n when it has no typed shape.
  void remember(const Node &n, const Dims &dims, bool exact) const {
    const Value *out = n.getOutput(0);
    if (derived && out && !out->getType().hasRank() && !out->isWeight())
      (*derived)[out] = {dims, exact};
  }

private:
  DerivedDims *derived;
};

uint64_t product(ArrayRef<int64_t> dims, size_t from = 0) {
  uint64_t p = 1;
  for (size_t i = from; i < dims.size(); ++i)
    p *= static_cast<uint64_t>(std::max<int64_t>(dims[i], 0));
  return p;
}

bool isDefaultDomain(StringRef d) { return d.empty() || d == "ai.onnx"; }

const StringSet<> &unaryOps() {
  static const StringSet<> s = {
      "Relu",      "LeakyRelu", "PRelu",      "Sigmoid",  "HardSigmoid",
      "HardSwish", "Tanh",      "Exp",        "Log",      "Sqrt",
      "Neg",       "Abs",       "Reciprocal", "Erf",      "Gelu",
      "Elu",       "Selu",      "Celu",       "Softplus", "Softsign",
      "Clip",      "Floor",     "Ceil",       "Round",    "Sign",
      "Sin",       "Cos",       "Tan",        "Mish",     "ThresholdedRelu",
      "Not",       "IsNaN",     "IsInf",      "Asin",     "Acos",
      "Atan",      "Sinh",      "Cosh",       "Asinh",    "Acosh",
      "Atanh"};
  return s;
}

const StringSet<> &naryOps() {
  static const StringSet<> s = {"Add",
                                "Sub",
                                "Mul",
                                "Div",
                                "Pow",
                                "Max",
                                "Min",
                                "Sum",
                                "Mean",
                                "And",
                                "Or",
                                "Xor",
                                "Equal",
                                "Greater",
                                "Less",
                                "Mod",
                                "BitShift",
                                "Where",
                                "GreaterOrEqual",
                                "LessOrEqual",
                                "BitwiseAnd",
                                "BitwiseOr",
                                "BitwiseXor"};
  return s;
}

const StringSet<> &zeroCostOps() {
  static const StringSet<> s = {"Reshape",
                                "Transpose",
                                "Concat",
                                "Split",
                                "Slice",
                                "Gather",
                                "GatherElements",
                                "GatherND",
                                "Squeeze",
                                "Unsqueeze",
                                "Flatten",
                                "Expand",
                                "Tile",
                                "Pad",
                                "Shape",
                                "Size",
                                "Identity",
                                "Dropout",
                                "Cast",
                                "CastLike",
                                "Constant",
                                "ConstantOfShape",
                                "Range",
                                "If",
                                "Loop",
                                "Scan",
                                "SpaceToDepth",
                                "DepthToSpace",
                                "SequenceConstruct",
                                "SequenceAt",
                                "SplitToSequence",
                                "ConcatFromSequence",
                                "Optional",
                                "OptionalGetElement",
                                "OptionalHasElement",
                                "NonZero",
                                "ScatterND",
                                "ScatterElements",
                                "Trilu",
                                "EyeLike",
                                "OneHot"};
  return s;
}

const StringSet<> &reduceOps() {
  static const StringSet<> s = {
      "ReduceSum",    "ReduceMean",     "ReduceMax", "ReduceMin",
      "ReduceProd",   "ReduceL1",       "ReduceL2",  "ReduceSumSquare",
      "ReduceLogSum", "ReduceLogSumExp"};
  return s;
}

std::string opKey(const Node &n) {
  if (isDefaultDomain(n.getDomain()))
    return n.getOpType();
  return n.getDomain() + "." + n.getOpType();
}

/// Output dims of \p n, falling back to its first input (shape-preserving
/// ops only).
std::optional<Dims> outOrIn0(const DimsReader &dimsOf, const Node &n,
                             bool &allStatic) {
  if (auto d = dimsOf(n.getOutput(0), allStatic))
    return d;
  return dimsOf(n.getInput(0), allStatic);
}

/// Numpy-style broadcast of \p a and \p b (right-aligned, larger dim wins).
Dims broadcast(ArrayRef<int64_t> a, ArrayRef<int64_t> b) {
  Dims out(std::max(a.size(), b.size()), 1);
  for (size_t i = 0; i < out.size(); ++i) {
    int64_t da = i < a.size() ? a[a.size() - 1 - i] : 1;
    int64_t db = i < b.size() ? b[b.size() - 1 - i] : 1;
    out[out.size() - 1 - i] = std::max(da, db);
  }
  return out;
}

/// Output dims of an n-ary elementwise node; when its type is unknown, the
/// broadcast of its inputs' dims.
std::optional<Dims> elementwiseOut(const DimsReader &dimsOf, const Node &n,
                                   bool &allStatic) {
  if (auto d = dimsOf(n.getOutput(0), allStatic))
    return d;
  std::optional<Dims> out;
  for (const Value *v : n.getInputs()) {
    if (!v)
      continue;
    auto d = dimsOf(v, allStatic);
    if (!d)
      return std::nullopt;
    out = out ? broadcast(*out, *d) : *d;
  }
  return out;
}

/// Output dims of a MatMul; when its type is unknown, derived from A and B.
std::optional<Dims> matMulOut(const DimsReader &dimsOf, const Node &n,
                              ArrayRef<int64_t> a, bool &allStatic) {
  if (auto d = dimsOf(n.getOutput(0), allStatic))
    return d;
  auto b = dimsOf(n.getInput(1), allStatic);
  if (!b || b->empty())
    return std::nullopt;
  // 1-D operands are promoted and the added axis dropped again.
  ArrayRef<int64_t> aBatch =
      a.size() > 2 ? a.drop_back(2) : ArrayRef<int64_t>();
  ArrayRef<int64_t> bBatch =
      b->size() > 2 ? ArrayRef<int64_t>(*b).drop_back(2) : ArrayRef<int64_t>();
  Dims out = broadcast(aBatch, bBatch);
  if (a.size() >= 2)
    out.push_back(a[a.size() - 2]);
  if (b->size() >= 2)
    out.push_back(b->back());
  return out;
}

/// Output dims of a Conv with weight dims \p w; when its type is unknown,
/// computed from the input and the strides, pads, dilations and auto_pad.
std::optional<Dims> convOut(const DimsReader &dimsOf, const Node &n,
                            ArrayRef<int64_t> w, bool &allStatic) {
  if (auto d = dimsOf(n.getOutput(0), allStatic))
    return d;
  auto x = dimsOf(n.getInput(0), allStatic);
  if (!x || x->size() != w.size())
    return std::nullopt;
  size_t spatial = x->size() - 2;
  auto attrOr = [&](StringRef name, size_t size, int64_t dflt) {
    auto v = n.getIntsAttr(name);
    return v && v->size() == size ? *v : std::vector<int64_t>(size, dflt);
  };
  std::vector<int64_t> strides = attrOr("strides", spatial, 1);
  std::vector<int64_t> dilations = attrOr("dilations", spatial, 1);
  std::vector<int64_t> pads = attrOr("pads", 2 * spatial, 0);
  std::string autoPad = n.getStringAttr("auto_pad", "NOTSET");
  Dims out = {(*x)[0], w[0]};
  for (size_t i = 0; i < spatial; ++i) {
    int64_t in = (*x)[i + 2];
    int64_t stride = std::max<int64_t>(strides[i], 1);
    int64_t d;
    if (autoPad == "SAME_UPPER" || autoPad == "SAME_LOWER") {
      d = (in + stride - 1) / stride;
    } else {
      int64_t padded =
          autoPad == "VALID" ? in : in + pads[i] + pads[i + spatial];
      int64_t span = dilations[i] * (w[i + 2] - 1) + 1;
      d = padded >= span ? (padded - span) / stride + 1 : 0;
    }
    out.push_back(d);
  }
  return out;
}

void visitGraph(const Graph &g, function_ref<void(const Graph &)> fn) {
  fn(g);
  for (const Node &n : g.getNodes())
    n.forEachSubgraph([&](const Graph &sub) { visitGraph(sub, fn); });
}

// ---- Parameters and buffers (the rule in the header) ----------------------

/// What one read of a constant says about it, weakest first.
enum class Role : uint8_t {
  Unknown, ///< Nothing either way (an op we know nothing of).
  Buffer,  ///< A mask, RoPE table, statistic, shape, index or scalar input.
  Param,   ///< Arithmetic learned weights do: a norm's scale or shift, a
           ///< bias, a learned token or position table, embedding rows.
  Weight,  ///< A weight operand of its op (Conv W, BN scale, PRelu slope).
};

bool inDomain(const Node &n, StringRef domain) {
  return domain.empty() ? isDefaultDomain(n.getDomain())
                        : n.getDomain() == domain;
}

/// Ops that move, slice, re-type or dequantize their input 0 without
/// computing on it: a constant read through them is still that constant
/// (an Identity of a merged weight, a transposed weight, a slice of a
/// table, a dequantized int8 weight).
bool isDataMovement(const Node &n) {
  static const StringSet<> ops = {
      "Identity",         "Cast",          "CastLike",  "Transpose",
      "Reshape",          "Squeeze",       "Unsqueeze", "Flatten",
      "Expand",           "Tile",          "Slice",     "Gather",
      "GatherElements",   "GatherND",      "Split",     "Dropout",
      "DequantizeLinear", "QuantizeLinear"};
  if (inDomain(n, "com.microsoft"))
    return n.getOpType() == "DequantizeLinear" ||
           n.getOpType() == "QuantizeLinear";
  return isDefaultDomain(n.getDomain()) && ops.count(n.getOpType());
}

/// Gather ops pick rows by index: with indices computed at run time (token
/// ids, expert ids, relative-position buckets) the constant is a lookup
/// table (an embedding), whatever is then done with its rows.
bool isRowLookup(const Node &n) {
  StringRef op = n.getOpType();
  return isDefaultDomain(n.getDomain()) &&
         (op == "Gather" || op == "GatherElements" || op == "GatherND") &&
         n.getInput(1) && !n.getInput(1)->isWeight();
}

/// Operands of quantized ops that hold the integer weight itself (not a
/// scale or zero point).
bool isIntegerWeightOperand(const Node &n, unsigned i) {
  StringRef op = n.getOpType();
  if (isDefaultDomain(n.getDomain())) {
    if (op == "ConvInteger" || op == "MatMulInteger")
      return i == 0 || i == 1;
    if (op == "QLinearConv")
      return i == 3 || i == 8; // w, int32 bias
    if (op == "QLinearMatMul")
      return i == 0 || i == 3;
    // Not a plain MatMul: integers cast to float and multiplied are
    // positions or indices (inv_freq x position ids), not weights.
    return false;
  }
  if (inDomain(n, "com.microsoft")) {
    if (op == "MatMulNBits" || op == "MatMulBnb4")
      return i == 1;
    if (op == "GatherBlockQuantized")
      return i == 0;
    if (op == "QGemm")
      return i == 3 || i == 6; // B, int32 bias C
    if (op == "DynamicQuantizeMatMul" || op == "QAttention")
      return i == 1;
    if (op == "MatMulIntegerToFloat")
      return i == 0 || i == 1;
  }
  return false;
}

/// Values a packed quantized weight read by operand \p i of \p n holds,
/// when several share a byte (else nullopt): MatMulNBits / MatMulBnb4's B
/// holds N x K (blocks pad K; the padding is no parameter),
/// GatherBlockQuantized's uint8 data 8 / bits values a byte.
std::optional<uint64_t> packedValuesOf(const Node &n, unsigned i,
                                       const Tensor &t) {
  if (!inDomain(n, "com.microsoft"))
    return std::nullopt;
  StringRef op = n.getOpType();
  if ((op == "MatMulNBits" || op == "MatMulBnb4") && i == 1) {
    int64_t rows = n.getIntAttr("N", -1), k = n.getIntAttr("K", -1);
    if (rows > 0 && k > 0)
      return uint64_t(rows) * uint64_t(k);
  }
  if (op == "GatherBlockQuantized" && i == 0 &&
      t.getDataType() == DataType::UInt8) {
    int64_t bits = n.getIntAttr("bits", 4);
    if (bits > 0 && bits < 8 && 8 % bits == 0)
      return t.getNumElements() * uint64_t(8 / bits);
  }
  return std::nullopt;
}

/// Finds the role of every weight of a model: walks forward from each read
/// through data movement to the op that uses the constant, and looks at
/// that op and its neighbours (the rule in the header).
class WeightRoles {
public:
  /// The role of read \p u of a constant. \p integer: the constant holds
  /// integers not yet dequantized.
  Role classify(const Use &u, bool integer) {
    budget = 4096;
    return classifyUse(*u.user, u.operandIndex, integer, false, 0);
  }

private:
  static constexpr unsigned MaxDepth = 16;

  Role classifyUse(const Node &n, unsigned i, bool integer, bool gathered,
                   unsigned depth);
  Role classifyFloat(const Node &n, unsigned i, bool gathered);
  Role throughOutputs(const Node &n, bool integer, bool gathered, bool lookup,
                      unsigned depth);

  /// True when \p v is a constant, or data movement of one.
  static bool isConstantRooted(const Value *v, unsigned depth = 0) {
    for (; v && depth < 8; ++depth) {
      if (v->isWeight())
        return true;
      const Node *p = v->getProducer();
      if (!p || !isDataMovement(*p))
        return false;
      v = p->getInput(0);
    }
    return false;
  }
  /// The node that computed \p v, looking through reshapes and casts.
  static const Node *producerThroughViews(const Value *v) {
    for (unsigned d = 0; v && d < 6; ++d) {
      const Node *p = v->getProducer();
      if (!p)
        return nullptr;
      StringRef op = p->getOpType();
      if (!isDefaultDomain(p->getDomain()) ||
          !(op == "Identity" || op == "Reshape" || op == "Cast" ||
            op == "Transpose" || op == "Squeeze" || op == "Unsqueeze" ||
            op == "Flatten"))
        return p;
      v = p->getInput(0);
    }
    return nullptr;
  }
  /// True when \p v is the output of a linear op with a constant weight
  /// (MatMul, Gemm, Conv...): a constant added to it is its bias.
  static bool isLinearOutput(const Value *v) {
    const Node *p = producerThroughViews(v);
    if (!p)
      return false;
    StringRef op = p->getOpType();
    static const StringSet<> linear = {
        "MatMul",        "Gemm",          "Conv",        "ConvTranspose",
        "Einsum",        "MatMulInteger", "ConvInteger", "QLinearConv",
        "QLinearMatMul", "MatMulNBits",   "FusedMatMul", "FusedConv",
        "FusedGemm",     "MatMulBnb4",    "QGemm"};
    if (!(isDefaultDomain(p->getDomain()) || inDomain(*p, "com.microsoft")) ||
        !linear.count(op))
      return false;
    for (unsigned k = 0; k < p->getNumInputs(); ++k)
      if (isConstantRooted(p->getInput(k)))
        return true;
    return false;
  }
  /// True when \p v flows, through the ops in \p through, into an op in
  /// \p targets within a few steps (breadth first, each value once).
  static bool reaches(const Value *v, const StringSet<> &targets,
                      const StringSet<> &through) {
    SmallPtrSet<const Value *, 16> seen;
    SmallVector<const Value *, 16> level = {v}, next;
    for (unsigned depth = 0; depth <= 8 && !level.empty(); ++depth) {
      next.clear();
      for (const Value *x : level) {
        if (!x || !seen.insert(x).second)
          continue;
        for (const Use &u : x->getUses()) {
          const Node &n = *u.user;
          if (!isDefaultDomain(n.getDomain()))
            continue;
          if (targets.count(n.getOpType()))
            return true;
          if (through.count(n.getOpType()))
            next.append(n.getOutputs().begin(), n.getOutputs().end());
        }
      }
      std::swap(level, next);
    }
    return false;
  }
  /// A weight's quantization scale in ORT's dynamic chain: Mul(x_scale,
  /// w_scale) with x_scale from DynamicQuantizeLinear, or Mul(Cast(integer
  /// op), w_scale) when the scale is folded into one constant.
  static bool isQuantScale(const Node &n, unsigned i) {
    if (n.getNumInputs() != 2)
      return false;
    const Node *p = producerThroughViews(n.getInput(1 - i));
    if (!p)
      return false;
    StringRef op = p->getOpType();
    return op == "DynamicQuantizeLinear" || op == "ConvInteger" ||
           op == "MatMulInteger";
  }
  /// An attention mask: the sum flows into a Softmax through additions,
  /// reshapes and Where.
  static bool reachesSoftmax(const Value *v) {
    static const StringSet<> targets = {"Softmax", "LogSoftmax"};
    static const StringSet<> through = {
        "Add",   "Sub",    "Reshape", "Cast",      "Identity",
        "Where", "Expand", "Squeeze", "Unsqueeze", "Slice"};
    return reaches(v, targets, through);
  }
  /// RoPE angles: the product flows into Cos or Sin.
  static bool reachesCosSin(const Value *v) {
    static const StringSet<> targets = {"Cos", "Sin"};
    static const StringSet<> through = {
        "Transpose", "Concat",   "Reshape", "Cast",   "Unsqueeze", "Squeeze",
        "Expand",    "Identity", "Mul",     "MatMul", "Slice",     "Gather"};
    return reaches(v, targets, through);
  }
  /// True when \p v is computed from positions: integer data (position ids,
  /// a Range over the sequence length) cast, reshaped or sliced.
  static bool derivesFromPositions(const Value *v) {
    for (unsigned d = 0; v && d < 8; ++d) {
      DataType dt = v->getType().elemType;
      if (dt != DataType::Undefined && !isFloatingPoint(dt))
        return true;
      const Node *p = v->getProducer();
      if (!p || !isDefaultDomain(p->getDomain()))
        return false;
      StringRef op = p->getOpType();
      if (op == "Range")
        return true;
      if (!(op == "Cast" || op == "Unsqueeze" || op == "Squeeze" ||
            op == "Expand" || op == "Reshape" || op == "Transpose" ||
            op == "Slice" || op == "Identity" || op == "Gather"))
        return false;
      v = p->getInput(0);
    }
    return false;
  }
  /// rotate_half(x): a Concat of a negated half with the other half
  /// (`cat(-x2, x1)`, or interleaved through Unsqueeze/Reshape).
  static bool isRotateHalf(const Value *v) {
    const Node *c = producerThroughViews(v);
    if (!c || !isDefaultDomain(c->getDomain()) || c->getOpType() != "Concat")
      return false;
    for (const Value *in : c->getInputs()) {
      const Node *p = producerThroughViews(in);
      if (p && isDefaultDomain(p->getDomain()) && p->getOpType() == "Neg")
        return true;
    }
    return false;
  }
  /// A RoPE product: `x * cos + rotate_half(x) * sin`. Operand \p i of Mul
  /// \p n is the table when the other operand is rotated, or when the
  /// product is added to (or subtracted from) a product with a rotated
  /// operand.
  static bool isRopeMul(const Node &n, unsigned i) {
    if (n.getNumInputs() != 2)
      return false;
    if (isRotateHalf(n.getInput(1 - i)))
      return true;
    for (const Use &u : n.getOutput(0)->getUses()) {
      const Node &a = *u.user;
      if (!isDefaultDomain(a.getDomain()) ||
          (a.getOpType() != "Add" && a.getOpType() != "Sub") ||
          a.getNumInputs() != 2)
        continue;
      const Node *m = a.getInput(1 - u.operandIndex)->getProducer();
      if (m && isDefaultDomain(m->getDomain()) && m->getOpType() == "Mul" &&
          (isRotateHalf(m->getInput(0)) || isRotateHalf(m->getInput(1))))
        return true;
    }
    return false;
  }
  /// RoPE frequencies: inv_freq multiplied with positions, on to Cos/Sin.
  static bool isRopeFrequency(const Node &n, unsigned i) {
    if (n.getNumInputs() != 2)
      return false;
    return derivesFromPositions(n.getInput(1 - i)) &&
           reachesCosSin(n.getOutput(0));
  }

  unsigned budget = 0;
};

Role WeightRoles::throughOutputs(const Node &n, bool integer, bool gathered,
                                 bool lookup, unsigned depth) {
  bool any = false, allBuffer = true, anyUnknown = false;
  Role best = Role::Unknown;
  for (const Value *o : n.getOutputs()) {
    if (!o)
      continue;
    if (o->isGraphOutput()) {
      any = true;
      allBuffer = false;
      anyUnknown = true;
    }
    for (const Use &u : o->getUses()) {
      Role r = classifyUse(*u.user, u.operandIndex, integer, gathered || lookup,
                           depth + 1);
      any = true;
      allBuffer &= r == Role::Buffer;
      anyUnknown |= r == Role::Unknown;
      if (r == Role::Weight || (r == Role::Param && best != Role::Weight))
        best = r;
    }
  }
  if (best != Role::Unknown)
    return best;
  // Rows of a lookup table used as data (a token embedding feeding the
  // first layer): an embedding.
  if (lookup && !gathered && anyUnknown && !integer)
    return Role::Param;
  return any && allBuffer ? Role::Buffer : Role::Unknown;
}

Role WeightRoles::classifyUse(const Node &n, unsigned i, bool integer,
                              bool gathered, unsigned depth) {
  if (budget == 0 || depth > MaxDepth)
    return Role::Unknown;
  --budget;
  if (isStatisticsOperand(n, i))
    return Role::Buffer;
  StringRef op = n.getOpType();
  if (isDataMovement(n)) {
    // The other operands are shapes, indices, axes, scales, zero points.
    if (i != 0)
      return Role::Buffer;
    bool dequantize = op == "DequantizeLinear";
    return throughOutputs(n, integer && !dequantize, gathered, isRowLookup(n),
                          depth);
  }
  if (integer)
    return isIntegerWeightOperand(n, i) ? Role::Weight : Role::Buffer;
  return classifyFloat(n, i, gathered);
}

Role WeightRoles::classifyFloat(const Node &n, unsigned i, bool gathered) {
  StringRef op = n.getOpType();
  if (inDomain(n, "com.microsoft")) {
    if (op == "LayerNormalization" || op == "SimplifiedLayerNormalization")
      return i >= 1 ? Role::Weight : Role::Unknown;
    if (op == "SkipLayerNormalization" ||
        op == "SkipSimplifiedLayerNormalization")
      return i >= 2 ? Role::Weight : Role::Unknown;
    if (op == "Attention")
      return i == 1 || i == 2 ? Role::Weight : Role::Unknown;
    if (op == "MultiHeadAttention")
      return i == 3 ? Role::Weight : Role::Unknown;
    if (op == "MatMulNBits" || op == "MatMulBnb4")
      return i == 5 ? Role::Weight : Role::Buffer; // scales, zero points
    // Float biases of the quantized matmuls; their scales are metadata.
    if (op == "DynamicQuantizeMatMul")
      return i == 4 ? Role::Weight : Role::Buffer;
    if (op == "MatMulIntegerToFloat")
      return i == 6 ? Role::Weight : Role::Buffer;
    if (op == "QGemm" || op == "GatherBlockQuantized" ||
        op.startswith("QLinear"))
      return Role::Buffer; // scales
    if (op == "FusedConv" || op == "FusedGemm" || op == "FusedMatMul" ||
        op == "BiasGelu" || op == "FastGelu")
      return i >= 1 ? Role::Weight : Role::Unknown;
    return Role::Unknown;
  }
  if (!isDefaultDomain(n.getDomain()))
    return Role::Unknown;

  if (op == "Conv" || op == "ConvTranspose")
    return i == 1 || i == 2 ? Role::Weight : Role::Unknown;
  if (op == "Gemm")
    return Role::Weight;
  if (op == "MatMul" || op == "Einsum")
    return isRopeFrequency(n, i) ? Role::Buffer : Role::Weight;
  if (op == "BatchNormalization" || op == "LayerNormalization" ||
      op == "InstanceNormalization" || op == "GroupNormalization" ||
      op == "RMSNormalization")
    return i >= 1 ? Role::Weight : Role::Unknown;
  if (op == "PRelu")
    return i == 1 ? Role::Weight : Role::Unknown;
  if (op == "LSTM" || op == "GRU" || op == "RNN")
    // W, R, B, P; sequence lengths and initial states are not learned.
    return i == 1 || i == 2 || i == 3 || i == 7 ? Role::Weight : Role::Buffer;
  if (op == "QLinearConv" || op == "QLinearMatMul" || op == "ConvInteger" ||
      op == "MatMulInteger")
    return Role::Buffer; // scales and zero points
  if (op == "Mul")
    return isRopeMul(n, i) || isRopeFrequency(n, i) || isQuantScale(n, i)
               ? Role::Buffer
               : Role::Param;
  if (op == "Add") {
    // A bias: as sure as a weight operand (so a one-element bias, a Linear
    // with one output, still counts).
    if (n.getNumInputs() == 2 && isLinearOutput(n.getInput(1 - i)))
      return Role::Weight;
    if (!gathered && reachesSoftmax(n.getOutput(0)))
      return Role::Buffer; // an additive attention mask
    return Role::Param;    // a shift, a learned position table
  }
  if (op == "Concat") {
    // A learned token (ViT's class token) joins a computed stream.
    for (const Value *in : n.getInputs())
      if (in && !isConstantRooted(in))
        return Role::Param;
    return Role::Unknown;
  }
  // Masks and fill values, input normalisation (x - mean) / std, exponents,
  // bounds, pads, sizes and scales of resizes, ranges.
  static const StringSet<> buffers = {"Where",
                                      "Sub",
                                      "Div",
                                      "Range",
                                      "ConstantOfShape",
                                      "Resize",
                                      "Upsample",
                                      "Pad",
                                      "Clip",
                                      "TopK",
                                      "CumSum",
                                      "OneHot",
                                      "Trilu",
                                      "ScatterND",
                                      "ScatterElements",
                                      "ReduceSum",
                                      "ReduceMean",
                                      "ReduceMax",
                                      "ReduceMin",
                                      "ReduceProd",
                                      "ReduceL1",
                                      "ReduceL2",
                                      "ReduceSumSquare",
                                      "ReduceLogSum",
                                      "ReduceLogSumExp"};
  if (buffers.count(op))
    return i == 0 && op.startswith("Reduce") ? Role::Unknown : Role::Buffer;
  if (op == "Pow")
    return i == 1 ? Role::Buffer : Role::Unknown;
  return Role::Unknown;
}

} // namespace

uint64_t ParameterCounts::paramsOf(const Tensor *t) const {
  auto packed = packedValues.find(t);
  return uint64_t(copiesOf(t)) *
         (packed == packedValues.end() ? t->getNumElements() : packed->second);
}

ParameterCounts findParameters(const Model &m) {
  // Every value that holds each weight (one, unless a tensor is shared).
  MapVector<const Tensor *, SmallVector<const Value *, 1>> holders;
  m.forEachGraph([&](const Graph &g) {
    for (const Value *v : g.getInitializers())
      holders[v->getWeight()].push_back(v);
    for (const Node &n : g.getNodes())
      for (const Value *v : n.getOutputs())
        if (v && v->isWeight())
          holders[v->getWeight()].push_back(v);
  });

  ParameterCounts out;
  WeightRoles roles;
  for (auto &[t, values] : holders) {
    DataType dt = t->getDataType();
    if (dt == DataType::String || dt == DataType::Bool ||
        dt == DataType::Undefined)
      continue;
    bool integer = !isFloatingPoint(dt);
    bool scalar = t->getNumElements() < 2;
    unsigned readers = 0, paramReaders = 0;
    bool sawParam = false, sawUnknown = false, graphInput = false;
    for (const Value *v : values) {
      graphInput |= v->isGraphInput();
      if (v->isGraphOutput())
        sawUnknown = true;
      for (const Use &u : v->getUses()) {
        ++readers;
        Role r = roles.classify(u, integer);
        if (integer && r == Role::Weight)
          if (auto packed = packedValuesOf(*u.user, u.operandIndex, *t))
            out.packedValues[t] = *packed;
        // Integers are parameters only as quantized weights: classify()
        // gives them Weight in a quantized op's weight operand, and float
        // roles only past a DequantizeLinear. Scalars count only as a
        // weight operand or a bias (a single PRelu slope), never as
        // arithmetic constants (eps, 1/sqrt(d), the 2 of Pow).
        bool param = r == Role::Weight || (!scalar && r == Role::Param);
        sawParam |= param;
        sawUnknown |= r == Role::Unknown;
        paramReaders += param || (!integer && !scalar && r == Role::Unknown);
      }
    }
    // Floats nothing classifies (unknown ops, unused) stay parameters, as
    // they were counted before this rule.
    bool isParam =
        sawParam || (!integer && !scalar && (sawUnknown || !readers));
    if (!isParam)
      continue;
    // A splat read by several readers is an accidental merge: one logical
    // parameter per reader. Anything else shared is a real tie.
    unsigned copies = 1;
    if (paramReaders > 1 && !graphInput && t->isSplat())
      copies = paramReaders;
    out.copies[t] = copies;
  }
  return out;
}

std::optional<uint64_t> estimateNodeFlops(const Node &n, bool &allStatic,
                                          DerivedDims *derived) {
  if (!isDefaultDomain(n.getDomain()))
    return std::nullopt;
  DimsReader dimsOf(derived);
  StringRef op = n.getOpType();
  // Work on a local flag: a node without an estimate must not mark the
  // total as approximate.
  bool exact = true;
  auto done = [&](uint64_t f) -> std::optional<uint64_t> {
    if (!exact)
      allStatic = false;
    return f;
  };

  if (zeroCostOps().count(op))
    return 0;

  // Quantized convs count as the float conv they stand for (QLinearConv:
  // kernel at input 3, int32 bias at 8; ConvInteger: no bias).
  if (op == "Conv" || op == "ConvInteger" || op == "QLinearConv") {
    bool qlinear = op == "QLinearConv";
    auto w = dimsOf(n.getInput(qlinear ? 3 : 1), exact);
    if (!w || w->size() < 2)
      return std::nullopt;
    auto out = convOut(dimsOf, n, *w, exact);
    if (!out)
      return std::nullopt;
    dimsOf.remember(n, *out, exact);
    uint64_t f = 2 * product(*out) * product(*w, 1);
    if (op != "ConvInteger" && n.getInput(qlinear ? 8 : 2))
      f += product(*out);
    return done(f);
  }
  if (op == "ConvTranspose") {
    auto x = dimsOf(n.getInput(0), exact);
    auto w = dimsOf(n.getInput(1), exact);
    if (!x || !w || w->size() < 2)
      return std::nullopt;
    uint64_t f = 2 * product(*x) * product(*w, 1);
    if (n.getInput(2)) {
      auto out = dimsOf(n.getOutput(0), exact);
      if (!out)
        return std::nullopt;
      f += product(*out);
    }
    return done(f);
  }
  if (op == "Gemm") {
    auto a = dimsOf(n.getInput(0), exact);
    if (!a || a->size() != 2)
      return std::nullopt;
    bool transA = n.getIntAttr("transA", 0);
    auto out = dimsOf(n.getOutput(0), exact);
    if (!out) {
      // [M, N] from A and B.
      auto b = dimsOf(n.getInput(1), exact);
      if (!b || b->size() != 2)
        return std::nullopt;
      bool transB = n.getIntAttr("transB", 0);
      out = Dims{transA ? (*a)[1] : (*a)[0], transB ? (*b)[0] : (*b)[1]};
    }
    dimsOf.remember(n, *out, exact);
    int64_t k = transA ? (*a)[0] : (*a)[1];
    uint64_t f = 2 * product(*out) * product(k);
    if (n.getInput(2))
      f += product(*out);
    return done(f);
  }
  if (op == "MatMulInteger" || op == "QLinearMatMul") {
    auto a = dimsOf(n.getInput(0), exact);
    auto out = dimsOf(n.getOutput(0), exact);
    if (!a || a->empty() || !out)
      return std::nullopt;
    return done(2 * product(*out) * product(a->back()));
  }
  if (op == "MatMul") {
    auto a = dimsOf(n.getInput(0), exact);
    if (!a || a->empty())
      return std::nullopt;
    auto out = matMulOut(dimsOf, n, *a, exact);
    if (!out)
      return std::nullopt;
    dimsOf.remember(n, *out, exact);
    return done(2 * product(*out) * product(a->back()));
  }
  if (op == "BatchNormalization") {
    auto out = outOrIn0(dimsOf, n, exact);
    if (!out)
      return std::nullopt;
    dimsOf.remember(n, *out, exact);
    return done(2 * product(*out));
  }
  if (op == "MaxPool" || op == "AveragePool" || op == "LpPool") {
    auto out = dimsOf(n.getOutput(0), exact);
    auto kernel = n.getIntsAttr("kernel_shape");
    if (!out || !kernel)
      return std::nullopt;
    return done(product(*out) * product(*kernel));
  }
  if (op == "GlobalAveragePool" || op == "GlobalMaxPool" ||
      op == "GlobalLpPool" || reduceOps().count(op)) {
    auto in = dimsOf(n.getInput(0), exact);
    if (!in)
      return std::nullopt;
    return done(product(*in));
  }
  if (op == "Softmax" || op == "LogSoftmax") {
    auto out = outOrIn0(dimsOf, n, exact);
    if (!out)
      return std::nullopt;
    dimsOf.remember(n, *out, exact);
    return done(3 * product(*out));
  }
  if (op == "LayerNormalization") {
    auto out = outOrIn0(dimsOf, n, exact);
    if (!out)
      return std::nullopt;
    dimsOf.remember(n, *out, exact);
    return done(5 * product(*out));
  }
  if (unaryOps().count(op)) {
    auto out = outOrIn0(dimsOf, n, exact);
    if (!out)
      return std::nullopt;
    dimsOf.remember(n, *out, exact);
    return done(product(*out));
  }
  if (naryOps().count(op)) {
    auto out = elementwiseOut(dimsOf, n, exact);
    if (!out)
      return std::nullopt;
    dimsOf.remember(n, *out, exact);
    unsigned inputs = 0;
    for (const Value *v : n.getInputs())
      inputs += v != nullptr;
    // Where(cond, x, y) selects: one op per element.
    unsigned perElement = op == "Where" ? 1 : std::max(1u, inputs) - 1;
    return done(product(*out) * std::max(1u, perElement));
  }
  return std::nullopt;
}

ModelStats computeStats(const Model &m, const ParameterCounts &params) {
  ModelStats s;
  DenseSet<const Tensor *> seen;
  auto countWeight = [&](const Value *v) {
    const Tensor *t = v ? v->getWeight() : nullptr;
    if (!t || !seen.insert(t).second)
      return;
    ++s.numWeights;
    if (uint64_t p = params.paramsOf(t))
      s.numParams += p;
    else
      s.numBufferElements += t->getNumElements();
    s.weightBytes += t->getByteSize();
  };

  DerivedDims derived;
  visitGraph(m.getGraph(), [&](const Graph &g) {
    for (const Value *v : g.getInitializers())
      countWeight(v);
    for (const Node &n : g.getNodes()) {
      ++s.numNodes;
      ++s.nodesByOp[opKey(n)];
      for (const Value *out : n.getOutputs())
        countWeight(out);
      if (std::optional<uint64_t> f =
              estimateNodeFlops(n, s.flopsExact, &derived))
        s.flops += *f;
      else
        ++s.opsWithoutFlops[opKey(n)];
    }
  });
  return s;
}

ModelStats computeStats(const Model &m) {
  return computeStats(m, findParameters(m));
}

OriginalCounts originalCounts(Model &m, const ModelStats *current) {
  if (!m.original) {
    ModelStats computed;
    if (!current) {
      computed = computeStats(m);
      current = &computed;
    }
    m.original =
        OriginalCounts{current->numParams, current->flops, current->flopsExact};
  }
  return *m.original;
}

void ModelStats::print(raw_ostream &os, const Model &) const {
  os << "nodes: " << numNodes << '\n';
  for (const auto &entry : nodesByOp)
    os << "  " << entry.first << ": " << entry.second << '\n';
  os << "weights: " << numWeights << '\n';
  os << "params: " << numParams << '\n';
  os << "buffers: " << numBufferElements << '\n';
  os << "weight bytes: " << weightBytes << '\n';
  os << flopsLabel() << ": " << flops << '\n';
  uint64_t without = 0;
  for (const auto &entry : opsWithoutFlops)
    without += entry.second;
  os << "ops without a FLOP estimate: " << without << '\n';
  for (const auto &entry : opsWithoutFlops)
    os << "  " << entry.first << ": " << entry.second << '\n';
}

void printStatsDelta(raw_ostream &os, const ModelStats &before,
                     const ModelStats &after) {
  auto row = [&](StringRef label, uint64_t b, uint64_t a) {
    int64_t delta = static_cast<int64_t>(a) - static_cast<int64_t>(b);
    os << format("  %-26s %16llu %16llu %+16lld", label.str().c_str(),
                 (unsigned long long)b, (unsigned long long)a,
                 (long long)delta);
    if (b != 0)
      os << format(" (%+.1f%%)", 100.0 * delta / static_cast<double>(b));
    os << '\n';
  };
  os << "  " << left_justify("", 26) << ' ' << right_justify("before", 16)
     << ' ' << right_justify("after", 16) << ' ' << right_justify("delta", 16)
     << '\n';
  row("nodes", before.numNodes, after.numNodes);
  row("weights", before.numWeights, after.numWeights);
  row("params", before.numParams, after.numParams);
  row("buffers", before.numBufferElements, after.numBufferElements);
  row("weight bytes", before.weightBytes, after.weightBytes);
  bool exact = before.flopsExact && after.flopsExact;
  row(exact ? "FLOPs" : "FLOPs (static dims only)", before.flops, after.flops);
}

} // namespace onnxprune
