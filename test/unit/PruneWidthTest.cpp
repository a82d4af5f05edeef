//===- PruneWidthTest.cpp - Tests of the prune-width pass -----------------===//
///
/// \file
/// Budgets (ratio, flops, per-group, threshold; global vs uniform; round-to,
/// max-per-group, protect) choose exactly the expected units on a small
/// three-layer model; ratio and flops are relative to the original model
/// across passes; plans round-trip (plan-out then plan-in gives
/// byte-identical models) and bad plans give one-line errors; parameters
/// print and parse back.
///
/// The model uses the test-only op `test.Dense(X[N,K], W[M,K]) -> [N,M]`,
/// registered here as an out-of-tree handler would be, so the expected
/// units do not depend on the in-tree Gemm/MatMul handlers.
///
//===----------------------------------------------------------------------===//

#include "passes/Transforms/PruneWidthPass.h"

#include "frontends/onnx/ModelReader.h"
#include "frontends/onnx/ModelWriter.h"
#include "passes/Analysis/DepGroupsAnalysis.h"
#include "passes/OpHandlers/OpHandler.h"
#include "passes/Pipeline/PassBuilder.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

#include "gtest/gtest.h"

#include <climits>

using namespace onnxprune;

namespace {

class DenseTestHandler final : public OpHandler {
public:
  void build(const Node &n, CouplingBuilder &b) const override {
    b.join({n.getOutput(0), 1}, {n.getInput(1), 0}, n);
    b.join({n.getInput(0), 1}, {n.getInput(1), 1}, n);
  }
};

std::unique_ptr<Model> parse(const std::string &text) {
  static bool registered = [] {
    registerOpHandler("test", "Dense", 1, INT_MAX,
                      std::make_shared<DenseTestHandler>());
    return true;
  }();
  (void)registered;
  auto m = readModelFromBuffer(text, ModelFormat::Text, "", "test");
  EXPECT_TRUE(bool(m)) << llvm::toString(m.takeError());
  return m ? std::move(*m) : nullptr;
}

// Two groups. A: the 6 channels of H1 (W1 rows, W2 columns); B: the 4
// channels of H2 (W2 rows, W3 columns). With p=1, reduce=sum:
//   W1 row i is 4 x a_i, a = [0.75, 0, 2, 1, 3, 0.25]; W2 is all ones
//   (columns: L1 4, rows: L1 6); W3 column j is 2 x d_j, d = [0, 1.5,
//   0.25, 4].
//   A_i = 4|a_i| + 4 = [7, 4, 12, 8, 16, 5]
//   B_j = 6 + 2|d_j| = [6, 9, 6.5, 14]
// Ascending: A1 4, A5 5, B0 6, B2 6.5, A0 7, A3 8, B1 9, A2 12, B3 14, A4 16.
// Parameters: W1 24 + W2 24 + W3 8 = 56. Removing an A unit removes a W1
// row (4) and a W2 column (kept B rows); a B unit a W2 row (kept A
// columns) and a W3 column (2). FLOPs: only the two Relus count (6 + 4 =
// 10, test.Dense has no estimate); each unit removes 1.
const char *ThreeLayers = R"(
<ir_version: 8, opset_import: ["" : 17, "test" : 1]>
g (float[1,4] X) => (float[1,2] Y)
<float[6,4] W1 = {0.75, 0.75, 0.75, 0.75, 0, 0, 0, 0, 2, 2, 2, 2,
                  1, 1, 1, 1, 3, 3, 3, 3, 0.25, 0.25, 0.25, 0.25},
 float[4,6] W2 = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
                  1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1},
 float[2,4] W3 = {0, 1.5, 0.25, 4, 0, 1.5, 0.25, 4},
 float[1,6] H1, float[1,6] R1, float[1,4] H2, float[1,4] R2>
{
  H1 = test.Dense(X, W1)
  R1 = Relu(H1)
  H2 = test.Dense(R1, W2)
  R2 = Relu(H2)
  Y = test.Dense(R2, W3)
}
)";

/// The removed units of \p plan as "W:axis:index", sorted.
std::vector<std::string> removedOf(const PrunePlan &plan) {
  std::vector<std::string> out;
  for (const PrunePlan::Group &g : plan.groups)
    for (const PrunePlan::Removed &r : g.removed)
      out.push_back(r.unit.weight + ":" + std::to_string(r.unit.axis) + ":" +
                    std::to_string(r.unit.index));
  std::sort(out.begin(), out.end());
  return out;
}

using Units = std::vector<std::string>;

class PruneWidthTest : public ::testing::Test {
public:
  /// The plan `prune-width<p=1;PARAMS>` chooses on the three-layer model;
  /// warnings go to `log`.
  Units plan(const std::string &params) {
    log.clear();
    auto m = parse(ThreeLayers);
    if (!m)
      return {"<parse error>"};
    auto opts = parsePruneWidthOptions("p=1;" + params);
    if (!opts)
      return {"<options: " + llvm::toString(opts.takeError()) + ">"};
    auto dg = buildDepGraph(*m);
    if (!dg)
      return {"<dep-groups: " + llvm::toString(dg.takeError()) + ">"};
    llvm::raw_string_ostream os(log);
    auto p = computePrunePlan(*m, *dg, *opts, os);
    if (!p)
      return {"<error: " + llvm::toString(p.takeError()) + ">"};
    return removedOf(*p);
  }

  /// Runs `prune-width<PARAMS>` on \p m; returns the error text or "".
  std::string run(Model &m, const std::string &params,
                  bool *changed = nullptr) {
    log.clear();
    auto opts = parsePruneWidthOptions(params);
    if (!opts)
      return llvm::toString(opts.takeError());
    llvm::raw_string_ostream os(log);
    ModelAnalysisManager am;
    PruneWidthPass pass(*opts, &os);
    auto pa = pass.run(m, am);
    if (!pa)
      return llvm::toString(pa.takeError());
    if (changed)
      *changed = !pa->areAllPreserved();
    return "";
  }

  std::string tempPath(llvm::StringRef name) {
    llvm::SmallString<128> dir;
    EXPECT_FALSE(llvm::sys::fs::createUniqueDirectory("prune-width", dir));
    llvm::sys::path::append(dir, name);
    return std::string(dir.str());
  }

  std::string log;
};

TEST_F(PruneWidthTest, RatioGlobal) {
  // 0.25 * 56 = 14: A1 (8), A5 (16).
  EXPECT_EQ(plan("ratio=0.25"), (Units{"W1:0:1", "W1:0:5"}));
  // 0.3 * 56 = 16.8: then B0 (a W2 row of 4 kept columns + 2) -> 22.
  EXPECT_EQ(plan("ratio=0.3"), (Units{"W1:0:1", "W1:0:5", "W2:0:0"}));
  EXPECT_EQ(log, "");
  EXPECT_EQ(plan("ratio=0"), Units{});
}

TEST_F(PruneWidthTest, RatioUniform) {
  // 0.2 * 56 = 11.2. Global: A1, A5. Uniform: f = 1/6 removes A1 only (8);
  // f = 1/4 removes one unit of each group: A1 and B0 (8 + 5 + 2 = 15).
  EXPECT_EQ(plan("ratio=0.2;global"), (Units{"W1:0:1", "W1:0:5"}));
  EXPECT_EQ(plan("ratio=0.2;uniform"), (Units{"W1:0:1", "W2:0:0"}));
}

TEST_F(PruneWidthTest, Flops) {
  // 10 FLOPs (the Relus), one per unit: 0.3 -> the 3 lowest units.
  EXPECT_EQ(plan("flops=0.3"), (Units{"W1:0:1", "W1:0:5", "W2:0:0"}));
  EXPECT_EQ(plan("flops=0.1"), (Units{"W1:0:1"}));
}

TEST_F(PruneWidthTest, PerGroupAndRoundTo) {
  // floor(0.5 * 6) = 3 of A, floor(0.5 * 4) = 2 of B, lowest first.
  EXPECT_EQ(plan("per-group=0.5"),
            (Units{"W1:0:0", "W1:0:1", "W1:0:5", "W2:0:0", "W2:0:2"}));
  // round-to=4: A keeps 3 -> 4 (removes 2); B keeps 2 -> 4 (removes none).
  EXPECT_EQ(plan("per-group=0.5;round-to=4"), (Units{"W1:0:1", "W1:0:5"}));
  // round-to=2 keeps even counts: A 3 -> 4, B 2 stays.
  EXPECT_EQ(plan("per-group=0.5;round-to=2"),
            (Units{"W1:0:1", "W1:0:5", "W2:0:0", "W2:0:2"}));
}

TEST_F(PruneWidthTest, Threshold) {
  EXPECT_EQ(plan("threshold=6.5"),
            (Units{"W1:0:1", "W1:0:5", "W2:0:0", "W2:0:2"}));
  EXPECT_EQ(plan("threshold=3.9"), Units{});
}

TEST_F(PruneWidthTest, MaxPerGroupCapsAndWarns) {
  // Caps: A floor(0.5 * 6) = 3, B 2. Removed: W1 24 -> 12, W2 24 -> 2x3,
  // W3 8 -> 4: 34 of 56.
  EXPECT_EQ(plan("ratio=0.9;max-per-group=0.5"),
            (Units{"W1:0:0", "W1:0:1", "W1:0:5", "W2:0:0", "W2:0:2"}));
  EXPECT_EQ(log, "prune-width: warning: ratio=0.9 asks to remove 50 of 56 "
                 "parameters (to leave 10.0% of the original 56) but only 34 "
                 "can be removed (39.3% of the original remains; the rest is "
                 "frozen, protected or capped by max-per-group/round-to); "
                 "removing those\n");
  // The default cap (0.9) still keeps one unit of every group.
  EXPECT_EQ(plan("per-group=1").size(), 5u + 3u);
}

TEST_F(PruneWidthTest, Protect) {
  // W3 touches group B only (its other axis is the frozen output).
  EXPECT_EQ(plan("ratio=0.3;protect=W3"),
            (Units{"W1:0:0", "W1:0:1", "W1:0:5"}));
  // W1 is a weight of group A only; alternatives join with '|'.
  EXPECT_EQ(plan("ratio=0.1;protect=W1"), (Units{"W2:0:0"}));
  EXPECT_EQ(plan("ratio=0.3;protect=W1|W3"), Units{});
  EXPECT_NE(log.find("but only 0 can be removed (100.0% of the original "
                     "remains"),
            std::string::npos);
  // The regex is searched, as grep does: "W" is in every weight's name,
  // "3" in W3's; anchors ask for whole names.
  EXPECT_EQ(plan("ratio=0.1;protect=W"), Units{});
  EXPECT_EQ(plan("ratio=0.3;protect=3"), (Units{"W1:0:0", "W1:0:1", "W1:0:5"}));
  EXPECT_EQ(plan("ratio=0.1;protect=^W$"), (Units{"W1:0:1"}));
}

TEST_F(PruneWidthTest, RunRemovesAndSummarises) {
  auto m = parse(ThreeLayers);
  ASSERT_TRUE(m);
  bool changed = false;
  EXPECT_EQ(run(*m, "p=1;ratio=0.3", &changed), "");
  EXPECT_TRUE(changed);
  EXPECT_EQ(log, "prune-width: removed 3 units in 2 groups; params 56 -> 34 "
                 "(60.7% of the original 56), FLOPs 10 -> 7 (70.0% of the "
                 "original 10)\n");
  Graph &g = m->getGraph();
  EXPECT_EQ(g.lookup("W1")->getWeight()->getDims(),
            (llvm::ArrayRef<int64_t>{4, 4}));
  EXPECT_EQ(g.lookup("W2")->getWeight()->getDims(),
            (llvm::ArrayRef<int64_t>{3, 4}));
  EXPECT_EQ(g.lookup("W3")->getWeight()->getDims(),
            (llvm::ArrayRef<int64_t>{2, 3}));
  // Nothing to remove: nothing changed, all analyses preserved.
  auto m2 = parse(ThreeLayers);
  EXPECT_EQ(run(*m2, "threshold=-1", &changed), "");
  EXPECT_FALSE(changed);
}

TEST_F(PruneWidthTest, BudgetsAreRelativeToTheOriginal) {
  // Passes run directly (no tool): the first prune-width records the
  // original, 56 params and 10 FLOPs. ratio=0.2: at most 44.8 remain; A1
  // and A5 (8 each) leave 40.
  auto m = parse(ThreeLayers);
  ASSERT_TRUE(m);
  bool changed = false;
  EXPECT_EQ(run(*m, "p=1;ratio=0.2", &changed), "");
  EXPECT_TRUE(changed);
  EXPECT_EQ(log, "prune-width: removed 2 units in 1 groups; params 56 -> 40 "
                 "(71.4% of the original 56), FLOPs 10 -> 8 (80.0% of the "
                 "original 10)\n");
  ASSERT_TRUE(m->original.has_value());
  EXPECT_EQ(m->original->params, 56u);
  // ratio=0.3: at most 39.2 of the original remain, so 0.8 more go (not 30%
  // of 40). Scores now: A [7, 12, 8, 16] (a W2 column has 4 ones left), B
  // [4, 7, 4.5, 12]: B0, a W2 row (4) and a W3 column (2), leaves 34.
  EXPECT_EQ(run(*m, "p=1;ratio=0.3", &changed), "");
  EXPECT_TRUE(changed);
  EXPECT_EQ(log, "prune-width: removed 1 units in 1 groups; params 40 -> 34 "
                 "(60.7% of the original 56), FLOPs 8 -> 7 (70.0% of the "
                 "original 10)\n");
  // Earlier passes removed enough: nothing changes, and a remark says why.
  EXPECT_EQ(run(*m, "p=1;ratio=0.35", &changed), "");
  EXPECT_FALSE(changed);
  EXPECT_EQ(log, "prune-width: remark: ratio=0.35 asks for at most 65.0% of "
                 "the original 56 parameters and 34 (60.7%) remain; removing "
                 "nothing\n"
                 "prune-width: removed 0 units in 0 groups; params 34 -> 34 "
                 "(60.7% of the original 56), FLOPs 7 -> 7 (70.0% of the "
                 "original 10)\n");
  EXPECT_EQ(run(*m, "flops=0.2", &changed), "");
  EXPECT_FALSE(changed);
  EXPECT_EQ(log.find("prune-width: remark: flops=0.2 asks for at most 80.0% "
                     "of the original 10 FLOPs and 7 (70.0%) remain; "
                     "removing nothing\n"),
            0u)
      << log;
  // per-group and threshold do not depend on the original.
  EXPECT_EQ(run(*m, "p=1;threshold=7", &changed), "");
  EXPECT_TRUE(changed);
  EXPECT_EQ(m->original->params, 56u);
}

TEST_F(PruneWidthTest, PlansReadTheRecordedOriginal) {
  auto m = parse(ThreeLayers);
  ASSERT_TRUE(m);
  auto dg = buildDepGraph(*m);
  ASSERT_TRUE(bool(dg)) << llvm::toString(dg.takeError());
  auto planFor = [&](const char *params) -> Units {
    log.clear();
    llvm::raw_string_ostream os(log);
    auto opts = parsePruneWidthOptions(params);
    if (!opts)
      return {llvm::toString(opts.takeError())};
    auto p = computePrunePlan(*m, *dg, *opts, os);
    if (!p)
      return {llvm::toString(p.takeError())};
    return removedOf(*p);
  };
  // As if the model were what is left of 64 params: ratio=0.25 keeps at
  // most 48, so 8 go (A1), not 14.
  m->original = OriginalCounts{64, 10, true};
  EXPECT_EQ(planFor("p=1;ratio=0.25"), Units{"W1:0:1"});
  // Of 80, 56 is within ratio=0.3 already: an empty plan, and the
  // criterion does not run (wanda without data would fail).
  m->original = OriginalCounts{80, 10, true};
  EXPECT_EQ(planFor("p=1;ratio=0.3"), Units{});
  EXPECT_EQ(planFor("criterion=wanda;ratio=0.3"), Units{});
  EXPECT_EQ(log, "prune-width: remark: ratio=0.3 asks for at most 70.0% of "
                 "the original 80 parameters and 56 (70.0%) remain; removing "
                 "nothing\n");
}

TEST_F(PruneWidthTest, PlanRoundTripIsByteIdentical) {
  std::string path = tempPath("plan.json");
  auto a = parse(ThreeLayers), b = parse(ThreeLayers);
  ASSERT_TRUE(a && b);
  ASSERT_EQ(run(*a, "p=1;per-group=0.5;round-to=2;plan-out=" + path), "");
  ASSERT_EQ(run(*b, "plan-in=" + path), "");
  auto sa = serializeModel(*a), sb = serializeModel(*b);
  ASSERT_TRUE(sa && sb);
  EXPECT_EQ(*sa, *sb);
  // The plan names units by content and records how they were chosen.
  auto loaded = PrunePlan::readFile(path);
  ASSERT_TRUE(bool(loaded)) << llvm::toString(loaded.takeError());
  EXPECT_EQ(removedOf(*loaded),
            (Units{"W1:0:1", "W1:0:5", "W2:0:0", "W2:0:2"}));
  EXPECT_EQ(loaded->criterion, "magnitude");
  EXPECT_EQ(loaded->budget, "per-group=0.5;round-to=2;max-per-group=0.9");
  EXPECT_EQ(loaded->pass,
            "prune-width<criterion=magnitude;p=1;reduce=sum;normalize=none;"
            "per-group=0.5;round-to=2;max-per-group=0.9;plan-out=" +
                path + ">");
  // Serialising again gives the same bytes.
  auto reparsed = PrunePlan::fromJSON(loaded->toJSON(), "x");
  ASSERT_TRUE(bool(reparsed));
  EXPECT_EQ(reparsed->toJSON(), loaded->toJSON());
}

/// The error prune-width<plan-in=...> gives for a plan whose only group is
/// anchored at W1 axis 0 and removes \p unit.
std::string badPlanError(PruneWidthTest &t, const std::string &path,
                         const std::string &removed) {
  std::string json = R"({"format": "onnx-prune-plan", "version": 1,
    "groups": [{"weight": "W1", "axis": 0, "units": 6, "removed": [)" +
                     removed + "]}]}";
  std::error_code ec;
  llvm::raw_fd_ostream os(path, ec);
  os << json;
  os.close();
  auto m = parse(ThreeLayers);
  return t.run(*m, "plan-in=" + path);
}

TEST_F(PruneWidthTest, BadPlans) {
  std::string p = tempPath("bad.json");
  auto unit = [](const char *w, int axis, int index) {
    return std::string("{\"weight\": \"") + w +
           "\", \"axis\": " + std::to_string(axis) +
           ", \"index\": " + std::to_string(index) + "}";
  };
  EXPECT_EQ(badPlanError(*this, p, unit("W1", 0, 6)),
            "plan '" + p +
                "': unit (weight 'W1', axis 0, index 6) does not exist: axis "
                "0 of 'W1' has 6 elements");
  EXPECT_EQ(badPlanError(*this, p, unit("W9", 0, 1)),
            "plan '" + p +
                "': unit (weight 'W9', axis 0, index 1) does not exist: no "
                "weight 'W9' in the model");
  EXPECT_EQ(badPlanError(*this, p, unit("W1", 2, 1)),
            "plan '" + p +
                "': unit (weight 'W1', axis 2, index 1) does not exist: 'W1' "
                "has rank 2");
  EXPECT_EQ(badPlanError(*this, p, unit("W1", 1, 1)),
            "plan '" + p +
                "': unit (weight 'W1', axis 1, index 1) cannot be pruned "
                "(frozen: graph input 'X')");
  // W2 column 1 is A1, as is W1 row 1.
  EXPECT_EQ(badPlanError(*this, p, unit("W1", 0, 1) + ", " + unit("W2", 1, 1)),
            "plan '" + p +
                "': unit (weight 'W2', axis 1, index 1) is listed twice (also "
                "as (weight 'W1', axis 0, index 1))");
  EXPECT_EQ(badPlanError(*this, p, unit("W2", 0, 1)),
            "plan '" + p +
                "': unit (weight 'W2', axis 0, index 1) is not in the group "
                "of (weight 'W1', axis 0)");
  EXPECT_EQ(badPlanError(*this, p, "{\"weight\": \"W1\", \"axis\": 0}"),
            "plan '" + p + "': groups[0].removed[0]: missing 'index'");
  {
    std::error_code ec;
    llvm::raw_fd_ostream os(p, ec);
    os << "{\"format\": ";
  }
  auto m = parse(ThreeLayers);
  std::string err = run(*m, "plan-in=" + p);
  EXPECT_EQ(err.find("plan '" + p + "': invalid JSON: "), 0u) << err;
  EXPECT_EQ(err.find('\n'), std::string::npos);
  EXPECT_EQ(run(*m, "plan-in=/nonexistent/plan.json")
                .find("cannot read plan '/nonexistent/plan.json': "),
            0u);
}

TEST_F(PruneWidthTest, ParametersPrintAndParseBack) {
  for (const char *text :
       {"ratio=0.3", "flops=0.5;uniform;round-to=8", "per-group=0.25;p=inf",
        "threshold=0;criterion=random;seed=7",
        "per-group=0.1;normalize=l2;reduce=max",
        "ratio=0.1;protect=conv1|head.*;max-per-group=1", "plan-in=a.json",
        "plan-in=a.json;plan-out=b.json", "latency=0.7",
        "latency=0.5;latency-threads=0;latency-table=t.json;round-to=16"}) {
    auto o = parsePruneWidthOptions(text);
    ASSERT_TRUE(bool(o)) << text << ": " << llvm::toString(o.takeError());
    std::string printed;
    llvm::raw_string_ostream os(printed);
    PruneWidthPass(*o).printPipeline(os);
    os.flush();
    llvm::StringRef inner =
        llvm::StringRef(printed).drop_front(strlen("prune-width<")).drop_back();
    auto again = parsePruneWidthOptions(inner);
    ASSERT_TRUE(bool(again)) << printed;
    std::string printed2;
    llvm::raw_string_ostream os2(printed2);
    PruneWidthPass(*again).printPipeline(os2);
    EXPECT_EQ(os2.str(), printed);
  }
  std::string canonical;
  llvm::raw_string_ostream os(canonical);
  PruneWidthPass(*parsePruneWidthOptions("ratio=0.3")).printPipeline(os);
  EXPECT_EQ(os.str(), "prune-width<criterion=magnitude;p=2;reduce=sum;"
                      "normalize=none;ratio=0.3;global;round-to=auto;"
                      "max-per-group=0.9>");
  // Through the pipeline parser.
  PassBuilder pb;
  ModelPassManager mpm;
  llvm::Error e =
      pb.parsePassPipeline(mpm, "prune-width<ratio=0.3;round-to=8>,dce");
  EXPECT_FALSE(bool(e)) << llvm::toString(std::move(e));
  EXPECT_EQ(mpm.getPipelineText(),
            "prune-width<criterion=magnitude;p=2;reduce=sum;normalize=none;"
            "ratio=0.3;global;round-to=8;max-per-group=0.9>,dce");
}

TEST_F(PruneWidthTest, BadParameters) {
  auto err = [](const char *text) {
    auto o = parsePruneWidthOptions(text);
    return o ? std::string("<ok>") : llvm::toString(o.takeError());
  };
  EXPECT_EQ(err(""), "pass 'prune-width': needs a budget: ratio=R, flops=R, "
                     "per-group=R, threshold=T or latency=R (or "
                     "plan-in=PATH)");
  EXPECT_EQ(err("ratio=0.3;flops=0.2"),
            "pass 'prune-width': parameter 'flops': cannot be combined with "
            "'ratio': give one budget");
  EXPECT_EQ(err("ratio=1.5"), "pass 'prune-width': parameter 'ratio': must "
                              "be a fraction in [0, 1]");
  EXPECT_EQ(err("per-group=0.5;uniform"),
            "pass 'prune-width': parameter 'uniform': applies to ratio= and "
            "flops= only");
  EXPECT_EQ(err("ratio=0.3;global;uniform"),
            "pass 'prune-width': parameter 'uniform': cannot be combined "
            "with 'global'");
  EXPECT_EQ(err("ratio=0.3;criterion=magnitud"),
            "pass 'prune-width': parameter 'criterion': unknown criterion "
            "'magnitud' (did you mean 'magnitude'?)");
  EXPECT_EQ(err("ratio=0.3;p=0.5"),
            "pass 'prune-width': parameter 'p': must be a number >= 1 or "
            "'inf'");
  EXPECT_EQ(err("ratio=0.3;reduce=avg"),
            "pass 'prune-width': parameter 'reduce': 'avg' is not a "
            "reduction (sum, mean, max)");
  EXPECT_EQ(err("ratio=0.3;round-to=0"),
            "pass 'prune-width': parameter 'round-to': must be 'auto' or a "
            "whole number >= 1");
  EXPECT_EQ(err("ratio=0.3;latency-threads=2"),
            "pass 'prune-width': parameter 'latency-threads': applies to "
            "latency= only");
  EXPECT_EQ(err("latency=0"), "pass 'prune-width': parameter 'latency': "
                              "must be a fraction in (0, 1]");
  // latency= prunes once, by the plan it chose: plan-out records it
  // (LatencyTest.PlanOutReplaysTheChosenPlanWithoutARuntime).
  EXPECT_EQ(err("latency=0.7;plan-out=p.json"), "<ok>");
  EXPECT_EQ(
      err("ratio=0.3;protect=(a")
          .find("pass 'prune-width': parameter 'protect': invalid regular "
                "expression '(a'"),
      0u);
  EXPECT_EQ(err("plan-in=p.json;ratio=0.3"),
            "pass 'prune-width': parameter 'ratio': cannot be combined with "
            "plan-in (the plan already says what to remove)");
}

} // namespace
