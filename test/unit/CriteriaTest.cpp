//===- CriteriaTest.cpp - Tests of the pruning criteria -------------------===//
///
/// \file
/// Each criterion against numbers worked out by hand on a tiny two-layer
/// model, the reductions and normalisations, and the registry (lookup,
/// did-you-mean, out-of-tree registration).
///
/// The model uses a test-only op, `test.Dense(X[N,K], W[M,K]) -> [N,M]`,
/// registered here the way an out-of-tree plugin would, so the numbers do
/// not depend on the in-tree Gemm/MatMul handlers.
///
//===----------------------------------------------------------------------===//

#include "passes/Criteria/Criterion.h"

#include "frontends/onnx/ModelReader.h"
#include "passes/OpHandlers/OpHandler.h"

#include "gtest/gtest.h"

#include <cmath>

using namespace onnxprune;

namespace {

/// Y[N,M] = X[N,K] * W[M,K]^T: W's axis 0 is the output channel, axis 1
/// the input channel.
class DenseTestHandler final : public OpHandler {
public:
  void build(const Node &n, CouplingBuilder &b) const override {
    b.join({n.getOutput(0), 1}, {n.getInput(1), 0}, n);
    b.join({n.getInput(0), 1}, {n.getInput(1), 1}, n);
  }
};

void registerTestOps() {
  static bool done = [] {
    registerOpHandler("test", "Dense", 1, INT_MAX,
                      std::make_shared<DenseTestHandler>());
    return true;
  }();
  (void)done;
}

std::unique_ptr<Model> parse(const std::string &text) {
  registerTestOps();
  auto m = readModelFromBuffer(text, ModelFormat::Text, "", "test");
  EXPECT_TRUE(bool(m)) << llvm::toString(m.takeError());
  return m ? std::move(*m) : nullptr;
}

// One group of 3 channels (H's axis 1). Its weight members and the slice
// each unit touches:
//   W1[3,2] axis 0 (rows):    u0 (1,2)   u1 (0,0)   u2 (3,4)
//   B1[3]   axis 0:           u0 1       u1 0       u2 -2
//   W2[2,3] axis 1 (columns): u0 (1,2)   u1 (0,0)   u2 (2,-1)
// Norms per member:
//   p=1:   u0 3, 1, 3       u1 0, 0, 0   u2 7, 2, 3
//   p=2:   u0 √5, 1, √5     u1 0         u2 5, 2, √5
//   p=inf: u0 2, 1, 2       u1 0         u2 4, 2, 2
const char *TinyModel = R"(
<ir_version: 8, opset_import: ["" : 17, "test" : 1]>
g (float[1,2] X) => (float[1,2] Y)
<float[3,2] W1 = {1, 2, 0, 0, 3, 4}, float[3] B1 = {1, 0, -2},
 float[2,3] W2 = {1, 0, 2, 2, 0, -1},
 float[1,3] H, float[1,3] A, float[1,3] R>
{
  H = test.Dense(X, W1)
  A = Add(H, B1)
  R = Relu(A)
  Y = test.Dense(R, W2)
}
)";

class CriteriaTest : public ::testing::Test {
protected:
  void SetUp() override {
    m = parse(TinyModel);
    ASSERT_TRUE(m);
    auto g = buildDepGraph(*m);
    ASSERT_TRUE(bool(g)) << llvm::toString(g.takeError());
    dg = std::make_unique<DepGraph>(std::move(*g));
    // The hidden channels: one group of three prunable units (the groups
    // of X's and Y's channels are frozen by the graph input and output).
    int space = dg->spaceOf({m->getGraph().lookup("W1"), 0});
    ASSERT_GE(space, 0);
    group = dg->getSpaces()[space].group;
    ASSERT_GE(group, 0);
    ASSERT_EQ(dg->getGroups()[group].numPrunable, 3u);
    for (unsigned g = 0; g < dg->getGroups().size(); ++g)
      if (int(g) != group) {
        EXPECT_EQ(dg->getGroups()[g].numPrunable, 0u);
      }
  }

  /// Scores of the group, ordered by W1 row (unit -> row index).
  std::vector<double> scores(llvm::StringRef criterion,
                             const CriterionOptions &o) {
    auto c = CriteriaRegistry::create(criterion);
    EXPECT_TRUE(bool(c)) << llvm::toString(c.takeError());
    if (!c)
      return {};
    auto s = (*c)->score(*dg, group, o);
    EXPECT_TRUE(bool(s)) << llvm::toString(s.takeError());
    if (!s)
      return {};
    std::vector<unsigned> units = prunableUnitsOf(*dg, group);
    std::vector<double> byRow(units.size());
    Value *w1 = m->getGraph().lookup("W1");
    int space = dg->spaceOf({w1, 0});
    for (int64_t row = 0; row < 3; ++row) {
      unsigned u = dg->unitOf(space, row);
      auto it = std::find(units.begin(), units.end(), u);
      byRow[row] = (*s)[it - units.begin()];
    }
    return byRow;
  }

  std::unique_ptr<Model> m;
  std::unique_ptr<DepGraph> dg;
  int group = -1;
};

CriterionOptions opts(double p, ScoreReduce r,
                      ScoreNormalize n = ScoreNormalize::None) {
  CriterionOptions o;
  o.p = p;
  o.reduce = r;
  o.normalize = n;
  return o;
}

const double Sqrt5 = std::sqrt(5.0);

TEST_F(CriteriaTest, MagnitudeL1Sum) {
  // u0 = 3+1+3, u1 = 0, u2 = 7+2+3.
  auto s = scores("magnitude", opts(1, ScoreReduce::Sum));
  ASSERT_EQ(s.size(), 3u);
  EXPECT_DOUBLE_EQ(s[0], 7);
  EXPECT_DOUBLE_EQ(s[1], 0);
  EXPECT_DOUBLE_EQ(s[2], 12);
}

TEST_F(CriteriaTest, MagnitudeL2SumMeanMax) {
  // sum:  u0 = 1 + 2√5,      u2 = 7 + √5
  // mean: the sums over 3 members
  // max:  u0 = √5,           u2 = 5
  auto sum = scores("magnitude", opts(2, ScoreReduce::Sum));
  EXPECT_DOUBLE_EQ(sum[0], 1 + 2 * Sqrt5);
  EXPECT_DOUBLE_EQ(sum[1], 0);
  EXPECT_DOUBLE_EQ(sum[2], 7 + Sqrt5);
  auto mean = scores("magnitude", opts(2, ScoreReduce::Mean));
  EXPECT_DOUBLE_EQ(mean[0], (1 + 2 * Sqrt5) / 3);
  EXPECT_DOUBLE_EQ(mean[1], 0);
  EXPECT_DOUBLE_EQ(mean[2], (7 + Sqrt5) / 3);
  auto max = scores("magnitude", opts(2, ScoreReduce::Max));
  EXPECT_DOUBLE_EQ(max[0], Sqrt5);
  EXPECT_DOUBLE_EQ(max[1], 0);
  EXPECT_DOUBLE_EQ(max[2], 5);
}

TEST_F(CriteriaTest, MagnitudeLinf) {
  // u0 = 2+1+2, u2 = 4+2+2.
  auto s = scores("magnitude", opts(INFINITY, ScoreReduce::Sum));
  EXPECT_DOUBLE_EQ(s[0], 5);
  EXPECT_DOUBLE_EQ(s[1], 0);
  EXPECT_DOUBLE_EQ(s[2], 8);
}

TEST_F(CriteriaTest, MagnitudeGeneralP) {
  // p=3 on u2: W1 (3,4) -> (27+64)^(1/3), B1 2, W2 (2,-1) -> 9^(1/3).
  auto s = scores("magnitude", opts(3, ScoreReduce::Sum));
  EXPECT_NEAR(s[2], std::cbrt(91.0) + 2 + std::cbrt(9.0), 1e-12);
}

TEST_F(CriteriaTest, Normalisations) {
  // L1 sums [7, 0, 12]: mean 19/3, max 12, l2 √193.
  auto mean =
      scores("magnitude", opts(1, ScoreReduce::Sum, ScoreNormalize::Mean));
  EXPECT_DOUBLE_EQ(mean[0], 21.0 / 19);
  EXPECT_DOUBLE_EQ(mean[1], 0);
  EXPECT_DOUBLE_EQ(mean[2], 36.0 / 19);
  auto max =
      scores("magnitude", opts(1, ScoreReduce::Sum, ScoreNormalize::Max));
  EXPECT_DOUBLE_EQ(max[0], 7.0 / 12);
  EXPECT_DOUBLE_EQ(max[2], 1);
  auto l2 = scores("magnitude", opts(1, ScoreReduce::Sum, ScoreNormalize::L2));
  EXPECT_DOUBLE_EQ(l2[0], 7 / std::sqrt(193.0));
  EXPECT_DOUBLE_EQ(l2[2], 12 / std::sqrt(193.0));
}

// BatchNorm's running mean and variance are statistics, not weights: they
// never enter the score. Hidden channel 1 has a zero W1 row, BN scale and
// shift and W2 column, and non-zero statistics: it is dead and scores 0.
// L1, sum: u0 = 3 (W1) + 1 (scale) + 0.5 (B) + 3 (W2) = 7.5,
//          u2 = 7 + 2 + 1 + 3 = 13.
TEST(MagnitudeStatisticsTest, BatchNormStatisticsAreNotScored) {
  auto m = parse(R"(
<ir_version: 8, opset_import: ["" : 17, "test" : 1]>
g (float[1,2] X) => (float[1,2] Y)
<float[3,2] W1 = {1, 2, 0, 0, 3, 4}, float[3] S = {1, 0, 2},
 float[3] B = {0.5, 0, 1}, float[3] Mean = {5, 6, 7}, float[3] Var = {2, 3, 4},
 float[2,3] W2 = {1, 0, 2, 2, 0, -1},
 float[1,3] H, float[1,3] N, float[1,3] R>
{
  H = test.Dense(X, W1)
  N = BatchNormalization(H, S, B, Mean, Var)
  R = Relu(N)
  Y = test.Dense(R, W2)
}
)");
  ASSERT_TRUE(m);
  auto dg = buildDepGraph(*m);
  ASSERT_TRUE(bool(dg)) << llvm::toString(dg.takeError());
  Value *w1 = m->getGraph().lookup("W1");
  int space = dg->spaceOf({w1, 0});
  ASSERT_GE(space, 0);
  // The statistics are members of the channel space (they are sliced with
  // it); only the score ignores them.
  EXPECT_GE(dg->spaceOf({m->getGraph().lookup("Mean"), 0}), 0);
  EXPECT_TRUE(isStatisticsWeight(*m->getGraph().lookup("Var")));
  EXPECT_FALSE(isStatisticsWeight(*m->getGraph().lookup("S")));
  unsigned group = dg->getSpaces()[space].group;
  auto c = CriteriaRegistry::create("magnitude");
  ASSERT_TRUE(bool(c));
  auto s = (*c)->score(*dg, group, opts(1, ScoreReduce::Sum));
  ASSERT_TRUE(bool(s)) << llvm::toString(s.takeError());
  std::vector<unsigned> units = prunableUnitsOf(*dg, group);
  ASSERT_EQ(units.size(), 3u);
  std::vector<double> byRow(3);
  for (int64_t row = 0; row < 3; ++row) {
    auto it = std::find(units.begin(), units.end(), dg->unitOf(space, row));
    byRow[row] = (*s)[it - units.begin()];
  }
  EXPECT_DOUBLE_EQ(byRow[0], 7.5);
  EXPECT_DOUBLE_EQ(byRow[1], 0);
  EXPECT_DOUBLE_EQ(byRow[2], 13);
}

TEST(NormalizeScoresTest, AllZeroStaysZero) {
  std::vector<double> s = {0, 0};
  normalizeScores(s, ScoreNormalize::Mean);
  EXPECT_EQ(s, (std::vector<double>{0, 0}));
}

TEST_F(CriteriaTest, RandomIsSeededAndPortable) {
  // The first scores of groups 0..2 for seed 0, and of group 0 for seed 42,
  // by splitmix64, computed independently (in Python) from the stream
  // definition in RandomCriterion.cpp.
  const std::vector<double> seed0[3] = {
      {0.5966279047128354, 0.4945893756522809, 0.20376160569271118},
      {0.9816085193380766, 0.6005157230377488, 0.9333206488403931},
      {0.06926906673183975, 0.2976263256933862, 0.9105958435680166}};
  ASSERT_LT(group, 3);
  auto c = CriteriaRegistry::create("random");
  ASSERT_TRUE(bool(c));
  CriterionOptions o;
  o.seed = 0;
  auto s0 = (*c)->score(*dg, group, o);
  ASSERT_TRUE(bool(s0));
  EXPECT_EQ(*s0, seed0[group]);
  // Another seed, another stream; the same seed, the same stream.
  o.seed = 42;
  auto a = (*c)->score(*dg, group, o), b = (*c)->score(*dg, group, o);
  ASSERT_TRUE(a && b);
  EXPECT_NE(*a, *s0);
  EXPECT_EQ(*a, *b);
  if (group == 0) {
    EXPECT_EQ(*a,
              (std::vector<double>{0.24070968323776654, 0.0023389084767916346,
                                   0.8529534478385148}));
  }
}

// ---- Units given as weight slices (whole MoE experts)
// ------------------------

/// The units of the group as slices: row r of W1, element r of B1, column r
/// of W2 (what removing hidden channel r cuts).
std::vector<SliceUnit> sliceUnitsOf(const Model &m) {
  const Graph &g = m.getGraph();
  std::vector<SliceUnit> units;
  for (int64_t r = 0; r < 3; ++r)
    units.push_back({{g.lookup("W1"), 0, r},
                     {g.lookup("B1"), 0, r},
                     {g.lookup("W2"), 1, r}});
  return units;
}

TEST_F(CriteriaTest, MagnitudeSliceUnitsScoreLikeGroups) {
  auto c = CriteriaRegistry::create("magnitude");
  ASSERT_TRUE(bool(c));
  for (const CriterionOptions &o :
       {opts(1, ScoreReduce::Sum), opts(2, ScoreReduce::Max),
        opts(2, ScoreReduce::Mean, ScoreNormalize::L2)}) {
    auto s = (*c)->scoreSlices(sliceUnitsOf(*m), 0, o);
    ASSERT_TRUE(bool(s)) << llvm::toString(s.takeError());
    EXPECT_EQ(*s, scores("magnitude", o));
  }
  // By hand: L1 sums [7, 0, 12].
  auto l1 = (*c)->scoreSlices(sliceUnitsOf(*m), 0, opts(1, ScoreReduce::Sum));
  ASSERT_TRUE(bool(l1));
  EXPECT_EQ(*l1, (std::vector<double>{7, 0, 12}));
  // A slice past the end of its axis is an error, not a read out of bounds.
  SliceUnit bad = {{m->getGraph().lookup("B1"), 0, 3}};
  auto e = (*c)->scoreSlices({bad}, 0, opts(2, ScoreReduce::Sum));
  ASSERT_FALSE(bool(e));
  EXPECT_EQ(llvm::toString(e.takeError()),
            "magnitude: weight 'B1' has no index 3 on axis 0");
}

TEST_F(CriteriaTest, RandomSliceUnitsDrawTheStreamOfTheirCaller) {
  // Stream s of slice units is the stream of group s: one definition.
  auto c = CriteriaRegistry::create("random");
  ASSERT_TRUE(bool(c));
  CriterionOptions o;
  o.seed = 7;
  auto byGroup = (*c)->score(*dg, group, o);
  auto bySlices = (*c)->scoreSlices(sliceUnitsOf(*m), group, o);
  ASSERT_TRUE(byGroup && bySlices);
  EXPECT_EQ(*bySlices, *byGroup);
  auto other = (*c)->scoreSlices(sliceUnitsOf(*m), group + 1, o);
  ASSERT_TRUE(bool(other));
  EXPECT_NE(*other, *bySlices);
}

TEST(CriteriaRegistryTest, LookupAndSuggestions) {
  EXPECT_TRUE(CriteriaRegistry::contains("magnitude"));
  EXPECT_TRUE(CriteriaRegistry::contains("random"));
  auto bad = CriteriaRegistry::create("magnitud");
  ASSERT_FALSE(bool(bad));
  EXPECT_EQ(llvm::toString(bad.takeError()),
            "unknown criterion 'magnitud' (did you mean 'magnitude'?)");
}

/// An out-of-tree criterion: every unit scores its position.
class PositionCriterion final : public Criterion {
public:
  llvm::StringRef name() const override { return "position"; }

protected:
  llvm::Expected<std::vector<double>>
  computeScores(const DepGraph &dg, unsigned group,
                const CriterionOptions &) const override {
    std::vector<double> s;
    for (size_t i = 0; i < dg.getGroups()[group].numPrunable; ++i)
      s.push_back(double(i + 1));
    return s;
  }
};

TEST_F(CriteriaTest, OutOfTreeRegistration) {
  registerCriterion(
      "position", [] { return std::make_unique<PositionCriterion>(); },
      "test: position in the group");
  auto c = CriteriaRegistry::create("position");
  ASSERT_TRUE(bool(c)) << llvm::toString(c.takeError());
  CriterionOptions o;
  o.normalize = ScoreNormalize::Max; // Applied by Criterion::score for all.
  auto s = (*c)->score(*dg, group, o);
  ASSERT_TRUE(bool(s));
  EXPECT_EQ(*s, (std::vector<double>{1.0 / 3, 2.0 / 3, 1}));
  bool listed = false;
  for (const CriterionInfo &info : CriteriaRegistry::list())
    listed |= info.name == "position";
  EXPECT_TRUE(listed);
  // It knows groups only: slice units are refused with its name.
  auto sl = (*c)->scoreSlices(sliceUnitsOf(*m), 0, o);
  ASSERT_FALSE(bool(sl));
  EXPECT_EQ(llvm::toString(sl.takeError()),
            "criterion 'position' cannot score units given as weight slices "
            "(it scores dependency groups only)");
}

} // namespace
