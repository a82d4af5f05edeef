//===- AttentionHandlersTest.cpp - Tests of the com.microsoft attention ---===//
///
/// \file
/// MultiHeadAttention and GroupQueryAttention handlers on tiny text models
/// fed by constant q/k/v projections: the exact head units (a head's
/// projection columns and its output projection rows; with GQA, one KV
/// head with its query heads), the rewritten head counts, and masked ==
/// pruned in ONNX Runtime with the pruned model passing the checker
/// (PruneTestUtil.h).
///
//===----------------------------------------------------------------------===//

#include "test/unit/PruneTestAsserts.h"

#include "gtest/gtest.h"

#include <cstdint>
#include <sstream>

using namespace onnxprune;
using namespace onnxprune::test;

namespace {

using Ints = std::vector<int64_t>;

/// A model importing com.microsoft 1.
std::string model(const std::string &sig, const std::vector<std::string> &inits,
                  const std::string &body) {
  return textModel("\"\" : 17, \"com.microsoft\" : 1", sig, inits, body);
}

Ints range(int64_t lo, int64_t hi) {
  Ints v;
  for (int64_t i = lo; i < hi; ++i)
    v.push_back(i);
  return v;
}

// ---- com.microsoft MultiHeadAttention
// ------------------------------------------

// Separate q/k/v projections (MatMul: X[.., 8] x W[8, 8], columns are
// output channels), 2 heads of 4, and an output projection.
const std::string kMha =
    model("g (float[1,3,8] X) => (float[1,3,8] Y)",
          {textTensor("Wq", {8, 8}), textTensor("Wk", {8, 8}),
           textTensor("Wv", {8, 8}), textTensor("Wo", {8, 8})},
          "  Q = MatMul(X, Wq)\n"
          "  K = MatMul(X, Wk)\n"
          "  V = MatMul(X, Wv)\n"
          "  O = com.microsoft.MultiHeadAttention<num_heads = 2>(Q, K, V)\n"
          "  Y = MatMul(O, Wo)\n");

TEST(MultiHeadAttentionHandler, HeadsAreUnits) {
  auto am = analyzeText(kMha);
  ASSERT_OK(am);
  EXPECT_EQ(am->numPrunable("Wq", 1), 2u);
  int u = am->unit("Wq", 1, 5);
  ASSERT_GE(u, 0);
  EXPECT_EQ(am->elementsOf(u, "Wq", 1), range(4, 8));
  EXPECT_EQ(am->elementsOf(u, "Wk", 1), range(4, 8));
  EXPECT_EQ(am->elementsOf(u, "Wv", 1), range(4, 8));
  EXPECT_EQ(am->elementsOf(u, "Wo", 0), range(4, 8));
  EXPECT_EQ(am->unit("Wk", 1, 4), u);
  EXPECT_EQ(am->unit("Wv", 1, 7), u);
  EXPECT_EQ(am->unit("Wo", 0, 6), u);
  EXPECT_NE(am->unit("Wq", 1, 3), u);

  CHECK_PROPERTY(r, kMha, unitsOf("Wq", 1, {5}));
  for (const char *w : {"Wq", "Wk", "Wv"})
    EXPECT_EQ(r->pruned.weightDims(w), (Ints{8, 4})) << w;
  EXPECT_EQ(r->pruned.weightDims("Wo"), (Ints{4, 8}));
  EXPECT_EQ(r->pruned.nodeIntAttr("MultiHeadAttention", "num_heads", -1), 1);
}

// With the packed bias [Dq + Dk + Dv]: a head's three bias slices join it.
TEST(MultiHeadAttentionHandler, BiasSlicesJoinTheirHead) {
  std::string text = model(
      "g (float[1,3,8] X) => (float[1,3,8] Y)",
      {textTensor("Wq", {8, 8}), textTensor("Wk", {8, 8}),
       textTensor("Wv", {8, 8}), textTensor("B", {24}),
       textTensor("Wo", {8, 8})},
      "  Q = MatMul(X, Wq)\n"
      "  K = MatMul(X, Wk)\n"
      "  V = MatMul(X, Wv)\n"
      "  O = com.microsoft.MultiHeadAttention<num_heads = 2>(Q, K, V, B)\n"
      "  Y = MatMul(O, Wo)\n");
  auto am = analyzeText(text);
  ASSERT_OK(am);
  int u = am->unit("Wq", 1, 0);
  ASSERT_GE(u, 0);
  EXPECT_EQ(am->elementsOf(u, "B", 0),
            (Ints{0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19}));
  CHECK_PROPERTY(r, text, unitsOf("Wq", 1, {0}));
  EXPECT_EQ(r->pruned.weightDims("B"), (Ints{12}));
  EXPECT_EQ(r->pruned.nodeIntAttr("MultiHeadAttention", "num_heads", -1), 1);
}

// attention_bias [1, H, S, L] carries a slice per head: it joins the head
// (pruning it with a head kept ORT's check of its axis 1 from failing);
// one of size 1 on the head axis broadcasts and stays.
std::string mhaWithBias(int64_t biasHeads) {
  return model(
      "g (float[1,3,8] X) => (float[1,3,8] Y)",
      {textTensor("Wq", {8, 8}), textTensor("Wk", {8, 8}),
       textTensor("Wv", {8, 8}), textTensor("Ab", {1, biasHeads, 3, 3}),
       textTensor("Wo", {8, 8})},
      "  Q = MatMul(X, Wq)\n"
      "  K = MatMul(X, Wk)\n"
      "  V = MatMul(X, Wv)\n"
      "  O = com.microsoft.MultiHeadAttention<num_heads = 2>(Q, K, V, , , "
      "Ab)\n"
      "  Y = MatMul(O, Wo)\n");
}

TEST(MultiHeadAttentionHandler, PerHeadAttentionBiasJoinsItsHead) {
  std::string text = mhaWithBias(2);
  auto am = analyzeText(text);
  ASSERT_OK(am);
  int u = am->unit("Wq", 1, 0);
  ASSERT_GE(u, 0);
  EXPECT_EQ(am->elementsOf(u, "Ab", 1), (Ints{0}));
  CHECK_PROPERTY(r, text, unitsOf("Wq", 1, {0}));
  EXPECT_EQ(r->pruned.weightDims("Ab"), (Ints{1, 1, 3, 3}));
  EXPECT_EQ(r->pruned.nodeIntAttr("MultiHeadAttention", "num_heads", -1), 1);
}

TEST(MultiHeadAttentionHandler, BroadcastAttentionBiasStays) {
  std::string text = mhaWithBias(1);
  CHECK_PROPERTY(r, text, unitsOf("Wq", 1, {7}));
  EXPECT_EQ(r->pruned.weightDims("Ab"), (Ints{1, 1, 3, 3}));
  EXPECT_EQ(r->pruned.weightDims("Wq"), (Ints{8, 4}));
}

// ---- com.microsoft GroupQueryAttention
// -----------------------------------------

// 4 query heads and 2 KV heads of d = 8 (r = 2; ORT's CPU kernel wants d a
// multiple of 8), projections as above. The kernel also wants seqlens_k
// (total length - 1 per batch) and total_sequence_length; no past state
// (a prompt).
const std::string kGqa = model(
    "g (float[1,3,16] X) => (float[1,3,16] Y)",
    {textTensor("Wq", {16, 32}), textTensor("Wk", {16, 16}),
     textTensor("Wv", {16, 16}), textTensor("Wo", {32, 16}),
     "int32[1] Sk = {2}", "int32 Tl = {3}"},
    "  Q = MatMul(X, Wq)\n"
    "  K = MatMul(X, Wk)\n"
    "  V = MatMul(X, Wv)\n"
    "  O = com.microsoft.GroupQueryAttention<num_heads = 4, kv_num_heads = "
    "2>(Q, K, V, , , Sk, Tl)\n"
    "  Y = MatMul(O, Wo)\n");

TEST(GroupQueryAttentionHandler, KvHeadWithItsQueryHeadsIsAUnit) {
  auto am = analyzeText(kGqa);
  ASSERT_OK(am);
  EXPECT_EQ(am->numPrunable("Wk", 1), 2u);
  int u = am->unit("Wk", 1, 9);
  ASSERT_GE(u, 0);
  EXPECT_EQ(am->elementsOf(u, "Wk", 1), range(8, 16));
  EXPECT_EQ(am->elementsOf(u, "Wv", 1), range(8, 16));
  EXPECT_EQ(am->elementsOf(u, "Wq", 1), range(16, 32));
  EXPECT_EQ(am->elementsOf(u, "Wo", 0), range(16, 32));
  EXPECT_EQ(am->unit("Wq", 1, 16), u);
  EXPECT_EQ(am->unit("Wq", 1, 31), u);
  EXPECT_NE(am->unit("Wq", 1, 15), u);

  CHECK_PROPERTY(r, kGqa, unitsOf("Wk", 1, {9}));
  EXPECT_EQ(r->pruned.weightDims("Wq"), (Ints{16, 16}));
  EXPECT_EQ(r->pruned.weightDims("Wk"), (Ints{16, 8}));
  EXPECT_EQ(r->pruned.weightDims("Wv"), (Ints{16, 8}));
  EXPECT_EQ(r->pruned.weightDims("Wo"), (Ints{16, 16}));
  EXPECT_EQ(r->pruned.nodeIntAttr("GroupQueryAttention", "num_heads", -1), 2);
  EXPECT_EQ(r->pruned.nodeIntAttr("GroupQueryAttention", "kv_num_heads", -1),
            1);
}

// head_sink [Hq] and attention_bias [1, Hq, S, T] carry a slice per query
// head.
TEST(GroupQueryAttentionHandler, HeadSinkAndBiasJoinTheirQueryHeads) {
  std::string text = model(
      "g (float[1,3,16] X) => (float[1,3,16] Y)",
      {textTensor("Wq", {16, 32}), textTensor("Wk", {16, 16}),
       textTensor("Wv", {16, 16}), textTensor("Wo", {32, 16}),
       "int32[1] Sk = {2}", "int32 Tl = {3}", textTensor("Ab", {1, 4, 3, 3}),
       textTensor("Hs", {4})},
      "  Q = MatMul(X, Wq)\n"
      "  K = MatMul(X, Wk)\n"
      "  V = MatMul(X, Wv)\n"
      "  O = com.microsoft.GroupQueryAttention<num_heads = 4, kv_num_heads = "
      "2>(Q, K, V, , , Sk, Tl, , , , Ab, Hs)\n"
      "  Y = MatMul(O, Wo)\n");
  auto am = analyzeText(text);
  ASSERT_OK(am);
  int u = am->unit("Wk", 1, 0);
  ASSERT_GE(u, 0);
  EXPECT_EQ(am->elementsOf(u, "Ab", 1), (Ints{0, 1}));
  EXPECT_EQ(am->elementsOf(u, "Hs", 0), (Ints{0, 1}));
  CHECK_PROPERTY(r, text, unitsOf("Wk", 1, {0}));
  EXPECT_EQ(r->pruned.weightDims("Ab"), (Ints{1, 2, 3, 3}));
  EXPECT_EQ(r->pruned.weightDims("Hs"), (Ints{2}));
  EXPECT_EQ(r->pruned.nodeIntAttr("GroupQueryAttention", "num_heads", -1), 2);
  EXPECT_EQ(r->pruned.nodeIntAttr("GroupQueryAttention", "kv_num_heads", -1),
            1);
}

} // namespace
