//===- DataCriteriaTest.cpp - Calibration statistics and data criteria ----===//
///
/// \file
/// The streaming accumulators (moments, X^T X of vectors and conv patches,
/// projected L1 per block) and the data criteria (wanda, amp, obs with
/// compensation) against numbers worked out by hand. Criteria get their
/// statistics from a fake provider that hands back preset values, so these
/// tests need no runtime: the interface is what is tested.
///
//===----------------------------------------------------------------------===//

#include "passes/Analysis/Calibration.h"
#include "passes/Criteria/Criterion.h"
#include "passes/PassParams.h"
#include "passes/Transforms/DropLayersPass.h"
#include "passes/Transforms/PruneExpertsPass.h"
#include "passes/Transforms/PruneWidthPass.h"

#include "frontends/onnx/ModelReader.h"
#include "lib/IR/Graph.h"
#include "lib/IR/Tensor.h"
#include "passes/OpHandlers/ShapeInference.h"

#include "llvm/ADT/StringMap.h"

#include "gtest/gtest.h"

#include <cmath>

using namespace onnxprune;

namespace {

// ---- Accumulators -----------------------------------------------------------

TEST(StatsAccumulatorTest, MomentsOverEveryOtherAxis) {
  StatRequest r;
  r.value = "x";
  r.axis = 1;
  StatsAccumulator acc(r);
  // x[2, 2, 2]: channel 0 = {1, -1, 5, 3}, channel 1 = {2, 2, -4, 0}.
  float x[] = {1, -1, 2, 2, 5, 3, -4, 0};
  ASSERT_FALSE(bool(acc.add(x, {2, 2, 2})));
  ActivationStats s = acc.take();
  EXPECT_EQ(s.count, 4);
  EXPECT_EQ(s.channels, 2);
  EXPECT_DOUBLE_EQ(s.sum[0], 8);
  EXPECT_DOUBLE_EQ(s.sumSq[0], 36);
  EXPECT_DOUBLE_EQ(s.sumAbs[1], 8);
  EXPECT_DOUBLE_EQ(s.mean(0), 2);
  EXPECT_DOUBLE_EQ(s.variance(0), 9 - 4);
}

TEST(StatsAccumulatorTest, MomentsOfRowsOfEveryShape) {
  // Channels contiguous (axis -1): one pass over the rows, four at a time
  // plus the rest, for every row count around the blocks and channel
  // counts that are and are not multiples of the vector width, against
  // sums in double.
  for (int64_t rows = 0; rows <= 11; ++rows)
    for (int64_t c = 1; c <= 9; ++c) {
      SCOPED_TRACE(std::to_string(rows) + " rows, " + std::to_string(c) +
                   " channels");
      std::vector<float> x(rows * c);
      for (size_t i = 0; i < x.size(); ++i)
        x[i] = float(int64_t(i * 7919 % 23) - 11) / 4;
      StatRequest r;
      r.value = "x";
      StatsAccumulator acc(r);
      // Twice: sums go on across batches.
      ASSERT_FALSE(bool(acc.add(x.data(), {rows, c})));
      ASSERT_FALSE(bool(acc.add(x.data(), {rows, c})));
      ActivationStats s = acc.take();
      EXPECT_EQ(s.count, 2 * rows);
      for (int64_t ch = 0; ch < c; ++ch) {
        double sum = 0, sq = 0, ab = 0;
        for (int64_t o = 0; o < rows; ++o) {
          double v = x[o * c + ch];
          sum += v, sq += v * v, ab += std::fabs(v);
        }
        // Quarters: every partial sum is exact in float.
        EXPECT_EQ(s.sum[ch], 2 * sum) << ch;
        EXPECT_EQ(s.sumSq[ch], 2 * sq) << ch;
        EXPECT_EQ(s.sumAbs[ch], 2 * ab) << ch;
      }
    }
}

TEST(StatsAccumulatorTest, GramIsSymmetricAcrossChunks) {
  // 300 vectors: one chunk of 256 and one of 44; integers, so exact.
  StatRequest r;
  r.kind = StatRequest::Kind::Gram;
  r.value = "x";
  StatsAccumulator acc(r);
  const int64_t n = 300, d = 5;
  std::vector<float> x(n * d);
  for (size_t i = 0; i < x.size(); ++i)
    x[i] = float(int64_t(i * 31 % 7) - 3);
  ASSERT_FALSE(bool(acc.add(x.data(), {n, d})));
  ActivationStats s = acc.take();
  EXPECT_EQ(s.count, n);
  for (int64_t i = 0; i < d; ++i)
    for (int64_t j = 0; j < d; ++j) {
      double dot = 0;
      for (int64_t v = 0; v < n; ++v)
        dot += double(x[v * d + i]) * x[v * d + j];
      EXPECT_EQ(s.gram[i * d + j], dot) << i << "," << j;
    }
}

TEST(StatsAccumulatorTest, GramOfLastAxisAcrossBatches) {
  StatRequest r;
  r.kind = StatRequest::Kind::Gram;
  r.value = "x";
  StatsAccumulator acc(r);
  float a[] = {1, 2, 3, 4}; // two vectors (1,2), (3,4)
  float b[] = {0, 1};       // one vector
  ASSERT_FALSE(bool(acc.add(a, {2, 2})));
  ASSERT_FALSE(bool(acc.add(b, {1, 2})));
  ActivationStats s = acc.take();
  EXPECT_EQ(s.count, 3);
  // X^T X = [[1+9+0, 2+12+0], [., 4+16+1]].
  EXPECT_EQ(s.gram, (std::vector<double>{10, 14, 14, 21}));
  // A batch with another width is an error naming the tensor.
  StatsAccumulator acc2(r);
  ASSERT_FALSE(bool(acc2.add(a, {2, 2})));
  llvm::Error e = acc2.add(a, {1, 4});
  ASSERT_TRUE(bool(e));
  EXPECT_NE(llvm::toString(std::move(e)).find("'x'"), std::string::npos);
}

TEST(StatsAccumulatorTest, ConvGramOfPatches) {
  StatRequest r;
  r.kind = StatRequest::Kind::ConvGram;
  r.value = "x";
  r.conv.kernel = {2, 2};
  r.conv.strides = {1, 1};
  r.conv.dilations = {1, 1};
  r.conv.pads = {0, 0, 1, 1}; // one row and column of zeros at the end
  StatsAccumulator acc(r);
  // x[1, 1, 2, 2] = [[1, 2], [3, 4]]: with the end padding, 2x2 output
  // positions; patches (row-major taps): (1,2,3,4), (2,0,4,0), (3,4,0,0),
  // (4,0,0,0).
  float x[] = {1, 2, 3, 4};
  ASSERT_FALSE(bool(acc.add(x, {1, 1, 2, 2})));
  ActivationStats s = acc.take();
  EXPECT_EQ(s.count, 4);
  EXPECT_EQ(s.channels, 4);
  // Column 0 = (1, 2, 3, 4), column 1 = (2, 0, 4, 0), column 3 = (4,0,0,0).
  EXPECT_DOUBLE_EQ(s.gram[0 * 4 + 0], 1 + 4 + 9 + 16);
  EXPECT_DOUBLE_EQ(s.gram[0 * 4 + 1], 2 + 0 + 12 + 0);
  EXPECT_DOUBLE_EQ(s.gram[1 * 4 + 0], 14);
  EXPECT_DOUBLE_EQ(s.gram[0 * 4 + 3], 4);
  EXPECT_DOUBLE_EQ(s.gram[3 * 4 + 3], 16);
}

TEST(StatsAccumulatorTest, BlockProjectedL1) {
  StatRequest r;
  r.kind = StatRequest::Kind::BlockProjL1;
  r.value = "x";
  r.weight = "Wo";
  r.block = 2;
  // The example of AmpCriterion.cpp: x = [1, -1, 2, 0], W_o[4, 1] =
  // [1, 1, 1, 2]: head 0 gives |1 - 1| = 0, head 1 |2 + 0| = 2.
  StatsAccumulator acc(r, {1, 1, 1, 2}, 1);
  float x[] = {1, -1, 2, 0};
  ASSERT_FALSE(bool(acc.add(x, {1, 1, 4})));
  ActivationStats s = acc.take();
  EXPECT_EQ(s.count, 1);
  EXPECT_EQ(s.blockL1, (std::vector<double>{0, 2}));
}

// ---- Criteria on preset statistics ----------------------------------------

/// Hands back preset statistics by request key, and records what was asked.
class FakeProvider final : public CalibrationProvider {
public:
  llvm::StringMap<ActivationStats> preset;
  std::vector<std::string> asked;

  bool hasData() const override { return true; }
  std::string describe(const CalibrationSource &) const override {
    return "fake";
  }
  llvm::Expected<std::vector<ActivationStats>>
  collect(const Model &, llvm::ArrayRef<StatRequest> requests,
          const CalibrationSource &) override {
    std::vector<ActivationStats> out;
    for (const StatRequest &r : requests) {
      asked.push_back(r.key());
      auto it = preset.find(r.key());
      if (it == preset.end())
        return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                       "no preset for " + r.key());
      out.push_back(it->second);
    }
    return out;
  }
  llvm::Expected<std::vector<ActivationStats>>
  collectReference(llvm::ArrayRef<StatRequest> requests,
                   const CalibrationSource &source) override {
    return collect(Model(), requests, source);
  }
  llvm::Error forEachBatch(const Model &, llvm::ArrayRef<std::string>,
                           const CalibrationSource &, BatchFn) override {
    return llvm::Error::success();
  }
};

// x[N,2] -> MatMul W1[2,2] -> Relu -> MatMul W2[2,1]: one group, the two
// hidden channels. W1 (stored [K, N]) = [[1, -2], [3, 4]]: hidden channel
// j reads x through column j: (1, 3) and (-2, 4). W2 = [[2], [1]].
const char *TwoLayer = R"(
<ir_version: 8, opset_import: ["" : 17]>
g (float[N,2] x) => (float[N,1] y)
<float[2,2] W1 = {1, -2, 3, 4}, float[2,1] W2 = {2, 1}>
{
  h = MatMul(x, W1)
  a = Relu(h)
  y = MatMul(a, W2)
}
)";

ActivationStats moments(std::vector<double> sumSq, std::vector<double> sumAbs) {
  ActivationStats s;
  s.count = 1;
  s.channels = sumSq.size();
  s.sum.assign(sumSq.size(), 0);
  s.sumSq = std::move(sumSq);
  s.sumAbs = std::move(sumAbs);
  return s;
}

std::string key(StatRequest::Kind kind, const char *value) {
  StatRequest r;
  r.kind = kind;
  r.value = value;
  r.axis = -1;
  return r.key();
}

class DataCriteriaTest : public ::testing::Test {
protected:
  void SetUp() override {
    auto mm = readModelFromBuffer(TwoLayer, ModelFormat::Text, "", "test");
    ASSERT_TRUE(bool(mm)) << llvm::toString(mm.takeError());
    m = std::move(*mm);
    fillTypes(*m);
    auto g = buildDepGraph(*m);
    ASSERT_TRUE(bool(g)) << llvm::toString(g.takeError());
    dg = std::make_unique<DepGraph>(std::move(*g));
    int space = dg->spaceOf({m->getGraph().lookup("W2"), 0});
    ASSERT_GE(space, 0);
    group = dg->getSpaces()[space].group;
    ASSERT_GE(group, 0);
    ASSERT_EQ(dg->getGroups()[group].numPrunable, 2u);
    // rms(x) = (0.5, 2); rms(a) = (1, 3); mean |a| = (0.7, 0.2);
    // a^T a = [[2, 1], [1, 1]].
    provider.preset[key(StatRequest::Kind::Moments, "x")] =
        moments({0.25, 4}, {0, 0});
    provider.preset[key(StatRequest::Kind::Moments, "a")] =
        moments({1, 9}, {0.7, 0.2});
    ActivationStats gram;
    gram.count = 1;
    gram.channels = 2;
    gram.gram = {2, 1, 1, 1};
    provider.preset[key(StatRequest::Kind::Gram, "a")] = gram;
  }

  /// The scores of the hidden group, by hidden channel.
  std::vector<double> scores(llvm::StringRef name, llvm::StringRef params) {
    auto pp = PassParams::parse("test", params);
    EXPECT_TRUE(bool(pp));
    CriterionOptions opts;
    auto c = configureCriterion(*pp, name, opts);
    EXPECT_TRUE(bool(c)) << llvm::toString(c.takeError());
    EXPECT_FALSE(bool(pp->finish()));
    CriterionContext ctx;
    ctx.model = m.get();
    ctx.dg = dg.get();
    ctx.calibration = &provider;
    ctx.log = &llvm::nulls();
    EXPECT_FALSE(bool((*c)->prepare(ctx, {unsigned(group)})));
    auto s = (*c)->score(*dg, group, opts);
    EXPECT_TRUE(bool(s)) << llvm::toString(s.takeError());
    return s ? *s : std::vector<double>();
  }

  std::unique_ptr<Model> m;
  std::unique_ptr<DepGraph> dg;
  int group = -1;
  FakeProvider provider;
};

TEST_F(DataCriteriaTest, Wanda) {
  // The consumer, W2 row j times rms(a_j): (2 * 1, 1 * 3); the stem W1
  // (whose weights multiply x, not the unit) adds nothing.
  std::vector<double> s = scores("wanda", "");
  ASSERT_EQ(s.size(), 2u);
  EXPECT_DOUBLE_EQ(s[0], 2);
  EXPECT_DOUBLE_EQ(s[1], 3);
}

TEST_F(DataCriteriaTest, AmpIsTheMeanActivationAtTheConsumer) {
  std::vector<double> s = scores("amp", "");
  ASSERT_EQ(s.size(), 2u);
  EXPECT_DOUBLE_EQ(s[0], 0.7);
  EXPECT_DOUBLE_EQ(s[1], 0.2);
}

TEST_F(DataCriteriaTest, ObsScoresTheConsumersError) {
  // Without compensation a unit costs what removing its column alone does:
  // 1/2 W[:, j]^2 H_jj with H = [[2, 1], [1, 1]]: (1/2 * 4 * 2, 1/2 * 1 * 1).
  std::vector<double> plain = scores("obs", "lambda=0");
  ASSERT_EQ(plain.size(), 2u);
  EXPECT_NEAR(plain[0], 4, 1e-9);
  EXPECT_NEAR(plain[1], 0.5, 1e-9);
  // With compensation the kept column absorbs it: H^-1 = [[1, -1], [-1, 2]],
  // dE(0) = 1/2 * 2^2 / 1 = 2, dE(1) = 1/2 * 1^2 / 2 = 0.25.
  std::vector<double> s = scores("obs", "lambda=0;compensate");
  ASSERT_EQ(s.size(), 2u);
  EXPECT_NEAR(s[0], 2, 1e-6);
  EXPECT_NEAR(s[1], 0.25, 1e-6);
  // lambda=0.5 adds 0.5 * mean(diag H) = 0.75 to the diagonal:
  // H = [[2.75, 1], [1, 1.75]], det 3.8125, H^-1_00 = 1.75 / 3.8125, so
  // dE(0) = 1/2 * 4 * 3.8125 / 1.75.
  std::vector<double> d = scores("obs", "lambda=0.5;compensate");
  EXPECT_NEAR(d[0], 2 * 3.8125 / 1.75, 1e-9);
}

TEST_F(DataCriteriaTest, ObsCompensationIsAPlanUpdate) {
  auto opts = PruneWidthOptions::parse(
      "criterion=obs;lambda=0;compensate;per-group=0.5");
  ASSERT_TRUE(bool(opts)) << llvm::toString(opts.takeError());
  auto plan = computePrunePlan(*m, *dg, *opts, llvm::nulls(), &provider);
  ASSERT_TRUE(bool(plan)) << llvm::toString(plan.takeError());
  ASSERT_EQ(plan->numRemoved(), 1u);
  EXPECT_EQ(plan->groups[0].removed[0].unit.index, 1);
  EXPECT_EQ(plan->source, "fake");
  // Remove channel 1: dW = -W[:,1] / H^-1_11 * H^-1_1: = -1/2 * (-1, 2):
  // W2 = (2, 1) + (0.5, -1) = (2.5, 0).
  ASSERT_EQ(plan->updates.size(), 1u);
  const WeightUpdate &u = plan->updates[0];
  EXPECT_EQ(u.weight, "W2");
  ASSERT_EQ(u.bytes.size(), 2 * sizeof(float));
  const float *w = reinterpret_cast<const float *>(u.bytes.data());
  EXPECT_NEAR(w[0], 2.5, 1e-5);
  EXPECT_EQ(w[1], 0);
  // Without compensate there is no update.
  auto plain = PruneWidthOptions::parse("criterion=obs;lambda=0;per-group=0.5");
  ASSERT_TRUE(bool(plain));
  auto plan2 = computePrunePlan(*m, *dg, *plain, llvm::nulls(), &provider);
  ASSERT_TRUE(bool(plan2));
  EXPECT_TRUE(plan2->updates.empty());
}

TEST_F(DataCriteriaTest, ObsGreedyChoosesAndCompensates) {
  // One removal: greedy picks the cheapest unit (channel 1, dE 0.25) and
  // the update is the joint one, W2 = (2.5, 0).
  auto opts = PruneWidthOptions::parse(
      "criterion=obs;lambda=0;compensate;select=greedy;per-group=0.5");
  ASSERT_TRUE(bool(opts)) << llvm::toString(opts.takeError());
  auto plan = computePrunePlan(*m, *dg, *opts, llvm::nulls(), &provider);
  ASSERT_TRUE(bool(plan)) << llvm::toString(plan.takeError());
  ASSERT_EQ(plan->numRemoved(), 1u);
  EXPECT_EQ(plan->groups[0].removed[0].unit.index, 1);
  EXPECT_NEAR(plan->groups[0].removed[0].score, 0.25, 1e-6);
  ASSERT_EQ(plan->updates.size(), 1u);
  EXPECT_NEAR(reinterpret_cast<const float *>(plan->updates[0].bytes.data())[0],
              2.5, 1e-5);
  // Greedy re-scores after absorbing a removal, which needs compensate.
  auto bad = PruneWidthOptions::parse("criterion=obs;select=greedy;ratio=0.3");
  ASSERT_FALSE(bool(bad));
  EXPECT_NE(llvm::toString(bad.takeError()).find("greedy needs compensate"),
            std::string::npos);
}

TEST_F(DataCriteriaTest, CriteriaOwnTheirKeys) {
  // p belongs to magnitude: obs lists what it takes.
  auto bad = PruneWidthOptions::parse("criterion=obs;p=1;ratio=0.3");
  ASSERT_FALSE(bool(bad));
  std::string msg = llvm::toString(bad.takeError());
  EXPECT_NE(msg.find("unknown parameter 'p'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("lambda"), std::string::npos) << msg;
  auto bad2 = PruneWidthOptions::parse("criterion=random;lambda=1;ratio=0.3");
  ASSERT_FALSE(bool(bad2));
  consumeError(bad2.takeError());
  // The canonical pipeline spells out the criterion's keys and parses back.
  auto ok = PruneWidthOptions::parse("criterion=obs;compensate;ratio=0.3");
  ASSERT_TRUE(bool(ok));
  std::string text;
  llvm::raw_string_ostream os(text);
  PruneWidthPass(*ok).printPipeline(os);
  EXPECT_NE(os.str().find("lambda=0.01;compensate"), std::string::npos) << text;
  llvm::StringRef inner =
      llvm::StringRef(text)
          .drop_front(llvm::StringRef("prune-width<").size())
          .drop_back();
  EXPECT_TRUE(bool(PruneWidthOptions::parse(inner)));
}

TEST(CriterionKindsTest, PassesAskForTheUnitKindTheyScore) {
  // Whole experts are weight slices: magnitude and random score them, the
  // data criteria (width units of dependency groups) do not.
  EXPECT_TRUE(bool(PruneExpertsOptions::parse("count=1;criterion=random")));
  auto bad = PruneExpertsOptions::parse("count=1;criterion=obs");
  ASSERT_FALSE(bool(bad));
  EXPECT_NE(llvm::toString(bad.takeError())
                .find("'obs' does not score expert units (it scores: width)"),
            std::string::npos);
  // Depth units (drop-layers): the depth criteria, and the two baselines.
  auto widthOnly = DropLayersOptions::parse("count=1;criterion=obs");
  ASSERT_FALSE(bool(widthOnly));
  EXPECT_NE(llvm::toString(widthOnly.takeError())
                .find("'obs' does not score depth units (it scores: width)"),
            std::string::npos);
  auto depthOnly = PruneWidthOptions::parse("criterion=finercut;ratio=0.3");
  ASSERT_FALSE(bool(depthOnly));
  EXPECT_NE(llvm::toString(depthOnly.takeError())
                .find("'finercut' does not score width units"),
            std::string::npos);
  for (const CriterionInfo &c : CriteriaRegistry::list()) {
    std::string want = "width";
    if (c.name == "magnitude" || c.name == "random")
      want = "width, expert, depth";
    else if (c.name == "similarity" || c.name == "finercut")
      want = "depth";
    EXPECT_EQ(c.kinds, want) << c.name;
  }
}

TEST_F(DataCriteriaTest, DataCriteriaWithoutDataSayWhatIsMissing) {
  auto opts = PruneWidthOptions::parse("criterion=wanda;ratio=0.3");
  ASSERT_TRUE(bool(opts));
  auto plan = computePrunePlan(*m, *dg, *opts, llvm::nulls(), nullptr);
  ASSERT_FALSE(bool(plan));
  std::string msg = llvm::toString(plan.takeError());
  EXPECT_NE(msg.find("criterion 'wanda'"), std::string::npos) << msg;
}

} // namespace
