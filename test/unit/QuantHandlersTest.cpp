//===- QuantHandlersTest.cpp - Tests of the quantized op handlers --------===//
///
/// \file
/// QDQ, QOperator and MatMulNBits handlers on the lit tests' tiny models
/// (test/lit/handlers/quant-*.onnxtext): which scales and zero points join
/// which channels, the exact slices and attributes after pruning chosen
/// units, what masking writes (the zero point, the code that dequantizes
/// to 0; scales and zero points untouched), and masked == pruned in ONNX
/// Runtime (PruneTestUtil.h).
///
//===----------------------------------------------------------------------===//

#include "test/unit/PruneTestAsserts.h"

#include "llvm/Support/MemoryBuffer.h"

#include "gtest/gtest.h"

#include <cstdint>

using namespace onnxprune;
using namespace onnxprune::test;

namespace {

using Ints = std::vector<int64_t>;
using Floats = std::vector<float>;

std::string litModel(const char *name) {
  auto b =
      llvm::MemoryBuffer::getFile(std::string(ONNXPRUNE_SOURCE_DIR) +
                                  "/test/lit/handlers/" + name + ".onnxtext");
  if (!b)
    return "";
  return (*b)->getBuffer().str();
}

/// Slice \p k of axis 0 of a row-major tensor of \p rows rows.
Floats row(const Floats &v, size_t rows, size_t k) {
  size_t inner = v.size() / rows;
  return Floats(v.begin() + k * inner, v.begin() + (k + 1) * inner);
}

TEST(QuantHandlers, QDQPerChannelScaleAndZeroPointJoinTheChannels) {
  std::string text = litModel("quant-qdq-conv");
  ASSERT_FALSE(text.empty());
  auto am = analyzeText(text);
  ASSERT_OK(am);
  EXPECT_EQ(am->numPrunable("Wq1", 0), 4u);
  EXPECT_EQ(am->space("s1", 0), am->space("Wq1", 0));
  EXPECT_EQ(am->space("z1", 0), am->space("Wq1", 0));
  EXPECT_EQ(am->space("Wq2", 1), am->space("Wq1", 0));
  // A dequantized kernel's spatial axes are not channels.
  EXPECT_EQ(am->group("Wq1", 2), -1);
  EXPECT_EQ(am->group("W1", 3), -1);
}

TEST(QuantHandlers, QDQMaskingWritesZeroPointsAndPruningSlicesThem) {
  std::string text = litModel("quant-qdq-conv");
  auto orig = analyzeText(text);
  ASSERT_OK(orig);
  Floats z1 = orig->weightFloats("z1"), s1 = orig->weightFloats("s1");
  auto r = checkMaskedEqualsPruned(text, unitsOf("Wq1", 0, {1, 3}));
  ASSERT_OK(r);
  // Masked: rows 1 and 3 of Wq1 hold their channel's zero point, columns
  // 1 and 3 of Wq2 the per-tensor one (128); scales and zero points stay.
  Floats wq1 = r->masked.weightFloats("Wq1");
  for (size_t k : {1u, 3u})
    EXPECT_EQ(row(wq1, 4, k), Floats(3, z1[k])) << "row " << k;
  Floats wq2 = r->masked.weightFloats("Wq2");
  for (size_t o = 0; o < 2; ++o)
    for (size_t k : {1u, 3u})
      EXPECT_EQ(wq2[o * 4 + k], 128.0f);
  EXPECT_EQ(r->masked.weightFloats("z1"), z1);
  EXPECT_EQ(r->masked.weightFloats("s1"), s1);
  // Pruned: per-channel parameters sliced with the weight, per-tensor kept.
  EXPECT_EQ(r->pruned.weightDims("Wq1"), (Ints{2, 3, 1, 1}));
  EXPECT_EQ(r->pruned.weightFloats("s1"), (Floats{s1[0], s1[2]}));
  EXPECT_EQ(r->pruned.weightFloats("z1"), (Floats{z1[0], z1[2]}));
  EXPECT_EQ(r->pruned.weightDims("Wq2"), (Ints{2, 2, 1, 1}));
  EXPECT_EQ(r->pruned.weightDims("s2"), Ints{});
}

TEST(QuantHandlers, DynamicConvIntegerChain) {
  std::string text = litModel("quant-dynamic-conv");
  auto am = analyzeText(text);
  ASSERT_OK(am);
  // The bias reaches the channels through Reshape [1,-1,1,1] and the Add.
  EXPECT_EQ(am->space("B1", 0), am->space("Wq1", 0));
  EXPECT_EQ(am->space("Rq", 1), am->space("Wq1", 0));
  auto r = checkMaskedEqualsPruned(text, unitsOf("Wq1", 0, {0, 2}));
  ASSERT_OK(r);
  Floats wq1 = r->masked.weightFloats("Wq1");
  EXPECT_EQ(row(wq1, 4, 0), Floats(3, 131.0f)); // wz1
  EXPECT_EQ(row(wq1, 4, 2), Floats(3, 131.0f));
  EXPECT_EQ(r->pruned.weightDims("Wq1"), (Ints{2, 3, 1, 1}));
  EXPECT_EQ(r->pruned.weightDims("B1"), (Ints{2}));
  EXPECT_EQ(r->pruned.weightDims("Wq2"), (Ints{2, 2, 1, 1}));
}

TEST(QuantHandlers, QOperatorPerChannelParameters) {
  std::string text = litModel("quant-qoperator");
  auto am = analyzeText(text);
  ASSERT_OK(am);
  EXPECT_EQ(am->space("wcs", 0), am->space("Wc", 0));
  EXPECT_EQ(am->space("wcz", 0), am->space("Wc", 0));
  EXPECT_EQ(am->space("Bc", 0), am->space("Wc", 0));
  EXPECT_EQ(am->space("Wm", 0), am->space("Wc", 0));
  EXPECT_EQ(am->space("Wi", 0), am->space("Wm", 1));
  // MatMulInteger's per-column zero point joins the (frozen) output.
  EXPECT_EQ(am->space("wiz", 0), am->space("Wi", 1));
  auto r = checkMaskedEqualsPruned(text, [](const AnalyzedModel &a) {
    std::vector<unsigned> u{(unsigned)a.unit("Wc", 0, 1),
                            (unsigned)a.unit("Wm", 1, 0),
                            (unsigned)a.unit("Wm", 1, 3)};
    return llvm::Expected<std::vector<unsigned>>(u);
  });
  ASSERT_OK(r);
  // Masked: Wm's columns 0 and 3 hold its zero point 127.
  Floats wm = r->masked.weightFloats("Wm");
  for (size_t k = 0; k < 4; ++k) {
    EXPECT_EQ(wm[k * 5 + 0], 127.0f);
    EXPECT_EQ(wm[k * 5 + 3], 127.0f);
  }
  EXPECT_EQ(r->pruned.weightDims("Wc"), (Ints{3, 3, 1, 1}));
  EXPECT_EQ(r->pruned.weightDims("wcs"), (Ints{3}));
  EXPECT_EQ(r->pruned.weightDims("wcz"), (Ints{3}));
  EXPECT_EQ(r->pruned.weightDims("Bc"), (Ints{3}));
  EXPECT_EQ(r->pruned.weightDims("Wm"), (Ints{3, 3}));
  EXPECT_EQ(r->pruned.weightDims("Wi"), (Ints{3, 3}));
  EXPECT_EQ(r->pruned.weightDims("wiz"), (Ints{3}));
}

TEST(QuantHandlers, StaticQOperatorActivationOps) {
  std::string text = litModel("quant-qoperator-static");
  ASSERT_FALSE(text.empty());
  auto am = analyzeText(text);
  ASSERT_OK(am);
  // LeakyRelu, the residual Add, the Mul by K, the pool and the Sigmoid
  // all carry C1's channels to W3's input.
  for (const char *v : {"L", "C2", "A", "M", "G", "S"})
    EXPECT_EQ(am->space(v, 1), am->space("W1", 0)) << v;
  EXPECT_EQ(am->space("K", 1), am->space("W1", 0));
  EXPECT_EQ(am->space("W3", 1), am->space("W1", 0));
  EXPECT_EQ(am->numPrunable("W1", 0), 4u);
  auto r = checkMaskedEqualsPruned(text, unitsOf("W1", 0, {1, 2}));
  ASSERT_OK(r);
  // K, a quantized constant, is masked to its zero point 90.
  Floats k = r->masked.weightFloats("K");
  EXPECT_EQ(k[1], 90.0f);
  EXPECT_EQ(k[2], 90.0f);
  EXPECT_EQ(r->pruned.weightDims("K"), (Ints{1, 2, 1, 1}));
  EXPECT_EQ(r->pruned.weightDims("W2"), (Ints{2, 2, 1, 1}));
  EXPECT_EQ(r->pruned.weightDims("W3"), (Ints{2, 2, 1, 1}));
}

TEST(QuantHandlers, MatMulNBitsPrunesRowsAndWholeBlocks) {
  std::string text = litModel("quant-matmulnbits");
  auto am = analyzeText(text);
  ASSERT_OK(am);
  // fc0's 32 outputs are fc1's 2 blocks of 16: 2 units of 16 + 1 elements.
  EXPECT_EQ(am->numPrunable("B0", 0), 2u);
  EXPECT_EQ(am->unitWidth("B0", 0), 17);
  EXPECT_EQ(am->elementsOf(am->unit("B1", 1, 1), "B0", 0).size(), 16u);
  Floats z0 = am->weightFloats("z0"), s0 = am->weightFloats("s0");
  auto r = checkMaskedEqualsPruned(text, unitsOf("B1", 1, {0}));
  ASSERT_OK(r);
  // Masked: row 3 of B0 (in the unit) holds its zero points' codes in
  // both nibbles of every byte of each block; B1's block 0 likewise.
  Floats b0 = r->masked.weightFloats("B0");
  for (int blk = 0; blk < 2; ++blk) {
    unsigned zp = (unsigned)z0[3] >> (4 * blk) & 15;
    for (int e = 0; e < 8; ++e)
      EXPECT_EQ(b0[(3 * 2 + blk) * 8 + e], (float)(zp | zp << 4));
  }
  // Pruned: N and K follow, scales and packed zero points are sliced.
  EXPECT_EQ(r->pruned.weightDims("B0"), (Ints{16, 2, 8}));
  EXPECT_EQ(r->pruned.weightDims("s0"), (Ints{32}));
  EXPECT_EQ(r->pruned.weightDims("z0"), (Ints{16}));
  EXPECT_EQ(r->pruned.weightFloats("s0")[0], s0[2 * 16]);
  EXPECT_EQ(r->pruned.weightFloats("z0")[0], z0[16]);
  EXPECT_EQ(r->pruned.weightDims("B1"), (Ints{4, 1, 8}));
  EXPECT_EQ(r->pruned.weightDims("s1"), (Ints{4}));
  EXPECT_EQ(r->pruned.weightDims("z1"), (Ints{4}));
  EXPECT_EQ(r->pruned.nodeIntAttr("MatMulNBits", "N", 0), 16);
}

TEST(QuantHandlers, MatMulNBitsPartialBlockFreezesK) {
  std::string text = litModel("quant-matmulnbits-partial-block");
  auto am = analyzeText(text);
  ASSERT_OK(am);
  EXPECT_EQ(am->frozenRule("B0", 0), "K is not a whole number of blocks");
  EXPECT_EQ(am->numPrunable("B0", 0), 0u);
}

} // namespace
