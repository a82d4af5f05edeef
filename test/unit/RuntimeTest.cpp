//===- RuntimeTest.cpp - Tests of lib/Runtime -------------------*- C++ -*-===//
///
/// \file
/// OrtSession on tiny text-format models with numbers checked exactly,
/// seeded random inputs, compareOutputs, and the check-numerics pass on a
/// model read from a file, before and after a planted weight change.
///
//===----------------------------------------------------------------------===//

#include "frontends/onnx/ModelReader.h"
#include "frontends/onnx/ModelWriter.h"
#include "lib/Runtime/CheckNumericsPass.h"
#include "lib/Runtime/HostTensor.h"
#include "lib/Runtime/OrtSession.h"
#include "passes/OpHandlers/ShapeInference.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include "gtest/gtest.h"

#include <cmath>
#include <fstream>

using namespace onnxprune;

namespace {

#define ASSERT_OK(expr)                                                        \
  do {                                                                         \
    if (llvm::Error err_ = (expr))                                             \
      FAIL() << llvm::toString(std::move(err_));                               \
  } while (0)

/// Declares `var` as a reference to the value of an Expected, or fails.
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

const char *kAddModel = R"(
<ir_version: 8, opset_import: ["" : 17]>
addgraph (float[2,3] a, float[2,3] b) => (float[2,3] c) {
  c = Add(a, b)
}
)";

const char *kMatMulModel = R"(
<ir_version: 8, opset_import: ["" : 17]>
mm (float[N,2] x) => (float[N,3] y) {
  w = Constant <value = float[2,3] {1, 2, 3, 4, 5, 6}> ()
  y = MatMul(x, w)
}
)";

/// Every element type HostTensor supports, through Identity/Cast.
const char *kTypesModel = R"(
<ir_version: 8, opset_import: ["" : 17]>
types (int64[3] i64, int32[3] i32, int8[3] i8, uint8[3] u8, bool[3] b,
       double[3] f64, float16[3] f16, float[3] f32)
   => (int64[3] o_i64, int32[3] o_i32, int8[3] o_i8, uint8[3] o_u8,
       bool[3] o_b, double[3] o_f64, float16[3] o_f16, float16[3] o_cast) {
  o_i64 = Identity(i64)
  o_i32 = Identity(i32)
  o_i8 = Identity(i8)
  o_u8 = Identity(u8)
  o_b = Not(b)
  o_f64 = Identity(f64)
  o_f16 = Identity(f16)
  o_cast = Cast <to = 10> (f32)
}
)";

/// Dynamic dims: a shared symbol, and a Gather whose indices come from the
/// input (valid only if random ints stay small).
const char *kDynamicModel = R"(
<ir_version: 8, opset_import: ["" : 17]>
dyn (float[batch, seq, 4] x, int64[batch, seq] ids, bool[batch, seq] mask)
    => (float[batch, seq, 4] y, float[batch, seq, 4] e) {
  table = Constant <value = float[4,4] {0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15}> ()
  e = Gather <axis = 0> (table, ids)
  zero = Constant <value = float {0}> ()
  m = Unsqueeze(mask, axes)
  axes = Constant <value = int64[1] {-1}> ()
  y = Where(m, x, zero)
}
)";

std::unique_ptr<Model> parseText(const char *text) {
  auto m = readModelFromBuffer(text, ModelFormat::Text, "", "test");
  if (!m) {
    ADD_FAILURE() << llvm::toString(m.takeError());
    return nullptr;
  }
  fillTypes(**m);
  return std::move(*m);
}

llvm::Expected<std::unique_ptr<OrtSession>> sessionFor(const char *text) {
  auto m = readModelFromBuffer(text, ModelFormat::Text, "", "test");
  if (!m)
    return m.takeError();
  fillTypes(**m);
  auto bytes = serializeModel(**m);
  if (!bytes)
    return bytes.takeError();
  return OrtSession::createFromBytes(*bytes);
}

/// A fresh temporary folder, removed by the destructor.
struct TempDir {
  llvm::SmallString<128> path;
  TempDir() {
    std::error_code ec =
        llvm::sys::fs::createUniqueDirectory("onnx-prune-runtime-test", path);
    EXPECT_FALSE(ec) << ec.message();
  }
  ~TempDir() { llvm::sys::fs::remove_directories(path); }
  std::string file(llvm::StringRef name) const {
    llvm::SmallString<128> p(path);
    llvm::sys::path::append(p, name);
    return std::string(p.str());
  }
};

// ---- HostTensor
// --------------------------------------------------------------

TEST(HostTensorTest, HalfConversions) {
  EXPECT_EQ(floatToHalf(1.0f), 0x3c00);
  EXPECT_EQ(floatToHalf(-2.0f), 0xc000);
  EXPECT_EQ(floatToHalf(65504.0f), 0x7bff);
  EXPECT_EQ(floatToHalf(65520.0f), 0x7c00);              // Rounds to infinity.
  EXPECT_EQ(floatToHalf(std::ldexp(1.0f, -24)), 0x0001); // Smallest subnormal.
  EXPECT_EQ(floatToHalf(std::ldexp(1.0f, -25)), 0x0000); // Ties to even.
  EXPECT_EQ(floatToHalf(1.0f + std::ldexp(1.0f, -11)), 0x3c00); // Tie: even.
  EXPECT_EQ(floatToHalf(1.0f + 3 * std::ldexp(1.0f, -11)), 0x3c02);
  EXPECT_TRUE(std::isnan(halfToFloat(floatToHalf(NAN))));
  for (uint32_t h = 0; h < 0x7c00; ++h) // Every finite positive half.
    ASSERT_EQ(floatToHalf(halfToFloat(h)), h) << h;
  EXPECT_EQ(floatToBFloat16(1.0f), 0x3f80);
  EXPECT_EQ(bfloat16ToFloat(0x4049), 3.140625f);
}

TEST(HostTensorTest, Validate) {
  HostTensor t = HostTensor::fromFloats({2}, {1.0f, 2.0f});
  ASSERT_OK(validateHostTensor(t, "t"));
  t.bytes.pop_back();
  llvm::Error err = validateHostTensor(t, "t");
  ASSERT_TRUE(!!err);
  EXPECT_NE(llvm::toString(std::move(err)).find("needs 8 bytes"),
            std::string::npos);
}

// ---- OrtSession
// ---------------------------------------------------------------

TEST(OrtSessionTest, RuntimeVersion) {
  ASSERT_OK_AND_ASSIGN(version, OrtSession::getRuntimeVersion());
  EXPECT_FALSE(version.empty());
}

TEST(OrtSessionTest, AddExact) {
  ASSERT_OK_AND_ASSIGN(s, sessionFor(kAddModel));
  ASSERT_EQ(s->getInputs().size(), 2u);
  EXPECT_EQ(s->getInputs()[0].name, "a");
  EXPECT_EQ(s->getInputs()[1].name, "b");
  EXPECT_EQ(s->getInputs()[0].dtype, DataType::Float);
  EXPECT_EQ(s->getInputs()[0].shape, (std::vector<int64_t>{2, 3}));
  ASSERT_EQ(s->getOutputs().size(), 1u);
  EXPECT_EQ(s->getOutputs()[0].describe(), "float[2,3]");

  std::vector<NamedTensor> feeds = {
      {"a", HostTensor::fromFloats({2, 3}, {1, 2, 3, 4, 5, 6})},
      {"b", HostTensor::fromFloats({2, 3}, {0.5f, -2, 10, 0, 1e6f, -6})}};
  ASSERT_OK_AND_ASSIGN(outs, s->run(feeds));
  ASSERT_EQ(outs.size(), 1u);
  EXPECT_EQ(outs[0].name, "c");
  EXPECT_EQ(outs[0].tensor.dtype, DataType::Float);
  EXPECT_EQ(outs[0].tensor.shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(outs[0].tensor.getValues<float>().vec(),
            (std::vector<float>{1.5f, 0, 13, 4, 1000005, 0}));
}

TEST(OrtSessionTest, MatMulWithKnownWeights) {
  ASSERT_OK_AND_ASSIGN(s, sessionFor(kMatMulModel));
  ASSERT_EQ(s->getInputs().size(), 1u);
  const TensorInfo &x = s->getInputs()[0];
  EXPECT_EQ(x.shape, (std::vector<int64_t>{-1, 2}));
  EXPECT_EQ(x.symbolicDims, (std::vector<std::string>{"N", ""}));
  EXPECT_EQ(x.describe(), "float[N,2]");

  // [[1,2],[-1,0.5]] x [[1,2,3],[4,5,6]]
  std::vector<NamedTensor> feeds = {
      {"x", HostTensor::fromFloats({2, 2}, {1, 2, -1, 0.5f})}};
  ASSERT_OK_AND_ASSIGN(outs, s->run(feeds));
  ASSERT_EQ(outs.size(), 1u);
  EXPECT_EQ(outs[0].tensor.shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(outs[0].tensor.getValues<float>().vec(),
            (std::vector<float>{9, 12, 15, 1, 0.5f, 0}));
}

TEST(OrtSessionTest, ElementTypes) {
  ASSERT_OK_AND_ASSIGN(s, sessionFor(kTypesModel));
  std::vector<NamedTensor> feeds = {
      {"i64", HostTensor::fromInt64s({3}, {-1, 0, int64_t(1) << 40})},
      {"i32",
       HostTensor::fromValues<int32_t>(DataType::Int32, {3}, {-7, 0, 1 << 30})},
      {"i8",
       HostTensor::fromValues<int8_t>(DataType::Int8, {3}, {-128, 0, 127})},
      {"u8",
       HostTensor::fromValues<uint8_t>(DataType::UInt8, {3}, {0, 1, 255})},
      {"b", HostTensor::fromValues<uint8_t>(DataType::Bool, {3}, {1, 0, 1})},
      {"f64",
       HostTensor::fromValues<double>(DataType::Double, {3}, {0.1, -1e300, 3})},
      {"f16", HostTensor::fromValues<uint16_t>(DataType::Float16, {3},
                                               {0x3c00, 0xc000, 0x7bff})},
      {"f32", HostTensor::fromFloats({3}, {1.0f, 0.1f, 1e6f})}};
  ASSERT_OK_AND_ASSIGN(outs, s->run(feeds));
  ASSERT_EQ(outs.size(), 8u);
  for (unsigned i = 0; i < 7; ++i) {
    SCOPED_TRACE(outs[i].name);
    EXPECT_EQ(outs[i].tensor.dtype, feeds[i].tensor.dtype);
    if (outs[i].name != "o_b")
      EXPECT_EQ(outs[i].tensor.bytes, feeds[i].tensor.bytes);
  }
  EXPECT_EQ(outs[4].tensor.getValues<uint8_t>().vec(),
            (std::vector<uint8_t>{0, 1, 0}));
  EXPECT_EQ(outs[7].tensor.dtype, DataType::Float16);
  EXPECT_EQ(outs[7].tensor.getValues<uint16_t>().vec(),
            (std::vector<uint16_t>{0x3c00, floatToHalf(0.1f), 0x7c00}));
  EXPECT_EQ(outs[6].tensor.getAsDouble(1), -2.0);
  EXPECT_EQ(outs[0].tensor.getAsInt64(2), int64_t(1) << 40);
}

TEST(OrtSessionTest, SelectedOutputs) {
  ASSERT_OK_AND_ASSIGN(s, sessionFor(kDynamicModel));
  ASSERT_OK_AND_ASSIGN(feeds, makeRandomInputs(s->getInputs()));
  ASSERT_OK_AND_ASSIGN(outs, s->run(feeds, {"e"}));
  ASSERT_EQ(outs.size(), 1u);
  EXPECT_EQ(outs[0].name, "e");
}

TEST(OrtSessionTest, ErrorsAreReturnedNotThrown) {
  auto bad = OrtSession::createFromBytes("this is not a model");
  std::string msg = errorOf(std::move(bad));
  EXPECT_NE(msg.find("ONNX Runtime cannot load the model"), std::string::npos)
      << msg;
  EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;

  std::string missing =
      errorOf(OrtSession::createFromFile("/nonexistent/model.onnx"));
  EXPECT_NE(missing.find("/nonexistent/model.onnx"), std::string::npos);

  ASSERT_OK_AND_ASSIGN(s, sessionFor(kAddModel));
  std::vector<NamedTensor> unknown = {
      {"zzz", HostTensor::fromFloats({2, 3}, {1, 2, 3, 4, 5, 6})}};
  msg = errorOf(s->run(unknown));
  EXPECT_NE(msg.find("'zzz' is not an input"), std::string::npos) << msg;

  // Wrong shape: ORT refuses it; we get its message as an Error.
  std::vector<NamedTensor> wrongShape = {
      {"a", HostTensor::fromFloats({3}, {1, 2, 3})},
      {"b", HostTensor::fromFloats({3}, {1, 2, 3})}};
  msg = errorOf(s->run(wrongShape));
  EXPECT_NE(msg.find("ONNX Runtime run failed"), std::string::npos) << msg;

  // A missing input.
  std::vector<NamedTensor> onlyA = {
      {"a", HostTensor::fromFloats({2, 3}, {1, 2, 3, 4, 5, 6})}};
  msg = errorOf(s->run(onlyA));
  EXPECT_NE(msg.find("no value given for input 'b' (float[2,3])"),
            std::string::npos)
      << msg;

  // Bytes that do not match the shape never reach ORT.
  HostTensor shortT = HostTensor::fromFloats({2, 3}, {1, 2, 3, 4, 5, 6});
  shortT.bytes.resize(8);
  std::vector<NamedTensor> shortFeed = {
      {"a", shortT}, {"b", HostTensor::fromFloats({2, 3}, {1, 2, 3, 4, 5, 6})}};
  msg = errorOf(s->run(shortFeed));
  EXPECT_NE(msg.find("needs 24 bytes"), std::string::npos) << msg;
}

TEST(OrtSessionTest, StringOutputIsAnError) {
  ASSERT_OK_AND_ASSIGN(s, sessionFor(R"(
<ir_version: 8, opset_import: ["" : 17]>
tostr (float[2] x) => (string[2] y) {
  y = Cast <to = 8> (x)
}
)"));
  std::vector<NamedTensor> feeds = {{"x", HostTensor::fromFloats({2}, {1, 2})}};
  std::string msg = errorOf(s->run(feeds));
  EXPECT_NE(msg.find("output 'y' has element type string"), std::string::npos)
      << msg;
}

// ---- Random inputs
// ------------------------------------------------------------

TEST(RandomInputsTest, ShapesAndRanges) {
  ASSERT_OK_AND_ASSIGN(s, sessionFor(kDynamicModel));
  RandomInputOptions opts;
  opts.seed = 42;
  ASSERT_OK_AND_ASSIGN(feeds, makeRandomInputs(s->getInputs(), opts));
  ASSERT_EQ(feeds.size(), 3u);
  // batch (axis 0) -> 1, seq -> 8, shared by all three inputs.
  EXPECT_EQ(feeds[0].tensor.shape, (std::vector<int64_t>{1, 8, 4}));
  EXPECT_EQ(feeds[1].tensor.shape, (std::vector<int64_t>{1, 8}));
  EXPECT_EQ(feeds[2].tensor.shape, (std::vector<int64_t>{1, 8}));
  for (float f : feeds[0].tensor.getValues<float>()) {
    EXPECT_GE(f, -1.0f);
    EXPECT_LT(f, 1.0f);
  }
  for (int64_t i : feeds[1].tensor.getValues<int64_t>()) {
    EXPECT_GE(i, 0);
    EXPECT_LT(i, 4);
  }
  for (uint8_t b : feeds[2].tensor.getValues<uint8_t>())
    EXPECT_LE(b, 1);

  // The indices are valid: the model runs.
  ASSERT_OK_AND_ASSIGN(outs, s->run(feeds));
  EXPECT_EQ(outs[1].tensor.shape, (std::vector<int64_t>{1, 8, 4}));

  // Named dims win.
  opts.dimValues["seq"] = 3;
  opts.dimValues["batch"] = 2;
  ASSERT_OK_AND_ASSIGN(feeds2, makeRandomInputs(s->getInputs(), opts));
  EXPECT_EQ(feeds2[0].tensor.shape, (std::vector<int64_t>{2, 3, 4}));
  EXPECT_EQ(feeds2[1].tensor.shape, (std::vector<int64_t>{2, 3}));
}

TEST(RandomInputsTest, DeterministicInSeed) {
  ASSERT_OK_AND_ASSIGN(s, sessionFor(kDynamicModel));
  RandomInputOptions opts;
  opts.seed = 7;
  ASSERT_OK_AND_ASSIGN(a, makeRandomInputs(s->getInputs(), opts));
  ASSERT_OK_AND_ASSIGN(b, makeRandomInputs(s->getInputs(), opts));
  opts.seed = 8;
  ASSERT_OK_AND_ASSIGN(c, makeRandomInputs(s->getInputs(), opts));
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].name, b[i].name);
    EXPECT_EQ(a[i].tensor.bytes, b[i].tensor.bytes);
  }
  EXPECT_NE(a[0].tensor.bytes, c[0].tensor.bytes);

  // Same inputs, same outputs, bit for bit.
  ASSERT_OK_AND_ASSIGN(outA, s->run(a));
  ASSERT_OK_AND_ASSIGN(outB, s->run(b));
  for (size_t i = 0; i < outA.size(); ++i)
    EXPECT_EQ(outA[i].tensor.bytes, outB[i].tensor.bytes);

  // Pinned values for seed 0, so a change of generator is noticed.
  TensorInfo info;
  info.name = "x";
  info.dtype = DataType::Int64;
  info.shape = {4};
  info.symbolicDims.resize(1);
  RandomInputOptions zero;
  ASSERT_OK_AND_ASSIGN(z1, makeRandomInputs({info}, zero));
  ASSERT_OK_AND_ASSIGN(z2, makeRandomInputs({info}, zero));
  EXPECT_EQ(z1[0].tensor.bytes, z2[0].tensor.bytes);
}

TEST(RandomInputsTest, RefusesUnsupported) {
  TensorInfo info;
  info.name = "s";
  info.dtype = DataType::String;
  info.shape = {2};
  std::string msg = errorOf(makeRandomInputs({info}));
  EXPECT_NE(msg.find("input 's'"), std::string::npos) << msg;
}

// ---- compareOutputs
// -----------------------------------------------------------

TEST(CompareOutputsTest, FlagsPlantedDifference) {
  ASSERT_OK_AND_ASSIGN(s, sessionFor(kMatMulModel));
  RandomInputOptions opts;
  opts.dimValues["N"] = 4;
  ASSERT_OK_AND_ASSIGN(feeds, makeRandomInputs(s->getInputs(), opts));
  ASSERT_OK_AND_ASSIGN(ref, s->run(feeds));

  CompareResult same = compareOutputs(ref, ref, 1e-4, 1e-5);
  EXPECT_TRUE(same.match);
  EXPECT_EQ(same.maxAbsErr, 0.0);
  EXPECT_EQ(same.maxRelErr, 0.0);

  // A change inside the tolerance passes but shows in the maxima.
  std::vector<NamedTensor> close = ref;
  float *p = reinterpret_cast<float *>(close[0].tensor.bytes.data());
  p[5] += 1e-6f;
  CompareResult r1 = compareOutputs(ref, close, 1e-4, 1e-5);
  EXPECT_TRUE(r1.match);
  EXPECT_GT(r1.maxAbsErr, 0.0);

  // A planted difference fails, named.
  std::vector<NamedTensor> bad = ref;
  p = reinterpret_cast<float *>(bad[0].tensor.bytes.data());
  float was = p[7];
  p[7] += 0.25f;
  p[9] += 1.0f; // A later, bigger one: maxima cover it, first stays 7.
  CompareResult r2 = compareOutputs(ref, bad, 1e-4, 1e-5);
  EXPECT_FALSE(r2.match);
  EXPECT_EQ(r2.outputIndex, 0);
  EXPECT_EQ(r2.outputName, "y");
  EXPECT_EQ(r2.elementIndex, 7);
  EXPECT_EQ(r2.expected, was);
  EXPECT_EQ(r2.actual, (double)(was + 0.25f));
  EXPECT_NEAR(r2.maxAbsErr, 1.0, 1e-6);
  EXPECT_NE(r2.reason.find("value differs"), std::string::npos);
}

TEST(CompareOutputsTest, ShapeTypeNameAndSpecialValues) {
  NamedTensor a{"y", HostTensor::fromFloats({2}, {1, 2})};
  NamedTensor b{"y", HostTensor::fromFloats({1, 2}, {1, 2})};
  CompareResult r = compareOutputs({a}, {b}, 0, 0);
  EXPECT_FALSE(r.match);
  EXPECT_EQ(r.elementIndex, -1);
  EXPECT_NE(r.reason.find("float[2] vs float[1,2]"), std::string::npos)
      << r.reason;

  NamedTensor renamed{"z", a.tensor};
  EXPECT_FALSE(compareOutputs({a}, {renamed}, 0, 0).match);
  EXPECT_FALSE(compareOutputs({a}, {}, 0, 0).match);

  NamedTensor n1{"y", HostTensor::fromFloats({3}, {NAN, INFINITY, 1})};
  NamedTensor n2{"y", HostTensor::fromFloats({3}, {NAN, INFINITY, 1})};
  EXPECT_TRUE(compareOutputs({n1}, {n2}, 0, 0).match);
  NamedTensor n3{"y", HostTensor::fromFloats({3}, {1, INFINITY, 1})};
  EXPECT_FALSE(compareOutputs({n1}, {n3}, 1, 1).match);

  // Integers compare exactly, whatever the tolerance.
  NamedTensor i1{"k", HostTensor::fromInt64s({2}, {5, 6})};
  NamedTensor i2{"k", HostTensor::fromInt64s({2}, {5, 7})};
  CompareResult ri = compareOutputs({i1}, {i2}, 1, 1);
  EXPECT_FALSE(ri.match);
  EXPECT_EQ(ri.elementIndex, 1);

  // rtol scales with |expected|.
  NamedTensor big{"y", HostTensor::fromFloats({1}, {1000})};
  NamedTensor bigOff{"y", HostTensor::fromFloats({1}, {1000.05f})};
  EXPECT_TRUE(compareOutputs({big}, {bigOff}, 1e-4, 0).match);
  EXPECT_FALSE(compareOutputs({big}, {bigOff}, 1e-5, 0).match);
}

// ---- check-numerics
// -----------------------------------------------------------

TEST(CheckNumericsPassTest, Options) {
  ASSERT_OK_AND_ASSIGN(d, CheckNumericsOptions::parse(""));
  EXPECT_EQ(d.samples, 2u);
  EXPECT_EQ(d.rtol, 1e-4);
  EXPECT_EQ(d.atol, 1e-5);
  EXPECT_EQ(d.seed, 0u);

  ASSERT_OK_AND_ASSIGN(
      o, parseCheckNumericsOptions("samples=5;rtol=0.01;atol=1e-3;seed=9;"
                                   "inputs=/tmp/x.onnx"));
  EXPECT_EQ(o.samples, 5u);
  EXPECT_EQ(o.rtol, 0.01);
  EXPECT_EQ(o.atol, 1e-3);
  EXPECT_EQ(o.seed, 9u);
  EXPECT_EQ(o.inputsPath, "/tmp/x.onnx");

  std::string text;
  llvm::raw_string_ostream os(text);
  CheckNumericsPass(o).printPipeline(os);
  EXPECT_EQ(os.str(), "check-numerics<samples=5;rtol=0.01;atol=0.001;seed=9;"
                      "inputs=/tmp/x.onnx>");
  // The printed text parses back to the same options.
  llvm::StringRef inner = llvm::StringRef(text).drop_front(
      llvm::StringRef("check-numerics<").size());
  ASSERT_OK_AND_ASSIGN(back, CheckNumericsOptions::parse(inner.drop_back()));
  EXPECT_EQ(back.samples, o.samples);
  EXPECT_EQ(back.rtol, o.rtol);
  EXPECT_EQ(back.atol, o.atol);
  EXPECT_EQ(back.seed, o.seed);
  EXPECT_EQ(back.inputsPath, o.inputsPath);

  EXPECT_NE(errorOf(CheckNumericsOptions::parse("sampels=3")).find("sampels"),
            std::string::npos);
  EXPECT_FALSE(errorOf(CheckNumericsOptions::parse("samples=0")).empty());
  EXPECT_FALSE(errorOf(CheckNumericsOptions::parse("rtol=-1")).empty());
  EXPECT_FALSE(errorOf(CheckNumericsOptions::parse("samples=x")).empty());
}

/// Reads the model file \p path (as the tool would), so sourcePath is set.
std::unique_ptr<Model> readFile(const std::string &path) {
  auto m = readModelFile(path);
  if (!m) {
    ADD_FAILURE() << llvm::toString(m.takeError());
    return nullptr;
  }
  fillTypes(**m);
  return std::move(*m);
}

void writeText(const std::string &path, const char *text) {
  std::ofstream(path) << text;
}

TEST(CheckNumericsPassTest, PassesOnUnchangedModelFailsOnChangedWeight) {
  TempDir dir;
  std::string path = dir.file("mm.onnxtext");
  writeText(path, kMatMulModel);
  auto m = readFile(path);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->sourcePath, path);

  ModelAnalysisManager am;
  CheckNumericsOptions opts;
  opts.samples = 3;
  std::string log;
  llvm::raw_string_ostream logOs(log);
  {
    CheckNumericsPass pass(opts, &logOs);
    ASSERT_OK_AND_ASSIGN(pa, pass.run(*m, am));
    EXPECT_TRUE(pa.areAllPreserved());
  }
  EXPECT_NE(logOs.str().find("check-numerics: PASS: 3 samples, 1 output\n"),
            std::string::npos)
      << log;
  EXPECT_NE(log.find("max abs err 0,"), std::string::npos) << log;

  // Change one weight: y[:,2] changes for every nonzero x[:,1].
  Value *w = nullptr;
  for (Value *v : m->getGraph().getValues())
    if (v->isWeight())
      w = v;
  ASSERT_TRUE(w);
  std::vector<float> vals = {1, 2, 3, 4, 5, 6.5f};
  w->getWeight()->setData({2, 3},
                          std::string(reinterpret_cast<char *>(vals.data()),
                                      vals.size() * sizeof(float)));
  log.clear();
  CheckNumericsPass pass(opts, &logOs);
  std::string msg = errorOf(pass.run(*m, am));
  EXPECT_NE(msg.find("output 'y' differs from the original model on sample 0"),
            std::string::npos)
      << msg;
  EXPECT_NE(logOs.str().find("check-numerics: FAIL: output 'y', sample 0"),
            std::string::npos)
      << log;

  // A loose enough tolerance accepts it (|x| < 1, so the change is < 0.5).
  opts.atol = 1.0;
  log.clear();
  CheckNumericsPass loose(opts, &logOs);
  ASSERT_OK_AND_ASSIGN(pa2, loose.run(*m, am));
  (void)pa2;
}

TEST(CheckNumericsPassTest, BinaryFileAndFixedInputs) {
  TempDir dir;
  auto src = parseText(kDynamicModel);
  ASSERT_TRUE(src);
  std::string path = dir.file("dyn.onnx");
  ASSERT_OK(writeModelFile(*src, path));
  auto m = readFile(path);
  ASSERT_TRUE(m);

  // Fixed ids of shape [2,5]: batch and seq follow them for the others.
  std::string inputsPath = dir.file("inputs.onnxtext");
  writeText(inputsPath, R"(
<ir_version: 8, opset_import: ["" : 17]>
inputs () => () <int64[2,5] ids = {0, 1, 2, 3, 3, 2, 1, 0, 0, 1}> {
}
)");
  CheckNumericsOptions opts;
  opts.inputsPath = inputsPath;
  std::string log;
  llvm::raw_string_ostream logOs(log);
  ModelAnalysisManager am;
  CheckNumericsPass pass(opts, &logOs);
  ASSERT_OK_AND_ASSIGN(pa, pass.run(*m, am));
  (void)pa;
  EXPECT_NE(logOs.str().find("PASS: 2 samples, 2 outputs"), std::string::npos)
      << log;

  // An inputs file naming something that is no input.
  writeText(inputsPath, R"(
<ir_version: 8, opset_import: ["" : 17]>
inputs () => () <int64[2] nope = {0, 1}> {
}
)");
  std::string msg = errorOf(pass.run(*m, am));
  EXPECT_NE(msg.find("'nope' is not an input"), std::string::npos) << msg;
}

TEST(CheckNumericsPassTest, ExternalData) {
  TempDir dir;
  auto src = parseText(R"(
<ir_version: 8, opset_import: ["" : 17]>
mm (float[N,2] x) => (float[N,3] y) <float[2,3] w = {1, 2, 3, 4, 5, 6}> {
  y = MatMul(x, w)
}
)");
  ASSERT_TRUE(src);
  std::string path = dir.file("ext.onnx");
  WriteOptions wo;
  wo.externalThreshold = 0; // Every weight goes to ext.onnx.data.
  ASSERT_OK(writeModelFile(*src, path, wo));
  ASSERT_TRUE(llvm::sys::fs::exists(path + ".data"));

  // From the file, ORT finds the data beside it; from bytes, only when told
  // where to look.
  ASSERT_OK_AND_ASSIGN(fromFile, OrtSession::createFromFile(path));
  std::vector<NamedTensor> feeds = {
      {"x", HostTensor::fromFloats({1, 2}, {1, 1})}};
  ASSERT_OK_AND_ASSIGN(outs, fromFile->run(feeds));
  EXPECT_EQ(outs[0].tensor.getValues<float>().vec(),
            (std::vector<float>{5, 7, 9}));

  auto buffer = llvm::MemoryBuffer::getFile(path);
  ASSERT_TRUE(!!buffer);
  RuntimeOptions ro;
  ro.externalDataDir = std::string(dir.path.str());
  ASSERT_OK_AND_ASSIGN(fromBytes,
                       OrtSession::createFromBytes((*buffer)->getBuffer(), ro));
  ASSERT_OK_AND_ASSIGN(outs2, fromBytes->run(feeds));
  EXPECT_EQ(outs2[0].tensor.bytes, outs[0].tensor.bytes);

  // check-numerics: the original through its file, the current inline.
  auto m = readFile(path);
  ASSERT_TRUE(m);
  std::string log;
  llvm::raw_string_ostream logOs(log);
  ModelAnalysisManager am;
  CheckNumericsPass pass(CheckNumericsOptions(), &logOs);
  ASSERT_OK_AND_ASSIGN(pa, pass.run(*m, am));
  (void)pa;
  EXPECT_NE(logOs.str().find("PASS: 2 samples, 1 output"), std::string::npos)
      << log;
}

TEST(CheckNumericsPassTest, NeedsTheSourceFile) {
  auto m = parseText(kAddModel);
  ASSERT_TRUE(m);
  ModelAnalysisManager am;
  CheckNumericsPass pass;
  std::string msg = errorOf(pass.run(*m, am));
  EXPECT_NE(msg.find("the original model is unknown"), std::string::npos)
      << msg;
}

} // namespace
