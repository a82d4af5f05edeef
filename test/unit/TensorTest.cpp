//===- TensorTest.cpp - Tests of weight tensor helpers --------------------===//
///
/// \file
/// Tensor::isSplat, which the parameter count (StatsAnalysis) and the
/// untying of exporter-merged weights use to tell an accidental merge (all
/// elements equal) from a real tie.
///
//===----------------------------------------------------------------------===//

#include "lib/IR/Tensor.h"

#include "gtest/gtest.h"

#include <cstring>

using namespace onnxprune;

namespace {

Tensor floats(llvm::ArrayRef<int64_t> dims, llvm::ArrayRef<float> values) {
  Tensor t("t", DataType::Float, dims);
  std::string bytes(values.size() * sizeof(float), '\0');
  // An empty ArrayRef's data() is null, which memcpy may not be given.
  if (!values.empty())
    std::memcpy(bytes.data(), values.data(), bytes.size());
  t.setData(dims, std::move(bytes));
  return t;
}

TEST(TensorTest, SplatIsEveryElementEqual) {
  EXPECT_TRUE(floats({4}, {0, 0, 0, 0}).isSplat());
  EXPECT_TRUE(floats({2, 2}, {1, 1, 1, 1}).isSplat());
  EXPECT_FALSE(floats({4}, {1, 1, 1, 2}).isSplat());
  EXPECT_FALSE(floats({4}, {2, 1, 1, 1}).isSplat());
}

TEST(TensorTest, SplatComparesBits) {
  // 0.0 and -0.0 compare equal as floats, but exporters merge bit-identical
  // tensors only.
  EXPECT_FALSE(floats({2}, {0.0f, -0.0f}).isSplat());
}

TEST(TensorTest, SplatNeedsTwoElements) {
  // A scalar or an empty tensor is not a merge of anything.
  EXPECT_FALSE(floats({}, {1}).isSplat());
  EXPECT_FALSE(floats({1}, {1}).isSplat());
  EXPECT_FALSE(floats({0}, {}).isSplat());
}

TEST(TensorTest, SplatOfIntegersAndStrings) {
  Tensor i("i", DataType::Int64, {3});
  int64_t v[3] = {7, 7, 7};
  i.setData({3}, std::string(reinterpret_cast<const char *>(v), sizeof(v)));
  EXPECT_TRUE(i.isSplat());
  Tensor s("s", DataType::String, {2});
  s.setInlineStrings({"a", "a"});
  EXPECT_FALSE(s.isSplat());
}

} // namespace
