//===- RoundToTest.cpp - round-to counts channels, not units --------------===//
///
/// \file
/// round-to=N rounds the kept channels of every pruned weight axis to a
/// multiple of N: a group of 16-channel heads keeps any number of heads
/// under round-to=8 (not a multiple of 8 heads), a channel group keeps a
/// multiple of 8 channels, and a depthwise conv's group count follows its
/// channels. Checked on the zoo's ViT (2 heads of 16 channels) and
/// MobileNetV2 (depthwise convs).
///
//===----------------------------------------------------------------------===//

#include "passes/Transforms/PruneWidthPass.h"

#include "frontends/onnx/ModelReader.h"
#include "lib/IR/Graph.h"
#include "passes/Analysis/DepGraph.h"
#include "passes/OpHandlers/ShapeInference.h"

#include "gtest/gtest.h"

#include <map>

using namespace onnxprune;

namespace {

std::unique_ptr<Model> zoo(const char *name) {
  std::string path = std::string(ONNXPRUNE_SOURCE_DIR) + "/test/models/zoo/" +
                     name + "_op17.onnx";
  auto m = readModelFile(path);
  EXPECT_TRUE(bool(m)) << llvm::toString(m.takeError());
  if (m)
    fillTypes(**m);
  return m ? std::move(*m) : nullptr;
}

/// Units removed per group by `prune-width<PARAMS>` on \p m, in group order.
std::vector<std::pair<uint64_t, size_t>>
removedPerGroup(const Model &m, const DepGraph &dg, const char *params) {
  auto opts = parsePruneWidthOptions(params);
  EXPECT_TRUE(bool(opts)) << llvm::toString(opts.takeError());
  std::string log;
  llvm::raw_string_ostream os(log);
  auto plan = computePrunePlan(m, dg, *opts, os);
  EXPECT_TRUE(bool(plan)) << llvm::toString(plan.takeError());
  std::vector<std::pair<uint64_t, size_t>> out;
  for (const PrunePlan::Group &g : plan->groups)
    out.push_back({g.numUnits, g.removed.size()});
  return out;
}

TEST(RoundToTest, QuantumCountsChannels) {
  EXPECT_EQ(roundingQuantum(8, 1), 8);  // channels: multiples of 8
  EXPECT_EQ(roundingQuantum(8, 64), 1); // 64-channel heads: any count
  EXPECT_EQ(roundingQuantum(8, 4), 2);  // 4-channel heads: even counts
  EXPECT_EQ(roundingQuantum(16, 24), 2);
  EXPECT_EQ(roundingQuantum(1, 7), 1);
}

TEST(RoundToTest, HeadsAreNotRoundedToEightHeads) {
  auto m = zoo("vit");
  ASSERT_TRUE(m);
  auto dg = buildDepGraph(*m);
  ASSERT_TRUE(bool(dg)) << llvm::toString(dg.takeError());
  // The ViT has 2 heads of 16 channels per layer, and MLP channel groups.
  unsigned headGroups = 0;
  for (unsigned g = 0; g < dg->getGroups().size(); ++g) {
    const DepGraph::Group &group = dg->getGroups()[g];
    if (!group.numPrunable)
      continue;
    int64_t c = channelsPerUnit(*dg, g);
    if (group.units.size() == 2) {
      EXPECT_EQ(c, 16) << "group " << g;
      ++headGroups;
    } else {
      EXPECT_EQ(c, 1) << "group " << g;
    }
  }
  EXPECT_EQ(headGroups, 2u);
  // Half of every group: one head of two (16 channels kept, a multiple of
  // 8), and 32 of the 64 MLP channels, with or without rounding.
  auto plain = removedPerGroup(*m, *dg, "per-group=0.5");
  auto rounded = removedPerGroup(*m, *dg, "per-group=0.5;round-to=8");
  EXPECT_EQ(plain, rounded);
  unsigned headsRemoved = 0;
  for (auto &[units, removed] : rounded)
    if (units == 2)
      headsRemoved += removed;
  EXPECT_EQ(headsRemoved, 2u);
  // round-to=32: a head keeps 16 channels, not a multiple of 32: heads
  // stay; MLP groups keep 32 of 64.
  for (auto &[units, removed] :
       removedPerGroup(*m, *dg, "per-group=0.5;round-to=32"))
    EXPECT_EQ(removed, units == 2 ? 0u : units / 2) << units << " units";
}

TEST(RoundToTest, ConvWidthsAndDepthwiseGroupsRound) {
  auto m = zoo("mobilenet_v2");
  ASSERT_TRUE(m);
  std::map<std::string, int64_t> before;
  for (const Node &n : m->getGraph().getNodes())
    if (n.getOpType() == "Conv")
      before[n.getName()] = n.getInput(1)->getType().shape->front().value;
  auto opts = parsePruneWidthOptions("ratio=0.3;round-to=8");
  ASSERT_TRUE(bool(opts));
  std::string log;
  llvm::raw_string_ostream os(log);
  ModelAnalysisManager am;
  auto pa = PruneWidthPass(*opts, &os).run(*m, am);
  ASSERT_TRUE(bool(pa)) << llvm::toString(pa.takeError());
  unsigned changed = 0, depthwise = 0;
  for (const Node &n : m->getGraph().getNodes()) {
    if (n.getOpType() != "Conv")
      continue;
    int64_t out = n.getInput(1)->getType().shape->front().value;
    if (out == before[n.getName()])
      continue;
    ++changed;
    EXPECT_EQ(out % 8, 0) << n.getName() << " keeps " << out;
    int64_t group = n.getIntAttr("group", 1);
    if (group > 1) {
      ++depthwise;
      EXPECT_EQ(group % 8, 0) << n.getName() << " has group " << group;
    }
  }
  EXPECT_GT(changed, 10u);
  EXPECT_GT(depthwise, 5u);
}

} // namespace
