//===- StatsAnalysisTest.cpp - Tests of stats, shapes and the verifier ----===//
///
/// \file
/// computeStats on small Conv/Gemm/MatMul graphs with FLOPs worked out by
/// hand, the print<stats> and print<shapes> texts, and the structural
/// verifier on good and broken graphs.
///
//===----------------------------------------------------------------------===//

#include "passes/Analysis/StatsAnalysis.h"
#include "passes/Analysis/IRVerifier.h"
#include "passes/Analysis/ShapesAnalysis.h"

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
  EXPECT_EQ(s.numIntWeightElements, 2u);
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
                      "int weight elements: 2\n"
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
