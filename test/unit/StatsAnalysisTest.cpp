//===- StatsAnalysisTest.cpp - Tests of stats, shapes and the verifier ----===//
///
/// \file
/// computeStats on small Conv/Gemm/MatMul graphs with FLOPs worked out by
/// hand, which weights are parameters and which buffers (the rule in
/// StatsAnalysis.h, on small text models of each pattern), the print<stats>
/// and print<shapes> texts, originalCounts (recorded once, kept through
/// later passes), and the structural verifier on good and broken graphs.
///
//===----------------------------------------------------------------------===//

#include "passes/Analysis/StatsAnalysis.h"
#include "frontends/onnx/ModelReader.h"
#include "lib/IR/IRVerifier.h"
#include "passes/Analysis/ShapesAnalysis.h"
#include "passes/Transforms/DCEPass.h"

#include "gtest/gtest.h"

using namespace onnxprune;
using llvm::ArrayRef;
using llvm::StringRef;

namespace {

Type tensorType(DataType dt, ArrayRef<Dim> dims) {
  Shape s(dims.begin(), dims.end());
  return Type::tensor(dt, s);
}

Type floatTensor(ArrayRef<int64_t> dims) {
  Shape s;
  for (int64_t d : dims)
    s.push_back(Dim::of(d));
  return Type::tensor(DataType::Float, s);
}

class AnalysisTest : public ::testing::Test {
protected:
  Graph &g() { return m.getGraph(); }

  Value *input(StringRef name, Type t) {
    Value *v = g().createValue(name);
    v->setType(std::move(t));
    g().addInput(v);
    return v;
  }
  Value *weight(StringRef name, DataType dt, ArrayRef<int64_t> dims) {
    auto t = std::make_unique<Tensor>(name.str(), dt, dims);
    uint64_t n = 1;
    for (int64_t d : dims)
      n *= d;
    t->setData(dims, std::string(storageBytes(dt, n), '\0'));
    Tensor *raw = m.getWeights().add(std::move(t));
    Value *v = g().createValue(name);
    g().setInitializer(v, raw);
    Shape s;
    for (int64_t d : dims)
      s.push_back(Dim::of(d));
    v->setType(Type::tensor(dt, s));
    return v;
  }
  Node *node(StringRef op, ArrayRef<Value *> ins, StringRef out, Type outType,
             StringRef name) {
    Node *n = g().createNode(op, "", name);
    for (Value *v : ins)
      g().addNodeInput(n, v);
    Value *v = g().createValue(out);
    v->setType(std::move(outType));
    g().addNodeOutput(n, v);
    return n;
  }

  /// x[N?,3,8,8] -> Conv(W[4,3,3,3], B[4]) -> [.,4,6,6] -> Relu ->
  /// Reshape(shape int64[2]) -> [.,144] -> Gemm(Wg[10,144]^T, C[10]) ->
  /// [.,10].
  void buildConvGemm(Dim batch) {
    Value *x =
        input("x", tensorType(DataType::Float,
                              {batch, Dim::of(3), Dim::of(8), Dim::of(8)}));
    Value *w = weight("W", DataType::Float, {4, 3, 3, 3});
    Value *b = weight("B", DataType::Float, {4});
    Value *shape = weight("shape", DataType::Int64, {2});
    Value *wg = weight("Wg", DataType::Float, {10, 144});
    Value *c = weight("C", DataType::Float, {10});
    Node *conv = node("Conv", {x, w, b}, "y",
                      tensorType(DataType::Float,
                                 {batch, Dim::of(4), Dim::of(6), Dim::of(6)}),
                      "conv");
    conv->setAttr(Attribute::ofInts("kernel_shape", {3, 3}));
    Node *relu = node("Relu", {conv->getOutput(0)}, "r",
                      tensorType(DataType::Float,
                                 {batch, Dim::of(4), Dim::of(6), Dim::of(6)}),
                      "relu");
    Node *reshape =
        node("Reshape", {relu->getOutput(0), shape}, "f",
             tensorType(DataType::Float, {batch, Dim::of(144)}), "reshape");
    Node *gemm =
        node("Gemm", {reshape->getOutput(0), wg, c}, "out",
             tensorType(DataType::Float, {batch, Dim::of(10)}), "gemm");
    gemm->setAttr(Attribute::ofInt("transB", 1));
    g().addOutput(gemm->getOutput(0));
  }

  Model m;
};

//===----------------------------------------------------------------------===//
// stats
//===----------------------------------------------------------------------===//

TEST_F(AnalysisTest, ConvGemmCountsByHand) {
  buildConvGemm(Dim::of(1));
  ModelStats s = computeStats(m);
  EXPECT_EQ(s.numNodes, 4u);
  std::map<std::string, uint64_t> ops = {
      {"Conv", 1}, {"Gemm", 1}, {"Relu", 1}, {"Reshape", 1}};
  EXPECT_EQ(s.nodesByOp, ops);
  EXPECT_EQ(s.numWeights, 5u);
  // W 108 + B 4 + Wg 1440 + C 10.
  EXPECT_EQ(s.numParams, 1562u);
  EXPECT_EQ(s.numBufferElements, 2u);
  EXPECT_EQ(s.weightBytes, 1562u * 4 + 2 * 8);
  // Conv: 2 * (1*4*6*6) * (3*3*3) + 144 bias adds = 7776 + 144 = 7920.
  // Relu: 144. Reshape: 0.
  // Gemm: 2 * (1*10) * 144 + 10 bias adds = 2890.
  EXPECT_EQ(s.flops, 7920u + 144u + 2890u);
  EXPECT_TRUE(s.flopsExact);
  EXPECT_TRUE(s.opsWithoutFlops.empty());

  std::string text;
  llvm::raw_string_ostream os(text);
  s.print(os, m);
  EXPECT_EQ(os.str(), "nodes: 4\n"
                      "  Conv: 1\n"
                      "  Gemm: 1\n"
                      "  Relu: 1\n"
                      "  Reshape: 1\n"
                      "weights: 5\n"
                      "params: 1562\n"
                      "buffers: 2\n"
                      "weight bytes: 6264\n"
                      "FLOPs: 10954\n"
                      "ops without a FLOP estimate: 0\n");
}

TEST_F(AnalysisTest, SymbolicDimsCountAsOne) {
  buildConvGemm(Dim::symbol("N"));
  ModelStats s = computeStats(m);
  EXPECT_EQ(s.flops, 10954u);
  EXPECT_FALSE(s.flopsExact);
  EXPECT_EQ(s.flopsLabel(), "FLOPs (static dims only)");
}

TEST_F(AnalysisTest, MatMulElementwiseAndUnknownOps) {
  Value *a = input("a", floatTensor({2, 5, 16}));
  Value *w = weight("Wm", DataType::Float, {16, 8});
  Node *mm = node("MatMul", {a, w}, "mm", floatTensor({2, 5, 8}), "mm");
  Value *bias = weight("bias", DataType::Float, {8});
  Node *add = node("Add", {mm->getOutput(0), bias}, "sum",
                   floatTensor({2, 5, 8}), "add");
  Node *custom = g().createNode("Fancy", "com.example", "custom");
  g().addNodeInput(custom, add->getOutput(0));
  Value *fo = g().createValue("fancy_out");
  g().addNodeOutput(custom, fo);
  Node *sm = node("Softmax", {fo}, "p", floatTensor({2, 5, 8}), "softmax");
  g().addOutput(sm->getOutput(0));

  ModelStats s = computeStats(m);
  // MatMul: 2 * 80 * 16 = 2560; Add: 80; Softmax: 3 * 80 = 240.
  EXPECT_EQ(s.flops, 2560u + 80u + 240u);
  EXPECT_TRUE(s.flopsExact);
  std::map<std::string, uint64_t> without = {{"com.example.Fancy", 1}};
  EXPECT_EQ(s.opsWithoutFlops, without);
  EXPECT_EQ(s.nodesByOp.count("com.example.Fancy"), 1u);
}

TEST_F(AnalysisTest, PoolingAndBatchNorm) {
  Value *x = input("x", floatTensor({1, 4, 8, 8}));
  Value *scale = weight("s", DataType::Float, {4});
  Value *bias = weight("b", DataType::Float, {4});
  Value *mean = weight("mu", DataType::Float, {4});
  Value *var = weight("var", DataType::Float, {4});
  Node *bn = node("BatchNormalization", {x, scale, bias, mean, var}, "bn",
                  floatTensor({1, 4, 8, 8}), "bn");
  Node *pool = node("MaxPool", {bn->getOutput(0)}, "pool",
                    floatTensor({1, 4, 4, 4}), "pool");
  pool->setAttr(Attribute::ofInts("kernel_shape", {2, 2}));
  Node *gap = node("GlobalAveragePool", {pool->getOutput(0)}, "gap",
                   floatTensor({1, 4, 1, 1}), "gap");
  g().addOutput(gap->getOutput(0));
  ModelStats s = computeStats(m);
  // BN: 2 * 256 = 512; MaxPool: 64 * 4 = 256; GAP: 64.
  EXPECT_EQ(s.flops, 512u + 256u + 64u);
}

TEST_F(AnalysisTest, OutputShapesDerivedWhenUnknown) {
  // No types on the node outputs: dims come from the inputs and attributes.
  Value *x = input("x", floatTensor({1, 3, 8, 8}));
  Value *w = weight("W", DataType::Float, {4, 3, 3, 3});
  Node *conv = node("Conv", {x, w}, "y", Type(), "conv");
  conv->setAttr(Attribute::ofInts("strides", {2, 2}));
  conv->setAttr(Attribute::ofInts("pads", {1, 1, 1, 1}));
  Value *a = input("a", floatTensor({2, 5, 16}));
  Value *wm = weight("Wm", DataType::Float, {16, 8});
  Node *mm = node("MatMul", {a, wm}, "mm", Type(), "mm");
  Value *bias = weight("bias", DataType::Float, {8});
  Node *add = node("Add", {bias, mm->getOutput(0)}, "sum", Type(), "add");
  g().addOutput(conv->getOutput(0));
  g().addOutput(add->getOutput(0));

  ModelStats s = computeStats(m);
  // Conv: out [1,4,4,4] ((8 + 2 - 3) / 2 + 1 = 4): 2 * 64 * 27 = 3456.
  // MatMul: out [2,5,8]: 2 * 80 * 16 = 2560. Add: broadcast [2,5,8]: 80.
  EXPECT_EQ(s.flops, 3456u + 2560u + 80u);
  EXPECT_TRUE(s.opsWithoutFlops.empty());
}

TEST_F(AnalysisTest, DeltaTable) {
  ModelStats before, after;
  before.numNodes = 10;
  after.numNodes = 8;
  before.numParams = 1000;
  after.numParams = 700;
  std::string text;
  llvm::raw_string_ostream os(text);
  printStatsDelta(os, before, after);
  EXPECT_NE(os.str().find("nodes"), std::string::npos);
  EXPECT_NE(os.str().find("-2 (-20.0%)"), std::string::npos) << os.str();
  EXPECT_NE(os.str().find("-300 (-30.0%)"), std::string::npos) << os.str();
}

//===----------------------------------------------------------------------===//
// parameters and buffers (the rule in StatsAnalysis.h)
//===----------------------------------------------------------------------===//

std::unique_ptr<Model> parseText(const std::string &text) {
  auto m = readModelFromBuffer(text, ModelFormat::Text, "", "test");
  EXPECT_TRUE(bool(m)) << llvm::toString(m.takeError());
  return m ? std::move(*m) : nullptr;
}

/// Parameter copies per weight name (0: buffer).
std::map<std::string, unsigned> copiesByName(const Model &m) {
  ParameterCounts p = findParameters(m);
  std::map<std::string, unsigned> out;
  for (const Value *v : m.getGraph().getInitializers())
    out[v->getName()] = p.copiesOf(v->getWeight());
  return out;
}

// Both torch exporters merge bit-identical tensors: one all-ones tensor is
// the weight of three norms (two read through Identity as TorchScript
// writes it, one directly as dynamo does), one all-zeros tensor the bias
// of two linear layers. Each reader is its own parameter. W is read twice
// but is not a splat: a real tie, counted once as torch counts it.
TEST(ParameterCountTest, MergedSplatsCountPerReaderTiesOnce) {
  auto m = parseText(R"(
<ir_version: 8, opset_import: ["" : 17]>
g (float[2,4] X) => (float[2,4] Y)
<float[4] ones = {1, 1, 1, 1}, float[4] zeros = {0, 0, 0, 0},
 float[4,4] W = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}>
{
  w0 = Identity(ones)
  w1 = Identity(ones)
  A = Mul(X, w0)
  B = Mul(A, w1)
  C = Mul(B, ones)
  D = MatMul(C, W)
  E = Add(D, zeros)
  F = MatMul(E, W)
  Y = Add(F, zeros)
}
)");
  ASSERT_TRUE(m);
  // The reader unties the splats (lib/IR/UntieWeights.h): each reader
  // holds its own copy, one parameter each; W stays shared.
  std::map<std::string, unsigned> want = {{"ones", 1},    {"ones_1", 1},
                                          {"ones_2", 1},  {"zeros", 1},
                                          {"zeros_1", 1}, {"W", 1}};
  EXPECT_EQ(copiesByName(*m), want);
  ModelStats s = computeStats(*m);
  EXPECT_EQ(s.numParams, 12u + 8u + 16u);
  EXPECT_EQ(s.numBufferElements, 0u);
}

// A decoder layer's buffers: an RMSNorm's eps and exponent (scalars), RoPE
// cos/sin caches (x * cos + rotate_half(x) * sin), inv_freq times positions
// on to Cos, an additive causal mask before Softmax, slice bounds. Only
// the norm weight and the projections are parameters.
TEST(ParameterCountTest, MasksRopeTablesAndScalarsAreBuffers) {
  auto m = parseText(R"(
<ir_version: 8, opset_import: ["" : 17]>
g (float[1,8,4] X) => (float[1,8,4] Y, float[8,4] C)
<float[4] normw = {0.5, 1.5, 1, 2}, float two = {2.0}, float eps = {1e-6},
 float[4,4] Wq = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16},
 float[4,4] Wk = {1, 0, 0, 1, 0, 1, 1, 0, 2, 0, 0, 2, 0, 2, 2, 0},
 float[8,4] cos = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
                   17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32},
 float[8,4] sin = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
                   17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32},
 float[8,8] mask = {0, -1, -1, -1, -1, -1, -1, -1, 0, 0, -1, -1, -1, -1, -1, -1,
                    0, 0, 0, -1, -1, -1, -1, -1, 0, 0, 0, 0, -1, -1, -1, -1,
                    0, 0, 0, 0, 0, -1, -1, -1, 0, 0, 0, 0, 0, 0, -1, -1,
                    0, 0, 0, 0, 0, 0, 0, -1, 0, 0, 0, 0, 0, 0, 0, 0},
 float[1,2] inv_freq = {1, 0.01},
 int64[1] lo = {0}, int64[1] mid = {2}, int64[1] hi = {4}, int64[1] last = {-1},
 int64 start = {0}, int64 len = {8}, int64 step = {1}, int64[1] one = {1}>
{
  sq = Pow(X, two)
  ms = ReduceMean <axes = [-1]> (sq)
  mse = Add(ms, eps)
  r = Sqrt(mse)
  n = Div(X, r)
  h = Mul(n, normw)
  q = MatMul(h, Wq)
  k = MatMul(h, Wk)
  x1 = Slice(q, lo, mid, last)
  x2 = Slice(q, mid, hi, last)
  nx2 = Neg(x2)
  rot = Concat <axis = -1> (nx2, x1)
  qc = Mul(q, cos)
  qs = Mul(rot, sin)
  qr = Add(qc, qs)
  kt = Transpose <perm = [0, 2, 1]> (k)
  sc = MatMul(qr, kt)
  sm = Add(sc, mask)
  p = Softmax <axis = -1> (sm)
  Y = MatMul(p, h)
  pos = Range(start, len, step)
  posf = Cast <to = 1> (pos)
  posu = Unsqueeze(posf, one)
  freqs = MatMul(posu, inv_freq)
  emb = Concat <axis = -1> (freqs, freqs)
  C = Cos(emb)
}
)");
  ASSERT_TRUE(m);
  std::map<std::string, unsigned> copies = copiesByName(*m);
  for (const char *param : {"normw", "Wq", "Wk"})
    EXPECT_EQ(copies[param], 1u) << param;
  for (const char *buffer :
       {"two", "eps", "cos", "sin", "mask", "inv_freq", "lo", "mid", "hi",
        "last", "start", "len", "step", "one"})
    EXPECT_EQ(copies[buffer], 0u) << buffer;
  ModelStats s = computeStats(*m);
  EXPECT_EQ(s.numParams, 4u + 16u + 16u);
  // 2 scalars, cos and sin 32 each, mask 64, inv_freq 2, 8 integers.
  EXPECT_EQ(s.numBufferElements, 2u + 64u + 64u + 2u + 8u);

  std::string text;
  llvm::raw_string_ostream os(text);
  s.print(os, *m);
  EXPECT_NE(os.str().find("params: 36\nbuffers: 140\n"), std::string::npos)
      << os.str();
}

// BatchNorm's running statistics are buffers (as in torch); a bias added
// to a linear output before a Softmax is a bias, not a mask; a single PRelu
// slope is a parameter although it is a scalar.
TEST(ParameterCountTest, BatchNormStatisticsBiasBeforeSoftmaxPReluSlope) {
  auto m = parseText(R"(
<ir_version: 8, opset_import: ["" : 17]>
g (float[2,3,2,2] X) => (float[2,5] P)
<float[3] s = {1, 2, 3}, float[3] b = {0.1, 0.2, 0.3},
 float[3] mu = {0.5, 0.6, 0.7}, float[3] var = {1, 2, 3},
 float[1] slope = {0.25}, int64[2] shape = {2, 12},
 float[12,5] W = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18,
                  19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33,
                  34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48,
                  49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60},
 float[5] c = {1, 2, 3, 4, 5}>
{
  n = BatchNormalization(X, s, b, mu, var)
  z = PRelu(n, slope)
  f = Reshape(z, shape)
  l = MatMul(f, W)
  lb = Add(l, c)
  P = Softmax <axis = 1> (lb)
}
)");
  ASSERT_TRUE(m);
  std::map<std::string, unsigned> want = {
      {"s", 1},     {"b", 1},     {"mu", 0}, {"var", 0},
      {"slope", 1}, {"shape", 0}, {"W", 1},  {"c", 1}};
  EXPECT_EQ(copiesByName(*m), want);
  ModelStats s = computeStats(*m);
  EXPECT_EQ(s.numParams, 3u + 3u + 1u + 60u + 5u);
  EXPECT_EQ(s.numBufferElements, 3u + 3u + 2u);
}

// Quantized weights are parameters (one per quantized value), integers or
// not: QDQ int8 read through DequantizeLinear, MatMulInteger's uint8 B,
// com.microsoft MatMulNBits' packed uint8 B (N x K = 32 values in 16
// bytes), an int8 embedding table dequantized and gathered. Scales and
// zero points are buffers.
TEST(ParameterCountTest, QuantizedWeightsAreParameters) {
  auto m = parseText(R"(
<ir_version: 8, opset_import: ["" : 17, "com.microsoft" : 1]>
g (float[2,4] X, uint8[2,4] Xq, float[2,16] X16, int64[1,3] ids) => (float[2,3] Y, int32[2,3] Yi, float[2,2] Yn, float[1,3,2] Ye)
<int8[4,3] Wq = {1, -2, 3, -4, 5, -6, 7, -8, 9, -10, 11, -12},
 float[3] ws = {0.1, 0.2, 0.3}, int8[3] wz = {0, 0, 0},
 uint8[4,3] Wi = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, uint8 xz = {128},
 uint8 wiz = {3},
 uint8[2,1,8] Bn = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16},
 float[2] bs = {0.5, 0.25},
 int8[5,2] Eq = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, float es = {0.1}>
{
  W = DequantizeLinear <axis = 1> (Wq, ws, wz)
  Y = MatMul(X, W)
  Yi = MatMulInteger(Xq, Wi, xz, wiz)
  Yn = com.microsoft.MatMulNBits <K = 16, N = 2, bits = 4, block_size = 16> (X16, Bn, bs)
  E = DequantizeLinear(Eq, es)
  Ye = Gather(E, ids)
}
)");
  ASSERT_TRUE(m);
  std::map<std::string, unsigned> want = {
      {"Wq", 1},  {"ws", 0}, {"wz", 0}, {"Wi", 1}, {"xz", 0},
      {"wiz", 0}, {"Bn", 1}, {"bs", 0}, {"Eq", 1}, {"es", 0}};
  EXPECT_EQ(copiesByName(*m), want);
  ModelStats s = computeStats(*m);
  EXPECT_EQ(s.numParams, 12u + 12u + 2u * 16u + 10u);
  EXPECT_EQ(s.numBufferElements, 3u + 3u + 1u + 1u + 2u + 1u);
}

// Quantized convs and matmuls cost what the float op they stand for costs:
// ConvInteger like a bias-free Conv, QLinearConv like a Conv with its bias
// (kernel at input 3, bias at 8), MatMulInteger and QLinearMatMul like
// MatMul. DynamicQuantizeLinear has no estimate (not a MAC op).
TEST(FlopCountTest, QuantizedConvAndMatMul) {
  auto m = parseText(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (uint8[1,3,6,6] X, uint8[2,4] A) => (int32[1,4,6,6] C, uint8[1,4,6,6] Q, int32[2,3] M, uint8[2,3] L)
<uint8[4,3,3,3] W = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
 int32[4] B = {1, 2, 3, 4}, float s = {0.1}, uint8 z = {128},
 uint8[4,3] Wm = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}>
{
  C = ConvInteger <pads = [1, 1, 1, 1]> (X, W, z, z)
  Q = QLinearConv <pads = [1, 1, 1, 1]> (X, s, z, W, s, z, s, z, B)
  M = MatMulInteger(A, Wm, z, z)
  L = QLinearMatMul(A, s, z, Wm, s, z, s, z)
}
)");
  ASSERT_TRUE(m);
  ModelStats s = computeStats(*m);
  // Conv: 2 * (1*4*6*6) * (3*3*3) = 7776, + 144 bias adds for QLinearConv;
  // MatMul: 2 * (2*3) * 4 = 48 each.
  EXPECT_EQ(s.flops, 7776u + (7776u + 144u) + 48u + 48u);
  EXPECT_TRUE(s.opsWithoutFlops.empty());
}

// Lookup tables are parameters: token embeddings gathered by input ids,
// learned positions gathered by (sliced) position ids and added, token
// types, and a relative-attention bias gathered by computed buckets and
// added to the scores before Softmax (T5). The id buffers are not.
TEST(ParameterCountTest, EmbeddingsAndGatheredBiasTables) {
  auto m = parseText(R"(
<ir_version: 8, opset_import: ["" : 17]>
g (int64[1,4] ids, int64[4,4] buckets, float[1,2,4,4] scores) => (float[1,4,2] Y, float[1,2,4,4] S)
<float[6,2] tok = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12},
 float[8,2] pos = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16},
 int64[1,8] posids = {0, 1, 2, 3, 4, 5, 6, 7},
 float[2,2] tt = {1, 2, 3, 4}, int64[1,4] ttids = {0, 0, 0, 0},
 float[5,2] rel = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10},
 int64[1] zero = {0}, int64[1] four = {4}, int64[1] one = {1}>
{
  e = Gather(tok, ids)
  pidx = Slice(posids, zero, four, one)
  pe = Gather(pos, pidx)
  e2 = Add(e, pe)
  te = Gather(tt, ttids)
  Y = Add(e2, te)
  rb = Gather(rel, buckets)
  rbt = Transpose <perm = [2, 0, 1]> (rb)
  rbu = Unsqueeze(rbt, zero)
  sb = Add(scores, rbu)
  S = Softmax <axis = -1> (sb)
}
)");
  ASSERT_TRUE(m);
  std::map<std::string, unsigned> want = {
      {"tok", 1}, {"pos", 1},  {"posids", 0}, {"tt", 1}, {"ttids", 0},
      {"rel", 1}, {"zero", 0}, {"four", 0},   {"one", 0}};
  EXPECT_EQ(copiesByName(*m), want);
}

// ViT: the input normalisation (x - mean) / std is buffers; the patch conv,
// the class token concatenated to the patches, the position table added to
// them and the LayerNorm are parameters.
TEST(ParameterCountTest, ClassTokenPositionTableAndInputNormalisation) {
  auto m = parseText(R"(
<ir_version: 8, opset_import: ["" : 17]>
g (float[1,3,4,4] X) => (float[1,5,3] Y)
<float[1,3,1,1] mean = {0.4, 0.5, 0.6}, float[1,3,1,1] std = {0.2, 0.3, 0.4},
 float[3,3,2,2] Wc = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17,
                      18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31,
                      32, 33, 34, 35, 36},
 int64[3] shp = {1, 3, 4}, float[1,1,3] cls = {1, 2, 3},
 float[1,5,3] posemb = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15},
 float[3] lns = {1, 2, 3}, float[3] lnb = {4, 5, 6}>
{
  xn = Sub(X, mean)
  xs = Div(xn, std)
  p = Conv <kernel_shape = [2, 2], strides = [2, 2]> (xs, Wc)
  f = Reshape(p, shp)
  t = Transpose <perm = [0, 2, 1]> (f)
  c = Concat <axis = 1> (cls, t)
  e = Add(c, posemb)
  Y = LayerNormalization(e, lns, lnb)
}
)");
  ASSERT_TRUE(m);
  std::map<std::string, unsigned> want = {
      {"mean", 0}, {"std", 0},    {"Wc", 1},  {"shp", 0},
      {"cls", 1},  {"posemb", 1}, {"lns", 1}, {"lnb", 1}};
  EXPECT_EQ(copiesByName(*m), want);
}

//===----------------------------------------------------------------------===//
// shapes
//===----------------------------------------------------------------------===//

TEST_F(AnalysisTest, ShapesPrintsEveryValueInOrder) {
  g().name = "main";
  buildConvGemm(Dim::symbol("N"));
  std::string text;
  llvm::raw_string_ostream os(text);
  computeShapes(m).print(os, m);
  EXPECT_EQ(os.str(), "graph 'main':\n"
                      "  input x: float[N,3,8,8]\n"
                      "  weight W: float[4,3,3,3]\n"
                      "  weight B: float[4]\n"
                      "  weight shape: int64[2]\n"
                      "  weight Wg: float[10,144]\n"
                      "  weight C: float[10]\n"
                      "  value y: float[N,4,6,6]\n"
                      "  value r: float[N,4,6,6]\n"
                      "  value f: float[N,144]\n"
                      "  value out: float[N,10]\n");
}

//===----------------------------------------------------------------------===//
// originalCounts (what budgets are relative to)
//===----------------------------------------------------------------------===//

// W (16) feeds Y; Wd (8) feeds a dead MatMul that dce removes. FLOPs:
// MatMul 2 * prod(out) * K = 2 * 8 * 4 = 64, the dead one 2 * 4 * 4 = 32.
const char *DeadBranch = R"(
<ir_version: 8, opset_import: ["" : 17]>
g (float[2,4] X) => (float[2,4] Y)
<float[4,4] W = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16},
 float[4,2] Wd = {1, 2, 3, 4, 5, 6, 7, 8}>
{
  Y = MatMul(X, W)
  D = MatMul(X, Wd)
}
)";

TEST(OriginalCountsTest, RecordedOnceUnchangedByLaterPasses) {
  auto m = parseText(DeadBranch);
  ASSERT_TRUE(m);
  EXPECT_FALSE(m->original.has_value());
  OriginalCounts first = originalCounts(*m);
  EXPECT_EQ(first.params, 24u);
  EXPECT_EQ(first.flops, 96u);
  EXPECT_TRUE(first.flopsExact);
  ASSERT_TRUE(m->original.has_value());
  EXPECT_EQ(m->original->params, 24u);

  // A pass shrinks the model: its counts change, the original's do not.
  ModelAnalysisManager am;
  ASSERT_TRUE(bool(DCEPass().run(*m, am)));
  ModelStats now = computeStats(*m);
  EXPECT_EQ(now.numParams, 16u);
  EXPECT_EQ(now.flops, 64u);
  OriginalCounts again = originalCounts(*m, &now);
  EXPECT_EQ(again.params, 24u);
  EXPECT_EQ(again.flops, 96u);
  EXPECT_EQ(originalCounts(*m).params, 24u);
}

TEST(OriginalCountsTest, UsesTheCallersFigures) {
  // Figures the caller computed already are recorded as given, not
  // counted again (the tool reuses --stats' counts).
  auto m = parseText(DeadBranch);
  ASSERT_TRUE(m);
  ModelStats given;
  given.numParams = 7;
  given.flops = 5;
  given.flopsExact = false;
  OriginalCounts c = originalCounts(*m, &given);
  EXPECT_EQ(c.params, 7u);
  EXPECT_EQ(c.flops, 5u);
  EXPECT_FALSE(c.flopsExact);
  // Recorded: a later caller's figures do not replace them.
  ModelStats real = computeStats(*m);
  EXPECT_EQ(originalCounts(*m, &real).params, 7u);
}

//===----------------------------------------------------------------------===//
// IRVerifier
//===----------------------------------------------------------------------===//

std::string verify(const Model &m) {
  llvm::Error err = verifyModelStructure(m);
  return err ? llvm::toString(std::move(err)) : "";
}

TEST_F(AnalysisTest, VerifierAcceptsWellFormedModel) {
  buildConvGemm(Dim::of(1));
  EXPECT_EQ(verify(m), "");
}

TEST_F(AnalysisTest, VerifierRejectsOutOfOrderNodes) {
  buildConvGemm(Dim::of(1));
  Node *conv = &g().getNodes().front();
  g().moveNode(conv, nullptr); // Conv now comes after its users.
  EXPECT_EQ(verify(m), "node 'relu' (Relu): input 0 'y' is used before it "
                       "is defined");
}

TEST_F(AnalysisTest, VerifierRejectsWeightTypeMismatch) {
  buildConvGemm(Dim::of(1));
  g().lookup("B")->setType(floatTensor({5}));
  EXPECT_EQ(verify(m), "weight 'B': tensor dims [4] do not match its type "
                       "float[5]");
}

TEST_F(AnalysisTest, VerifierRejectsUndefinedGraphOutput) {
  buildConvGemm(Dim::of(1));
  g().addOutput(g().createValue("ghost"));
  EXPECT_EQ(verify(m), "graph '': output 1 'ghost' is not defined");
}

TEST_F(AnalysisTest, VerifierRejectsDuplicateNamesAcrossGraphs) {
  Value *cond = input("cond", Type::tensor(DataType::Bool, Shape{}));
  Node *iff = node("If", {cond}, "y", floatTensor({1}), "if");
  Attribute a("then_branch", AttrKind::Graph);
  a.graphs.push_back(std::make_unique<Graph>(m, iff));
  a.graphs.back()->name = "then";
  iff->setAttr(std::move(a));
  Graph &sub = *iff->getAttr("then_branch")->graphs.front();
  Node *id = sub.createNode("Identity", "", "inner");
  sub.addNodeInput(id, cond);
  sub.addNodeOutput(id, sub.createValue("y")); // Shadows the outer 'y'.
  sub.addOutput(id->getOutput(0));
  g().addOutput(iff->getOutput(0));
  EXPECT_EQ(verify(m),
            "value name 'y' is used in graph '' and in graph 'then'");
}

} // namespace
