//===- PruneExpertsTest.cpp - Tests of prune-experts ----------------------===//
///
/// \file
/// prune-experts on tiny MoE text models in both export forms
/// (MoETestModels.h) and, when present, on the real Mixtral exports of
/// test/models/hf/ (skipped otherwise). The correctness test:
///
///   removing expert e  ==  the original model with e never selected
///
/// The reference is the original model whose router Softmax reads L + M
/// instead of the logits L, with M[e] = -inf for every removed expert and
/// 0 for the others (neverSelect). That is exactly the pruned model:
///   - l + 0 == l bit for bit: the kept experts' logits do not change;
///   - softmax gives a removed expert exp(-inf) = 0 and every kept expert
///     exp(l_i) / sum over the kept of exp(l_j): the pruned router's
///     softmax, value for value;
///   - so TopK (largest) picks the same experts with the same
///     probabilities (a removed one never, while k experts with positive
///     probability remain: the pass keeps at least k), and what the block
///     does with them next (Mixtral renormalises them over the k picks)
///     is the same too;
///   - a picked expert computes with its own weights in both models (the
///     pruned TopK index j is the original expert kept[j]).
/// Only rounding differs (the softmax sums E or E - n terms, the extra ones
/// 0), so outputs agree to float tolerance. Zeroing a removed expert's
/// weights instead would not do: it would still be picked, taking a share
/// of the routing weight.
///
/// Also: the pass's model passes `verify` (IR verifier, onnx checker or an
/// ONNX Runtime load), keeps the graph inputs and outputs, the expert width
/// group of the real exports is masked == pruned, and the errors and
/// remarks.
///
//===----------------------------------------------------------------------===//

#include "test/unit/MoETestModels.h"
#include "test/unit/PruneTestAsserts.h"

#include "frontends/onnx/ModelReader.h"
#include "lib/IR/Graph.h"
#include "lib/IR/Rewriter.h"
#include "lib/IR/Tensor.h"
#include "passes/OpHandlers/OpHandler.h"
#include "passes/OpHandlers/ShapeInference.h"
#include "passes/PassManager.h"
#include "passes/Pipeline/PassBuilder.h"
#include "passes/Transforms/PruneExpertsPass.h"

#include "llvm/ADT/SmallPtrSet.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/raw_ostream.h"

#include "gtest/gtest.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

using namespace onnxprune;
using namespace onnxprune::test;

namespace {

using Ints = std::vector<int64_t>;

// ---- The reference: removed experts never selected
// ----------------------------

/// Inserts `Add(L, M)` before each block's router Softmax (see the file
/// comment), M[e] = -inf for the experts of MoEBlockInfo::removed.
llvm::Error neverSelect(Model &m, llvm::ArrayRef<MoEBlockInfo> plan) {
  Graph &g = m.getGraph();
  Rewriter rw(m);
  for (const MoEBlockInfo &b : plan) {
    if (b.removed.empty())
      continue;
    Value *logits = g.lookup(b.routerLogits);
    if (!logits || logits->getUses().size() != 1)
      return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                     "router logits '%s' not found",
                                     b.routerLogits.c_str());
    Node *softmax = logits->getUses()[0].user;
    std::vector<float> mask(b.numExperts, 0.0f);
    for (int64_t e : b.removed)
      mask[e] = -std::numeric_limits<float>::infinity();
    std::string bytes(mask.size() * sizeof(float), '\0');
    std::memcpy(&bytes[0], mask.data(), bytes.size());
    auto t = std::make_unique<Tensor>("never_selected", DataType::Float,
                                      Ints{b.numExperts});
    t->setData({b.numExperts}, std::move(bytes));
    Value *mv = rw.createWeight(g, std::move(t));
    Node *add = rw.createNode(g, "Add", {logits, mv}, 1, softmax);
    rw.setType(add->getOutput(0), logits->getType());
    rw.setInput(softmax, 0, add->getOutput(0));
  }
  return llvm::Error::success();
}

struct ExpertCheck {
  std::vector<MoEBlockInfo> plan;
  std::unique_ptr<Model> pruned;
  CompareResult compare;
};

/// Plans `prune-experts<params>` on a copy, runs `prune-experts<params>,
/// verify` through the pipeline parser on another, builds the never-selected
/// reference on a third and compares the last two in ONNX Runtime. The
/// pruned model must keep the graph inputs and outputs.
llvm::Expected<ExpertCheck>
checkRemovedEqualsNeverSelected(const ModelLoader &load, llvm::StringRef params,
                                const PruneCheckOptions &check) {
  auto opts = parsePruneExpertsOptions(params);
  if (!opts)
    return opts.takeError();
  auto ref = load(), pruned = load();
  if (!ref)
    return ref.takeError();
  if (!pruned)
    return pruned.takeError();
  ExpertCheck r;
  auto plan = planExpertPruning(**pruned, *opts);
  if (!plan)
    return plan.takeError();
  r.plan = std::move(*plan);
  if (llvm::Error e = neverSelect(**ref, r.plan))
    return std::move(e);

  PassBuilder pb;
  ModelPassManager mpm;
  if (llvm::Error e = pb.parsePassPipeline(
          mpm, ("prune-experts<" + params + ">,verify").str()))
    return std::move(e);
  ModelAnalysisManager am;
  auto pa = mpm.run(**pruned, am);
  if (!pa)
    return pa.takeError();
  if (describeIO((*pruned)->getGraph().getInputs()) !=
          describeIO((*ref)->getGraph().getInputs()) ||
      describeIO((*pruned)->getGraph().getOutputs()) !=
          describeIO((*ref)->getGraph().getOutputs()))
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   "the graph inputs or outputs changed");
  auto c = compareInOrt(**ref, **pruned, check, "never-selected", "pruned");
  if (!c)
    return c.takeError();
  r.compare = *c;
  r.pruned = std::move(*pruned);
  return std::move(r);
}

/// Dims of weight \p name of \p m (empty when absent).
Ints dimsOf(const Model &m, llvm::StringRef name) {
  const Value *v = m.getGraph().lookup(name);
  if (!v || !v->isWeight())
    return {};
  auto d = v->getWeight()->getDims();
  return Ints(d.begin(), d.end());
}

/// The max bound of every Clip of \p m.
std::vector<Ints> clipMaxes(const Model &m) {
  std::vector<Ints> out;
  for (const Node &n : m.getGraph().getNodes())
    if (n.getOpType() == "Clip")
      out.push_back(constantInts(n.getInput(2)).value_or(Ints{}));
  return out;
}

PruneCheckOptions tokens(int64_t t) {
  PruneCheckOptions o;
  o.inputs.batchDim = t;
  o.numInputSets = 3;
  return o;
}

// ---- Text models
// ----------------------------------------------------------------

class PruneExpertsText : public ::testing::TestWithParam<MoEExport> {
protected:
  std::string text(unsigned blocks = 1, bool shared = false) const {
    return moeTextModel(GetParam(), 4, 5, 3, 2, blocks, shared);
  }
  const char *router() const {
    return GetParam() == MoEExport::Dynamo ? "R" : "Rt";
  }
};

TEST_P(PruneExpertsText, FindsTheBlock) {
  auto m = parseTextModel(text());
  ASSERT_OK(m);
  std::vector<std::string> skipped;
  auto blocks = findMoEBlocks(**m, &skipped);
  EXPECT_TRUE(skipped.empty());
  ASSERT_EQ(blocks.size(), 1u);
  EXPECT_EQ(blocks[0].numExperts, 4);
  EXPECT_EQ(blocks[0].k, 2);
  EXPECT_EQ(blocks[0].routerLogits, "L");
  EXPECT_EQ(blocks[0].routerWeight, router());
  EXPECT_EQ(blocks[0].expertWeights, (std::vector<std::string>{"GU", "D"}));
}

TEST_P(PruneExpertsText, RemovedEqualsNeverSelected) {
  for (const char *params :
       {"count=1", "count=2", "ratio=0.5;criterion=magnitude;p=1",
        "count=1;criterion=random;seed=1", "count=1;criterion=random;seed=2",
        "count=2;criterion=random;seed=3"}) {
    SCOPED_TRACE(params);
    auto r =
        checkRemovedEqualsNeverSelected(textLoader(text()), params, tokens(7));
    ASSERT_OK(r);
    EXPECT_TRUE(r->compare.match);
    ASSERT_EQ(r->plan.size(), 1u);
    int64_t left = 4 - (int64_t)r->plan[0].removed.size();
    EXPECT_EQ(dimsOf(*r->pruned, "GU"), (Ints{left, 6, 5}));
    EXPECT_EQ(dimsOf(*r->pruned, "D"), (Ints{left, 5, 3}));
    EXPECT_EQ(dimsOf(*r->pruned, router()), GetParam() == MoEExport::Dynamo
                                                ? (Ints{left, 5})
                                                : (Ints{5, left}));
    EXPECT_EQ(clipMaxes(*r->pruned), (std::vector<Ints>{{left - 1}}));
  }
}

TEST_P(PruneExpertsText, PicksTheWeakestExpert) {
  // Scale expert 2 down everywhere: magnitude removes it.
  auto m = parseTextModel(text());
  ASSERT_OK(m);
  for (const char *w : {"GU", "D"}) {
    Tensor &t = *(*m)->getGraph().lookup(w)->getWeight();
    auto vals = readAsDoubles(t);
    ASSERT_OK(vals);
    std::vector<float> f(vals->begin(), vals->end());
    size_t per = f.size() / 4;
    for (size_t j = 2 * per; j < 3 * per; ++j)
      f[j] *= 0.01f;
    std::string bytes(f.size() * 4, '\0');
    std::memcpy(&bytes[0], f.data(), bytes.size());
    auto d = t.getDims();
    t.setData(Ints(d.begin(), d.end()), std::move(bytes));
  }
  auto opts = parsePruneExpertsOptions("count=1");
  ASSERT_OK(opts);
  auto plan = planExpertPruning(**m, *opts);
  ASSERT_OK(plan);
  ASSERT_EQ(plan->size(), 1u);
  EXPECT_EQ((*plan)[0].removed, (Ints{2}));
}

TEST_P(PruneExpertsText, SharedWeightsAreCopiedPerBlock) {
  // Two blocks reading one set of weights (an exporter's merge of equal
  // tensors): each block gets its own sliced copy, whatever the other
  // removes.
  std::string t = text(2, /*shared=*/true);
  auto m = parseTextModel(t);
  ASSERT_OK(m);
  ASSERT_EQ(findMoEBlocks(**m).size(), 2u);
  // A seed under which the blocks remove different experts.
  const char *params = "count=1;criterion=random;seed=4";
  auto opts = parsePruneExpertsOptions(params);
  ASSERT_OK(opts);
  auto plan = planExpertPruning(**m, *opts);
  ASSERT_OK(plan);
  ASSERT_EQ(plan->size(), 2u);
  EXPECT_NE((*plan)[0].removed, (*plan)[1].removed);
  auto r = checkRemovedEqualsNeverSelected(textLoader(t), params, tokens(5));
  ASSERT_OK(r);
  EXPECT_TRUE(r->compare.match);
  // Block 0 gets copies; block 1, the last reader, slices the originals.
  EXPECT_EQ(dimsOf(*r->pruned, "GU"), (Ints{3, 6, 5}));
  llvm::SmallPtrSet<const Value *, 4> experts;
  for (const Node &n : r->pruned->getGraph().getNodes())
    if (n.getOpType() == "Gather" || n.getOpType() == "GatherND") {
      const Value *w = n.getInput(0);
      ASSERT_TRUE(w->isWeight());
      EXPECT_EQ(w->getWeight()->getDims()[0], 3);
      experts.insert(w);
    }
  EXPECT_EQ(experts.size(), 4u);
}

TEST_P(PruneExpertsText, KeepsAtLeastKExperts) {
  auto m = parseTextModel(text());
  ASSERT_OK(m);
  auto opts = parsePruneExpertsOptions("count=3");
  ASSERT_OK(opts);
  std::string log;
  llvm::raw_string_ostream os(log);
  ModelAnalysisManager am;
  auto pa = PruneExpertsPass(*opts, &os).run(**m, am);
  ASSERT_FALSE(bool(pa));
  EXPECT_EQ(llvm::toString(pa.takeError()),
            "node producing 'V' (TopK): removing 3 of 4 experts leaves 1, "
            "fewer than the k=2 experts each token is routed to");
  // Nothing changed before the error.
  EXPECT_EQ(dimsOf(**m, "GU"), (Ints{4, 6, 5}));
}

INSTANTIATE_TEST_SUITE_P(Exports, PruneExpertsText,
                         ::testing::Values(MoEExport::Dynamo,
                                           MoEExport::TorchScript),
                         [](const auto &info) {
                           return info.param == MoEExport::Dynamo
                                      ? "Dynamo"
                                      : "TorchScript";
                         });

TEST(PruneExperts, NoMoEBlockChangesNothingAndSaysSo) {
  std::string text =
      textModel("\"\" : 17", "g (float[2,4] X) => (float[2,3] Y)",
                {textTensor("W", {4, 3}), textInts("k", {2})},
                "  L = MatMul(X, W)\n"
                "  P = Softmax<axis = -1>(L)\n"
                "  V, I = TopK<axis = -1>(P, k)\n"
                "  Y = Relu(L)\n");
  auto m = parseTextModel(text);
  ASSERT_OK(m);
  auto opts = parsePruneExpertsOptions("count=1");
  ASSERT_OK(opts);
  std::string log;
  llvm::raw_string_ostream os(log);
  ModelAnalysisManager am;
  auto pa = PruneExpertsPass(*opts, &os).run(**m, am);
  ASSERT_OK(pa);
  EXPECT_TRUE(pa->areAllPreserved());
  // The router logits also feed Y: not a router this pass can rewrite.
  EXPECT_EQ(os.str(),
            "prune-experts: remark: node producing 'V' (TopK): not pruned: "
            "router logits 'L' are read outside the router\n"
            "prune-experts: remark: no MoE block found (a Softmax -> TopK "
            "router whose indices gather stacked expert weights); the model "
            "is unchanged\n");
}

TEST(PruneExperts, UnknownIndexReaderLeavesTheBlockAlone) {
  // A one-hot expert mask (the per-expert loop of older exports) reads the
  // indices: the pass does not rewrite it, so it leaves the block alone.
  std::string text = moeTextModel(MoEExport::Dynamo);
  text.insert(text.rfind('}'), "  Eq = Equal(Idx, zero)\n");
  const std::string sig = "=> (float[T,5] Y)";
  text.replace(text.find(sig), sig.size(), "=> (float[T,5] Y, bool[T,2] Eq)");
  auto m = parseTextModel(text);
  ASSERT_OK(m);
  std::vector<std::string> skipped;
  EXPECT_TRUE(findMoEBlocks(**m, &skipped).empty());
  EXPECT_EQ(skipped, (std::vector<std::string>{
                         "node producing 'V' (TopK): not pruned: expert "
                         "indices reach node producing 'Eq' (Equal), which "
                         "prune-experts does not rewrite"}));
}

// ---- The real Mixtral exports
// ---------------------------------------------------

#ifdef ONNXPRUNE_SOURCE_DIR
/// test/models/hf/ holds HF exports when they are checked in; the tests
/// skip without them.
std::string hfModel(const char *file) {
  return std::string(ONNXPRUNE_SOURCE_DIR) + "/test/models/hf/" + file;
}

class Mixtral : public ::testing::TestWithParam<const char *> {
protected:
  void SetUp() override {
    path = hfModel(GetParam());
    // The exports are checked in (test/models/hf): missing is a failure.
    ASSERT_TRUE(llvm::sys::fs::exists(path)) << path << " is missing";
    // Token ids over the whole vocabulary: the rows of the table the
    // graph input indexes.
    auto m = readModelFile(path);
    ASSERT_OK(m);
    fillTypes(**m);
    const Graph &g = (*m)->getGraph();
    for (const Node &n : g.getNodes())
      if (n.getOpType() == "Gather" && n.getInput(1)->isGraphInput() &&
          n.getInput(0)->isWeight())
        check.inputs.intHigh = n.getInput(0)->getWeight()->getDims()[0];
    check.inputs.batchDim = 2;
    check.inputs.otherDim = 8;
    check.numInputSets = 2;
    blocks = findMoEBlocks(**m);
  }
  std::string path;
  PruneCheckOptions check;
  std::vector<MoEBlockInfo> blocks;
};

TEST_P(Mixtral, EveryLayerIsAnMoEBlock) {
  ASSERT_FALSE(blocks.empty());
  for (const MoEBlockInfo &b : blocks) {
    EXPECT_GT(b.numExperts, b.k);
    // gate_up [E, 2I, H] and down [E, H, I].
    EXPECT_EQ(b.expertWeights.size(), 2u);
  }
}

TEST_P(Mixtral, RemovedExpertEqualsNeverSelected) {
  ASSERT_FALSE(blocks.empty());
  // Sizes come from the model (it may be re-exported smaller): remove what
  // keeps k experts in every block.
  int64_t spare = INT64_MAX;
  for (const MoEBlockInfo &b : blocks)
    spare = std::min(spare, b.numExperts - b.k);
  std::vector<std::string> runs;
  if (spare >= 1)
    runs = {"count=1", "count=1;criterion=random;seed=1"};
  if (spare >= 2)
    runs.push_back("count=2;criterion=random;seed=2");
  if (runs.empty())
    GTEST_SKIP() << "no block has more than k experts";
  for (const std::string &params : runs) {
    SCOPED_TRACE(params);
    auto r = checkRemovedEqualsNeverSelected(fileLoader(path), params, check);
    ASSERT_OK(r);
    EXPECT_TRUE(r->compare.match);
    llvm::outs() << "prune-experts-result: " << GetParam() << " " << params
                 << " max-abs-err=" << r->compare.maxAbsErr << "\n";
    ASSERT_EQ(r->plan.size(), blocks.size());
    for (const MoEBlockInfo &b : r->plan) {
      int64_t left = b.numExperts - (int64_t)b.removed.size();
      EXPECT_LT(left, b.numExperts);
      for (const std::string &w : b.expertWeights) {
        Ints d = dimsOf(*r->pruned, w);
        ASSERT_FALSE(d.empty()) << w;
        EXPECT_EQ(d[0], left) << w;
      }
    }
  }
}

TEST_P(Mixtral, ExpertWidthIsMaskedEqualsPruned) {
  // The expert intermediate of every block is one group, gate j / up j /
  // down j of all experts together: remove every third unit of it.
  auto am = analyze(fileLoader(path));
  ASSERT_OK(am);
  std::vector<unsigned> units;
  for (const MoEBlockInfo &b : blocks) {
    ASSERT_EQ(b.expertWeights.size(), 2u);
    // Tell gate_up [E, 2I, H] from down [E, H, I].
    std::string gu = b.expertWeights[0], down = b.expertWeights[1];
    if (am->weightDims(gu)[1] != 2 * am->weightDims(down)[2])
      std::swap(gu, down);
    ASSERT_EQ(am->weightDims(gu)[1], 2 * am->weightDims(down)[2]);
    int g = am->group(gu, 1);
    ASSERT_GE(g, 0);
    EXPECT_EQ(g, am->group(down, 2));
    EXPECT_EQ(am->numPrunable(gu, 1), (unsigned)am->weightDims(down)[2]);
    EXPECT_EQ(am->unitWidth(gu, 1), 3);
    std::vector<unsigned> p = am->prunableUnits(g);
    for (size_t i = 0; i < p.size(); i += 3)
      units.push_back(p[i]);
  }
  auto r = checkMaskedEqualsPruned(fileLoader(path), unitIds(units), check);
  ASSERT_OK(r);
  EXPECT_TRUE(r->compare.match);
  EXPECT_LT(r->paramsAfter, r->paramsBefore);
}

INSTANTIATE_TEST_SUITE_P(Exports, Mixtral,
                         ::testing::Values("mixtral_moe__legacy_op17.onnx",
                                           "mixtral_moe__dynamo.onnx"),
                         [](const auto &info) {
                           std::string s = info.param;
                           s = s.substr(s.find("__") + 2);
                           return s.substr(0, s.find('.'));
                         });
#endif

} // namespace
