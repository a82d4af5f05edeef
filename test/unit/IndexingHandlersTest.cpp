//===- IndexingHandlersTest.cpp - Tests of the GatherND and TopK handlers -===//
///
/// \file
/// GatherND and TopK on tiny text models: the expert intermediate of a
/// dynamo MoE block (GatherND of stacked expert weights by run-time
/// indices) is one width group across experts (gate j, up j and down j
/// together), the expert axis is frozen; constant GatherND indices are an
/// index map renumbered after pruning; TopK passes every axis but its own.
/// Each case checks masked == pruned in ONNX Runtime (PruneTestUtil.h).
///
//===----------------------------------------------------------------------===//

#include "test/unit/MoETestModels.h"
#include "test/unit/PruneTestAsserts.h"

#include "passes/OpHandlers/OpHandler.h"

#include "gtest/gtest.h"

#include <cstdint>

using namespace onnxprune;
using namespace onnxprune::test;

namespace {

using Ints = std::vector<int64_t>;

/// Masked == pruned on the MoE models needs a few tokens (T) per run.
PruneCheckOptions tokens(int64_t t) {
  PruneCheckOptions o;
  o.inputs.batchDim = t;
  return o;
}

// ---- GatherND: experts of a dynamo MoE block --------------------------------

TEST(GatherNDHandler, ExpertIntermediateIsOneGroupAcrossExperts) {
  const int64_t e = 4, h = 5, i = 3;
  std::string text = moeTextModel(MoEExport::Dynamo, e, h, i);
  auto am = analyzeText(text);
  ASSERT_OK(am);
  // gate_up's 2I rows and down's I columns: unit j = {gate j, up j, down j}.
  EXPECT_EQ(am->group("GU", 1), am->group("D", 2));
  EXPECT_EQ(am->numPrunable("GU", 1), (unsigned)i);
  EXPECT_EQ(am->unitWidth("GU", 1), 3);
  int u = am->unit("D", 2, 1);
  ASSERT_GE(u, 0);
  EXPECT_EQ(am->elementsOf(u, "GU", 1), (Ints{1, 1 + i}));
  EXPECT_EQ(am->elementsOf(u, "Wd", 2), (Ints{1}));
  // The gathered rows follow their weight; the expert axis does not.
  EXPECT_EQ(am->group("Wg", 1), am->group("GU", 1));
  EXPECT_EQ(am->group("GU", 2), am->group("X", 1));
  EXPECT_EQ(am->frozenRule("GU", 0), "indexed by values computed at run time");
  EXPECT_EQ(am->frozenRule("D", 0), "indexed by values computed at run time");

  auto r = checkMaskedEqualsPruned(text, unitsOf("D", 2, {0, 2}), tokens(6));
  ASSERT_OK(r);
  EXPECT_TRUE(r->compare.match);
  EXPECT_EQ(r->pruned.weightDims("GU"), (Ints{e, 2, h}));
  EXPECT_EQ(r->pruned.weightDims("D"), (Ints{e, h, 1}));
  EXPECT_EQ(r->pruned.valueDims("Hh"), (Ints{-1, 1}));
}

TEST(GatherNDHandler, TorchScriptGatherFormAgrees) {
  // The TorchScript form (Gather<axis=0>) must give the same group: the
  // two exports of one model prune alike.
  std::string text = moeTextModel(MoEExport::TorchScript);
  auto am = analyzeText(text);
  ASSERT_OK(am);
  EXPECT_EQ(am->group("GU", 1), am->group("D", 2));
  EXPECT_EQ(am->numPrunable("GU", 1), 3u);
  auto r = checkMaskedEqualsPruned(text, unitsOf("D", 2, {1}), tokens(6));
  ASSERT_OK(r);
  EXPECT_TRUE(r->compare.match);
  EXPECT_EQ(r->pruned.weightDims("GU"), (Ints{4, 4, 5}));
}

// ---- GatherND: constant indices
// ----------------------------------------------

// Rows 2, 0, 3 of W picked by constant GatherND indices, transposed into the
// output columns of a linear layer: W row r is output channel t where
// I[t] = r; row 1 is gathered by nobody.
const std::string kConstIdx =
    textModel("\"\" : 17", "g (float[2,3] X) => (float[2,5] Y)",
              {textTensor("W", {4, 3}), textTensor("W2", {3, 5}),
               "int64[3,1] I = {2, 0, 3}"},
              "  Wg = GatherND(W, I)\n"
              "  Wt = Transpose(Wg)\n"
              "  Z = MatMul(X, Wt)\n"
              "  Y = MatMul(Z, W2)\n");

TEST(GatherNDHandler, ConstantIndicesAreAnIndexMap) {
  auto am = analyzeText(kConstIdx);
  ASSERT_OK(am);
  EXPECT_EQ(am->unit("W", 0, 2), am->unit("Wg", 0, 0));
  EXPECT_EQ(am->unit("W", 0, 0), am->unit("W2", 0, 1));
  EXPECT_EQ(am->unit("W", 0, 3), am->unit("Z", 1, 2));
  // Remove W rows 0 and 1: output channel 1 (which read row 0) goes, and
  // rows 2, 3 are rows 0, 1 of the pruned W[2, 3]: indices [[0], [1]].
  auto r = checkMaskedEqualsPruned(kConstIdx, unitsOf("W", 0, {0, 1}));
  ASSERT_OK(r);
  EXPECT_TRUE(r->compare.match);
  EXPECT_EQ(r->pruned.weightDims("W"), (Ints{2, 3}));
  EXPECT_EQ(r->pruned.weightDims("W2"), (Ints{2, 5}));
  for (const Node &n : r->pruned.model->getGraph().getNodes())
    if (n.getOpType() == "GatherND") {
      EXPECT_EQ(constantInts(n.getInput(1)), (Ints{0, 1}));
      const Tensor *t = n.getInput(1)->getWeight();
      ASSERT_TRUE(t);
      EXPECT_EQ(std::vector<int64_t>(t->getDims().begin(), t->getDims().end()),
                (Ints{2, 1}));
    }
}

TEST(GatherNDHandler, BatchDimsJoinAndDeepIndicesFreeze) {
  // batch_dims=1: X's batch axis joins I's and Y's; the indexed axis of a
  // depth-2 index reads single elements: frozen.
  std::string text =
      textModel("\"\" : 17", "g (int64[2,5,2] I) => (float[2,5,6] Y)",
                {textTensor("X", {2, 3, 4, 6})},
                "  Y = GatherND<batch_dims = 1>(X, I)\n");
  auto am = analyzeText(text);
  ASSERT_OK(am);
  EXPECT_EQ(am->space("X", 0), am->space("Y", 0));
  EXPECT_EQ(am->space("I", 1), am->space("Y", 1));
  EXPECT_EQ(am->space("X", 3), am->space("Y", 2));
  EXPECT_EQ(am->frozenRule("X", 1), "indexed by values computed at run time");
  EXPECT_EQ(am->frozenRule("X", 2), "indexed by values computed at run time");
}

// ---- TopK
// --------------------------------------------------------------------

// Channels pass through a TopK over the length axis.
const std::string kTopKConv =
    textModel("\"\" : 17", "g (float[1,2,8] X) => (float[1,3,3] Y)",
              {textTensor("W1", {4, 2, 1}), textTensor("W2", {3, 4, 1}),
               textInts("k", {3})},
              "  H = Conv(X, W1)\n"
              "  V, I = TopK<axis = 2>(H, k)\n"
              "  Y = Conv(V, W2)\n");

TEST(TopKHandler, OtherAxesPassTheSelectedAxisFreezes) {
  auto am = analyzeText(kTopKConv);
  ASSERT_OK(am);
  EXPECT_EQ(am->group("W1", 0), am->group("W2", 1));
  EXPECT_EQ(am->space("H", 1), am->space("I", 1));
  EXPECT_EQ(am->numPrunable("W1", 0), 4u);
  EXPECT_EQ(am->frozenRule("H", 2), "top-k selection reads this axis whole");
  CHECK_PROPERTY(r, kTopKConv, unitsOf("W1", 0, {1, 2}));
  EXPECT_EQ(r->pruned.weightDims("W2"), (Ints{3, 2, 1}));
}

} // namespace
