//===- RoundToTest.cpp - round-to counts channels, not units --------------===//
///
/// \file
/// round-to=N rounds the kept channels of every pruned weight axis to a
/// multiple of N: a group of 16-channel heads keeps any number of heads
/// under round-to=8 (not a multiple of 8 heads), a channel group keeps a
/// multiple of 8 channels, and a depthwise conv's group count follows its
/// channels. Checked on the zoo's ViT (2 heads of 16 channels) and
/// MobileNetV2 (depthwise convs); under round-to=auto a grouped conv's
/// channels per group are not rounded below 16 (RegNet), and every input
/// of a Concat keeps the grid (SqueezeNet).
///
//===----------------------------------------------------------------------===//

#include "passes/Transforms/PruneWidthPass.h"

#include "frontends/onnx/ModelReader.h"
#include "lib/IR/Graph.h"
#include "passes/Analysis/DepGraph.h"
#include "passes/OpHandlers/ShapeInference.h"

#include "gtest/gtest.h"

#include <array>
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

/// Prunes \p m with `prune-width<PARAMS>` and returns each Conv's weight
/// dims [M, C/g] and group count after, by node name.
std::map<std::string, std::array<int64_t, 3>> pruneConvs(Model &m,
                                                         const char *params) {
  auto opts = parsePruneWidthOptions(params);
  EXPECT_TRUE(bool(opts)) << llvm::toString(opts.takeError());
  std::string log;
  llvm::raw_string_ostream os(log);
  ModelAnalysisManager am;
  auto pa = PruneWidthPass(*opts, &os).run(m, am);
  EXPECT_TRUE(bool(pa)) << llvm::toString(pa.takeError());
  std::map<std::string, std::array<int64_t, 3>> out;
  for (const Node &n : m.getGraph().getNodes())
    if (n.getOpType() == "Conv") {
      auto dims = n.getInput(1)->getWeight()->getDims();
      out[n.getName()] = {dims[0], dims[1], n.getIntAttr("group", 1)};
    }
  return out;
}

TEST(RoundToTest, GroupedConvsAreNotRoundedBelowSixteenPerGroup) {
  EXPECT_EQ(autoGroupedQuantum(8), 1);
  EXPECT_EQ(autoGroupedQuantum(12), 1);
  EXPECT_EQ(autoGroupedQuantum(16), 16);
  EXPECT_EQ(autoGroupedQuantum(48), 16);
  // The zoo's RegNet: 3x3 convs of 8 channels per group (2, 4, 8 groups).
  auto m = zoo("regnet");
  ASSERT_TRUE(m);
  auto dg = buildDepGraph(*m);
  ASSERT_TRUE(bool(dg)) << llvm::toString(dg.takeError());
  unsigned grouped = 0;
  for (unsigned g = 0; g < dg->getGroups().size(); ++g)
    if (int64_t w = groupedConvWidth(*dg, g)) {
      EXPECT_EQ(w, 8) << "group " << g;
      ++grouped;
    }
  // Each grouped conv's input side and output side: 6 convs.
  EXPECT_EQ(grouped, 12u);
  // The default prunes them to widths off the multiples of 8 per group
  // (rounding 8 to 8 froze them before); the group count stays.
  auto after = pruneConvs(*m, "ratio=0.3");
  unsigned narrower = 0;
  for (auto &[name, d] : after) {
    if (d[2] == 1)
      continue;
    EXPECT_EQ(d[0] % d[2], 0) << name;
    EXPECT_TRUE(d[0] / d[2] <= 8 && d[1] <= 8) << name;
    narrower += d[1] < 8 || d[0] / d[2] < 8;
  }
  EXPECT_GE(narrower, 3u);
  // An explicit round-to=8 keeps 8 per group: nothing there can go.
  auto m8 = zoo("regnet");
  ASSERT_TRUE(m8);
  for (auto &[name, d] : pruneConvs(*m8, "ratio=0.3;round-to=8"))
    if (d[2] > 1) {
      EXPECT_EQ(d[1], 8) << name;
      EXPECT_EQ(d[0] / d[2], 8) << name;
    }
}

TEST(RoundToTest, EveryConcatInputKeepsTheGrid) {
  // The zoo's SqueezeNet: each fire module concatenates two expand convs
  // (1x1 and 3x3, 32-64 channels each) into one group. Every pruned expand
  // conv keeps a multiple of the group's quantum, not only their sum
  // (before: 20 + 28 under the default).
  for (const char *params : {"ratio=0.3", "ratio=0.3;round-to=8"}) {
    auto m = zoo("squeezenet");
    ASSERT_TRUE(m);
    std::map<std::string, std::array<int64_t, 3>> before;
    for (const Node &n : m->getGraph().getNodes())
      if (n.getOpType() == "Conv") {
        auto dims = n.getInput(1)->getWeight()->getDims();
        before[n.getName()] = {dims[0], dims[1], 1};
      }
    unsigned cut = 0;
    for (auto &[name, d] : pruneConvs(*m, params)) {
      if (name.find("expand") == std::string::npos || d[0] == before[name][0])
        continue;
      ++cut;
      // auto: 16 where the width was a multiple of 16 (all of them here).
      EXPECT_EQ(
          d[0] % (llvm::StringRef(params).contains("round-to=8") ? 8 : 16), 0)
          << params << ": " << name << " keeps " << d[0];
    }
    EXPECT_GE(cut, 4u) << params;
  }
}

} // namespace
