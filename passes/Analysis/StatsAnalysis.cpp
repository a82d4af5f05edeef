//===- StatsAnalysis.cpp - Size and cost of a model -----------------------===//
///
/// \file
/// Node, weight, parameter and FLOP counts (conventions in the header).
///
//===----------------------------------------------------------------------===//

#include "passes/Analysis/StatsAnalysis.h"

#include "lib/IR/Tensor.h"

#include "llvm/ADT/DenseSet.h"
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

} // namespace

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

  if (op == "Conv") {
    auto w = dimsOf(n.getInput(1), exact);
    if (!w || w->size() < 2)
      return std::nullopt;
    auto out = convOut(dimsOf, n, *w, exact);
    if (!out)
      return std::nullopt;
    dimsOf.remember(n, *out, exact);
    uint64_t f = 2 * product(*out) * product(*w, 1);
    if (n.getInput(2))
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

ModelStats computeStats(const Model &m) {
  ModelStats s;
  DenseSet<const Tensor *> seen;
  auto countWeight = [&](const Value *v) {
    const Tensor *t = v ? v->getWeight() : nullptr;
    if (!t || !seen.insert(t).second)
      return;
    ++s.numWeights;
    if (isFloatingPoint(t->getDataType()))
      s.numParams += t->getNumElements();
    else
      s.numIntWeightElements += t->getNumElements();
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

void ModelStats::print(raw_ostream &os, const Model &) const {
  os << "nodes: " << numNodes << '\n';
  for (const auto &entry : nodesByOp)
    os << "  " << entry.first << ": " << entry.second << '\n';
  os << "weights: " << numWeights << '\n';
  os << "params: " << numParams << '\n';
  os << "int weight elements: " << numIntWeightElements << '\n';
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
  row("weight bytes", before.weightBytes, after.weightBytes);
  bool exact = before.flopsExact && after.flopsExact;
  row(exact ? "FLOPs" : "FLOPs (static dims only)", before.flops, after.flops);
}

} // namespace onnxprune
