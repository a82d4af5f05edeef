//===- CalibrationDataTest.cpp - Tests of CalibrationData -------*- C++ -*-===//
///
/// \file
/// CalibrationData on files written at test time into a temporary folder:
/// .npy and .npz (stored, ZIP64 and, with zlib, deflated) from a small
/// writer here, and ONNX test-data folders of hand-encoded TensorProtos.
/// Values are checked exactly, the same data from a .npz and a folder must
/// give byte-identical batches, every validation error is checked for the
/// file and input it names, and damaged files (every truncation, flipped
/// bytes, garbage) must fail cleanly.
///
//===----------------------------------------------------------------------===//

#include "lib/Runtime/CalibrationData.h"
#include "frontends/onnx/ModelReader.h"
#include "frontends/onnx/ModelWriter.h"
#include "lib/Runtime/OrtSession.h"
#include "passes/OpHandlers/ShapeInference.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/Support/CRC.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include "gtest/gtest.h"

#include <cstring>
#include <random>

#if ONNXPRUNE_HAVE_ZLIB
#include <zlib.h>
#endif

using namespace onnxprune;

namespace {

#define ASSERT_OK_AND_ASSIGN(var, expr)                                        \
  auto var##OrErr = (expr);                                                    \
  ASSERT_TRUE(!!var##OrErr) << llvm::toString(var##OrErr.takeError());         \
  auto &var = *var##OrErr

/// The message of a failed Expected, "" (and a test failure) on success.
template <typename T> std::string errorOf(llvm::Expected<T> e) {
  if (e) {
    ADD_FAILURE() << "expected an error";
    return "";
  }
  return llvm::toString(e.takeError());
}

//===----------------------------------------------------------------------===//
// Writers for the fixtures
//===----------------------------------------------------------------------===//

template <typename T> std::string bytesOf(llvm::ArrayRef<T> values) {
  std::string s(values.size() * sizeof(T), '\0');
  if (!values.empty())
    std::memcpy(&s[0], values.data(), s.size());
  return s;
}

void putLE(std::string &out, uint64_t v, unsigned n) {
  for (unsigned i = 0; i < n; ++i)
    out += (char)((v >> (8 * i)) & 0xff);
}

/// A .npy file as numpy writes it: the header padded so the data starts at
/// a multiple of 64.
std::string npy(llvm::StringRef descr, llvm::ArrayRef<int64_t> shape,
                llvm::StringRef data, bool fortranOrder = false,
                unsigned major = 1) {
  std::string dict = "{'descr': '" + descr.str() + "', 'fortran_order': " +
                     (fortranOrder ? "True" : "False") + ", 'shape': (";
  for (size_t i = 0; i < shape.size(); ++i)
    dict += (i ? ", " : "") + std::to_string(shape[i]);
  dict += shape.size() == 1 ? ",), }" : "), }";
  size_t prefix = major == 1 ? 10 : 12;
  size_t total = prefix + dict.size() + 1;
  dict += std::string((64 - total % 64) % 64, ' ') + "\n";
  std::string out("\x93NUMPY", 6);
  out += (char)major;
  out += '\0';
  putLE(out, dict.size(), major == 1 ? 2 : 4);
  return out + dict + data.str();
}

#if ONNXPRUNE_HAVE_ZLIB
/// Raw deflate, as zip entries hold it.
std::string deflateRaw(llvm::StringRef data) {
  z_stream zs;
  std::memset(&zs, 0, sizeof(zs));
  EXPECT_EQ(deflateInit2(&zs, Z_BEST_COMPRESSION, Z_DEFLATED, -MAX_WBITS, 8,
                         Z_DEFAULT_STRATEGY),
            Z_OK);
  std::string out(deflateBound(&zs, data.size()), '\0');
  zs.next_in = (Bytef *)data.data();
  zs.avail_in = data.size();
  zs.next_out = (Bytef *)&out[0];
  zs.avail_out = out.size();
  EXPECT_EQ(deflate(&zs, Z_FINISH), Z_STREAM_END);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}
#endif

struct ZipEntry {
  std::string name;
  std::string data;
  bool deflate = false;
};

/// A zip file as Python's zipfile writes it; with \p zip64 every size and
/// offset goes through the ZIP64 extra field and end records.
std::string zip(llvm::ArrayRef<ZipEntry> entries, bool zip64 = false) {
  std::string out, central;
  for (const ZipEntry &e : entries) {
    std::string stored = e.data;
#if ONNXPRUNE_HAVE_ZLIB
    if (e.deflate)
      stored = deflateRaw(e.data);
#else
    EXPECT_FALSE(e.deflate) << "deflate needs zlib";
#endif
    uint32_t crc = llvm::crc32(llvm::arrayRefFromStringRef(e.data));
    uint64_t offset = out.size();
    unsigned method = e.deflate ? 8 : 0;
    putLE(out, 0x04034b50, 4);
    putLE(out, zip64 ? 45 : 20, 2);
    putLE(out, 0, 2); // flags
    putLE(out, method, 2);
    putLE(out, 0, 4); // time, date
    putLE(out, crc, 4);
    putLE(out, stored.size(), 4);
    putLE(out, e.data.size(), 4);
    putLE(out, e.name.size(), 2);
    putLE(out, 0, 2);
    out += e.name + stored;

    putLE(central, 0x02014b50, 4);
    putLE(central, 20, 2);
    putLE(central, zip64 ? 45 : 20, 2);
    putLE(central, 0, 2);
    putLE(central, method, 2);
    putLE(central, 0, 4);
    putLE(central, crc, 4);
    putLE(central, zip64 ? 0xFFFFFFFF : stored.size(), 4);
    putLE(central, zip64 ? 0xFFFFFFFF : e.data.size(), 4);
    putLE(central, e.name.size(), 2);
    putLE(central, zip64 ? 28 : 0, 2);
    putLE(central, 0, 2); // comment
    putLE(central, 0, 2); // disk
    putLE(central, 0, 2); // internal attributes
    putLE(central, 0, 4); // external attributes
    putLE(central, zip64 ? 0xFFFFFFFF : offset, 4);
    central += e.name;
    if (zip64) {
      putLE(central, 1, 2);
      putLE(central, 24, 2);
      putLE(central, e.data.size(), 8);
      putLE(central, stored.size(), 8);
      putLE(central, offset, 8);
    }
  }
  uint64_t cdOffset = out.size();
  out += central;
  if (zip64) {
    uint64_t recOffset = out.size();
    putLE(out, 0x06064b50, 4);
    putLE(out, 44, 8);
    putLE(out, 45, 2);
    putLE(out, 45, 2);
    putLE(out, 0, 8); // disks
    putLE(out, entries.size(), 8);
    putLE(out, entries.size(), 8);
    putLE(out, central.size(), 8);
    putLE(out, cdOffset, 8);
    putLE(out, 0x07064b50, 4);
    putLE(out, 0, 4);
    putLE(out, recOffset, 8);
    putLE(out, 1, 4);
  }
  putLE(out, 0x06054b50, 4);
  putLE(out, 0, 4);
  putLE(out, zip64 ? 0xFFFF : entries.size(), 2);
  putLE(out, zip64 ? 0xFFFF : entries.size(), 2);
  putLE(out, zip64 ? 0xFFFFFFFF : central.size(), 4);
  putLE(out, zip64 ? 0xFFFFFFFF : cdOffset, 4);
  putLE(out, 0, 2);
  return out;
}

void putVarint(std::string &out, uint64_t v) {
  while (v >= 0x80) {
    out += (char)(v | 0x80);
    v >>= 7;
  }
  out += (char)v;
}

void putTag(std::string &out, unsigned field, unsigned wireType) {
  putVarint(out, field << 3 | wireType);
}

/// A serialized TensorProto with raw_data.
std::string tensorPb(llvm::StringRef name, DataType dtype,
                     llvm::ArrayRef<int64_t> dims, llvm::StringRef raw) {
  std::string out;
  for (int64_t d : dims) {
    putTag(out, 1, 0);
    putVarint(out, d);
  }
  putTag(out, 2, 0);
  putVarint(out, (uint64_t)dtype);
  if (!name.empty()) {
    putTag(out, 8, 2);
    putVarint(out, name.size());
    out += name.str();
  }
  putTag(out, 9, 2);
  putVarint(out, raw.size());
  return out + raw.str();
}

/// A serialized float TensorProto with packed float_data.
std::string floatTensorPbTyped(llvm::StringRef name,
                               llvm::ArrayRef<int64_t> dims,
                               llvm::ArrayRef<float> values) {
  std::string out;
  for (int64_t d : dims) {
    putTag(out, 1, 0);
    putVarint(out, d);
  }
  putTag(out, 2, 0);
  putVarint(out, (uint64_t)DataType::Float);
  putTag(out, 4, 2);
  putVarint(out, values.size() * 4);
  out += bytesOf(values);
  putTag(out, 8, 2);
  putVarint(out, name.size());
  return out + name.str();
}

TensorInfo input(llvm::StringRef name, DataType dtype,
                 std::vector<int64_t> shape,
                 std::vector<std::string> symbols = {}) {
  TensorInfo info;
  info.name = name.str();
  info.dtype = dtype;
  info.shape = std::move(shape);
  info.symbolicDims = std::move(symbols);
  info.symbolicDims.resize(info.shape.size());
  return info;
}

std::vector<float> iota(size_t n, float start = 0) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i)
    v[i] = start + (float)i;
  return v;
}

std::vector<float> floatsOf(const HostTensor &t) {
  auto v = t.getValues<float>();
  return std::vector<float>(v.begin(), v.end());
}

/// Tests get a fresh temporary folder each; nothing is written elsewhere.
class CalibrationDataTest : public ::testing::Test {
protected:
  void SetUp() override {
    std::error_code ec =
        llvm::sys::fs::createUniqueDirectory("onnx-prune-calib-test", dir);
    ASSERT_FALSE(ec) << ec.message();
  }
  void TearDown() override { llvm::sys::fs::remove_directories(dir); }

  std::string path(llvm::StringRef rel) const {
    llvm::SmallString<128> p(dir);
    llvm::sys::path::append(p, rel);
    return std::string(p.str());
  }
  /// Writes \p bytes to \p rel, creating folders on the way.
  std::string write(llvm::StringRef rel, llvm::StringRef bytes) {
    std::string p = path(rel);
    EXPECT_FALSE(
        llvm::sys::fs::create_directories(llvm::sys::path::parent_path(p)));
    std::error_code ec;
    llvm::raw_fd_ostream os(p, ec);
    EXPECT_FALSE(ec) << ec.message();
    os << bytes;
    return p;
  }

  /// x: float[N,3], ids: int64[N].
  std::vector<TensorInfo> twoInputs() const {
    return {input("x", DataType::Float, {-1, 3}, {"N", ""}),
            input("ids", DataType::Int64, {-1}, {"N"})};
  }
  /// 5 samples for twoInputs(): x[i] = {3i, 3i+1, 3i+2}, ids[i] = 10 + i.
  std::string twoInputsNpz(bool zip64 = false, bool deflate = false) const {
    std::vector<int64_t> ids = {10, 11, 12, 13, 14};
    return zip(
        {{"x.npy", npy("<f4", {5, 3}, bytesOf<float>(iota(15))), deflate},
         {"ids.npy", npy("<i8", {5}, bytesOf<int64_t>(ids)), deflate}},
        zip64);
  }

  llvm::SmallString<128> dir;
};

void expectTwoInputsBatch(const CalibrationData &cd, int64_t begin,
                          int64_t end) {
  ASSERT_OK_AND_ASSIGN(batch, cd.getBatch(begin, end));
  ASSERT_EQ(batch.size(), 2u);
  int64_t n = end - begin;
  EXPECT_EQ(batch[0].name, "x");
  EXPECT_EQ(batch[0].tensor.dtype, DataType::Float);
  EXPECT_EQ(batch[0].tensor.shape, (std::vector<int64_t>{n, 3}));
  EXPECT_EQ(floatsOf(batch[0].tensor), iota(n * 3, 3 * begin));
  EXPECT_EQ(batch[1].name, "ids");
  EXPECT_EQ(batch[1].tensor.dtype, DataType::Int64);
  EXPECT_EQ(batch[1].tensor.shape, (std::vector<int64_t>{n}));
  for (int64_t i = 0; i < n; ++i)
    EXPECT_EQ(batch[1].tensor.getAsInt64(i), 10 + begin + i);
  if (llvm::Error e = validateHostTensor(batch[0].tensor, "x"))
    ADD_FAILURE() << llvm::toString(std::move(e));
}

/// Expects \p msg to contain each of \p parts.
void expectMessage(const std::string &msg,
                   std::initializer_list<llvm::StringRef> parts) {
  for (llvm::StringRef part : parts)
    EXPECT_NE(msg.find(part.str()), std::string::npos)
        << "'" << part.str() << "' not in: " << msg;
  EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
}

//===----------------------------------------------------------------------===//
// Reading
//===----------------------------------------------------------------------===//

TEST_F(CalibrationDataTest, NpzRoundTrip) {
  std::string p = write("data.npz", twoInputsNpz());
  ASSERT_OK_AND_ASSIGN(cd, CalibrationData::open(p, twoInputs()));
  EXPECT_EQ(cd.getPath(), p);
  EXPECT_EQ(cd.getNumSamples(), 5);
  EXPECT_EQ(cd.getNumSamplesInData(), 5);
  EXPECT_EQ(cd.getFixedBatch(), 0);
  expectTwoInputsBatch(cd, 0, 5);
  expectTwoInputsBatch(cd, 1, 4);
  expectTwoInputsBatch(cd, 4, 5);
}

TEST_F(CalibrationDataTest, NpzZip64) {
  std::string p = write("data.npz", twoInputsNpz(/*zip64=*/true));
  ASSERT_OK_AND_ASSIGN(cd, CalibrationData::open(p, twoInputs()));
  EXPECT_EQ(cd.getNumSamples(), 5);
  expectTwoInputsBatch(cd, 2, 5);
}

TEST_F(CalibrationDataTest, NpzEntryOrderDoesNotMatter) {
  std::vector<int64_t> ids = {10, 11, 12, 13, 14};
  std::string p =
      write("data.npz",
            zip({{"ids.npy", npy("<i8", {5}, bytesOf<int64_t>(ids))},
                 {"x.npy", npy("<f4", {5, 3}, bytesOf<float>(iota(15)))}}));
  ASSERT_OK_AND_ASSIGN(cd, CalibrationData::open(p, twoInputs()));
  expectTwoInputsBatch(cd, 0, 5);
}

TEST_F(CalibrationDataTest, NpzKnownByContentNotName) {
  std::string p = write("data.bin", twoInputsNpz());
  ASSERT_OK_AND_ASSIGN(cd, CalibrationData::open(p, twoInputs()));
  expectTwoInputsBatch(cd, 0, 2);
}

TEST_F(CalibrationDataTest, MovedDataStillReads) {
  std::string p = write("data.npz", twoInputsNpz());
  ASSERT_OK_AND_ASSIGN(cd, CalibrationData::open(p, twoInputs()));
  CalibrationData moved = std::move(cd);
  expectTwoInputsBatch(moved, 1, 3);
}

TEST_F(CalibrationDataTest, NpyVersionsAndTypes) {
  struct Case {
    const char *descr;
    DataType dtype;
    unsigned size;
  } cases[] = {
      {"<f4", DataType::Float, 4},   {"<f8", DataType::Double, 8},
      {"<f2", DataType::Float16, 2}, {"<i8", DataType::Int64, 8},
      {"<i4", DataType::Int32, 4},   {"<i2", DataType::Int16, 2},
      {"|i1", DataType::Int8, 1},    {"<i1", DataType::Int8, 1},
      {"|u1", DataType::UInt8, 1},   {"<u1", DataType::UInt8, 1},
      {"<u2", DataType::UInt16, 2},  {"<u4", DataType::UInt32, 4},
      {"<u8", DataType::UInt64, 8},  {"|b1", DataType::Bool, 1},
      {">u1", DataType::UInt8, 1},   {"=i4", DataType::Int32, 4},
  };
  for (unsigned major : {1u, 2u, 3u}) {
    for (const Case &c : cases) {
      SCOPED_TRACE(std::string(c.descr) + " v" + std::to_string(major));
      // 4 samples of 2 elements; bytes 0..(8*size - 1), bools 0/1.
      std::string data;
      for (unsigned i = 0; i < 8 * c.size; ++i)
        data += (char)(c.dtype == DataType::Bool ? i % 2 : i);
      std::string p =
          write("one.npy", npy(c.descr, {4, 2}, data, false, major));
      ASSERT_OK_AND_ASSIGN(
          cd, CalibrationData::open(p, {input("in", c.dtype, {-1, 2})}));
      EXPECT_EQ(cd.getNumSamples(), 4);
      ASSERT_OK_AND_ASSIGN(batch, cd.getBatch(1, 3));
      ASSERT_EQ(batch.size(), 1u);
      EXPECT_EQ(batch[0].name, "in");
      EXPECT_EQ(batch[0].tensor.dtype, c.dtype);
      EXPECT_EQ(batch[0].tensor.shape, (std::vector<int64_t>{2, 2}));
      EXPECT_EQ(std::string(batch[0].tensor.bytes.begin(),
                            batch[0].tensor.bytes.end()),
                data.substr(2 * c.size, 4 * c.size));
    }
  }
}

TEST_F(CalibrationDataTest, NpyFortranOrderOfOneRowIsFine) {
  std::string p = write(
      "one.npy", npy("<f4", {1, 3}, bytesOf<float>(iota(3)), /*fortran=*/true));
  ASSERT_OK_AND_ASSIGN(
      cd, CalibrationData::open(p, {input("x", DataType::Float, {-1, 3})}));
  EXPECT_EQ(cd.getNumSamples(), 1);
}

TEST_F(CalibrationDataTest, ModelWithUnknownTypeTakesTheDataType) {
  std::string p = write("one.npy", npy("<i4", {2}, bytesOf<int32_t>({7, 8})));
  ASSERT_OK_AND_ASSIGN(
      cd, CalibrationData::open(p, {input("x", DataType::Undefined, {-1})}));
  ASSERT_OK_AND_ASSIGN(batch, cd.getBatch(0, 2));
  EXPECT_EQ(batch[0].tensor.dtype, DataType::Int32);
}

class TestDataFolder : public CalibrationDataTest {
protected:
  /// Sets of \p sizes samples in folder \p root holding twoInputs() data
  /// that continues across sets: x rows 3i.., ids 10 + i.
  std::string writeSets(llvm::StringRef root, llvm::ArrayRef<int64_t> sizes,
                        bool named = true) {
    int64_t first = 0;
    for (size_t s = 0; s < sizes.size(); ++s) {
      std::string set = (root + "/test_data_set_" + llvm::Twine(s)).str();
      std::vector<int64_t> ids;
      for (int64_t i = 0; i < sizes[s]; ++i)
        ids.push_back(10 + first + i);
      write(set + "/input_0.pb",
            tensorPb(named ? "x" : "", DataType::Float, {sizes[s], 3},
                     bytesOf<float>(iota(sizes[s] * 3, 3 * first))));
      write(set + "/input_1.pb", tensorPb(named ? "ids" : "", DataType::Int64,
                                          {sizes[s]}, bytesOf<int64_t>(ids)));
      // Outputs sit beside inputs in ONNX's layout; they are ignored.
      write(set + "/output_0.pb", "not read");
      first += sizes[s];
    }
    write((root + "/model.onnx").str(), "not read either");
    return path(root);
  }
};

TEST_F(TestDataFolder, TwoSets) {
  std::string p = writeSets("td", {2, 3});
  ASSERT_OK_AND_ASSIGN(cd, CalibrationData::open(p, twoInputs()));
  EXPECT_EQ(cd.getNumSamples(), 5);
  for (auto [b, e] :
       {std::pair<int64_t, int64_t>{0, 5}, {0, 2}, {1, 4}, {2, 5}, {3, 4}})
    expectTwoInputsBatch(cd, b, e);
}

TEST_F(TestDataFolder, SetsInNumericOrder) {
  std::string p = writeSets("td", std::vector<int64_t>(11, 1));
  ASSERT_OK_AND_ASSIGN(cd, CalibrationData::open(p, twoInputs()));
  EXPECT_EQ(cd.getNumSamples(), 11);
  // Set 10 is the last sample, not the third.
  expectTwoInputsBatch(cd, 0, 11);
  expectTwoInputsBatch(cd, 8, 11);
}

TEST_F(TestDataFolder, UnnamedTensorsGoByPosition) {
  std::string p = writeSets("td", {2, 3}, /*named=*/false);
  ASSERT_OK_AND_ASSIGN(cd, CalibrationData::open(p, twoInputs()));
  expectTwoInputsBatch(cd, 0, 5);
}

TEST_F(TestDataFolder, NamesOverridePositions) {
  // input_0.pb feeds 'ids' by name, input_1.pb 'x'.
  std::string set = "td/test_data_set_0";
  write(set + "/input_0.pb",
        tensorPb("ids", DataType::Int64, {1}, bytesOf<int64_t>({10})));
  write(set + "/input_1.pb",
        tensorPb("x", DataType::Float, {1, 3}, bytesOf<float>(iota(3))));
  ASSERT_OK_AND_ASSIGN(cd, CalibrationData::open(path("td"), twoInputs()));
  expectTwoInputsBatch(cd, 0, 1);
}

TEST_F(TestDataFolder, OneSetFolderByItself) {
  writeSets("td", {2, 3});
  ASSERT_OK_AND_ASSIGN(
      cd, CalibrationData::open(path("td/test_data_set_0"), twoInputs()));
  EXPECT_EQ(cd.getNumSamples(), 2);
  expectTwoInputsBatch(cd, 0, 2);
}

TEST_F(TestDataFolder, TypedFieldsAndRawDataMix) {
  std::string set = "td/test_data_set_";
  write(set + "0/input_0.pb", floatTensorPbTyped("x", {2, 3}, iota(6)));
  write(set + "0/input_1.pb",
        tensorPb("ids", DataType::Int64, {2}, bytesOf<int64_t>({10, 11})));
  write(set + "1/input_0.pb",
        tensorPb("x", DataType::Float, {3, 3}, bytesOf<float>(iota(9, 6))));
  write(set + "1/input_1.pb",
        tensorPb("ids", DataType::Int64, {3}, bytesOf<int64_t>({12, 13, 14})));
  ASSERT_OK_AND_ASSIGN(cd, CalibrationData::open(path("td"), twoInputs()));
  expectTwoInputsBatch(cd, 0, 5);
  expectTwoInputsBatch(cd, 1, 3);
}

TEST_F(TestDataFolder, EmptySetAddsNothing) {
  std::string p = writeSets("td", {2, 0, 3});
  ASSERT_OK_AND_ASSIGN(cd, CalibrationData::open(p, twoInputs()));
  EXPECT_EQ(cd.getNumSamples(), 5);
  expectTwoInputsBatch(cd, 0, 5);
  expectTwoInputsBatch(cd, 1, 3);
  // An empty first set still fixes the other dims.
  std::vector<TensorInfo> freeDims = {input("x", DataType::Float, {-1, -1}),
                                      input("ids", DataType::Int64, {-1})};
  write("td/test_data_set_0/input_0.pb",
        tensorPb("x", DataType::Float, {0, 4}, ""));
  write("td/test_data_set_0/input_1.pb",
        tensorPb("ids", DataType::Int64, {0}, ""));
  expectMessage(errorOf(CalibrationData::open(p, freeDims)),
                {path("td/test_data_set_1/input_0.pb") +
                 ": input 'x': float32[0,3] here, but float32[?,4] in "
                 "earlier sets"});
}

TEST_F(TestDataFolder, SameBytesAsNpz) {
  std::string npzPath = write("data.npz", twoInputsNpz());
  std::string folder = writeSets("td", {1, 3, 1});
  ASSERT_OK_AND_ASSIGN(fromNpz, CalibrationData::open(npzPath, twoInputs()));
  ASSERT_OK_AND_ASSIGN(fromPb, CalibrationData::open(folder, twoInputs()));
  ASSERT_EQ(fromNpz.getNumSamples(), fromPb.getNumSamples());
  for (int64_t b = 0; b < 5; ++b) {
    for (int64_t e = b + 1; e <= 5; ++e) {
      SCOPED_TRACE("[" + std::to_string(b) + ", " + std::to_string(e) + ")");
      ASSERT_OK_AND_ASSIGN(x, fromNpz.getBatch(b, e));
      ASSERT_OK_AND_ASSIGN(y, fromPb.getBatch(b, e));
      ASSERT_EQ(x.size(), y.size());
      for (size_t i = 0; i < x.size(); ++i) {
        EXPECT_EQ(x[i].name, y[i].name);
        EXPECT_EQ(x[i].tensor.dtype, y[i].tensor.dtype);
        EXPECT_EQ(x[i].tensor.shape, y[i].tensor.shape);
        EXPECT_EQ(x[i].tensor.bytes, y[i].tensor.bytes);
      }
    }
  }
}

//===----------------------------------------------------------------------===//
// Limits, bounds and static batches
//===----------------------------------------------------------------------===//

TEST_F(CalibrationDataTest, LimitSamples) {
  std::string p = write("data.npz", twoInputsNpz());
  ASSERT_OK_AND_ASSIGN(cd, CalibrationData::open(p, twoInputs()));
  cd.limitSamples(3);
  EXPECT_EQ(cd.getNumSamples(), 3);
  EXPECT_EQ(cd.getNumSamplesInData(), 5);
  expectTwoInputsBatch(cd, 0, 3);
  EXPECT_NE(errorOf(cd.getBatch(2, 4)).find("outside the 3 samples"),
            std::string::npos);
  cd.limitSamples(100);
  EXPECT_EQ(cd.getNumSamples(), 5);
  cd.limitSamples(0);
  EXPECT_EQ(cd.getNumSamples(), 0);
  cd.limitSamples(5);
  expectTwoInputsBatch(cd, 0, 5);
}

TEST_F(CalibrationDataTest, BatchBounds) {
  std::string p = write("data.npz", twoInputsNpz());
  ASSERT_OK_AND_ASSIGN(cd, CalibrationData::open(p, twoInputs()));
  for (auto [b, e] : {std::pair<int64_t, int64_t>{-1, 2},
                      {0, 6},
                      {3, 3},
                      {4, 2},
                      {5, 6},
                      {INT64_MIN, INT64_MAX}}) {
    std::string msg = errorOf(cd.getBatch(b, e));
    EXPECT_NE(msg.find(p), std::string::npos) << msg;
    EXPECT_NE(msg.find("is empty or outside the 5 samples"), std::string::npos)
        << msg;
  }
}

TEST_F(CalibrationDataTest, StaticBatchAxis) {
  std::string p = write("data.npz", twoInputsNpz());
  std::vector<TensorInfo> inputs = {input("x", DataType::Float, {2, 3}),
                                    input("ids", DataType::Int64, {-1}, {"N"})};
  ASSERT_OK_AND_ASSIGN(cd, CalibrationData::open(p, inputs));
  EXPECT_EQ(cd.getFixedBatch(), 2);
  // Two whole batches of 2; the fifth sample is dropped.
  EXPECT_EQ(cd.getNumSamples(), 4);
  EXPECT_EQ(cd.getNumSamplesInData(), 5);
  expectTwoInputsBatch(cd, 0, 2);
  expectTwoInputsBatch(cd, 2, 4);
  std::string msg = errorOf(cd.getBatch(0, 1));
  EXPECT_NE(msg.find("batches must have 2"), std::string::npos) << msg;
  errorOf(cd.getBatch(3, 5));
  cd.limitSamples(3);
  EXPECT_EQ(cd.getNumSamples(), 2);

  inputs[0].shape[0] = 6;
  msg = errorOf(CalibrationData::open(p, inputs));
  EXPECT_NE(
      msg.find(p + ": input 'x' has 5 samples, fewer than one batch of 6"),
      std::string::npos)
      << msg;

  inputs[0].shape[0] = 1;
  inputs[1].shape[0] = 5;
  msg = errorOf(CalibrationData::open(p, inputs));
  EXPECT_NE(msg.find("input 'ids' has a static axis 0 of 5, input 'x' of 1"),
            std::string::npos)
      << msg;
}

//===----------------------------------------------------------------------===//
// Validation errors
//===----------------------------------------------------------------------===//

TEST_F(CalibrationDataTest, MissingInput) {
  std::string p =
      write("data.npz",
            zip({{"x.npy", npy("<f4", {5, 3}, bytesOf<float>(iota(15)))}}));
  expectMessage(errorOf(CalibrationData::open(p, twoInputs())),
                {p, "no array for model input 'ids'", "(the file has: 'x')"});
}

TEST_F(CalibrationDataTest, ArrayThatIsNoInput) {
  std::vector<int64_t> ids = {10, 11, 12, 13, 14};
  std::string p = write(
      "data.npz", zip({{"x.npy", npy("<f4", {5, 3}, bytesOf<float>(iota(15)))},
                       {"ids.npy", npy("<i8", {5}, bytesOf<int64_t>(ids))},
                       {"mask.npy", npy("|b1", {5}, std::string(5, '\1'))}}));
  expectMessage(errorOf(CalibrationData::open(p, twoInputs())),
                {p, "array 'mask' is not an input of the model", "'x', 'ids'"});
}

TEST_F(CalibrationDataTest, WrongType) {
  std::vector<int64_t> ids = {10, 11, 12, 13, 14};
  std::string p = write(
      "data.npz", zip({{"x.npy", npy("<f8", {5, 3}, std::string(15 * 8, '\0'))},
                       {"ids.npy", npy("<i8", {5}, bytesOf<int64_t>(ids))}}));
  expectMessage(
      errorOf(CalibrationData::open(p, twoInputs())),
      {p + ": input 'x': float64 in the data, the model takes float32"});
}

TEST_F(CalibrationDataTest, WrongRank) {
  std::string p = write("x.npy", npy("<f4", {3}, bytesOf<float>(iota(3))));
  expectMessage(
      errorOf(CalibrationData::open(p, {input("x", DataType::Float, {-1, 3})})),
      {p + ": input 'x': the data has rank 1 ([3]), the model "
           "takes rank 2 (float[?,3])"});
}

TEST_F(CalibrationDataTest, StaticDimMismatch) {
  std::string p = write("x.npy", npy("<f4", {2, 4}, bytesOf<float>(iota(8))));
  expectMessage(errorOf(CalibrationData::open(
                    p, {input("x", DataType::Float, {-1, 3}, {"batch", ""})})),
                {p + ": input 'x': dim 1 is 4 in the data, the model's is 3 "
                     "(float[batch,3])"});
}

TEST_F(CalibrationDataTest, SymbolWithTwoSizes) {
  std::string p =
      write("data.npz",
            zip({{"a.npy", npy("<f4", {2, 4}, bytesOf<float>(iota(8)))},
                 {"b.npy", npy("<f4", {2, 5}, bytesOf<float>(iota(10)))}}));
  std::vector<TensorInfo> inputs = {
      input("a", DataType::Float, {-1, -1}, {"N", "seq"}),
      input("b", DataType::Float, {-1, -1}, {"N", "seq"})};
  expectMessage(errorOf(CalibrationData::open(p, inputs)),
                {p + ": input 'b': dim 1 ('seq') is 5, but input 'a' dim 1 "
                     "has 'seq' = 4"});
  // The same symbol twice in one input.
  p = write("a.npy", npy("<f4", {1, 2, 3}, bytesOf<float>(iota(6))));
  expectMessage(
      errorOf(CalibrationData::open(
          p, {input("a", DataType::Float, {-1, -1, -1}, {"N", "S", "S"})})),
      {p + ": input 'a': dim 2 ('S') is 3, but input 'a' dim 1 "
           "has 'S' = 2"});
  // Unknown dims (no symbol) take any size.
  p = write("data2.npz",
            zip({{"a.npy", npy("<f4", {2, 4}, bytesOf<float>(iota(8)))},
                 {"b.npy", npy("<f4", {2, 5}, bytesOf<float>(iota(10)))}}));
  inputs[0].symbolicDims[1] = inputs[1].symbolicDims[1] = "";
  EXPECT_TRUE(!!CalibrationData::open(p, inputs));
}

TEST_F(CalibrationDataTest, DifferentSampleCounts) {
  std::vector<int64_t> ids = {10, 11, 12, 13};
  std::string p = write(
      "data.npz", zip({{"x.npy", npy("<f4", {5, 3}, bytesOf<float>(iota(15)))},
                       {"ids.npy", npy("<i8", {4}, bytesOf<int64_t>(ids))}}));
  expectMessage(errorOf(CalibrationData::open(p, twoInputs())),
                {p + ": input 'ids' has 4 samples, input 'x' has 5"});
}

TEST_F(CalibrationDataTest, NoSamples) {
  std::string p = write("x.npy", npy("<f4", {0, 3}, ""));
  expectMessage(
      errorOf(CalibrationData::open(p, {input("x", DataType::Float, {-1, 3})})),
      {p + ": input 'x' has no samples"});
}

TEST_F(CalibrationDataTest, EmptyAndMissingFiles) {
  std::vector<TensorInfo> one = {input("x", DataType::Float, {-1, 3})};
  std::string p = write("empty.npz", "");
  expectMessage(errorOf(CalibrationData::open(p, one)),
                {p + ": the file is empty"});
  expectMessage(errorOf(CalibrationData::open(path("nope.npz"), one)),
                {path("nope.npz") + ": cannot read"});
  p = write("data.txt", "hello, world");
  expectMessage(errorOf(CalibrationData::open(p, one)),
                {p + ": not a .npz or .npy file"});
  p = write("empty.zip", zip({}));
  expectMessage(errorOf(CalibrationData::open(p, one)),
                {p + ": the .npz holds no arrays"});
}

TEST_F(CalibrationDataTest, NpyForSeveralInputs) {
  std::string p = write("x.npy", npy("<f4", {5, 3}, bytesOf<float>(iota(15))));
  expectMessage(errorOf(CalibrationData::open(p, twoInputs())),
                {p + ": a .npy file holds one array, the model has 2 inputs "
                     "('x', 'ids')"});
}

TEST_F(CalibrationDataTest, BadModelInputs) {
  std::string p = write("x.npy", npy("<f4", {5, 3}, bytesOf<float>(iota(15))));
  expectMessage(errorOf(CalibrationData::open(p, {})),
                {p + ": the model has no inputs"});
  TensorInfo seq = input("s", DataType::Undefined, {});
  seq.isTensor = false;
  expectMessage(errorOf(CalibrationData::open(p, {seq})),
                {p + ": input 's' is not a tensor"});
  expectMessage(
      errorOf(CalibrationData::open(p, {input("x", DataType::Float, {})})),
      {p + ": input 'x' is a scalar or of unknown rank"});
}

TEST_F(CalibrationDataTest, UnsupportedNpy) {
  std::vector<TensorInfo> one = {input("x", DataType::Float, {-1, 3})};
  struct Case {
    std::string bytes;
    const char *message;
  } cases[] = {
      {npy("|O", {2, 3}, std::string(48, '\0')), "is an object array"},
      {npy(">f4", {2, 3}, std::string(24, '\0')), "dtype '>f4' is big-endian"},
      {npy("<f4", {2, 3}, std::string(24, '\0'), /*fortran=*/true),
       "Fortran order"},
      {npy("<c8", {2, 3}, std::string(48, '\0')),
       "dtype '<c8' is not supported"},
      {npy("<U4", {2, 3}, std::string(96, '\0')),
       "dtype '<U4' is not supported"},
      {npy("<f4", {2, 3}, std::string(24, '\0'), false, 4),
       "unsupported .npy version 4.0"},
  };
  for (const Case &c : cases) {
    std::string p = write("x.npy", c.bytes);
    expectMessage(errorOf(CalibrationData::open(p, one)), {p, c.message});
  }
}

TEST_F(CalibrationDataTest, CorruptNpy) {
  std::vector<TensorInfo> one = {input("x", DataType::Float, {-1, 3})};
  std::string good = npy("<f4", {2, 3}, bytesOf<float>(iota(6)));
  std::string p = write("x.npy", "NUMPY and more bytes");
  expectMessage(errorOf(CalibrationData::open(p, one)),
                {p + ": not a .npy array (bad magic)"});
  // The header length points past the end.
  std::string longHeader = good.substr(0, 64);
  longHeader[8] = '\xff';
  p = write("x.npy", longHeader);
  expectMessage(errorOf(CalibrationData::open(p, one)),
                {p + ": truncated .npy: the header runs past the end"});
  // Data cut short, and too long.
  p = write("x.npy", good.substr(0, good.size() - 1));
  expectMessage(errorOf(CalibrationData::open(p, one)),
                {p + ": truncated .npy: shape [2,3] of float32 needs 24 "
                     "bytes, 23 follow the header"});
  p = write("x.npy", good + "x");
  expectMessage(errorOf(CalibrationData::open(p, one)),
                {p + ": corrupt .npy: 25 bytes follow the header"});
  // A shape whose byte count overflows.
  p = write("x.npy",
            npy("<f4", {int64_t(1) << 62, 3}, bytesOf<float>(iota(6))));
  expectMessage(errorOf(CalibrationData::open(p, one)), {p, "is too large"});
  // Header syntax.
  for (const char *header :
       {"{'descr': '<f4', 'fortran_order': False}",
        "{'descr': '<f4', 'fortran_order': Maybe, 'shape': (2, 3), }",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (2, -3), }",
        "{'descr': '<f4, 'fortran_order': False, 'shape': (2, 3), }",
        "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,), }",
        "['descr']", ""}) {
    std::string bytes("\x93NUMPY\x01\x00", 8);
    putLE(bytes, strlen(header), 2);
    p = write("x.npy", bytes + header + std::string(24, '\0'));
    std::string msg = errorOf(CalibrationData::open(p, one));
    expectMessage(msg, {p});
    EXPECT_TRUE(msg.find("header") != std::string::npos ||
                msg.find("structured") != std::string::npos)
        << msg;
  }
}

TEST_F(CalibrationDataTest, CorruptNpz) {
  std::string good = twoInputsNpz();
  // Corrupt stored sizes: the first local entry claims more bytes than the
  // file has (central directory csize and usize at 46-byte record + 20).
  size_t cd = good.rfind(std::string("PK\x01\x02", 4));
  ASSERT_NE(cd, std::string::npos);
  std::string bad = good;
  bad[cd + 20] = bad[cd + 24] = '\x7f';
  bad[cd + 23] = bad[cd + 27] = '\x7f';
  std::string p = write("data.npz", bad);
  expectMessage(errorOf(CalibrationData::open(p, twoInputs())),
                {p + ": array 'ids': truncated .npz"});
  // A local header offset past the end.
  bad = good;
  bad[cd + 45] = '\x7f';
  p = write("data.npz", bad);
  expectMessage(errorOf(CalibrationData::open(p, twoInputs())),
                {p + ": array 'ids': truncated or corrupt .npz: bad local "
                     "header"});
  // The end record claims more entries than the directory holds.
  bad = good;
  bad[bad.size() - 12] = '\x7f';
  bad[bad.size() - 14] = '\x7f';
  p = write("data.npz", bad);
  expectMessage(errorOf(CalibrationData::open(p, twoInputs())),
                {p + ": truncated or corrupt .npz (zip)"});
  // Unknown method and encryption.
  bad = good;
  bad[cd + 10] = 14;
  p = write("data.npz", bad);
  expectMessage(errorOf(CalibrationData::open(p, twoInputs())),
                {p + ": array 'ids': zip compression method 14 is not "
                     "supported"});
  bad = good;
  bad[cd + 8] = 1;
  p = write("data.npz", bad);
  expectMessage(errorOf(CalibrationData::open(p, twoInputs())),
                {p + ": array 'ids': encrypted zip entries"});
  // Not .npy entries inside.
  p = write("data.npz", zip({{"x.txt", "hello"}}));
  expectMessage(errorOf(CalibrationData::open(p, twoInputs())),
                {p + ": entry 'x.txt' is not a .npy array"});
  // A stored entry that is not a .npy.
  p = write("data.npz", zip({{"x.npy", "hello"}, {"ids.npy", "world"}}));
  expectMessage(errorOf(CalibrationData::open(p, twoInputs())),
                {p + ": array 'x': not a .npy array (bad magic)"});
}

/// Opens \p p; on success reads every batch. Errors are fine, crashes and
/// reads out of bounds are not (run under ASan/UBSan to see the latter).
void openAndRead(const std::string &p, llvm::ArrayRef<TensorInfo> inputs) {
  auto cd = CalibrationData::open(p, inputs);
  if (!cd) {
    llvm::consumeError(cd.takeError());
    return;
  }
  for (int64_t b = 0; b < cd->getNumSamples(); ++b)
    if (auto batch = cd->getBatch(b, cd->getNumSamples()); !batch)
      llvm::consumeError(batch.takeError());
}

/// Every prefix of a valid file is refused; every single-byte change, a few
/// thousand random multi-byte changes and random garbage are read or
/// refused, never a crash.
TEST_F(CalibrationDataTest, DamagedFilesNeverCrash) {
  std::vector<TensorInfo> one = {input("x", DataType::Float, {-1, 3})};
  struct Fixture {
    std::string bytes;
    std::vector<TensorInfo> inputs;
  } fixtures[] = {
    {twoInputsNpz(), twoInputs()},
    {twoInputsNpz(/*zip64=*/true), twoInputs()},
#if ONNXPRUNE_HAVE_ZLIB
    {twoInputsNpz(false, /*deflate=*/true), twoInputs()},
#endif
    {npy("<f4", {2, 3}, bytesOf<float>(iota(6))), one},
    {npy("<f4", {2, 3}, bytesOf<float>(iota(6)), false, 2), one},
  };
  std::mt19937 rng(42);
  for (const Fixture &f : fixtures) {
    for (size_t n = 0; n < f.bytes.size(); ++n) {
      std::string p = write("cut.bin", f.bytes.substr(0, n));
      auto cd = CalibrationData::open(p, f.inputs);
      EXPECT_FALSE(!!cd) << "a prefix of " << n << " bytes was read";
      if (!cd)
        llvm::consumeError(cd.takeError());
    }
    for (size_t i = 0; i < f.bytes.size(); ++i) {
      std::string bad = f.bytes;
      bad[i] = (char)(bad[i] ^ (1u << (rng() % 8)));
      openAndRead(write("flip.bin", bad), f.inputs);
    }
    for (int round = 0; round < 1000; ++round) {
      std::string bad = f.bytes;
      for (unsigned k = 1 + rng() % 4; k; --k) {
        const char values[] = {'\0', '\x7f', '\x80', '\xff'};
        bad[rng() % bad.size()] =
            rng() % 2 ? values[rng() % 4] : (char)(rng() & 0xff);
      }
      openAndRead(write("mutant.bin", bad), f.inputs);
    }
  }
  for (int round = 0; round < 300; ++round) {
    std::string garbage(rng() % 300, '\0');
    for (char &c : garbage)
      c = (char)rng();
    // Make some of it look like the real thing at the start.
    if (round % 3 == 0)
      garbage = std::string("PK\x03\x04", 4) + garbage;
    if (round % 3 == 1)
      garbage = std::string("\x93NUMPY\x01\x00", 8) + garbage;
    openAndRead(write("garbage.npz", garbage), twoInputs());
    openAndRead(write("garbage.npy", garbage), one);
    write("td/test_data_set_0/input_0.pb", garbage);
    openAndRead(path("td"), one);
  }
}

TEST_F(TestDataFolder, Errors) {
  std::vector<TensorInfo> inputs = twoInputs();
  std::string set0 = path("td/test_data_set_0");
  std::string set1 = path("td/test_data_set_1");

  // A set without one of the inputs.
  writeSets("td", {2, 3});
  llvm::sys::fs::remove(set1 + "/input_1.pb");
  expectMessage(errorOf(CalibrationData::open(path("td"), inputs)),
                {set1 + ": no tensor for model input 'ids' (the set has: "
                        "'x')"});

  // A tensor named after no input.
  write("td/test_data_set_1/input_1.pb",
        tensorPb("idz", DataType::Int64, {3}, std::string(24, '\0')));
  expectMessage(errorOf(CalibrationData::open(path("td"), inputs)),
                {set1 + "/input_1.pb: tensor 'idz' is not an input of the "
                        "model (its inputs: 'x', 'ids')"});

  // Unnamed past the model's inputs.
  writeSets("td", {2, 3});
  write("td/test_data_set_1/input_2.pb",
        tensorPb("", DataType::Int64, {3}, std::string(24, '\0')));
  expectMessage(errorOf(CalibrationData::open(path("td"), inputs)),
                {set1 + "/input_2.pb: the tensor has no name, and position "
                        "2 is past the model's 2 inputs"});

  // The same input twice.
  write("td/test_data_set_1/input_2.pb",
        tensorPb("x", DataType::Float, {3, 3}, std::string(36, '\0')));
  expectMessage(errorOf(CalibrationData::open(path("td"), inputs)),
                {set1 + "/input_2.pb: input 'x' is fed twice (also by " + set1 +
                 "/input_0.pb)"});
  llvm::sys::fs::remove(set1 + "/input_2.pb");

  // Sets whose other dims differ: allowed by the model (float[N,?]),
  // impossible to concatenate.
  std::vector<TensorInfo> freeDims = {input("x", DataType::Float, {-1, -1}),
                                      input("ids", DataType::Int64, {-1})};
  write("td/test_data_set_1/input_0.pb",
        tensorPb("x", DataType::Float, {3, 4}, std::string(48, '\0')));
  expectMessage(errorOf(CalibrationData::open(path("td"), freeDims)),
                {set1 + "/input_0.pb: input 'x': float32[3,4] here, but "
                        "float32[?,3] in earlier sets"});

  // Sample counts differ inside a set (and not in total).
  writeSets("td", {2, 3});
  write("td/test_data_set_0/input_1.pb",
        tensorPb("ids", DataType::Int64, {3}, std::string(24, '\0')));
  write("td/test_data_set_1/input_1.pb",
        tensorPb("ids", DataType::Int64, {2}, std::string(16, '\0')));
  expectMessage(errorOf(CalibrationData::open(path("td"), inputs)),
                {set0 + ": input 'ids' has 3 samples, input 'x' has 2"});

  // Wrong type, named by file.
  writeSets("td", {2, 3});
  write("td/test_data_set_1/input_1.pb",
        tensorPb("ids", DataType::Int32, {3}, std::string(12, '\0')));
  expectMessage(errorOf(CalibrationData::open(path("td"), inputs)),
                {set1 + "/input_1.pb: input 'ids': int32 in the data, the "
                        "model takes int64"});

  // Damaged protobuf, raw data of the wrong size, an empty set.
  write("td/test_data_set_1/input_1.pb", "\xff\xff\xff");
  expectMessage(errorOf(CalibrationData::open(path("td"), inputs)),
                {set1 + "/input_1.pb: not a serialized TensorProto"});
  write("td/test_data_set_1/input_1.pb",
        tensorPb("ids", DataType::Int64, {3}, std::string(23, '\0')));
  expectMessage(errorOf(CalibrationData::open(path("td"), inputs)),
                {set1 + "/input_1.pb", "raw data has 23 bytes, expected 24"});
  write("td/test_data_set_1/input_1.pb", "");
  expectMessage(errorOf(CalibrationData::open(path("td"), inputs)),
                {set1 + "/input_1.pb: the file is empty"});
  llvm::sys::fs::remove(set1 + "/input_0.pb");
  llvm::sys::fs::remove(set1 + "/input_1.pb");
  expectMessage(errorOf(CalibrationData::open(path("td"), inputs)),
                {set1 + ": no input_N.pb files in the set"});

  // A folder with neither sets nor inputs.
  ASSERT_FALSE(llvm::sys::fs::create_directories(path("nothing")));
  expectMessage(errorOf(CalibrationData::open(path("nothing"), inputs)),
                {path("nothing") + ": a folder with no test_data_set_N"});

  // Two sets with the same number.
  writeSets("td2", {1, 1});
  ASSERT_FALSE(llvm::sys::fs::create_directories(path("td2/test_data_set_01")));
  expectMessage(errorOf(CalibrationData::open(path("td2"), inputs)),
                {path("td2") + ": both 'test_data_set_01' and "
                               "'test_data_set_1' are number 1"});
}

#if ONNXPRUNE_HAVE_ZLIB
TEST_F(CalibrationDataTest, CompressedNpz) {
  std::string p = write("data.npz", twoInputsNpz(false, /*deflate=*/true));
  ASSERT_OK_AND_ASSIGN(cd, CalibrationData::open(p, twoInputs()));
  expectTwoInputsBatch(cd, 0, 5);
  expectTwoInputsBatch(cd, 2, 3);

  // One entry stored, the other deflated, in ZIP64 form.
  std::vector<int64_t> ids = {10, 11, 12, 13, 14};
  p = write("mixed.npz",
            zip({{"x.npy", npy("<f4", {5, 3}, bytesOf<float>(iota(15))), true},
                 {"ids.npy", npy("<i8", {5}, bytesOf<int64_t>(ids)), false}},
                /*zip64=*/true));
  ASSERT_OK_AND_ASSIGN(mixed, CalibrationData::open(p, twoInputs()));
  expectTwoInputsBatch(mixed, 1, 5);

  // A wrong CRC is caught for deflated entries.
  std::string bad = twoInputsNpz(false, true);
  size_t cd0 = bad.rfind(std::string("PK\x01\x02", 4));
  bad[cd0 + 16] ^= 1;
  p = write("bad.npz", bad);
  expectMessage(errorOf(CalibrationData::open(p, twoInputs())),
                {p + ": array 'ids': corrupt .npz: CRC-32 mismatch"});
  // So is an uncompressed size that lies.
  bad = twoInputsNpz(false, true);
  bad[cd0 + 24] ^= 1;
  p = write("bad.npz", bad);
  expectMessage(errorOf(CalibrationData::open(p, twoInputs())),
                {p + ": array 'ids': corrupt"});
  bad = twoInputsNpz(false, true);
  bad[cd0 + 27] = 0x7f;
  p = write("bad.npz", bad);
  expectMessage(errorOf(CalibrationData::open(p, twoInputs())),
                {p + ": array 'ids': corrupt .npz", "cannot inflate to"});
}
#endif

//===----------------------------------------------------------------------===//
// With ONNX Runtime's view of a model
//===----------------------------------------------------------------------===//

TEST_F(CalibrationDataTest, FeedsASession) {
  const char *text = R"(
<ir_version: 8, opset_import: ["" : 17]>
g (float[N,3] x, int64[N] ids) => (float[N,3] y, int64[N] z) {
  y = Add(x, x)
  z = Identity(ids)
}
)";
  auto model = readModelFromBuffer(text, ModelFormat::Text, "", "test");
  ASSERT_TRUE(!!model) << llvm::toString(model.takeError());
  fillTypes(**model);
  ASSERT_OK_AND_ASSIGN(bytes, serializeModel(**model));
  ASSERT_OK_AND_ASSIGN(session, OrtSession::createFromBytes(bytes));
  std::string p = write("data.npz", twoInputsNpz());
  ASSERT_OK_AND_ASSIGN(cd, CalibrationData::open(p, session->getInputs()));
  for (int64_t b = 0; b < cd.getNumSamples(); b += 2) {
    int64_t e = std::min<int64_t>(b + 2, cd.getNumSamples());
    ASSERT_OK_AND_ASSIGN(feeds, cd.getBatch(b, e));
    ASSERT_OK_AND_ASSIGN(outs, session->run(feeds));
    ASSERT_EQ(outs.size(), 2u);
    std::vector<float> want = iota((e - b) * 3, 3 * b);
    for (float &v : want)
      v *= 2;
    EXPECT_EQ(floatsOf(outs[0].tensor), want);
    EXPECT_EQ(outs[1].tensor.bytes, feeds[1].tensor.bytes);
  }
}

} // namespace
