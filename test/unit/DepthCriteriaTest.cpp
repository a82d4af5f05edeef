//===- DepthCriteriaTest.cpp - The math of the depth criteria -------------===//
///
/// \file
/// Cosines of residual streams (similarity) and output distances
/// (finercut) against numbers worked out by hand.
///
//===----------------------------------------------------------------------===//

#include "passes/Criteria/DepthCriteria.h"

#include <gtest/gtest.h>

#include <cmath>

namespace onnxprune {
namespace {

TEST(DepthCriteriaTest, CosinesPerTokenAlongTheLastAxis) {
  // Two tokens of width 2: ([1,0], [1,1]) -> 1/sqrt(2); ([0,2], [0,3]) -> 1.
  const float x[] = {1, 0, 0, 2};
  const float y[] = {1, 1, 0, 3};
  MeanSum acc;
  addCosines(x, y, {1, 2, 2}, acc);
  EXPECT_EQ(acc.count, 2);
  EXPECT_NEAR(acc.sum, 1 / std::sqrt(2.0) + 1, 1e-12);
  // Zero vectors: two are equal (1), one is orthogonal to anything (0).
  const float z[] = {0, 0, 0, 0};
  MeanSum zeros;
  addCosines(z, z, {2, 2}, zeros);
  addCosines(z, x, {2, 2}, zeros);
  EXPECT_EQ(zeros.count, 4);
  EXPECT_DOUBLE_EQ(zeros.sum, 2.0);
}

TEST(DepthCriteriaTest, CosinesPerPositionAlongChannelsOf4D) {
  // [N=1, C=2, H=1, W=2]: position 0 has channels (1, 0) vs (0, 1): 0;
  // position 1 has (2, 3) vs (2, 3): 1.
  const float a[] = {1, 2, 0, 3};
  const float b[] = {0, 2, 1, 3};
  MeanSum acc;
  addCosines(a, b, {1, 2, 1, 2}, acc);
  EXPECT_EQ(acc.count, 2);
  EXPECT_NEAR(acc.mean(), 0.5, 1e-12);
}

TEST(DepthCriteriaTest, JensenShannonOfSoftmaxes) {
  // softmax(0, ln 3) = (1/4, 3/4) against (3/4, 1/4): M = (1/2, 1/2) and
  // JS = 1/4 ln(1/2) + 3/4 ln(3/2) = 0.1308120...; equal logits give 0,
  // and a shift of all logits changes nothing.
  const float p[] = {0, float(std::log(3.0))};
  const float q[] = {float(std::log(3.0)), 0};
  const float shifted[] = {5, float(5 + std::log(3.0))};
  MeanSum acc;
  addDistances(p, q, {1, 2}, OutputDistance::JS, acc);
  EXPECT_NEAR(acc.sum, 0.25 * std::log(0.5) + 0.75 * std::log(1.5), 1e-6);
  MeanSum same;
  addDistances(p, shifted, {1, 2}, OutputDistance::JS, same);
  EXPECT_NEAR(same.sum, 0.0, 1e-7);
}

TEST(DepthCriteriaTest, AngularDistance) {
  // Orthogonal: 1/2; opposite: 1; equal: 0. Vectors along the last axis
  // even for 4-D outputs (finercut compares outputs, not streams).
  const float a[] = {1, 0, 1, 0, 2, 2};
  const float b[] = {0, 1, -1, 0, 1, 1};
  MeanSum acc;
  addDistances(a, b, {1, 1, 3, 2}, OutputDistance::Angular, acc);
  EXPECT_EQ(acc.count, 3);
  EXPECT_NEAR(acc.sum, 0.5 + 1.0 + 0.0, 1e-6);
}

} // namespace
} // namespace onnxprune
