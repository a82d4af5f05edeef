//===- NNHandlersTest.cpp - Tests of the NN op handlers -------------------===//
///
/// \file
/// Conv / ConvTranspose, Gemm / MatMul, normalisations, pooling, reductions,
/// Resize and Pad handlers on tiny text models: the exact group and unit
/// structure (what joins, what is frozen and why), the exact slices and
/// attributes after pruning chosen units, and THE property, masked ==
/// pruned in ONNX Runtime with the pruned model passing the checker
/// (PruneTestUtil.h).
///
//===----------------------------------------------------------------------===//

#include "test/unit/PruneTestAsserts.h"

#include "passes/OpHandlers/OpHandler.h"

#include "gtest/gtest.h"

#include <cstdint>
#include <sstream>

using namespace onnxprune;
using namespace onnxprune::test;

namespace {

using Ints = std::vector<int64_t>;

/// A whole text model: opset imports, signature, initializers (and value
/// infos), body.
std::string model(const std::string &opsets, const std::string &sig,
                  const std::vector<std::string> &inits,
                  const std::string &body) {
  return textModel(opsets, sig, inits, body);
}
const char *kOnnx17 = "\"\" : 17";

/// Float gather along one axis (the expected slice of a weight).
std::vector<float> gather(const std::vector<float> &v, const Ints &dims,
                          unsigned axis, const Ints &kept) {
  int64_t outer = 1, inner = 1;
  for (unsigned i = 0; i < axis; ++i)
    outer *= dims[i];
  for (unsigned i = axis + 1; i < dims.size(); ++i)
    inner *= dims[i];
  std::vector<float> out;
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t k : kept)
      for (int64_t i = 0; i < inner; ++i)
        out.push_back(v[(o * dims[axis] + k) * inner + i]);
  return out;
}

// ---- Conv ------------------------------------------------------------------

const std::string kConvChain =
    model(kOnnx17, "g (float[1,3,5,5] X) => (float[1,2,5,5] Y)",
          {textTensor("W1", {4, 3, 3, 3}), textTensor("B1", {4}),
           textTensor("W2", {2, 4, 1, 1})},
          "  A = Conv<pads = [1, 1, 1, 1]>(X, W1, B1)\n"
          "  R = Relu(A)\n"
          "  Y = Conv(R, W2)\n");

TEST(ConvHandler, PlainConvStemAndConsumer) {
  auto am = analyzeText(kConvChain);
  ASSERT_OK(am);
  EXPECT_EQ(am->numPrunable("W1", 0), 4u);
  EXPECT_EQ(am->unitWidth("W1", 0), 1);
  EXPECT_EQ(am->spaceMembers("W1", 0),
            (std::vector<std::string>{"weight W1[0]", "weight B1[0]",
                                      "weight W2[1]", "A[1]", "R[1]"}));
  // The input channels are the graph input's; the output's are frozen.
  EXPECT_EQ(am->frozenRule("X", 1), "graph input 'X'");
  EXPECT_EQ(am->spaceMembers("X", 1),
            (std::vector<std::string>{"weight W1[1]", "X[1]"}));
  EXPECT_EQ(am->numPrunable("W2", 0), 0u);
  // Spatial axes carry no channel.
  EXPECT_EQ(am->group("A", 2), -1);
  EXPECT_EQ(am->group("W1", 2), -1);
}

TEST(ConvHandler, PlainConvPrunes) {
  auto orig = analyzeText(kConvChain);
  ASSERT_OK(orig);
  CHECK_PROPERTY(r, kConvChain, unitsOf("W1", 0, {1, 3}));
  EXPECT_EQ(r->pruned.weightDims("W1"), (Ints{2, 3, 3, 3}));
  EXPECT_EQ(r->pruned.weightFloats("W1"),
            gather(orig->weightFloats("W1"), {4, 3, 3, 3}, 0, {0, 2}));
  EXPECT_EQ(r->pruned.weightFloats("B1"),
            gather(orig->weightFloats("B1"), {4}, 0, {0, 2}));
  EXPECT_EQ(r->pruned.weightFloats("W2"),
            gather(orig->weightFloats("W2"), {2, 4, 1, 1}, 1, {0, 2}));
  EXPECT_EQ(r->pruned.valueDims("R"), (Ints{1, 2, 5, 5}));
  EXPECT_EQ(r->paramsBefore - r->paramsAfter, 2u * 27 + 2 + 2 * 2);
}

// Depthwise with channel multiplier 2: in-channel c makes out-channels
// 2c, 2c+1; whole groups go and `group` follows.
const std::string kDepthwise =
    model(kOnnx17, "g (float[1,3,5,5] X) => (float[1,2,5,5] Y)",
          {textTensor("W1", {3, 3, 1, 1}), textTensor("Wd", {6, 1, 3, 3}),
           textTensor("Bd", {6}), textTensor("W3", {2, 6, 1, 1})},
          "  A = Conv(X, W1)\n"
          "  B = Conv<group = 3, pads = [1, 1, 1, 1]>(A, Wd, Bd)\n"
          "  Y = Conv(B, W3)\n");

TEST(ConvHandler, DepthwiseWithMultiplier) {
  auto am = analyzeText(kDepthwise);
  ASSERT_OK(am);
  EXPECT_EQ(am->numPrunable("A", 1), 3u);
  EXPECT_EQ(am->group("A", 1), am->group("B", 1));
  // A unit: one in-channel and its two out-channels.
  EXPECT_EQ(am->unitWidth("A", 1), 3);
  int u = am->unit("A", 1, 1);
  ASSERT_GE(u, 0);
  EXPECT_EQ(am->elementsOf(u, "B", 1), (Ints{2, 3}));
  EXPECT_EQ(am->spaceMembers("B", 1),
            (std::vector<std::string>{"weight Wd[0]", "weight Bd[0]",
                                      "weight W3[1]", "B[1]"}));
  // Wd's axis 1 (size 1) is no channel.
  EXPECT_EQ(am->group("Wd", 1), -1);

  auto orig = analyzeText(kDepthwise);
  ASSERT_OK(orig);
  CHECK_PROPERTY(r, kDepthwise, unitsOf("A", 1, {1}));
  EXPECT_EQ(r->pruned.weightDims("Wd"), (Ints{4, 1, 3, 3}));
  EXPECT_EQ(r->pruned.weightFloats("Wd"),
            gather(orig->weightFloats("Wd"), {6, 1, 3, 3}, 0, {0, 1, 4, 5}));
  EXPECT_EQ(r->pruned.weightDims("W1"), (Ints{2, 3, 1, 1}));
  EXPECT_EQ(r->pruned.weightDims("W3"), (Ints{2, 4, 1, 1}));
  EXPECT_EQ(r->pruned.valueDims("B"), (Ints{1, 4, 5, 5}));
  int groupAttr = -1;
  for (const Node &n : r->pruned.model->getGraph().getNodes())
    if (n.getOpType() == "Conv" && n.hasAttr("group"))
      groupAttr = n.getIntAttr("group", -1);
  EXPECT_EQ(groupAttr, 2);
}

// Plain depthwise (multiplier 1) between two convs: one space throughout.
TEST(ConvHandler, DepthwiseChain) {
  std::string text =
      model(kOnnx17, "g (float[1,3,5,5] X) => (float[1,2,5,5] Y)",
            {textTensor("W1", {4, 3, 1, 1}), textTensor("Wd", {4, 1, 3, 3}),
             textTensor("W3", {2, 4, 1, 1})},
            "  A = Conv(X, W1)\n"
            "  B = Conv<group = 4, pads = [1, 1, 1, 1]>(A, Wd)\n"
            "  Y = Conv(B, W3)\n");
  auto am = analyzeText(text);
  ASSERT_OK(am);
  EXPECT_EQ(am->space("A", 1), am->space("B", 1));
  EXPECT_EQ(am->numPrunable("A", 1), 4u);
  CHECK_PROPERTY(r, text, unitsOf("A", 1, {0, 2, 3}));
  EXPECT_EQ(r->pruned.weightDims("Wd"), (Ints{1, 1, 3, 3}));
  int groupAttr = -1;
  for (const Node &n : r->pruned.model->getGraph().getNodes())
    if (n.hasAttr("group"))
      groupAttr = n.getIntAttr("group", -1);
  EXPECT_EQ(groupAttr, 1);
}

// Grouped conv, group 2, 2 in / 3 out channels per group.
const std::string kGrouped =
    model(kOnnx17, "g (float[1,3,5,5] X) => (float[1,2,5,5] Y)",
          {textTensor("W1", {4, 3, 1, 1}), textTensor("Wg", {6, 2, 3, 3}),
           textTensor("Bg", {6}), textTensor("W3", {2, 6, 1, 1})},
          "  A = Conv(X, W1)\n"
          "  B = Conv<group = 2, pads = [1, 1, 1, 1]>(A, Wg, Bg)\n"
          "  Y = Conv(B, W3)\n");

TEST(ConvHandler, GroupedTiesPositionsAcrossGroups) {
  auto am = analyzeText(kGrouped);
  ASSERT_OK(am);
  // In-channels: positions 0 and 1 of each group, with Wg's column.
  EXPECT_EQ(am->numPrunable("A", 1), 2u);
  EXPECT_EQ(am->group("A", 1), am->group("Wg", 1));
  int u = am->unit("A", 1, 0);
  EXPECT_EQ(am->elementsOf(u, "A", 1), (Ints{0, 2}));
  EXPECT_EQ(am->elementsOf(u, "Wg", 1), (Ints{0}));
  EXPECT_EQ(am->unitWidth("A", 1), 3);
  // Out-channels: position j of both groups.
  EXPECT_EQ(am->numPrunable("B", 1), 3u);
  EXPECT_EQ(am->unitWidth("B", 1), 2);
  EXPECT_EQ(am->elementsOf(am->unit("B", 1, 1), "B", 1), (Ints{1, 4}));

  auto orig = analyzeText(kGrouped);
  ASSERT_OK(orig);
  auto both =
      [](const AnalyzedModel &m) -> llvm::Expected<std::vector<unsigned>> {
    return std::vector<unsigned>{(unsigned)m.unit("A", 1, 0),
                                 (unsigned)m.unit("B", 1, 1)};
  };
  CHECK_PROPERTY(r, kGrouped, both);
  EXPECT_EQ(r->pruned.weightDims("W1"), (Ints{2, 3, 1, 1}));
  EXPECT_EQ(r->pruned.weightDims("Wg"), (Ints{4, 1, 3, 3}));
  auto wg = gather(orig->weightFloats("Wg"), {6, 2, 3, 3}, 0, {0, 2, 3, 5});
  EXPECT_EQ(r->pruned.weightFloats("Wg"), gather(wg, {4, 2, 3, 3}, 1, {1}));
  EXPECT_EQ(r->pruned.weightDims("W3"), (Ints{2, 4, 1, 1}));
  for (const Node &n : r->pruned.model->getGraph().getNodes())
    if (n.hasAttr("group"))
      EXPECT_EQ(n.getIntAttr("group", -1), 2); // unchanged
}

TEST(ConvTransposeHandler, PlainStemIsAxis1) {
  std::string text =
      model(kOnnx17, "g (float[1,3,4,4] X) => (float[1,2,8,8] Y)",
            {textTensor("W1", {4, 3, 1, 1}), textTensor("Wt", {4, 5, 2, 2}),
             textTensor("Bt", {5}), textTensor("W3", {2, 5, 1, 1})},
            "  A = Conv(X, W1)\n"
            "  T = ConvTranspose<strides = [2, 2]>(A, Wt, Bt)\n"
            "  Y = Conv(T, W3)\n");
  auto am = analyzeText(text);
  ASSERT_OK(am);
  EXPECT_EQ(am->spaceMembers("A", 1),
            (std::vector<std::string>{"weight W1[0]", "weight Wt[0]", "A[1]"}));
  EXPECT_EQ(am->spaceMembers("T", 1),
            (std::vector<std::string>{"weight Bt[0]", "weight Wt[1]",
                                      "weight W3[1]", "T[1]"}));
  auto orig = analyzeText(text);
  ASSERT_OK(orig);
  auto sel =
      [](const AnalyzedModel &m) -> llvm::Expected<std::vector<unsigned>> {
    return std::vector<unsigned>{(unsigned)m.unit("A", 1, 3),
                                 (unsigned)m.unit("T", 1, 0),
                                 (unsigned)m.unit("T", 1, 2)};
  };
  CHECK_PROPERTY(r, text, sel);
  auto wt = gather(orig->weightFloats("Wt"), {4, 5, 2, 2}, 0, {0, 1, 2});
  EXPECT_EQ(r->pruned.weightFloats("Wt"),
            gather(wt, {3, 5, 2, 2}, 1, {1, 3, 4}));
  EXPECT_EQ(r->pruned.weightDims("Wt"), (Ints{3, 3, 2, 2}));
}

TEST(ConvTransposeHandler, DepthwiseRewritesGroup) {
  std::string text =
      model(kOnnx17, "g (float[1,3,4,4] X) => (float[1,2,8,8] Y)",
            {textTensor("W1", {4, 3, 1, 1}), textTensor("Wt", {4, 2, 2, 2}),
             textTensor("W3", {2, 8, 1, 1})},
            "  A = Conv(X, W1)\n"
            "  T = ConvTranspose<strides = [2, 2], group = 4>(A, Wt)\n"
            "  Y = Conv(T, W3)\n");
  auto am = analyzeText(text);
  ASSERT_OK(am);
  EXPECT_EQ(am->numPrunable("A", 1), 4u);
  EXPECT_EQ(am->elementsOf(am->unit("A", 1, 2), "T", 1), (Ints{4, 5}));
  CHECK_PROPERTY(r, text, unitsOf("A", 1, {2}));
  EXPECT_EQ(r->pruned.weightDims("Wt"), (Ints{3, 2, 2, 2}));
  EXPECT_EQ(r->pruned.nodeIntAttr("ConvTranspose", "group", -1), 3);
  EXPECT_EQ(r->pruned.valueDims("T"), (Ints{1, 6, 8, 8}));
}

TEST(ConvTransposeHandler, Grouped) {
  std::string text =
      model(kOnnx17, "g (float[1,3,4,4] X) => (float[1,2,8,8] Y)",
            {textTensor("W1", {4, 3, 1, 1}), textTensor("Wt", {4, 3, 2, 2}),
             textTensor("W3", {2, 6, 1, 1})},
            "  A = Conv(X, W1)\n"
            "  T = ConvTranspose<strides = [2, 2], group = 2>(A, Wt)\n"
            "  Y = Conv(T, W3)\n");
  auto am = analyzeText(text);
  ASSERT_OK(am);
  EXPECT_EQ(am->numPrunable("A", 1), 2u);
  EXPECT_EQ(am->elementsOf(am->unit("A", 1, 1), "A", 1), (Ints{1, 3}));
  EXPECT_EQ(am->numPrunable("T", 1), 3u);
  EXPECT_EQ(am->elementsOf(am->unit("T", 1, 2), "T", 1), (Ints{2, 5}));
  auto sel =
      [](const AnalyzedModel &m) -> llvm::Expected<std::vector<unsigned>> {
    return std::vector<unsigned>{(unsigned)m.unit("A", 1, 1),
                                 (unsigned)m.unit("T", 1, 2)};
  };
  CHECK_PROPERTY(r, text, sel);
  EXPECT_EQ(r->pruned.weightDims("Wt"), (Ints{2, 2, 2, 2}));
  EXPECT_EQ(r->pruned.nodeIntAttr("ConvTranspose", "group", -1), 2);
}

// ---- Gemm / MatMul ---------------------------------------------------------

TEST(GemmHandler, TransBAndBias) {
  std::string text = model(kOnnx17, "g (float[2,6] X) => (float[2,3] Y)",
                           {textTensor("W1", {4, 6}), textTensor("C1", {4}),
                            textTensor("W2", {4, 3}), textTensor("C2", {3})},
                           "  H = Gemm<transB = 1>(X, W1, C1)\n"
                           "  R = Relu(H)\n"
                           "  Y = Gemm(R, W2, C2)\n");
  auto am = analyzeText(text);
  ASSERT_OK(am);
  EXPECT_EQ(am->spaceMembers("H", 1),
            (std::vector<std::string>{"weight W1[0]", "weight C1[0]",
                                      "weight W2[0]", "H[1]", "R[1]"}));
  EXPECT_EQ(am->spaceMembers("X", 1),
            (std::vector<std::string>{"weight W1[1]", "X[1]"}));
  auto orig = analyzeText(text);
  ASSERT_OK(orig);
  CHECK_PROPERTY(r, text, unitsOf("H", 1, {0, 2}));
  EXPECT_EQ(r->pruned.weightFloats("W1"),
            gather(orig->weightFloats("W1"), {4, 6}, 0, {1, 3}));
  EXPECT_EQ(r->pruned.weightFloats("W2"),
            gather(orig->weightFloats("W2"), {4, 3}, 0, {1, 3}));
  EXPECT_EQ(r->pruned.weightFloats("C1"),
            gather(orig->weightFloats("C1"), {4}, 0, {1, 3}));
}

// transA: the M axis of A is its axis 1 and K its axis 0.
TEST(GemmHandler, TransA) {
  std::string text = model(kOnnx17, "g (float[2,6] X) => (float[3,5] Y)",
                           {textTensor("W1", {4, 6}), textTensor("Wb", {2, 3}),
                            textTensor("Wc", {4, 5})},
                           "  H = Gemm<transB = 1>(X, W1)\n"
                           "  Z = Gemm<transA = 1>(H, Wb)\n"
                           "  Y = Gemm<transA = 1>(Z, Wc)\n");
  auto am = analyzeText(text);
  ASSERT_OK(am);
  EXPECT_EQ(am->spaceMembers("H", 1),
            (std::vector<std::string>{"weight W1[0]", "weight Wc[0]", "H[1]",
                                      "Z[0]"}));
  EXPECT_EQ(am->frozenRule("H", 0), "graph input 'X'"); // K of Z = batch
  CHECK_PROPERTY(r, text, unitsOf("H", 1, {1}));
  EXPECT_EQ(r->pruned.weightDims("Wc"), (Ints{3, 5}));
}

TEST(MatMulHandler, ConstantRightBatched) {
  std::string text = model(kOnnx17, "g (float[2,3,6] X) => (float[2,3,4] Y)",
                           {textTensor("W1", {6, 5}), textTensor("W2", {5, 4})},
                           "  H = MatMul(X, W1)\n"
                           "  R = Relu(H)\n"
                           "  Y = MatMul(R, W2)\n");
  auto am = analyzeText(text);
  ASSERT_OK(am);
  EXPECT_EQ(am->spaceMembers("H", 2),
            (std::vector<std::string>{"weight W1[1]", "weight W2[0]", "H[2]",
                                      "R[2]"}));
  auto orig = analyzeText(text);
  ASSERT_OK(orig);
  CHECK_PROPERTY(r, text, unitsOf("H", 2, {4}));
  EXPECT_EQ(r->pruned.weightFloats("W1"),
            gather(orig->weightFloats("W1"), {6, 5}, 1, {0, 1, 2, 3}));
  EXPECT_EQ(r->pruned.weightFloats("W2"),
            gather(orig->weightFloats("W2"), {5, 4}, 0, {0, 1, 2, 3}));
}

TEST(MatMulHandler, ConstantLeft) {
  std::string text = model(kOnnx17, "g (float[2,6,3] X) => (float[2,4,3] Y)",
                           {textTensor("W1", {5, 6}), textTensor("W2", {4, 5})},
                           "  H = MatMul(W1, X)\n"
                           "  R = Relu(H)\n"
                           "  Y = MatMul(W2, R)\n");
  auto am = analyzeText(text);
  ASSERT_OK(am);
  EXPECT_EQ(am->spaceMembers("H", 1),
            (std::vector<std::string>{"weight W1[0]", "weight W2[1]", "H[1]",
                                      "R[1]"}));
  CHECK_PROPERTY(r, text, unitsOf("H", 1, {0, 3}));
  EXPECT_EQ(r->pruned.weightDims("W1"), (Ints{3, 6}));
  EXPECT_EQ(r->pruned.weightDims("W2"), (Ints{4, 3}));
}

TEST(MatMulHandler, BatchedConstantOperands) {
  std::string text =
      model(kOnnx17, "g (float[2,3,6] X) => (float[2,3,4] Y)",
            {textTensor("W1", {2, 6, 5}), textTensor("W2", {2, 5, 4})},
            "  H = MatMul(X, W1)\n"
            "  Y = MatMul(H, W2)\n");
  auto am = analyzeText(text);
  ASSERT_OK(am);
  EXPECT_EQ(am->numPrunable("H", 2), 5u);
  // The batch axis is the graph input's.
  EXPECT_EQ(am->space("W1", 0), am->space("X", 0));
  EXPECT_EQ(am->frozenRule("W1", 0), "graph input 'X'");
  CHECK_PROPERTY(r, text, unitsOf("H", 2, {1, 2}));
  EXPECT_EQ(r->pruned.weightDims("W1"), (Ints{2, 6, 3}));
  EXPECT_EQ(r->pruned.weightDims("W2"), (Ints{2, 3, 4}));
}

// Two activations: the contraction axis couples both producers.
TEST(MatMulHandler, TwoActivations) {
  std::string text =
      model(kOnnx17, "g (float[3,6] X, float[5,7] Z) => (float[3,7] Y)",
            {textTensor("Wa", {6, 4}), textTensor("Wb", {4, 5})},
            "  A = MatMul(X, Wa)\n"
            "  B = MatMul(Wb, Z)\n"
            "  Y = MatMul(A, B)\n");
  auto am = analyzeText(text);
  ASSERT_OK(am);
  EXPECT_EQ(am->spaceMembers("A", 1),
            (std::vector<std::string>{"weight Wa[1]", "weight Wb[0]", "A[1]",
                                      "B[0]"}));
  EXPECT_EQ(am->space("A", 0), am->space("Y", 0));
  EXPECT_EQ(am->space("B", 1), am->space("Y", 1));
  CHECK_PROPERTY(r, text, unitsOf("A", 1, {1}));
  EXPECT_EQ(r->pruned.weightDims("Wa"), (Ints{6, 3}));
  EXPECT_EQ(r->pruned.weightDims("Wb"), (Ints{3, 5}));
}

// Attention-shaped: [B,H,S,d] @ [B,H,d,T]: batch axes join, d contracts.
TEST(MatMulHandler, AttentionScoresStructure) {
  std::string text = model(
      kOnnx17, "g (float[2,3,4,5] Q, float[2,3,5,6] K) => (float[2,3,4,6] Y)",
      {}, "  Y = MatMul(Q, K)\n");
  auto am = analyzeText(text);
  ASSERT_OK(am);
  EXPECT_EQ(am->space("Q", 0), am->space("K", 0));
  EXPECT_EQ(am->space("Q", 1), am->space("Y", 1));
  EXPECT_EQ(am->space("Q", 3), am->space("K", 2));
  EXPECT_EQ(am->space("Q", 2), am->space("Y", 2));
  EXPECT_EQ(am->space("K", 3), am->space("Y", 3));
  EXPECT_NE(am->space("Q", 3), am->space("Y", 3));
}

// Broadcast batch: a size-1 batch axis is not coupled.
TEST(MatMulHandler, BroadcastBatchNotJoined) {
  std::string text =
      model(kOnnx17, "g (float[1,4,5] A, float[3,5,6] B) => (float[3,4,6] Y)",
            {}, "  Y = MatMul(A, B)\n");
  auto am = analyzeText(text);
  ASSERT_OK(am);
  EXPECT_EQ(am->space("B", 0), am->space("Y", 0));
  EXPECT_NE(am->space("A", 0), am->space("Y", 0));
}

TEST(MatMulHandler, OneDimensionalOperand) {
  std::string text = model(kOnnx17, "g (float[2,6] X) => (float[2] Y)",
                           {textTensor("W1", {6, 5}), textTensor("w2", {5})},
                           "  H = MatMul(X, W1)\n"
                           "  R = Relu(H)\n"
                           "  Y = MatMul(R, w2)\n");
  auto am = analyzeText(text);
  ASSERT_OK(am);
  EXPECT_EQ(am->spaceMembers("H", 1),
            (std::vector<std::string>{"weight W1[1]", "weight w2[0]", "H[1]",
                                      "R[1]"}));
  EXPECT_EQ(am->space("H", 0), am->space("Y", 0));
  CHECK_PROPERTY(r, text, unitsOf("H", 1, {2}));
  EXPECT_EQ(r->pruned.weightDims("w2"), (Ints{4}));
}

TEST(FusedMatMulHandler, TransB) {
  std::string text = model(
      "\"\" : 17, \"com.microsoft\" : 1", "g (float[2,6] X) => (float[2,3] Y)",
      {textTensor("W1", {5, 6}), textTensor("W2", {5, 3}), "float[2,5] H",
       "float[2,5] R"},
      "  H = com.microsoft.FusedMatMul<transB = 1>(X, W1)\n"
      "  R = Relu(H)\n"
      "  Y = com.microsoft.FusedMatMul<alpha = 0.5>(R, W2)\n");
  auto am = analyzeText(text);
  ASSERT_OK(am);
  EXPECT_EQ(am->spaceMembers("H", 1),
            (std::vector<std::string>{"weight W1[0]", "weight W2[0]", "H[1]",
                                      "R[1]"}));
  PruneCheckOptions o;
  o.runChecker = false; // contrib op
  auto r = checkMaskedEqualsPruned(text, unitsOf("H", 1, {0, 4}), o);
  ASSERT_OK(r);
  EXPECT_EQ(r->pruned.weightDims("W1"), (Ints{3, 6}));
}

// ---- Normalisations --------------------------------------------------------

const std::string kBN =
    model(kOnnx17, "g (float[1,3,5,5] X) => (float[1,2,5,5] Y)",
          {textTensor("W1", {4, 3, 3, 3}), textTensor("B1", {4}),
           textTensor("scale", {4}, 0.5f, 1.5f), textTensor("bias", {4}),
           textTensor("mean", {4}), textTensor("var", {4}, 0.5f, 1.5f),
           textTensor("W2", {2, 4, 1, 1})},
          "  A = Conv<pads = [1, 1, 1, 1]>(X, W1, B1)\n"
          "  N = BatchNormalization(A, scale, bias, mean, var)\n"
          "  R = Relu(N)\n"
          "  Y = Conv(R, W2)\n");

TEST(BatchNormHandler, ParametersJoinChannel) {
  auto am = analyzeText(kBN);
  ASSERT_OK(am);
  EXPECT_EQ(am->space("mean", 0), am->space("A", 1));
  EXPECT_EQ(am->space("var", 0), am->space("N", 1));
  auto orig = analyzeText(kBN);
  ASSERT_OK(orig);
  CHECK_PROPERTY(r, kBN, unitsOf("A", 1, {0, 3}));
  for (const char *p : {"scale", "bias", "mean", "var"})
    EXPECT_EQ(r->pruned.weightFloats(p),
              gather(orig->weightFloats(p), {4}, 0, {1, 2}))
        << p;
}

TEST(InstanceNormHandler, ParametersJoinChannel) {
  std::string text =
      model(kOnnx17, "g (float[1,3,5,5] X) => (float[1,2,5,5] Y)",
            {textTensor("W1", {4, 3, 3, 3}), textTensor("B1", {4}),
             textTensor("s", {4}, 0.5f, 1.5f), textTensor("b", {4}),
             textTensor("W2", {2, 4, 1, 1})},
            "  A = Conv<pads = [1, 1, 1, 1]>(X, W1, B1)\n"
            "  N = InstanceNormalization(A, s, b)\n"
            "  Y = Conv(N, W2)\n");
  auto am = analyzeText(text);
  ASSERT_OK(am);
  EXPECT_EQ(am->space("s", 0), am->space("A", 1));
  CHECK_PROPERTY(r, text, unitsOf("A", 1, {1}));
  EXPECT_EQ(r->pruned.weightDims("s"), (Ints{3}));
}

std::string groupNormModel(int opset, int64_t paramSize) {
  return model("\"\" : " + std::to_string(opset),
               "g (float[1,3,4,4] X) => (float[1,2,4,4] Y)",
               {textTensor("W1", {6, 3, 1, 1}), textTensor("B1", {6}),
                textTensor("s", {paramSize}, 0.5f, 1.5f),
                textTensor("b", {paramSize}), textTensor("W2", {2, 6, 1, 1})},
               "  A = Conv(X, W1, B1)\n"
               "  N = GroupNormalization<num_groups = 3>(A, s, b)\n"
               "  Y = Conv(N, W2)\n");
}

TEST(GroupNormHandler, Opset21PerChannelParams) {
  std::string text = groupNormModel(21, 6);
  auto am = analyzeText(text);
  ASSERT_OK(am);
  EXPECT_EQ(am->numPrunable("A", 1), 3u);
  EXPECT_EQ(am->elementsOf(am->unit("A", 1, 2), "A", 1), (Ints{2, 3}));
  EXPECT_EQ(am->space("s", 0), am->space("A", 1));
  auto orig = analyzeText(text);
  ASSERT_OK(orig);
  CHECK_PROPERTY(r, text, unitsOf("A", 1, {3}));
  EXPECT_EQ(r->pruned.nodeIntAttr("GroupNormalization", "num_groups", -1), 2);
  EXPECT_EQ(r->pruned.weightFloats("s"),
            gather(orig->weightFloats("s"), {6}, 0, {0, 1, 4, 5}));
  EXPECT_EQ(r->pruned.weightDims("W1"), (Ints{4, 3, 1, 1}));
}

TEST(GroupNormHandler, Opset18PerGroupParamsStructure) {
  // Opset 18 reads scale/bias per group: the parameter's element g maps
  // onto the block of channels of group g.
  auto am = analyzeText(groupNormModel(18, 3));
  ASSERT_OK(am);
  EXPECT_EQ(am->numPrunable("A", 1), 3u);
  EXPECT_EQ(am->group("s", 0), am->group("A", 1));
  int u = am->unit("A", 1, 4);
  EXPECT_EQ(am->elementsOf(u, "A", 1), (Ints{4, 5}));
  EXPECT_EQ(am->elementsOf(u, "s", 0), (Ints{2}));
}

TEST(GroupNormHandler, Opset18PerGroupParamsPrunes) {
  std::string text = groupNormModel(18, 3);
  PruneCheckOptions o;
  auto orig = analyzeText(text);
  ASSERT_OK(orig);
  auto r = checkMaskedEqualsPruned(text, unitsOf("A", 1, {0}), o);
  ASSERT_OK(r);
  EXPECT_EQ(r->pruned.nodeIntAttr("GroupNormalization", "num_groups", -1), 2);
  EXPECT_EQ(r->pruned.weightFloats("s"),
            gather(orig->weightFloats("s"), {3}, 0, {1, 2}));
}

const std::string kLayerNorm =
    model(kOnnx17, "g (float[1,4,8] X) => (float[1,4,8] Y)",
          {textTensor("W1", {8, 8}), textTensor("gamma", {8}, 0.5f, 1.5f),
           textTensor("beta", {8}), textTensor("Wu", {8, 6}),
           textTensor("Wd", {6, 8})},
          "  H = MatMul(X, W1)\n"
          "  N = LayerNormalization<axis = -1>(H, gamma, beta)\n"
          "  U = MatMul(N, Wu)\n"
          "  R = Relu(U)\n"
          "  Y = MatMul(R, Wd)\n");

TEST(LayerNormHandler, NormalisedAxisFrozen) {
  auto am = analyzeText(kLayerNorm);
  ASSERT_OK(am);
  EXPECT_EQ(am->frozenRule("H", 2), "normalised over");
  EXPECT_EQ(am->numPrunable("H", 2), 0u);
  EXPECT_EQ(am->space("gamma", 0), am->space("H", 2));
  EXPECT_EQ(am->space("W1", 1), am->space("H", 2));
  EXPECT_EQ(am->space("H", 1), am->space("N", 1)); // passes through
  EXPECT_EQ(am->numPrunable("U", 2), 6u);
  CHECK_PROPERTY(r, kLayerNorm, unitsOf("U", 2, {1, 5}));
  EXPECT_EQ(r->pruned.weightDims("gamma"), (Ints{8}));
}

TEST(LayerNormHandler, ContribSimplifiedAndSkip) {
  std::string text = model(
      "\"\" : 17, \"com.microsoft\" : 1",
      "g (float[1,4,8] X, float[1,4,8] S) => (float[1,4,8] Y, float[1,4,8] Z)",
      {textTensor("W1", {8, 8}), textTensor("gamma", {8}), "float[1,4,8] N"},
      "  H = MatMul(X, W1)\n"
      "  N = com.microsoft.SimplifiedLayerNormalization<axis = -1>(H, gamma)\n"
      "  Y, M, V, Z = com.microsoft.SkipLayerNormalization(N, S, gamma)\n");
  auto am = analyzeText(text);
  ASSERT_OK(am);
  // Frozen (the rule shown is the graph output's, met first).
  EXPECT_TRUE(am->frozen("H", 2));
  EXPECT_EQ(am->numPrunable("H", 2), 0u);
  EXPECT_EQ(am->space("H", 1), am->space("N", 1));
  EXPECT_EQ(am->space("N", 1), am->space("Y", 1));
  EXPECT_EQ(am->space("N", 1), am->space("Z", 1));
}

TEST(LRNHandler, ChannelFrozen) {
  std::string text =
      model(kOnnx17, "g (float[1,3,5,5] X) => (float[1,2,5,5] Y)",
            {textTensor("W1", {4, 3, 1, 1}), textTensor("W2", {2, 4, 1, 1})},
            "  A = Conv(X, W1)\n"
            "  L = LRN<size = 3>(A)\n"
            "  Y = Conv(L, W2)\n");
  auto am = analyzeText(text);
  ASSERT_OK(am);
  EXPECT_EQ(am->numPrunable("A", 1), 0u);
  EXPECT_EQ(am->frozenRule("A", 1), "normalised over (neighbouring channels)");
}

TEST(MeanVarianceNormHandler, ReducedAxesFrozen) {
  std::string text =
      model(kOnnx17, "g (float[1,3,5,5] X) => (float[1,2,5,5] Y)",
            {textTensor("W1", {4, 3, 1, 1}), textTensor("W2", {2, 4, 1, 1})},
            "  A = Conv(X, W1)\n"
            "  L = MeanVarianceNormalization<axes = [1]>(A)\n"
            "  M = MeanVarianceNormalization(L)\n"
            "  Y = Conv(M, W2)\n");
  auto am = analyzeText(text);
  ASSERT_OK(am);
  EXPECT_EQ(am->frozenRule("A", 1), "normalised over");
  EXPECT_EQ(am->numPrunable("A", 1), 0u);
}

// ---- Pools, reductions, Resize, Pad ----------------------------------------

TEST(PoolHandler, PoolsPassChannels) {
  std::string text =
      model(kOnnx17, "g (float[1,3,8,8] X) => (float[1,2,2,2] Y)",
            {textTensor("W1", {4, 3, 3, 3}), textTensor("W2", {2, 4, 1, 1})},
            "  A = Conv<pads = [1, 1, 1, 1]>(X, W1)\n"
            "  P = MaxPool<kernel_shape = [2, 2], strides = [2, 2]>(A)\n"
            "  Q = AveragePool<kernel_shape = [2, 2], strides = [2, 2]>(P)\n"
            "  L = LpPool<kernel_shape = [1, 1]>(Q)\n"
            "  Y = Conv(L, W2)\n");
  auto am = analyzeText(text);
  ASSERT_OK(am);
  EXPECT_EQ(am->spaceMembers("A", 1),
            (std::vector<std::string>{"weight W1[0]", "weight W2[1]", "A[1]",
                                      "P[1]", "Q[1]", "L[1]"}));
  EXPECT_EQ(am->group("P", 2), -1);
  CHECK_PROPERTY(r, text, unitsOf("A", 1, {1, 2}));
  EXPECT_EQ(r->pruned.valueDims("Q"), (Ints{1, 2, 2, 2}));
}

TEST(PoolHandler, MaxPoolIndicesFreezeChannel) {
  std::string text = model(
      kOnnx17, "g (float[1,3,8,8] X) => (float[1,2,4,4] Y, int64[1,4,4,4] I)",
      {textTensor("W1", {4, 3, 3, 3}), textTensor("W2", {2, 4, 1, 1})},
      "  A = Conv<pads = [1, 1, 1, 1]>(X, W1)\n"
      "  P, I = MaxPool<kernel_shape = [2, 2], strides = [2, 2]>(A)\n"
      "  Y = Conv(P, W2)\n");
  auto am = analyzeText(text);
  ASSERT_OK(am);
  EXPECT_EQ(am->numPrunable("A", 1), 0u);
  EXPECT_EQ(am->frozenRule("A", 1), "MaxPool Indices number the channels");
}

// GlobalAveragePool -> squeeze (ReduceMean over size-1 axes) -> Gemm.
TEST(PoolHandler, GlobalPoolToGemm) {
  std::string text = model(kOnnx17, "g (float[1,3,6,6] X) => (float[1,5] Y)",
                           {textTensor("W1", {4, 3, 3, 3}),
                            textTensor("Wfc", {5, 4}), textTensor("Bfc", {5})},
                           "  A = Conv<pads = [1, 1, 1, 1]>(X, W1)\n"
                           "  R = Relu(A)\n"
                           "  P = GlobalAveragePool(R)\n"
                           "  F = ReduceMean<axes = [2, 3], keepdims = 0>(P)\n"
                           "  Y = Gemm<transB = 1>(F, Wfc, Bfc)\n");
  auto am = analyzeText(text);
  ASSERT_OK(am);
  EXPECT_EQ(am->spaceMembers("A", 1),
            (std::vector<std::string>{"weight W1[0]", "weight Wfc[1]", "A[1]",
                                      "R[1]", "P[1]", "F[1]"}));
  auto orig = analyzeText(text);
  ASSERT_OK(orig);
  CHECK_PROPERTY(r, text, unitsOf("A", 1, {0}));
  EXPECT_EQ(r->pruned.weightFloats("Wfc"),
            gather(orig->weightFloats("Wfc"), {5, 4}, 1, {1, 2, 3}));
}

TEST(ReduceHandler, ReducedAxisFrozenKeptAxesJoin) {
  // Opset 18: axes as an input; keepdims = 0 shifts the kept axes.
  std::string text = model("\"\" : 18", "g (float[2,3,8] X) => (float[2,8] Y)",
                           {textTensor("W1", {8, 6}), textInts("ax", {1}),
                            textInts("last", {-1}), textTensor("W2", {6, 8})},
                           "  H = MatMul(X, W1)\n"
                           "  M = ReduceMean<keepdims = 0>(H, ax)\n"
                           "  S = ReduceSum(H, last)\n"
                           "  T = Add(H, S)\n"
                           "  Y = MatMul(M, W2)\n");
  auto am = analyzeText(text);
  ASSERT_OK(am);
  EXPECT_EQ(am->space("H", 2), am->space("M", 1));
  EXPECT_EQ(am->space("H", 0), am->space("M", 0));
  EXPECT_EQ(am->frozenRule("H", 2), "reduced over"); // ReduceSum over D
  EXPECT_EQ(am->numPrunable("H", 2), 0u);
}

TEST(ReduceHandler, KeepdimsZeroPrunes) {
  std::string text = model(
      "\"\" : 13", "g (float[2,3,8] X) => (float[2,2,8] Y)",
      {textTensor("W1", {8, 6}), textInts("ax", {1}), textTensor("W2", {6, 8})},
      "  H = MatMul(X, W1)\n"
      "  M = ReduceSum<keepdims = 0>(H, ax)\n"
      "  N = ReduceMax<axes = [1], keepdims = 1>(H)\n"
      "  K = Add(M, N)\n"
      "  Y = MatMul(K, W2)\n");
  auto am = analyzeText(text);
  ASSERT_OK(am);
  EXPECT_EQ(am->space("H", 2), am->space("M", 1));
  EXPECT_EQ(am->space("H", 2), am->space("N", 2));
  EXPECT_TRUE(am->frozen("H", 1)); // reduced over, and the graph input's
  EXPECT_EQ(am->numPrunable("H", 2), 6u);
  CHECK_PROPERTY(r, text, unitsOf("H", 2, {0, 5}));
  EXPECT_EQ(r->pruned.weightDims("W2"), (Ints{4, 8}));
}

TEST(ReduceHandler, ArgMaxOverChannelFrozen) {
  std::string text =
      model(kOnnx17, "g (float[1,3,5,5] X) => (int64[1,1,5,5] Y)",
            {textTensor("W1", {4, 3, 1, 1})},
            "  A = Conv(X, W1)\n"
            "  Y = ArgMax<axis = 1>(A)\n");
  auto am = analyzeText(text);
  ASSERT_OK(am);
  EXPECT_EQ(am->frozenRule("A", 1), "reduced over");
}

/// Conv -> Resize -> Conv; \p param is the scales ("float[4] sc = ...") or
/// the sizes ("int64[4] sz = ...") initializer.
std::string resizeModel(const std::string &param) {
  bool scales = param[0] == 'f';
  std::vector<std::string> inits = {textTensor("W1", {4, 3, 1, 1}),
                                    textTensor("W2", {2, 4, 1, 1}),
                                    "float[0] roi = {}", param};
  if (!scales)
    inits.push_back("float[0] noscales = {}");
  return model(kOnnx17, "g (float[1,3,4,4] X) => (float[1,2,8,8] Y)", inits,
               std::string("  A = Conv(X, W1)\n") +
                   (scales ? "  R = Resize(A, roi, sc)\n"
                           : "  R = Resize(A, roi, noscales, sz)\n") +
                   "  Y = Conv(R, W2)\n");
}

TEST(ResizeHandler, UnitScalesJoinChannel) {
  std::string text = resizeModel("float[4] sc = {1, 1, 2, 2}");
  auto am = analyzeText(text);
  ASSERT_OK(am);
  EXPECT_EQ(am->space("A", 1), am->space("R", 1));
  EXPECT_EQ(am->frozenRule("A", 2), "resized axis");
  CHECK_PROPERTY(r, text, unitsOf("A", 1, {2}));
}

TEST(ResizeHandler, SizesRewritten) {
  std::string text = resizeModel(textInts("sz", {1, 4, 8, 8}));
  auto am = analyzeText(text);
  ASSERT_OK(am);
  EXPECT_EQ(am->space("A", 1), am->space("R", 1));
  CHECK_PROPERTY(r, text, unitsOf("A", 1, {0, 3}));
  std::optional<std::vector<int64_t>> sizes;
  for (const Node &n : r->pruned.model->getGraph().getNodes())
    if (n.getOpType() == "Resize")
      sizes = constantInts(n.getInput(3));
  ASSERT_TRUE(sizes.has_value());
  EXPECT_EQ(*sizes, (Ints{1, 2, 8, 8}));
}

TEST(ResizeHandler, ChannelScaleFrozen) {
  std::string text =
      model(kOnnx17, "g (float[1,3,4,4] X) => (float[1,2,4,4] Y)",
            {textTensor("W1", {4, 3, 1, 1}), textTensor("W2", {2, 8, 1, 1}),
             "float[0] roi = {}", "float[4] sc = {1, 2, 1, 1}"},
            "  A = Conv(X, W1)\n"
            "  R = Resize(A, roi, sc)\n"
            "  Y = Conv(R, W2)\n");
  auto am = analyzeText(text);
  ASSERT_OK(am);
  EXPECT_EQ(am->frozenRule("A", 1), "resized axis");
  EXPECT_EQ(am->numPrunable("A", 1), 0u);
}

TEST(PadHandler, ZeroPadsJoinPaddedFreeze) {
  std::string text =
      model(kOnnx17, "g (float[1,3,4,4] X) => (float[1,2,6,6] Y)",
            {textTensor("W1", {4, 3, 1, 1}), textTensor("W2", {2, 4, 1, 1}),
             textInts("pads", {0, 0, 1, 1, 0, 0, 1, 1})},
            "  A = Conv(X, W1)\n"
            "  P = Pad<mode = \"reflect\">(A, pads)\n"
            "  Y = Conv(P, W2)\n");
  auto am = analyzeText(text);
  ASSERT_OK(am);
  EXPECT_EQ(am->space("A", 1), am->space("P", 1));
  EXPECT_EQ(am->frozenRule("A", 2), "padded axis");
  CHECK_PROPERTY(r, text, unitsOf("A", 1, {1}));

  std::string chanPad =
      model(kOnnx17, "g (float[1,3,4,4] X) => (float[1,2,4,4] Y)",
            {textTensor("W1", {4, 3, 1, 1}), textTensor("W2", {2, 5, 1, 1}),
             textInts("pads", {0, 1, 0, 0, 0, 0, 0, 0})},
            "  A = Conv(X, W1)\n"
            "  P = Pad(A, pads)\n"
            "  Y = Conv(P, W2)\n");
  auto am2 = analyzeText(chanPad);
  ASSERT_OK(am2);
  EXPECT_EQ(am2->frozenRule("A", 1), "padded axis");
}

// ---- The test helper itself ------------------------------------------------

TEST(PruneTestUtil, EveryNthNeverEmptiesAGroup) {
  auto r = checkMaskedEqualsPruned(kBN, everyNthPrunable(1));
  ASSERT_OK(r);
  EXPECT_EQ(r->units.size(), 3u); // 4 prunable, one kept
  EXPECT_EQ(r->pruned.weightDims("W1"), (Ints{1, 3, 3, 3}));
}

TEST(PruneTestUtil, ReportsFrozenSelection) {
  auto r = checkMaskedEqualsPruned(kConvChain, unitsOf("X", 1, {0}));
  ASSERT_FALSE(!!r);
  std::string msg = llvm::toString(r.takeError());
  EXPECT_NE(msg.find("not prunable (graph input 'X')"), std::string::npos)
      << msg;
}

} // namespace
