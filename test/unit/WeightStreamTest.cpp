//===- WeightStreamTest.cpp - The fast paths over weight bytes ------------===//
///
/// \file
/// What makes pruning a multi-GB model run at the speed of copying it must
/// give the same results as the plain element-by-element code it replaced:
///
///   * bulk float16 conversion (F16C when the CPU has it, the bit trick
///     otherwise) equals halfToFloat() on all 65536 values;
///   * sliceNorms() (storage order, eight runs side by side, bulk
///     conversion, pages released as it goes) is bit-identical to the
///     element-by-element reference, for every dtype, axis and p, on
///     in-memory and external (mapped) tensors;
///   * a lazily sliced external weight streams exactly the bytes
///     gatherAxis() makes, for slices on every combination of axes;
///   * parallelForEach returns the error a sequential loop would.
///
//===----------------------------------------------------------------------===//

#include "lib/IR/FloatConvert.h"
#include "lib/IR/Tensor.h"
#include "lib/IR/WeightStore.h"
#include "lib/Support/Error.h"
#include "lib/Support/Parallel.h"
#include "lib/Support/SplitMix.h"
#include "passes/Criteria/SliceNorms.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include "gtest/gtest.h"

#include <atomic>
#include <cmath>
#include <cstring>

using namespace onnxprune;
using namespace llvm;

namespace {

uint32_t bitsOf(float f) {
  uint32_t b;
  std::memcpy(&b, &f, 4);
  return b;
}

TEST(FloatConvertTest, HalfMatchesHalfToFloatOnEveryValue) {
  std::string src(2 * 65536, '\0');
  for (uint32_t h = 0; h < 65536; ++h) {
    uint16_t v = uint16_t(h);
    std::memcpy(&src[2 * h], &v, 2);
  }
  std::vector<float> bulk(65536), portable(65536);
  toFloats(DataType::Float16, src.data(), bulk.data(), 65536);
  halfToFloatsPortable(src.data(), portable.data(), 65536);
  unsigned nans = 0;
  for (uint32_t h = 0; h < 65536; ++h) {
    float want = halfToFloat(uint16_t(h));
    if (std::isnan(want)) {
      // F16C quiets signalling NaNs; a NaN score is an error anyway.
      EXPECT_TRUE(std::isnan(bulk[h]) && std::isnan(portable[h])) << h;
      ++nans;
      continue;
    }
    ASSERT_EQ(bitsOf(bulk[h]), bitsOf(want)) << "half 0x" << utohexstr(h);
    ASSERT_EQ(bitsOf(portable[h]), bitsOf(want)) << "half 0x" << utohexstr(h);
  }
  EXPECT_EQ(nans, 2u * 1023u);
}

TEST(FloatConvertTest, BFloat16AndUnalignedFloats) {
  // Odd offsets: mapped external data has no alignment promise.
  std::string src(1 + 4 * 5, '\0');
  float in[5] = {1.5f, -0.0f, 3e-39f, -7.25e10f, 0.1f};
  std::memcpy(&src[1], in, sizeof(in));
  float out[5];
  toFloats(DataType::Float, src.data() + 1, out, 5);
  for (int i = 0; i < 5; ++i)
    EXPECT_EQ(bitsOf(out[i]), bitsOf(in[i]));
  uint16_t b[3] = {0x3fc0, 0xc2f7, 0x0001};
  toFloats(DataType::BFloat16, reinterpret_cast<const char *>(b), out, 3);
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(bitsOf(out[i]), bitsOf(bfloat16ToFloat(b[i])));
}

/// Random bytes of a tensor of \p type: values of mixed magnitudes, with
/// some zeros, subnormals (float16) and negative numbers.
std::string randomBytes(DataType type, uint64_t n, uint64_t seed) {
  uint64_t state = seed;
  std::string out(n * elementSize(type), '\0');
  for (uint64_t i = 0; i < n; ++i) {
    double u = splitmixUnit(state) - 0.5;
    double v = u * std::pow(2.0, int(splitmix64(state) % 24) - 16);
    if (splitmix64(state) % 17 == 0)
      v = 0;
    char *p = &out[i * elementSize(type)];
    if (type == DataType::Float) {
      float f = float(v);
      std::memcpy(p, &f, 4);
    } else if (type == DataType::Double) {
      std::memcpy(p, &v, 8);
    } else if (type == DataType::Float16) {
      uint16_t h = floatToHalf(float(v));
      std::memcpy(p, &h, 2);
    } else {
      uint16_t h = floatToBFloat16(float(v));
      std::memcpy(p, &h, 2);
    }
  }
  return out;
}

std::unique_ptr<Tensor> inMemory(DataType type, ArrayRef<int64_t> dims,
                                 uint64_t seed) {
  auto t = std::make_unique<Tensor>("w", type, dims);
  t->setData(dims, randomBytes(type, t->getNumElements(), seed));
  return t;
}

/// A temporary folder for the external data files of one test.
class ExternalData : public ::testing::Test {
protected:
  void SetUp() override {
    ASSERT_FALSE(sys::fs::createUniqueDirectory("weight-stream", dir));
  }
  void TearDown() override { sys::fs::remove_directories(dir); }

  /// An external tensor of \p dims whose bytes (\p bytes) sit at an odd
  /// offset of a new file.
  std::unique_ptr<Tensor> external(DataType type, ArrayRef<int64_t> dims,
                                   StringRef bytes) {
    SmallString<128> path(dir);
    sys::path::append(path, "data" + std::to_string(files++));
    std::error_code ec;
    {
      raw_fd_ostream os(path, ec);
      EXPECT_FALSE(ec);
      os << "x" << bytes << "tail";
    }
    auto f = store.openExternalFile(path);
    EXPECT_TRUE(bool(f));
    if (!f) {
      consumeError(f.takeError());
      return nullptr;
    }
    auto t = std::make_unique<Tensor>("w", type, dims);
    ExternalLocation loc;
    loc.location = std::string(sys::path::filename(path));
    loc.offset = 1;
    loc.length = bytes.size();
    loc.file = *f;
    t->setExternal(std::move(loc));
    return t;
  }

  SmallString<128> dir;
  WeightStore store;
  unsigned files = 0;
};

void expectSameBits(const std::vector<double> &a, const std::vector<double> &b,
                    const std::string &what) {
  ASSERT_EQ(a.size(), b.size()) << what;
  for (size_t i = 0; i < a.size(); ++i)
    ASSERT_EQ(std::memcmp(&a[i], &b[i], sizeof(double)), 0)
        << what << ": unit " << i << ": " << a[i] << " vs " << b[i];
}

struct Shape {
  std::vector<int64_t> dims;
};

const Shape kShapes[] = {
    {{37, 1000}},    // MatMul [K, N]: columns (inner 1) and rows
    {{3, 5}},        // fewer units than lanes
    {{12, 7, 3, 3}}, // conv [M, C, kh, kw]: runs of 9 along C
    {{2, 9, 5000}},  // runs longer than a converted block
    {{4100}},        // 1-D
    {{1, 9000, 2}},  // many short runs
};

TEST(SliceNormsTest, BitIdenticalToTheElementLoop) {
  uint64_t seed = 1;
  for (DataType type : {DataType::Float16, DataType::BFloat16, DataType::Float,
                        DataType::Double})
    for (const Shape &s : kShapes) {
      auto t = inMemory(type, s.dims, seed++);
      for (unsigned axis = 0; axis < s.dims.size(); ++axis)
        for (double p : {1.0, 2.0, 3.0, double(INFINITY)}) {
          std::string what = dataTypeName(type) + " axis " +
                             std::to_string(axis) + " p " + std::to_string(p);
          auto fast = sliceNorms(*t, axis, p);
          auto ref = sliceNormsReference(*t, axis, p);
          ASSERT_TRUE(bool(fast) && bool(ref)) << what;
          expectSameBits(*fast, *ref, what);
        }
    }
}

TEST_F(ExternalData, SliceNormsOfMappedWeights) {
  // Big enough that pages are released several times along the way.
  std::vector<int64_t> dims{1024, 3000};
  std::string bytes = randomBytes(DataType::Float16, 1024 * 3000, 7);
  auto ext = external(DataType::Float16, dims, bytes);
  ASSERT_TRUE(ext);
  auto mem = inMemory(DataType::Float16, dims, 7);
  for (unsigned axis : {0u, 1u}) {
    auto fast = sliceNorms(*ext, axis, 2);
    auto ref = sliceNormsReference(*mem, axis, 2);
    ASSERT_TRUE(bool(fast) && bool(ref));
    expectSameBits(*fast, *ref, "axis " + std::to_string(axis));
  }
}

TEST(SliceNormsTest, Errors) {
  auto t = inMemory(DataType::Float, {2, 3}, 1);
  auto bad = sliceNorms(*t, 2, 2);
  ASSERT_FALSE(bool(bad));
  EXPECT_EQ(toString(bad.takeError()), "weight 'w' has no axis 2");
}

TEST_F(ExternalData, LazySliceStreamsWhatGatherAxisMakes) {
  struct Case {
    std::vector<int64_t> dims;
    std::vector<Tensor::SliceAxis> axes;
  };
  auto every = [](int64_t n, int64_t step, int64_t from = 0) {
    std::vector<int64_t> v;
    for (int64_t i = from; i < n; i += step)
      v.push_back(i);
    return v;
  };
  const Case cases[] = {
      {{64, 1000}, {{1, every(1000, 3)}}},     // scattered columns
      {{64, 1000}, {{1, every(600, 1, 100)}}}, // one long run
      {{64, 1000}, {{0, every(64, 2)}}},       // rows
      {{64, 1000}, {{0, every(64, 5)}, {1, every(1000, 7)}}},
      {{6, 10, 3, 3}, {{1, {0, 2, 3, 9}}}}, // conv input channels
      {{6, 10, 3, 3}, {{0, {1, 5}}, {1, {4}}, {3, {0, 2}}}},
      {{3000}, {{0, every(3000, 4)}}},          // 1-D
      {{2, 3000000}, {{1, every(3000000, 2)}}}, // rows past 4 MB
  };
  uint64_t seed = 11;
  for (DataType type : {DataType::Float16, DataType::Float, DataType::Double})
    for (const Case &c : cases) {
      uint64_t n = 1;
      for (int64_t d : c.dims)
        n *= d;
      std::string bytes = randomBytes(type, n, seed++);
      auto t = external(type, c.dims, bytes);
      ASSERT_TRUE(t);
      // The reference: gatherAxis one axis at a time.
      std::string want = bytes;
      SmallVector<int64_t, 4> dims(c.dims.begin(), c.dims.end());
      for (const Tensor::SliceAxis &a : c.axes) {
        want = gatherAxis(want, dims, elementSize(type), a.axis, a.kept);
        dims[a.axis] = a.kept.size();
      }
      t->setLazySlice(dims, c.axes);
      std::string got;
      ASSERT_FALSE(errorToBool(t->streamLazySlice([&](StringRef piece) {
        got += piece.str();
        return Error::success();
      })));
      ASSERT_EQ(got.size(), want.size());
      EXPECT_TRUE(got == want)
          << dataTypeName(type) << " case of " << c.dims.size() << " dims";
    }
}

TEST(ParallelTest, FirstErrorByIndexWhateverTheThreads) {
  for (unsigned threads : {1u, 2u, 5u}) {
    setThreadCount(threads);
    std::vector<int> out(100, -1);
    std::atomic<int> ran{0};
    Error e = parallelForEach(100, [&](size_t i) -> Error {
      ++ran;
      if (i == 37 || i == 61)
        return makeError("task " + Twine(i));
      out[i] = int(i) * 2;
      return Error::success();
    });
    EXPECT_EQ(toString(std::move(e)), "task 37") << threads << " threads";
    // Every task before the first failure ran.
    for (int i = 0; i < 37; ++i)
      EXPECT_EQ(out[i], 2 * i);
    EXPECT_GE(ran.load(), 38);
    ASSERT_FALSE(errorToBool(parallelForEach(100, [&](size_t i) -> Error {
      out[i] = int(i) + 1;
      return Error::success();
    })));
    for (int i = 0; i < 100; ++i)
      EXPECT_EQ(out[i], i + 1);
  }
  setThreadCount(0);
  EXPECT_GE(getThreadCount(), 1u);
}

} // namespace
