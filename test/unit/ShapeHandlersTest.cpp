//===- ShapeHandlersTest.cpp - Tests of the shape and attention handlers --===//
///
/// \file
/// Reshape/Flatten/Transpose/Concat/Split/Slice/Gather/Expand handlers and
/// the fold-shapes pass on tiny text models: the exact group and unit
/// structure (heads as units, a KV head with its query heads, groups of a
/// channel shuffle, ranges of a Concat), the exact shapes and shape
/// constants after pruning chosen units, and masked == pruned in ONNX
/// Runtime with the pruned model passing the checker (PruneTestUtil.h).
///
//===----------------------------------------------------------------------===//

#include "test/unit/PruneTestAsserts.h"

#include "passes/OpHandlers/OpHandler.h"
#include "passes/PassManager.h"
#include "passes/Transforms/FoldShapesPass.h"

#include "gtest/gtest.h"

#include <cstdint>
#include <sstream>

using namespace onnxprune;
using namespace onnxprune::test;

namespace {

using Ints = std::vector<int64_t>;

std::string model(const std::string &sig, const std::vector<std::string> &inits,
                  const std::string &body) {
  return textModel("\"\" : 17", sig, inits, body);
}

/// The int64 values of the weight feeding input \p idx of the first node of
/// \p op in \p m (empty when it is not a constant).
Ints constInput(const AnalyzedModel &m, llvm::StringRef op, unsigned idx) {
  for (const Node &n : m.model->getGraph().getNodes())
    if (n.getOpType() == op)
      if (auto v = constantInts(n.getInput(idx)))
        return *v;
  return {};
}

// ---- Concat into conv
// --------------------------------------------------------

const std::string kConcatConv =
    model("g (float[1,3,5,5] X) => (float[1,5,5,5] Y)",
          {textTensor("W1", {4, 3, 3, 3}), textTensor("W2", {2, 3, 3, 3}),
           textTensor("W3", {5, 6, 1, 1})},
          "  A = Conv<pads = [1, 1, 1, 1]>(X, W1)\n"
          "  B = Conv<pads = [1, 1, 1, 1]>(X, W2)\n"
          "  C = Concat<axis = 1>(A, B)\n"
          "  R = Relu(C)\n"
          "  Y = Conv(R, W3)\n");

TEST(ConcatHandler, RangesIntoConv) {
  auto am = analyzeText(kConcatConv);
  ASSERT_OK(am);
  EXPECT_EQ(am->group("W1", 0), am->group("W2", 0));
  EXPECT_EQ(am->numPrunable("W1", 0), 6u);
  // W2's channel 1 is the consumer's input channel 4 + 1.
  int u = am->unit("W2", 0, 1);
  EXPECT_EQ(am->elementsOf(u, "R", 1), (Ints{5}));
  EXPECT_EQ(am->unit("W1", 0, 3), am->unit("C", 1, 3));
  CHECK_PROPERTY(r, kConcatConv, unitsOf("C", 1, {1, 4}));
  EXPECT_EQ(r->pruned.weightDims("W1"), (Ints{3, 3, 3, 3}));
  EXPECT_EQ(r->pruned.weightDims("W2"), (Ints{1, 3, 3, 3}));
  EXPECT_EQ(r->pruned.weightDims("W3"), (Ints{5, 4, 1, 1}));
  EXPECT_EQ(r->pruned.valueDims("C"), (Ints{1, 4, 5, 5}));
}

// ---- Flatten into Gemm
// -------------------------------------------------------

const std::string kFlattenGemm =
    model("g (float[1,3,4,4] X) => (float[1,5] Y)",
          {textTensor("W1", {4, 3, 3, 3}), textTensor("B", {5, 64})},
          "  A = Conv<pads = [1, 1, 1, 1]>(X, W1)\n"
          "  R = Relu(A)\n"
          "  F = Flatten<axis = 1>(R)\n"
          "  Y = Gemm<transB = 1>(F, B)\n");

TEST(FlattenHandler, ChannelIsABlockOfFeatures) {
  auto am = analyzeText(kFlattenGemm);
  ASSERT_OK(am);
  EXPECT_EQ(am->numPrunable("W1", 0), 4u);
  int u = am->unit("W1", 0, 1);
  Ints want;
  for (int64_t i = 16; i < 32; ++i)
    want.push_back(i);
  EXPECT_EQ(am->elementsOf(u, "F", 1), want);
  EXPECT_EQ(am->frozenRule("R", 2), "inner axis of a reshape merge");
  CHECK_PROPERTY(r, kFlattenGemm, unitsOf("W1", 0, {1}));
  EXPECT_EQ(r->pruned.weightDims("B"), (Ints{5, 48}));
  EXPECT_EQ(r->pruned.valueDims("F"), (Ints{1, 48}));
}

// ---- Channel shuffle
// ---------------------------------------------------------

const std::string kShuffle =
    model("g (float[1,2,4,4] X) => (float[1,3,4,4] Y)",
          {textTensor("W1", {4, 2, 1, 1}), textTensor("W2", {3, 4, 1, 1}),
           textInts("s1", {1, 2, 2, 4, 4}), textInts("s2", {1, 4, 4, 4})},
          "  A = Conv(X, W1)\n"
          "  S = Reshape(A, s1)\n"
          "  P = Transpose<perm = [0, 2, 1, 3, 4]>(S)\n"
          "  Z = Reshape(P, s2)\n"
          "  Y = Conv(Z, W2)\n");

TEST(ReshapeHandler, ChannelShuffleIsAPermutation) {
  auto am = analyzeText(kShuffle);
  ASSERT_OK(am);
  // A unit is one position in every group: A channels {0,2} (position 0
  // of groups 0 and 1) are Z channels {0,1}. The groups stay.
  EXPECT_EQ(am->numPrunable("W1", 0), 2u);
  int u = am->unit("A", 1, 0);
  EXPECT_EQ(am->elementsOf(u, "A", 1), (Ints{0, 2}));
  EXPECT_EQ(am->elementsOf(u, "Z", 1), (Ints{0, 1}));
  EXPECT_EQ(am->frozenRule("S", 1), "groups of a channel shuffle");
  CHECK_PROPERTY(r, kShuffle, unitsOf("A", 1, {2}));
  EXPECT_EQ(r->pruned.weightDims("W1"), (Ints{2, 2, 1, 1}));
  EXPECT_EQ(r->pruned.weightDims("W2"), (Ints{3, 2, 1, 1}));
  EXPECT_EQ(constInput(r->pruned, "Reshape", 1), (Ints{1, 2, 1, 4, 4}));
  EXPECT_EQ(r->pruned.valueDims("Z"), (Ints{1, 2, 4, 4}));
}

// ---- Heads
// -------------------------------------------------------------------

/// Self-attention over X[N,3,8] with \p heads query heads of 2 channels and
/// \p kvHeads KV heads; \p qkv are the lines making Q, K, V [N,3,C];
/// \p split makes [N,3,h,2] from them; \p merge the [N,3,8] output.
std::string attention(const std::vector<std::string> &inits,
                      const std::string &qkv, const std::string &kvRepeat,
                      const std::string &mergeShape) {
  return model("g (float[N,3,8] X) => (float[N,3,8] Y)", inits,
               qkv +
                   "  Q4 = Reshape(Q, sq)\n"
                   "  K4 = Reshape(K, skv)\n"
                   "  V4 = Reshape(V, skv)\n"
                   "  Qh = Transpose<perm = [0, 2, 1, 3]>(Q4)\n"
                   "  Kh0 = Transpose<perm = [0, 2, 3, 1]>(K4)\n"
                   "  Vh0 = Transpose<perm = [0, 2, 1, 3]>(V4)\n" +
                   kvRepeat +
                   "  S = MatMul(Qh, Kh)\n"
                   "  P = Softmax<axis = -1>(S)\n"
                   "  O = MatMul(P, Vh)\n"
                   "  Ot = Transpose<perm = [0, 2, 1, 3]>(O)\n"
                   "  M = Reshape(Ot, " +
                   mergeShape +
                   ")\n"
                   "  Y = MatMul(M, Wo)\n");
}

const std::string kHeads =
    attention({textTensor("Wq", {8, 8}), textTensor("Wk", {8, 8}),
               textTensor("Wv", {8, 8}), textTensor("Wo", {8, 8}),
               textInts("sq", {0, 3, 4, 2}), textInts("skv", {0, 3, 4, 2}),
               textInts("sm", {0, 3, 8})},
              "  Q = MatMul(X, Wq)\n  K = MatMul(X, Wk)\n  V = MatMul(X, Wv)\n",
              "  Kh = Identity(Kh0)\n  Vh = Identity(Vh0)\n", "sm");

TEST(ReshapeHandler, HeadsAreUnits) {
  auto am = analyzeText(kHeads);
  ASSERT_OK(am);
  EXPECT_EQ(am->numPrunable("Wq", 1), 4u);
  int u = am->unit("Wq", 1, 2);
  EXPECT_EQ(am->elementsOf(u, "Wq", 1), (Ints{2, 3}));
  EXPECT_EQ(am->elementsOf(u, "Wk", 1), (Ints{2, 3}));
  EXPECT_EQ(am->elementsOf(u, "Wv", 1), (Ints{2, 3}));
  EXPECT_EQ(am->elementsOf(u, "Wo", 0), (Ints{2, 3}));
  // Head dims are positions inside a head: never channels.
  EXPECT_EQ(am->frozenRule("Q4", 3), "inner axis of a reshape split");
  CHECK_PROPERTY(r, kHeads, unitsOf("Wq", 1, {0, 6}));
  EXPECT_EQ(r->pruned.weightDims("Wq"), (Ints{8, 4}));
  EXPECT_EQ(r->pruned.weightDims("Wo"), (Ints{4, 8}));
  EXPECT_EQ(constInput(r->pruned, "Reshape", 1), (Ints{0, 3, 2, 2}));
  EXPECT_EQ(r->pruned.valueDims("M"), (Ints{-1, 3, 4}));
}

// The PyTorch form: x.view(b, s, 4, 2) computes the target at run time;
// the head count 4 is a constant piece of the Concat, shared by q and k.
const std::string kHeadsChain =
    attention({textTensor("Wq", {8, 8}), textTensor("Wk", {8, 8}),
               textTensor("Wv", {8, 8}), textTensor("Wo", {8, 8}),
               textInts("i0", {0}), textInts("i1", {1}), textInts("ax", {0}),
               textInts("h", {4}), textInts("d", {2}), textInts("c8", {8})},
              "  Q = MatMul(X, Wq)\n  K = MatMul(X, Wk)\n  V = MatMul(X, Wv)\n"
              "  sh = Shape(Q)\n"
              "  b = Gather<axis = 0>(sh, i0)\n"
              "  s = Gather<axis = 0>(sh, i1)\n"
              "  sq = Concat<axis = 0>(b, s, h, d)\n"
              "  skv = Identity(sq)\n"
              "  sm = Concat<axis = 0>(b, s, c8)\n",
              "  Kh = Identity(Kh0)\n  Vh = Identity(Vh0)\n", "sm");

TEST(ReshapeHandler, ComputedTargetRewritesItsConstantPiece) {
  auto am = analyzeText(kHeadsChain);
  ASSERT_OK(am);
  EXPECT_EQ(am->numPrunable("Wq", 1), 4u);
  CHECK_PROPERTY(r, kHeadsChain, unitsOf("Wq", 1, {2}));
  EXPECT_EQ(r->pruned.weightDims("Wq"), (Ints{8, 6}));
  EXPECT_EQ(r->pruned.valueDims("Q4"), (Ints{-1, 3, 3, 2}));
  EXPECT_EQ(r->pruned.valueDims("M"), (Ints{-1, 3, 6}));
  EXPECT_EQ(r->pruned.valueDims("K4"), (Ints{-1, 3, 3, 2}));
  // Q's Reshape reads its own copy of the shared Concat with the piece 4
  // now 3; K and V read it through an Identity, so their targets are
  // patched (shape * keep + new). The batch stays computed everywhere.
  const Node *qReshape = nullptr;
  for (const Node &n : r->pruned.model->getGraph().getNodes())
    if (n.getOpType() == "Reshape" && n.getOutput(0)->getName() == "Q4")
      qReshape = &n;
  ASSERT_TRUE(qReshape);
  const Node *qShape = qReshape->getInput(1)->getProducer();
  ASSERT_TRUE(qShape && qShape->getOpType() == "Concat");
  EXPECT_EQ(constantInts(qShape->getInput(2)), (Ints{3}));
  EXPECT_FALSE(constantInts(qShape->getInput(0)));
  Ints width;
  for (const Node &n : r->pruned.model->getGraph().getNodes())
    if (n.getOpType() == "Concat" && n.getNumInputs() == 3)
      if (auto last = constantInts(n.getInput(2)))
        width = *last;
  EXPECT_EQ(width, (Ints{6}));
}

// ---- GQA repeat_kv
// -----------------------------------------------------------

// 4 query heads, 2 KV heads of 2 channels: Unsqueeze -> Expand -> Reshape
// makes KV head g serve query heads 2g, 2g+1.
const std::string kGqa =
    attention({textTensor("Wq", {8, 8}), textTensor("Wk", {8, 4}),
               textTensor("Wv", {8, 4}), textTensor("Wo", {8, 8}),
               textInts("sq", {0, 3, 4, 2}), textInts("skv", {0, 3, 2, 2}),
               textInts("sm", {0, 3, 8}), textInts("u2", {2}),
               textInts("ek", {1, 2, 2, 2, 3}), textInts("ev", {1, 2, 2, 3, 2}),
               textInts("rk", {1, 4, 2, 3}), textInts("rv", {1, 4, 3, 2})},
              "  Q = MatMul(X, Wq)\n  K = MatMul(X, Wk)\n  V = MatMul(X, Wv)\n",
              "  Ku = Unsqueeze(Kh0, u2)\n"
              "  Ke = Expand(Ku, ek)\n"
              "  Kh = Reshape(Ke, rk)\n"
              "  Vu = Unsqueeze(Vh0, u2)\n"
              "  Ve = Expand(Vu, ev)\n"
              "  Vh = Reshape(Ve, rv)\n",
              "sm");

TEST(ExpandHandler, RepeatKvUnitsAreKvGroups) {
  // The batch is 1 here (Expand to a constant shape).
  std::string text = kGqa;
  text.replace(text.find("float[N,3,8] X"), 14, "float[1,3,8] X");
  text.replace(text.find("float[N,3,8] Y"), 14, "float[1,3,8] Y");
  auto am = analyzeText(text);
  ASSERT_OK(am);
  EXPECT_EQ(am->numPrunable("Wk", 1), 2u);
  int u = am->unit("Wk", 1, 1);
  EXPECT_EQ(am->elementsOf(u, "Wk", 1), (Ints{0, 1}));
  EXPECT_EQ(am->elementsOf(u, "Wv", 1), (Ints{0, 1}));
  EXPECT_EQ(am->elementsOf(u, "Wq", 1), (Ints{0, 1, 2, 3}));
  EXPECT_EQ(am->elementsOf(u, "Wo", 0), (Ints{0, 1, 2, 3}));
  CHECK_PROPERTY(r, text, unitsOf("Wk", 1, {2}));
  EXPECT_EQ(r->pruned.weightDims("Wq"), (Ints{8, 4}));
  EXPECT_EQ(r->pruned.weightDims("Wk"), (Ints{8, 2}));
  EXPECT_EQ(r->pruned.valueDims("Ke"), (Ints{1, 1, 2, 2, 3}));
  EXPECT_EQ(r->pruned.valueDims("Kh"), (Ints{1, 2, 2, 3}));
  EXPECT_EQ(r->pruned.valueDims("M"), (Ints{1, 3, 4}));
}

// The same GQA as PyTorch exports a Llama decoder's repeat_kv with dynamic
// batch and sequence: the Expand shape is `where(s == -1, 1, s)` of
// `[Shape(k)[0], Shape(k)[1], 2, Shape(k)[2], Shape(k)[3]]` and the Reshape
// target `[Shape(k)[0], Shape(k)[1] * 2, Shape(k)[2], Shape(k)[3]]`. The
// sequence dim is unknown to inference (X is float[N,?,8]); the Reshape
// handler names it once, for the Expand output and the target alike.
std::string gqaDynamic() {
  std::string body =
      "  Q = MatMul(X, Wq)\n  K = MatMul(X, Wk)\n  V = MatMul(X, Wv)\n"
      "  sh = Shape(X)\n"
      "  b = Gather<axis = 0>(sh, i0)\n"
      "  s = Gather<axis = 0>(sh, i1)\n"
      "  sq = Concat<axis = 0>(b, s, h4, d2)\n"
      "  skv = Concat<axis = 0>(b, s, h2, d2)\n"
      "  Q4 = Reshape(Q, sq)\n  K4 = Reshape(K, skv)\n  V4 = Reshape(V, skv)\n"
      "  Qh = Transpose<perm = [0, 2, 1, 3]>(Q4)\n"
      "  Kh0 = Transpose<perm = [0, 2, 1, 3]>(K4)\n"
      "  Vh0 = Transpose<perm = [0, 2, 1, 3]>(V4)\n"
      "  ks = Shape(Kh0)\n"
      "  k0 = Gather<axis = 0>(ks, c0)\n  k1 = Gather<axis = 0>(ks, c1)\n"
      "  k2 = Gather<axis = 0>(ks, c2)\n  k3 = Gather<axis = 0>(ks, c3)\n"
      "  k0u = Unsqueeze(k0, z)\n  k1u = Unsqueeze(k1, z)\n"
      "  k2u = Unsqueeze(k2, z)\n  k3u = Unsqueeze(k3, z)\n"
      "  ecat = Concat<axis = 0>(k0u, k1u, r2, k2u, k3u)\n"
      "  eshape = Reshape(ecat, m1)\n"
      "  esh = Shape(eshape)\n"
      "  ones = ConstantOfShape<value = int64[1] {1}>(esh)\n"
      "  neg = Mul(ones, minus1)\n"
      "  eq = Equal(eshape, neg)\n"
      "  ew = Where(eq, ones, eshape)\n"
      "  k1m = Mul(k1, two)\n  k1mu = Unsqueeze(k1m, z)\n"
      "  rcat = Concat<axis = 0>(k0u, k1mu, k2u, k3u)\n"
      "  Ku = Unsqueeze(Kh0, u2)\n  Ke = Expand(Ku, ew)\n"
      "  Kh = Reshape(Ke, rcat)\n"
      "  Vu = Unsqueeze(Vh0, u2)\n  Ve = Expand(Vu, ew)\n"
      "  Vh = Reshape(Ve, rcat)\n"
      "  KhT = Transpose<perm = [0, 1, 3, 2]>(Kh)\n"
      "  S = MatMul(Qh, KhT)\n  P = Softmax<axis = -1>(S)\n"
      "  O = MatMul(P, Vh)\n  Ot = Transpose<perm = [0, 2, 1, 3]>(O)\n"
      "  sm = Concat<axis = 0>(b, s, c8)\n"
      "  M = Reshape(Ot, sm)\n  Y = MatMul(M, Wo)\n";
  auto scalar = [](const std::string &n, int64_t v) {
    return "int64 " + n + " = {" + std::to_string(v) + "}";
  };
  return model("g (float[N,?,8] X) => (float[N,?,8] Y)",
               {textTensor("Wq", {8, 8}), textTensor("Wk", {8, 4}),
                textTensor("Wv", {8, 4}), textTensor("Wo", {8, 8}),
                textInts("i0", {0}),      textInts("i1", {1}),
                scalar("c0", 0),          scalar("c1", 1),
                scalar("c2", 2),          scalar("c3", 3),
                textInts("z", {0}),       textInts("u2", {2}),
                textInts("r2", {2}),      textInts("h4", {4}),
                textInts("h2", {2}),      textInts("d2", {2}),
                textInts("c8", {8}),      textInts("m1", {-1}),
                scalar("minus1", -1),     scalar("two", 2)},
               body);
}

TEST(ReshapeHandler, DynamicRepeatKvNamesUnknownDims) {
  const std::string text = gqaDynamic();
  auto am = analyzeText(text);
  ASSERT_OK(am);
  // Inference alone leaves the sequence unknown in both.
  EXPECT_EQ(am->valueDims("Ke"), (Ints{-1, 2, 2, -1, 2}));
  EXPECT_EQ(am->valueDims("Kh"), (Ints{-1, 4, -1, 2}));
  EXPECT_EQ(am->numPrunable("Wk", 1), 2u);
  int u = am->unit("Wk", 1, 2);
  EXPECT_EQ(am->elementsOf(u, "Wk", 1), (Ints{2, 3}));
  EXPECT_EQ(am->elementsOf(u, "Wv", 1), (Ints{2, 3}));
  EXPECT_EQ(am->elementsOf(u, "Wq", 1), (Ints{4, 5, 6, 7}));
  EXPECT_EQ(am->elementsOf(u, "Wo", 0), (Ints{4, 5, 6, 7}));
  EXPECT_EQ(am->frozenRule("Ke", 2), "inner axis of a reshape merge");
  CHECK_PROPERTY(r, text, unitsOf("Wk", 1, {0}));
  EXPECT_EQ(r->pruned.weightDims("Wq"), (Ints{8, 4}));
  EXPECT_EQ(r->pruned.weightDims("Wk"), (Ints{8, 2}));
  EXPECT_EQ(r->pruned.weightDims("Wv"), (Ints{8, 2}));
  EXPECT_EQ(r->pruned.weightDims("Wo"), (Ints{4, 8}));
}

// Unknown dims that no shape chain relates stay unmatched: naming never
// guesses. The target's batch and sequence come from graph inputs here
// (one such pair alone would still be proven by the element count).
TEST(ReshapeHandler, UnrelatedUnknownDimsStayFrozen) {
  std::string text = gqaDynamic();
  text.replace(text.find("(float[N,?,8] X)"), 16,
               "(float[N,?,8] X, int64[1] B, int64[1] L)");
  text.replace(text.find("rcat = Concat<axis = 0>(k0u, k1mu, k2u, k3u)"), 45,
               "rcat = Concat<axis = 0>(B, k1mu, L, k3u)");
  auto am = analyzeText(text);
  ASSERT_OK(am);
  EXPECT_EQ(am->numPrunable("Wk", 1), 0u);
  EXPECT_EQ(am->frozenRule("Kh", 1), "reshape dims could not be matched");
}

// Shape constants joined through Cast and Concat are shape arithmetic, not
// channel spaces: no groups of them (Paddle's fill_constant -> Cast ->
// Concat -> Reshape).
TEST(DepGraph, ShapeDataFormsNoGroups) {
  std::string text = model("g (float[N,8] X) => (float[N,2,4] Y)",
                           {textTensor("W", {8, 8}), "int32[1] a = {2}",
                            "int32[1] c = {4}", textInts("i0", {0})},
                           "  H = MatMul(X, W)\n"
                           "  sh = Shape(H)\n  n = Gather<axis = 0>(sh, i0)\n"
                           "  a64 = Cast<to = 7>(a)\n  c64 = Cast<to = 7>(c)\n"
                           "  tgt = Concat<axis = 0>(n, a64, c64)\n"
                           "  Y = Reshape(H, tgt)\n");
  auto am = analyzeText(text);
  ASSERT_OK(am);
  EXPECT_EQ(am->group("a", 0), -1);
  EXPECT_EQ(am->group("a64", 0), -1);
  EXPECT_EQ(am->group("tgt", 0), -1);
  EXPECT_EQ(am->dg.getGroups().size(), 2u) << am->print(); // X, H.
}

// ---- Packed qkv
// --------------------------------------------------------------

const std::string kPacked =
    attention({textTensor("Wqkv", {8, 24}), textTensor("Wo", {8, 8}),
               textInts("sp", {8, 8, 8}), textInts("sq", {0, 3, 4, 2}),
               textInts("skv", {0, 3, 4, 2}), textInts("sm", {0, 3, 8})},
              "  QKV = MatMul(X, Wqkv)\n"
              "  Q, K, V = Split<axis = 2>(QKV, sp)\n",
              "  Kh = Identity(Kh0)\n  Vh = Identity(Vh0)\n", "sm");

TEST(SplitHandler, PackedQkvHeads) {
  auto am = analyzeText(kPacked);
  ASSERT_OK(am);
  EXPECT_EQ(am->numPrunable("Wqkv", 1), 4u);
  int u = am->unit("Wqkv", 1, 2);
  EXPECT_EQ(am->elementsOf(u, "Wqkv", 1), (Ints{2, 3, 10, 11, 18, 19}));
  CHECK_PROPERTY(r, kPacked, unitsOf("Wqkv", 1, {2}));
  EXPECT_EQ(r->pruned.weightDims("Wqkv"), (Ints{8, 18}));
  EXPECT_EQ(constInput(r->pruned, "Split", 1), (Ints{6, 6, 6}));
}

// The same packed projection cut by Slice (nn.MultiheadAttention's export).
TEST(SliceHandler, PackedQkvSlices) {
  std::string text = attention(
      {textTensor("Wqkv", {8, 24}), textTensor("Wo", {8, 8}),
       textInts("z", {0}), textInts("e8", {8}), textInts("e16", {16}),
       textInts("e24", {24}), textInts("a2", {2}), textInts("sq", {0, 3, 4, 2}),
       textInts("skv", {0, 3, 4, 2}), textInts("sm", {0, 3, 8})},
      "  QKV = MatMul(X, Wqkv)\n"
      "  Q = Slice(QKV, z, e8, a2)\n"
      "  K = Slice(QKV, e8, e16, a2)\n"
      "  V = Slice(QKV, e16, e24, a2)\n",
      "  Kh = Identity(Kh0)\n  Vh = Identity(Vh0)\n", "sm");
  auto am = analyzeText(text);
  ASSERT_OK(am);
  int u = am->unit("Wqkv", 1, 0);
  EXPECT_EQ(am->elementsOf(u, "Wqkv", 1), (Ints{0, 1, 8, 9, 16, 17}));
  CHECK_PROPERTY(r, text, unitsOf("Wqkv", 1, {0, 6}));
  EXPECT_EQ(r->pruned.weightDims("Wqkv"), (Ints{8, 12}));
  EXPECT_EQ(r->pruned.valueDims("K"), (Ints{-1, 3, 4}));
}

// ---- Packed qkv read through a selector axis (PP-OCR SVTR) ---------------

/// Paddle's SVTR attention: qkv = Linear(x) viewed as [b, s, 3, h, d],
/// Transpose [2, 0, 3, 1, 4], q/k/v picked from the selector axis by
/// Gather or Slice + Squeeze. 4 heads of 2 channels.
const std::string kSvtr =
    model("g (float[N,3,8] X) => (float[N,3,8] Y)",
          {textTensor("Wqkv", {8, 24}), textTensor("Bqkv", {24}),
           textTensor("Wo", {8, 8}), textInts("s5", {0, 0, 3, 4, 2}),
           textInts("sm", {0, 0, 8}), "int64 g0 = {0}", "int64 g2 = {2}",
           textInts("b1", {1}), textInts("e2", {2}), textInts("a0", {0})},
          "  L = MatMul(X, Wqkv)\n"
          "  QKV = Add(L, Bqkv)\n"
          "  QKV5 = Reshape(QKV, s5)\n"
          "  T5 = Transpose<perm = [2, 0, 3, 1, 4]>(QKV5)\n"
          "  Qh = Gather<axis = 0>(T5, g0)\n"
          "  Ks = Slice(T5, b1, e2, a0)\n"
          "  Kh = Squeeze(Ks, a0)\n"
          "  Vh = Gather<axis = 0>(T5, g2)\n"
          "  Kt = Transpose<perm = [0, 1, 3, 2]>(Kh)\n"
          "  S = MatMul(Qh, Kt)\n"
          "  P = Softmax<axis = -1>(S)\n"
          "  O = MatMul(P, Vh)\n"
          "  Ot = Transpose<perm = [0, 2, 1, 3]>(O)\n"
          "  M = Reshape(Ot, sm)\n"
          "  Y = MatMul(M, Wo)\n");

TEST(ReshapeHandler, SelectorSplitCouplesHeads) {
  auto am = analyzeText(kSvtr);
  ASSERT_OK(am);
  // A unit is one head: its 2 channels in each third of the packed
  // projection (q, k, v) and its 2 rows of the output projection.
  EXPECT_EQ(am->numPrunable("Wqkv", 1), 4u);
  int u = am->unit("Wqkv", 1, 12);
  EXPECT_EQ(am->elementsOf(u, "Wqkv", 1), (Ints{4, 5, 12, 13, 20, 21}));
  EXPECT_EQ(am->elementsOf(u, "Bqkv", 0), (Ints{4, 5, 12, 13, 20, 21}));
  EXPECT_EQ(am->elementsOf(u, "QKV5", 3), (Ints{2}));
  EXPECT_EQ(am->elementsOf(u, "Wo", 0), (Ints{4, 5}));
  // Removing all of q is never a unit; head dims are inside a head.
  EXPECT_EQ(am->frozenRule("QKV5", 2),
            "selector axis of a reshape split (q/k/v)");
  EXPECT_EQ(am->frozenRule("QKV5", 4), "inner axis of a reshape split");
  CHECK_PROPERTY(r, kSvtr, unitsOf("Wqkv", 1, {0, 20}));
  EXPECT_EQ(r->pruned.weightDims("Wqkv"), (Ints{8, 12}));
  EXPECT_EQ(r->pruned.weightDims("Bqkv"), (Ints{12}));
  EXPECT_EQ(r->pruned.weightDims("Wo"), (Ints{4, 8}));
  EXPECT_EQ(constInput(r->pruned, "Reshape", 1), (Ints{0, 0, 3, 2, 2}));
  EXPECT_EQ(r->pruned.valueDims("M"), (Ints{-1, 3, 4}));
}

// The same view when nothing picks pieces of the outer axis: the plain
// rule, outermost factor coupled.
TEST(ReshapeHandler, SplitWithoutSelectorCouplesOutermost) {
  std::string text =
      model("g (float[N,3,8] X) => (float[N,3,24] Y)",
            {textTensor("W", {8, 24}), textTensor("W2", {24, 24}),
             textInts("s5", {0, 0, 3, 4, 2}), textInts("sm", {0, 0, 24})},
            "  H = MatMul(X, W)\n  H5 = Reshape(H, s5)\n  R = Relu(H5)\n"
            "  M = Reshape(R, sm)\n  Y = MatMul(M, W2)\n");
  auto am = analyzeText(text);
  ASSERT_OK(am);
  EXPECT_EQ(am->numPrunable("W", 1), 3u);
  EXPECT_EQ(am->frozenRule("H5", 3), "inner axis of a reshape split");
}

// nn.MultiheadAttention: [s, b, h·d] -> [s, b·h, d] with a dynamic batch.
// Head i of batch row j is element j·h + i of an axis with no static size:
// not expressible, frozen with its own reason. The trailing one-to-one
// axes of a reshape whose outer dims regroup are still matched.
TEST(ReshapeHandler, HeadsMergedWithDynamicBatch) {
  // [3, N, 8] -> [3, N·2, 4] -> [3, N, 8]: the N·2 axis has the virtual size
  // 2 (head h is positions {j·2 + h}), so H's heads are units, coupled with
  // the 8 of Z2, G and W3 through the Add; the graph output Y freezes them.
  std::string text =
      model("g (float[3,N,8] X) => (float[3,N,8] Y)",
            {textTensor("W", {8, 8}), textTensor("W2", {4, 4}),
             textTensor("W3", {8, 8}), textInts("sh", {3, -1, 4}),
             textInts("sf", {-1, 8}), textInts("sb", {3, -1, 8})},
            "  H = MatMul(X, W)\n  Hh = Reshape(H, sh)\n  Z = MatMul(Hh, W2)\n"
            "  F = Reshape(X, sf)\n  G = MatMul(F, W3)\n"
            "  Gb = Reshape(G, sb)\n  Z2 = Reshape(Z, sb)\n"
            "  Y = Add(Gb, Z2)\n");
  auto am = analyzeText(text);
  ASSERT_OK(am);
  EXPECT_EQ(am->unit("H", 2, 5), am->unit("Hh", 1, 1));
  EXPECT_EQ(am->unit("H", 2, 5), am->unit("Z2", 2, 6));
  EXPECT_NE(am->unit("H", 2, 1), am->unit("H", 2, 5));
  EXPECT_EQ(am->frozenRule("Hh", 2), "inner axis of a reshape split");
  EXPECT_EQ(am->numPrunable("W", 1), 0u);
  // [3, N, 8] -> [3·N, 8]: the 8 stays one to one.
  EXPECT_EQ(am->unit("F", 1, 5), am->unit("X", 2, 5));
  EXPECT_EQ(am->unit("G", 1, 5), am->unit("Gb", 2, 5));
}

TEST(ReshapeHandler, TorchMultiheadAttentionHeads) {
  // nn.MultiheadAttention (batch_first=False): [L, N, E] -> [L, N·H, d],
  // heads in the batch axis, and back. E = 8, H = 2, d = 4.
  std::string text = model(
      "g (float[3,N,8] X) => (float[3,N,8] Y)",
      {textTensor("Wq", {8, 8}), textTensor("Wk", {8, 8}),
       textTensor("Wv", {8, 8}), textTensor("Bq", {8}),
       textTensor("Wo", {8, 8}), textInts("sh", {3, -1, 4}),
       textInts("sb", {3, -1, 8}), "float sc = {2.0}"},
      "  Q0 = MatMul(X, Wq)\n  Q = Add(Bq, Q0)\n  K = MatMul(X, Wk)\n"
      "  V = MatMul(X, Wv)\n"
      "  Qh = Reshape(Q, sh)\n  Kh = Reshape(K, sh)\n  Vh = Reshape(V, sh)\n"
      "  Qt = Transpose<perm = [1, 0, 2]>(Qh)\n"
      "  Kt = Transpose<perm = [1, 2, 0]>(Kh)\n"
      "  Vt = Transpose<perm = [1, 0, 2]>(Vh)\n"
      "  Qs = Div(Qt, sc)\n  S = MatMul(Qs, Kt)\n"
      "  P = Softmax<axis = -1>(S)\n  O = MatMul(P, Vt)\n"
      "  Ot = Transpose<perm = [1, 0, 2]>(O)\n  Om = Reshape(Ot, sb)\n"
      "  Y = MatMul(Om, Wo)\n");
  auto am = analyzeText(text);
  ASSERT_OK(am);
  EXPECT_EQ(am->numPrunable("Wq", 1), 2u);
  int u = am->unit("Wq", 1, 5);
  EXPECT_EQ(am->elementsOf(u, "Wq", 1), (Ints{4, 5, 6, 7}));
  EXPECT_EQ(am->elementsOf(u, "Wk", 1), (Ints{4, 5, 6, 7}));
  EXPECT_EQ(am->elementsOf(u, "Wv", 1), (Ints{4, 5, 6, 7}));
  EXPECT_EQ(am->elementsOf(u, "Bq", 0), (Ints{4, 5, 6, 7}));
  EXPECT_EQ(am->elementsOf(u, "Wo", 0), (Ints{4, 5, 6, 7}));
  EXPECT_EQ(am->unit("Qh", 1, 1), u);
  EXPECT_EQ(am->unit("S", 0, 1), u);
  CHECK_PROPERTY(r, text, unitsOf("Wq", 1, {1}));
  EXPECT_EQ(r->pruned.weightDims("Wq"), (Ints{8, 4}));
  EXPECT_EQ(r->pruned.weightDims("Wo"), (Ints{4, 8}));
}

// ---- com.microsoft Attention
// -------------------------------------------------

TEST(AttentionHandler, FusedAttentionHeads) {
  std::string text =
      "<\n  ir_version: 8,\n  opset_import: [\"\" : 17, \"com.microsoft\" : "
      "1]\n>\ng (float[1,3,8] X) => (float[1,3,8] Y)\n<" +
      textTensor("W", {8, 24}) + ",\n " + textTensor("B", {24}) + ",\n " +
      textTensor("Wo", {8, 8}) +
      ">\n{\n  O = com.microsoft.Attention<num_heads = 4>(X, W, B)\n"
      "  Y = MatMul(O, Wo)\n}\n";
  auto am = analyzeText(text);
  ASSERT_OK(am);
  EXPECT_EQ(am->numPrunable("W", 1), 4u);
  int u = am->unit("W", 1, 2);
  EXPECT_EQ(am->elementsOf(u, "W", 1), (Ints{2, 3, 10, 11, 18, 19}));
  EXPECT_EQ(am->elementsOf(u, "Wo", 0), (Ints{2, 3}));
  CHECK_PROPERTY(r, text, unitsOf("W", 1, {2}));
  EXPECT_EQ(r->pruned.weightDims("W"), (Ints{8, 18}));
  EXPECT_EQ(r->pruned.weightDims("Wo"), (Ints{6, 8}));
  EXPECT_EQ(r->pruned.nodeIntAttr("Attention", "num_heads", -1), 3);
}

// ---- Frozen forms
// --------------------------------------------------------------

TEST(ReshapeHandler, ManyToManyFreezes) {
  // [6,6] -> [4,9]: no run of axes with equal products.
  std::string text = model("g (float[6,6] X) => (float[4,9] Y)",
                           {textTensor("W1", {6, 6}), textInts("s", {4, 9})},
                           "  A = MatMul(X, W1)\n"
                           "  Y = Reshape(A, s)\n");
  auto am = analyzeText(text);
  ASSERT_OK(am);
  EXPECT_EQ(am->numPrunable("W1", 1), 0u);
  EXPECT_EQ(am->frozenRule("A", 1),
            "reshape regroups several axes into several");
}

// ---- fold-shapes
// ---------------------------------------------------------------

TEST(FoldShapesPass, FoldsStaticChainsKeepsDynamicOnes) {
  auto run = [](const std::string &sig) -> std::unique_ptr<Model> {
    std::string text = model(
        sig, {textInts("i0", {0}), textInts("h", {4}), textInts("d", {2})},
        "  sh = Shape(X)\n"
        "  b = Gather<axis = 0>(sh, i0)\n"
        "  c = Concat<axis = 0>(b, h, d)\n"
        "  Y = Reshape(X, c)\n");
    auto m = parseTextModel(text);
    EXPECT_TRUE(!!m);
    if (!m)
      return nullptr;
    ModelAnalysisManager am;
    auto pa = FoldShapesPass().run(**m, am);
    EXPECT_TRUE(!!pa);
    return std::move(*m);
  };
  auto fixed = run("g (float[2,8] X) => (float[2,4,2] Y)");
  ASSERT_TRUE(fixed);
  for (const Node &n : fixed->getGraph().getNodes())
    if (n.getOpType() == "Reshape") {
      EXPECT_EQ(constantInts(n.getInput(1)), (Ints{2, 4, 2}));
    }
  auto dyn = run("g (float[N,8] X) => (float[N,4,2] Y)");
  ASSERT_TRUE(dyn);
  for (const Node &n : dyn->getGraph().getNodes())
    if (n.getOpType() == "Reshape") {
      EXPECT_FALSE(n.getInput(1)->isWeight());
    }
}

} // namespace

// ---- Zoo: heads and shuffles of real exports -------------------------------

#ifdef ONNXPRUNE_SOURCE_DIR
class ShapeHandlersZoo : public ::testing::TestWithParam<const char *> {};

TEST_P(ShapeHandlersZoo, MaskedEqualsPruned) {
  std::string path = std::string(ONNXPRUNE_SOURCE_DIR) + "/test/models/zoo/" +
                     GetParam() + "_op17.onnx";
  auto r = checkMaskedEqualsPruned(fileLoader(path), everyNthPrunable(3, 1));
  ASSERT_OK(r);
  EXPECT_TRUE(r->compare.match);
  EXPECT_LT(r->paramsAfter, r->paramsBefore);
}

INSTANTIATE_TEST_SUITE_P(Models, ShapeHandlersZoo,
                         ::testing::Values("bert_encoder", "gpt2_decoder",
                                           "llama_decoder", "vit",
                                           "shufflenet_v2"));
#endif
