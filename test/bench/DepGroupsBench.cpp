//===- DepGroupsBench.cpp - How fast the dependency groups are built ------===//
///
/// \file
/// Google Benchmark of buildDepGraph (the dep-groups analysis) on synthetic
/// graphs built directly in the IR, no files:
///
///   BM_DepGroups_Llama/L    a Llama-3-shaped decoder with L layers: hidden
///                           4096, 32 heads of 128, GQA with 8 KV heads
///                           (repeat_kv as Unsqueeze -> Expand -> Reshape),
///                           RoPE rotate-half (Slice, Neg, Concat), RMSNorm
///                           decomposed (Pow, ReduceMean, Add, Sqrt, Div,
///                           Mul), SwiGLU MLP 14336, vocab 128256. L = 32 is
///                           Llama-3-8B, L = 80 Llama-3-70B's depth.
///   BM_ResidualUnits_Llama/L, BM_ResidualUnits_ResNet/B  the residual-units
///                           analysis (depth units) on the same graphs.
///   BM_DepGroups_ResNet/B   a ResNet-like stack of B basic blocks (Conv,
///                           Relu, Conv, Add, Relu) in 4 stages of widths
///                           64/128/256/512 with 1x1 projection shortcuts:
///                           about 5 nodes per block, up to ~100k nodes.
///
/// Float weights carry dims and no bytes: building the groups reads only
/// shapes and small int64 constants (Reshape targets, Slice bounds), which
/// are real. So an 8B-parameter graph costs a few MB.
///
/// Run: ninja -C build DepGroupsBench && build/bin/DepGroupsBench
/// (see test/bench/README.md for the numbers).
///
//===----------------------------------------------------------------------===//

#include "lib/IR/Model.h"
#include "passes/Analysis/DepGraph.h"
#include "passes/Analysis/ResidualUnits.h"

#include <benchmark/benchmark.h>

#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <vector>

namespace onnxprune {
namespace {

/// Builds a graph node by node with every value typed (static shapes).
class IRBuilder {
public:
  explicit IRBuilder(Model &m) : m(m), g(m.getGraph()) {
    m.irVersion = 8;
    m.opsetImports.push_back({"", 17});
  }

  static Type typeOf(DataType dt, const std::vector<int64_t> &dims) {
    Shape s;
    for (int64_t d : dims)
      s.push_back(Dim::of(d));
    return Type::tensor(dt, std::move(s));
  }

  /// A graph input.
  Value *input(const std::string &name, DataType dt,
               const std::vector<int64_t> &dims) {
    Value *v = g.createValue(name);
    v->setType(typeOf(dt, dims));
    g.addInput(v);
    return v;
  }

  /// A float weight with dims only (no bytes: nothing reads them).
  Value *weight(const std::string &name, const std::vector<int64_t> &dims) {
    Tensor *t = m.getWeights().add(
        std::make_unique<Tensor>(name, DataType::Float, dims));
    Value *v = g.createValue(name);
    v->setType(typeOf(DataType::Float, dims));
    g.setInitializer(v, t);
    return v;
  }

  /// A float scalar constant (one real value).
  Value *scalar(float x) {
    std::string name = "c" + std::to_string(counter++);
    auto t =
        std::make_unique<Tensor>(name, DataType::Float, std::vector<int64_t>{});
    std::string bytes(sizeof(float), '\0');
    std::memcpy(&bytes[0], &x, sizeof(float));
    t->setInlineBytes(std::move(bytes));
    Value *v = g.createValue(name);
    v->setType(typeOf(DataType::Float, {}));
    g.setInitializer(v, m.getWeights().add(std::move(t)));
    return v;
  }

  /// A 1-D int64 constant (Reshape targets, Slice bounds).
  Value *ints(const std::vector<int64_t> &vals) {
    std::string name = "i" + std::to_string(counter++);
    auto t = std::make_unique<Tensor>(
        name, DataType::Int64, std::vector<int64_t>{(int64_t)vals.size()});
    std::string bytes(vals.size() * sizeof(int64_t), '\0');
    std::memcpy(&bytes[0], vals.data(), bytes.size());
    t->setInlineBytes(std::move(bytes));
    Value *v = g.createValue(name);
    v->setType(typeOf(DataType::Int64, {(int64_t)vals.size()}));
    g.setInitializer(v, m.getWeights().add(std::move(t)));
    return v;
  }

  /// A node with one output of \p dims; attributes through \p attrs.
  Value *op(const char *opType, std::vector<Value *> ins,
            const std::vector<int64_t> &dims, std::vector<Attribute> attrs = {},
            DataType dt = DataType::Float) {
    std::string id = std::to_string(counter++);
    Node *n = g.createNode(opType, "", std::string(opType) + "_" + id);
    for (Value *v : ins)
      g.addNodeInput(n, v);
    for (Attribute &a : attrs)
      n->setAttr(std::move(a));
    Value *out = g.createValue("v" + id);
    out->setType(typeOf(dt, dims));
    g.addNodeOutput(n, out);
    ++numNodes;
    return out;
  }

  void output(Value *v) { g.addOutput(v); }

  unsigned numNodes = 0;

private:
  Model &m;
  Graph &g;
  unsigned counter = 0;
};

// ---- Llama ------------------------------------------------------------------

struct LlamaShape {
  int64_t hidden = 4096, heads = 32, kvHeads = 8, headDim = 128, mlp = 14336,
          vocab = 128256, seq = 8;
};

/// x * 1/sqrt(mean(x^2) + eps) * w, as exporters decompose it.
Value *rmsNorm(IRBuilder &b, Value *x, const std::string &w,
               const std::vector<int64_t> &dims) {
  std::vector<int64_t> red = dims;
  red.back() = 1;
  Value *p = b.op("Pow", {x, b.scalar(2)}, dims);
  Value *r = b.op("ReduceMean", {p}, red, [] {
    std::vector<Attribute> a;
    a.push_back(Attribute::ofInts("axes", {-1}));
    a.push_back(Attribute::ofInt("keepdims", 1));
    return a;
  }());
  Value *e = b.op("Add", {r, b.scalar(1e-6f)}, red);
  Value *s = b.op("Sqrt", {e}, red);
  Value *d = b.op("Div", {b.scalar(1), s}, red);
  Value *n = b.op("Mul", {x, d}, dims);
  return b.op("Mul", {n, b.weight(w, {dims.back()})}, dims);
}

std::vector<Attribute> attrs1(Attribute a) {
  std::vector<Attribute> v;
  v.push_back(std::move(a));
  return v;
}

/// q * cos + rotate_half(q) * sin on [1, h, S, d].
Value *rope(IRBuilder &b, Value *q, Value *cos, Value *sin,
            const std::vector<int64_t> &dims) {
  int64_t d = dims.back();
  std::vector<int64_t> half = dims;
  half.back() = d / 2;
  Value *qc = b.op("Mul", {q, cos}, dims);
  Value *q1 =
      b.op("Slice", {q, b.ints({0}), b.ints({d / 2}), b.ints({3}), b.ints({1})},
           half);
  Value *q2 =
      b.op("Slice",
           {q, b.ints({d / 2}), b.ints({std::numeric_limits<int64_t>::max()}),
            b.ints({3}), b.ints({1})},
           half);
  Value *nq2 = b.op("Neg", {q2}, half);
  Value *rot =
      b.op("Concat", {nq2, q1}, dims, attrs1(Attribute::ofInt("axis", -1)));
  Value *qs = b.op("Mul", {rot, sin}, dims);
  return b.op("Add", {qc, qs}, dims);
}

/// [1, kv, S, d] -> [1, kv * rep, S, d] (repeat_kv).
Value *repeatKV(IRBuilder &b, Value *k, int64_t kv, int64_t rep, int64_t S,
                int64_t d) {
  Value *u = b.op("Unsqueeze", {k, b.ints({2})}, {1, kv, 1, S, d});
  Value *e =
      b.op("Expand", {u, b.ints({1, kv, rep, S, d})}, {1, kv, rep, S, d});
  return b.op("Reshape", {e, b.ints({1, kv * rep, S, d})}, {1, kv * rep, S, d});
}

/// Builds the decoder into \p m; returns the number of nodes.
unsigned buildLlama(Model &m, unsigned layers, const LlamaShape &sh = {}) {
  IRBuilder b(m);
  const int64_t S = sh.seq, H = sh.hidden, Q = sh.heads * sh.headDim,
                KV = sh.kvHeads * sh.headDim, D = sh.headDim;
  const std::vector<int64_t> hid{1, S, H};
  Value *ids = b.input("input_ids", DataType::Int64, {1, S});
  Value *x =
      b.op("Gather", {b.weight("embed_tokens", {sh.vocab, H}), ids}, hid);
  Value *cos = b.weight("rope_cos", {1, 1, S, D});
  Value *sin = b.weight("rope_sin", {1, 1, S, D});
  Value *mask = b.weight("causal_mask", {1, 1, S, S});
  auto perm = [](std::vector<int64_t> p) {
    return attrs1(Attribute::ofInts("perm", p));
  };
  for (unsigned l = 0; l < layers; ++l) {
    std::string p = "layers." + std::to_string(l) + ".";
    Value *n = rmsNorm(b, x, p + "input_layernorm", hid);
    Value *q = b.op("MatMul", {n, b.weight(p + "q_proj", {H, Q})}, {1, S, Q});
    Value *k = b.op("MatMul", {n, b.weight(p + "k_proj", {H, KV})}, {1, S, KV});
    Value *v = b.op("MatMul", {n, b.weight(p + "v_proj", {H, KV})}, {1, S, KV});
    auto heads = [&](Value *t, int64_t h) {
      Value *r = b.op("Reshape", {t, b.ints({1, S, h, D})}, {1, S, h, D});
      return b.op("Transpose", {r}, {1, h, S, D}, perm({0, 2, 1, 3}));
    };
    Value *q4 = rope(b, heads(q, sh.heads), cos, sin, {1, sh.heads, S, D});
    Value *k4 = rope(b, heads(k, sh.kvHeads), cos, sin, {1, sh.kvHeads, S, D});
    Value *v4 = heads(v, sh.kvHeads);
    int64_t rep = sh.heads / sh.kvHeads;
    Value *kr = repeatKV(b, k4, sh.kvHeads, rep, S, D);
    Value *vr = repeatKV(b, v4, sh.kvHeads, rep, S, D);
    Value *kt =
        b.op("Transpose", {kr}, {1, sh.heads, D, S}, perm({0, 1, 3, 2}));
    Value *sc = b.op("MatMul", {q4, kt}, {1, sh.heads, S, S});
    Value *sc2 = b.op("Div", {sc, b.scalar(11.3137f)}, {1, sh.heads, S, S});
    Value *sc3 = b.op("Add", {sc2, mask}, {1, sh.heads, S, S});
    Value *pr = b.op("Softmax", {sc3}, {1, sh.heads, S, S},
                     attrs1(Attribute::ofInt("axis", -1)));
    Value *o = b.op("MatMul", {pr, vr}, {1, sh.heads, S, D});
    Value *ot = b.op("Transpose", {o}, {1, S, sh.heads, D}, perm({0, 2, 1, 3}));
    Value *o3 = b.op("Reshape", {ot, b.ints({1, S, Q})}, {1, S, Q});
    Value *op = b.op("MatMul", {o3, b.weight(p + "o_proj", {Q, H})}, hid);
    Value *h = b.op("Add", {x, op}, hid);
    Value *n2 = rmsNorm(b, h, p + "post_attention_layernorm", hid);
    const std::vector<int64_t> mid{1, S, sh.mlp};
    Value *gt =
        b.op("MatMul", {n2, b.weight(p + "gate_proj", {H, sh.mlp})}, mid);
    Value *sg = b.op("Sigmoid", {gt}, mid);
    Value *silu = b.op("Mul", {gt, sg}, mid);
    Value *up = b.op("MatMul", {n2, b.weight(p + "up_proj", {H, sh.mlp})}, mid);
    Value *gu = b.op("Mul", {silu, up}, mid);
    Value *dn =
        b.op("MatMul", {gu, b.weight(p + "down_proj", {sh.mlp, H})}, hid);
    x = b.op("Add", {h, dn}, hid);
  }
  Value *nf = rmsNorm(b, x, "norm", hid);
  b.output(b.op("MatMul", {nf, b.weight("lm_head", {H, sh.vocab})},
                {1, S, sh.vocab}));
  return b.numNodes;
}

// ---- ResNet-like ----------------------------------------------------------

/// \p blocks basic blocks over 4 stages (64/128/256/512 channels, 8x8
/// maps); the first block of stages 2-4 has a 1x1 projection shortcut.
unsigned buildResNet(Model &m, unsigned blocks) {
  IRBuilder b(m);
  const int64_t HW = 8;
  const int64_t widths[] = {64, 128, 256, 512};
  Value *x = b.input("input", DataType::Float, {1, 3, HW, HW});
  auto conv = [&](Value *in, int64_t cin, int64_t cout, int64_t k) {
    std::vector<Attribute> a;
    a.push_back(Attribute::ofInts("kernel_shape", {k, k}));
    a.push_back(Attribute::ofInts("pads", {k / 2, k / 2, k / 2, k / 2}));
    std::string id = std::to_string(b.numNodes);
    return b.op(
        "Conv",
        {in, b.weight("w" + id, {cout, cin, k, k}), b.weight("b" + id, {cout})},
        {1, cout, HW, HW}, std::move(a));
  };
  x = b.op("Relu", {conv(x, 3, widths[0], 3)}, {1, widths[0], HW, HW});
  int64_t c = widths[0];
  for (unsigned i = 0; i < blocks; ++i) {
    int64_t w = widths[std::min<unsigned>(3, i * 4 / std::max(blocks, 1u))];
    const std::vector<int64_t> d{1, w, HW, HW};
    Value *y = b.op("Relu", {conv(x, c, w, 3)}, d);
    y = conv(y, w, w, 3);
    Value *sc = c == w ? x : conv(x, c, w, 1);
    x = b.op("Relu", {b.op("Add", {y, sc}, d)}, d);
    c = w;
  }
  Value *gp = b.op("GlobalAveragePool", {x}, {1, c, 1, 1});
  Value *f = b.op("Flatten", {gp}, {1, c}, attrs1(Attribute::ofInt("axis", 1)));
  b.output(b.op("Gemm",
                {f, b.weight("fc_w", {1000, c}), b.weight("fc_b", {1000})},
                {1, 1000}, attrs1(Attribute::ofInt("transB", 1))));
  return b.numNodes;
}

// ---- Benchmarks -------------------------------------------------------------

void runDepGroups(benchmark::State &state, Model &m, unsigned nodes) {
  uint64_t groups = 0, prunable = 0;
  for (auto _ : state) {
    auto dg = buildDepGraph(m);
    if (!dg) {
      state.SkipWithError(llvm::toString(dg.takeError()).c_str());
      return;
    }
    groups = dg->getGroups().size();
    benchmark::DoNotOptimize(groups);
  }
  // The coverage count, once, outside the timed loop (it is computed when
  // printed, not when the groups are built).
  if (auto dg = buildDepGraph(m))
    prunable = dg->getPrunableParams();
  state.counters["nodes"] = nodes;
  state.counters["groups"] = (double)groups;
  state.counters["prunable_params"] = (double)prunable;
  state.counters["nodes/s"] =
      benchmark::Counter(nodes, benchmark::Counter::kIsIterationInvariantRate);
}

void BM_DepGroups_Llama(benchmark::State &state) {
  Model m;
  unsigned nodes = buildLlama(m, (unsigned)state.range(0));
  runDepGroups(state, m, nodes);
}
BENCHMARK(BM_DepGroups_Llama)
    ->Arg(32)
    ->Arg(80)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

void BM_DepGroups_ResNet(benchmark::State &state) {
  Model m;
  unsigned nodes = buildResNet(m, (unsigned)state.range(0));
  runDepGroups(state, m, nodes);
}
BENCHMARK(BM_DepGroups_ResNet)
    ->Arg(200)
    ->Arg(1000)
    ->Arg(5000)
    ->Arg(10000)
    ->Arg(20000)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

void runResidualUnits(benchmark::State &state, Model &m, unsigned nodes) {
  size_t units = 0, droppable = 0;
  for (auto _ : state) {
    ResidualUnits r = findResidualUnits(m);
    units = r.units.size();
    benchmark::DoNotOptimize(units);
  }
  for (const ResidualUnit &u : findResidualUnits(m).units)
    droppable += u.droppable();
  state.counters["nodes"] = nodes;
  state.counters["units"] = (double)units;
  state.counters["droppable"] = (double)droppable;
}

void BM_ResidualUnits_Llama(benchmark::State &state) {
  Model m;
  unsigned nodes = buildLlama(m, (unsigned)state.range(0));
  runResidualUnits(state, m, nodes);
}
BENCHMARK(BM_ResidualUnits_Llama)
    ->Arg(32)
    ->Arg(80)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

void BM_ResidualUnits_ResNet(benchmark::State &state) {
  Model m;
  unsigned nodes = buildResNet(m, (unsigned)state.range(0));
  runResidualUnits(state, m, nodes);
}
BENCHMARK(BM_ResidualUnits_ResNet)
    ->Arg(1000)
    ->Arg(20000)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

} // namespace
} // namespace onnxprune

BENCHMARK_MAIN();
