//===- GatedRunTest.cpp - Gated and tapped exports and runs -----*- C++ -*-===//
///
/// \file
/// Gates (ExportOptions::gates), what FinerCut's depth criterion runs on: the
/// exported proto (renamed producer, Mul right after it, a scalar input,
/// onnx's checker), every error, and OrtCalibrationProvider's gated runs on
/// a residual block `y = x + MatMul(Relu(MatMul(x, W1)), W2)` over a .npz
/// written at test time, with the numbers worked out by hand and compared
/// exactly: gate 1 is the model bit for bit, gate 0 gives y == x.
///
/// Taps (ExportOptions::taps), what collect() gathers statistics through:
/// the exported proto (renamed producer, Tap right after it), every error,
/// a session's TapSink (the values, once per run, the outputs unchanged bit
/// for bit), and collect()'s moments and X^T X on the same block, by hand.
///
//===----------------------------------------------------------------------===//

#include "frontends/onnx/ModelReader.h"
#include "frontends/onnx/ModelWriter.h"
#include "lib/Runtime/ModelSession.h"
#include "lib/Runtime/OrtCalibration.h"
#include "passes/OpHandlers/ShapeInference.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/Support/CRC.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include "onnx/checker.h"
#include "onnx/defs/schema.h"
#include "onnx/onnx_pb.h"
#include "onnx/shape_inference/implementation.h"

#include "gtest/gtest.h"

#include <algorithm>
#include <cstring>

using namespace onnxprune;

namespace {

#define ASSERT_OK(expr)                                                        \
  do {                                                                         \
    if (llvm::Error err_ = (expr))                                             \
      FAIL() << llvm::toString(std::move(err_));                               \
  } while (0)

#define ASSERT_OK_AND_ASSIGN(var, expr)                                        \
  auto var##OrErr = (expr);                                                    \
  ASSERT_TRUE(!!var##OrErr) << llvm::toString(var##OrErr.takeError());         \
  auto &var = *var##OrErr

/// The message of a failed Error, "" (and a test failure) on success.
std::string errorOf(llvm::Error e) {
  if (!e) {
    ADD_FAILURE() << "expected an error";
    return "";
  }
  return llvm::toString(std::move(e));
}
template <typename T> std::string errorOf(llvm::Expected<T> e) {
  return errorOf(e.takeError());
}

/// Expects \p msg to be one line that contains \p part.
void expectMessage(const std::string &msg, llvm::StringRef part) {
  EXPECT_NE(msg.find(part.str()), std::string::npos)
      << "'" << part.str() << "' not in: " << msg;
  EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
}

// x [N,2] -> h = x W1 -> a = Relu(h) -> b = a W2 -> y = x + b.
// W1 = [[1, -1, 2], [0, 1, -1]], W2 = [[1, 0], [0, 1], [1, 1]]:
//   x = (1, 2):  h = (1, 1, 0),   a = (1, 1, 0), b = (1, 1),  y = (2, 3)
//   x = (3, -1): h = (3, -4, 7),  a = (3, 0, 7), b = (10, 7), y = (13, 6)
const char *kResidual = R"(
<ir_version: 8, opset_import: ["" : 17]>
residual (float[N,2] x) => (float[N,2] y)
<float[2,3] W1 = {1, -1, 2, 0, 1, -1}, float[3,2] W2 = {1, 0, 0, 1, 1, 1}>
{
  h = MatMul(x, W1)
  a = Relu(h)
  b = MatMul(a, W2)
  y = Add(x, b)
}
)";

/// Values that cannot be gated: an int64 one, and u, of unknown type when
/// read without shape inference; and a name the exporter wants ("b__gate")
/// already taken.
const char *kBadGates = R"(
<ir_version: 8, opset_import: ["" : 17]>
bad (float[N,2] x) => (float[N,2] y, int64[2] s) <float[2] c = {1, 2}>
{
  k = Constant <value = float[2] {3, 4}> ()
  b = Add(x, c)
  b__gate = Mul(b, k)
  u = Neg(b__gate)
  y = Identity(u)
  s = Shape(x)
}
)";

std::unique_ptr<Model> parseText(const char *text, bool inferShapes = true) {
  auto m = readModelFromBuffer(text, ModelFormat::Text, "", "test");
  if (!m) {
    ADD_FAILURE() << llvm::toString(m.takeError());
    return nullptr;
  }
  if (inferShapes)
    fillTypes(**m);
  return std::move(*m);
}

// ---- A .npz writer (stored entries), for the calibration data -----------

void putLE(std::string &out, uint64_t v, unsigned n) {
  for (unsigned i = 0; i < n; ++i)
    out += (char)((v >> (8 * i)) & 0xff);
}

/// A float32 .npy of \p shape.
std::string npyFloats(llvm::ArrayRef<int64_t> shape,
                      llvm::ArrayRef<float> values) {
  std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (";
  for (size_t i = 0; i < shape.size(); ++i)
    dict += (i ? ", " : "") + std::to_string(shape[i]);
  dict += shape.size() == 1 ? ",), }" : "), }";
  dict += std::string((64 - (10 + dict.size() + 1) % 64) % 64, ' ') + "\n";
  std::string out("\x93NUMPY\x01\x00", 8);
  putLE(out, dict.size(), 2);
  out += dict;
  out.append(reinterpret_cast<const char *>(values.data()),
             values.size() * sizeof(float));
  return out;
}

/// A zip of one stored entry, as numpy.savez writes a single array.
std::string zipOne(const std::string &name, const std::string &data) {
  uint32_t crc = llvm::crc32(llvm::arrayRefFromStringRef(data));
  std::string out;
  putLE(out, 0x04034b50, 4);
  putLE(out, 20, 2);
  putLE(out, 0, 2); // flags
  putLE(out, 0, 2); // stored
  putLE(out, 0, 4); // time, date
  putLE(out, crc, 4);
  putLE(out, data.size(), 4);
  putLE(out, data.size(), 4);
  putLE(out, name.size(), 2);
  putLE(out, 0, 2);
  out += name + data;
  std::string central;
  putLE(central, 0x02014b50, 4);
  putLE(central, 20, 2);
  putLE(central, 20, 2);
  putLE(central, 0, 2);
  putLE(central, 0, 2);
  putLE(central, 0, 4);
  putLE(central, crc, 4);
  putLE(central, data.size(), 4);
  putLE(central, data.size(), 4);
  putLE(central, name.size(), 2);
  putLE(central, 0, 2); // extra
  putLE(central, 0, 2); // comment
  putLE(central, 0, 2); // disk
  putLE(central, 0, 2); // internal attributes
  putLE(central, 0, 4); // external attributes
  putLE(central, 0, 4); // offset of the local header
  central += name;
  uint64_t cdOffset = out.size();
  out += central;
  putLE(out, 0x06054b50, 4);
  putLE(out, 0, 4);
  putLE(out, 1, 2);
  putLE(out, 1, 2);
  putLE(out, central.size(), 4);
  putLE(out, cdOffset, 4);
  putLE(out, 0, 2);
  return out;
}

/// Five samples of x: the two of the comment above, then (0, 0), (-1, 1),
/// (2, 2).
const std::vector<float> kSamples = {1, 2, 3, -1, 0, 0, -1, 1, 2, 2};

/// y of kResidual with b scaled by \p gate, for kSamples' rows [begin, end).
std::vector<float> residualY(float gate, int64_t begin, int64_t end) {
  // b per sample: (1, 1), (10, 7), (0, 0), (0, 2) [h = (-1, 2, -3),
  // a = (0, 2, 0)], (4, 2) [h = (2, 0, 2), a = (2, 0, 2)].
  static const float b[] = {1, 1, 10, 7, 0, 0, 0, 2, 4, 2};
  std::vector<float> y;
  for (int64_t i = 2 * begin; i < 2 * end; ++i)
    y.push_back(kSamples[i] + gate * b[i]);
  return y;
}

/// onnx's checker, then strict shape inference (as OnnxChecks.cpp does).
void expectChecked(onnx::ModelProto proto) {
  try {
    onnx::checker::check_model(proto);
    onnx::ShapeInferenceOptions opts{/*check_type=*/true, /*error_mode=*/1,
                                     /*enable_data_propagation=*/false};
    onnx::shape_inference::InferShapes(
        proto, onnx::OpSchemaRegistry::Instance(), opts);
  } catch (const std::exception &e) {
    ADD_FAILURE() << "the gated model fails the checker: " << e.what();
  }
}

bool sameBits(llvm::ArrayRef<float> a, llvm::ArrayRef<float> b) {
  return a.size() == b.size() &&
         std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

/// A temporary folder with kSamples as x.npz, and kResidual.
class GatedRunTest : public ::testing::Test {
protected:
  void SetUp() override {
    std::error_code ec =
        llvm::sys::fs::createUniqueDirectory("onnx-prune-gated-test", dir);
    ASSERT_FALSE(ec) << ec.message();
    m = parseText(kResidual);
    ASSERT_TRUE(m);
  }
  void TearDown() override { llvm::sys::fs::remove_directories(dir); }

  std::string path(llvm::StringRef name) const {
    llvm::SmallString<128> p(dir);
    llvm::sys::path::append(p, name);
    return std::string(p.str());
  }
  std::string writeSamples() {
    std::string p = path("calib.npz");
    std::error_code ec;
    llvm::raw_fd_ostream os(p, ec);
    EXPECT_FALSE(ec) << ec.message();
    os << zipOne("x.npy", npyFloats({5, 2}, kSamples));
    return p;
  }
  /// A provider over the .npz, batches of \p batch samples.
  std::unique_ptr<OrtCalibrationProvider> provider(int64_t batch) {
    OrtCalibrationOptions opts;
    opts.batch = batch;
    opts.progress = false;
    auto p = OrtCalibrationProvider::create(*m, writeSamples(), opts);
    if (!p) {
      ADD_FAILURE() << llvm::toString(p.takeError());
      return nullptr;
    }
    return std::move(*p);
  }

  llvm::SmallString<128> dir;
  std::unique_ptr<Model> m;
};

// ---- Export ----------------------------------------------------------------

TEST_F(GatedRunTest, ExportedProto) {
  ASSERT_OK_AND_ASSIGN(bytes, serializeModel(*m, {}, {"b"}));
  onnx::ModelProto proto;
  ASSERT_TRUE(proto.ParseFromString(bytes));
  const onnx::GraphProto &g = proto.graph();

  // The scalar gate input after the model's own.
  ASSERT_EQ(g.input_size(), 2);
  EXPECT_EQ(g.input(0).name(), "x");
  const onnx::ValueInfoProto &gate = g.input(1);
  EXPECT_EQ(gate.name(), "b__gate");
  ASSERT_TRUE(gate.type().has_tensor_type());
  EXPECT_EQ(gate.type().tensor_type().elem_type(), onnx::TensorProto::FLOAT);
  ASSERT_TRUE(gate.type().tensor_type().has_shape());
  EXPECT_EQ(gate.type().tensor_type().shape().dim_size(), 0);

  // The producer writes b__ungated, the Mul right after it writes b, and
  // the Add still reads b.
  std::vector<std::string> ops;
  for (const onnx::NodeProto &n : g.node())
    ops.push_back(n.op_type());
  ASSERT_EQ(ops, (std::vector<std::string>{"MatMul", "Relu", "MatMul", "Mul",
                                           "Add"}));
  EXPECT_EQ(g.node(2).output(0), "b__ungated");
  EXPECT_EQ(g.node(3).input(0), "b__ungated");
  EXPECT_EQ(g.node(3).input(1), "b__gate");
  EXPECT_EQ(g.node(3).output(0), "b");
  EXPECT_EQ(g.node(4).input(1), "b");

  expectChecked(proto);
}

TEST_F(GatedRunTest, ExportErrors) {
  auto error = [&](const Model &model, std::vector<std::string> gates) {
    return errorOf(serializeModel(model, {}, gates));
  };
  expectMessage(error(*m, {"x"}),
                "cannot gate 'x': it is a graph input, not a node output");
  expectMessage(error(*m, {"W1"}),
                "cannot gate 'W1': it is a weight, not a node output");
  expectMessage(error(*m, {"nope"}),
                "cannot gate 'nope': the graph has no such value");
  expectMessage(error(*m, {"b", "b"}), "cannot gate 'b': it is gated twice");

  auto bad = parseText(kBadGates);
  ASSERT_TRUE(bad);
  expectMessage(error(*bad, {"k"}),
                "cannot gate 'k': it is a weight, not a node output");
  expectMessage(error(*bad, {"s"}), "cannot gate 's': its element type is "
                                    "int64, not floating-point");
  // With shapes inferred (as read by default) u is float and can be gated.
  ASSERT_OK(serializeModel(*bad, {}, {"u"}).takeError());
  auto untyped = parseText(kBadGates, /*inferShapes=*/false);
  ASSERT_TRUE(untyped);
  expectMessage(error(*untyped, {"u"}),
                "cannot gate 'u': its element type is unknown");
}

TEST_F(GatedRunTest, FreshNames) {
  // kBadGates already has a value named b__gate: b's gate input is
  // b__gate_1, and a graph output can be gated.
  auto bad = parseText(kBadGates);
  ASSERT_TRUE(bad);
  std::vector<GateNames> names = gateNames(*bad, {"b", "y"});
  ASSERT_EQ(names.size(), 2u);
  EXPECT_EQ(names[0].ungated, "b__ungated");
  EXPECT_EQ(names[0].input, "b__gate_1");
  EXPECT_EQ(names[1].input, "y__gate");
  ASSERT_OK_AND_ASSIGN(bytes, serializeModel(*bad, {}, {"b", "y"}));
  onnx::ModelProto proto;
  ASSERT_TRUE(proto.ParseFromString(bytes));
  expectChecked(proto);

  ASSERT_OK_AND_ASSIGN(session, openModelSession(*bad, {}, {}, {"b", "y"}));
  std::vector<NamedTensor> feeds = {
      {"x", HostTensor::fromFloats({1, 2}, {1, 1})},
      {"b__gate_1", HostTensor::fromFloats({}, {2})},
      {"y__gate", HostTensor::fromFloats({}, {-1})}};
  ASSERT_OK_AND_ASSIGN(outs, session->run(feeds, {"y"}));
  // y = -(-(2 * (x + c) * k)) = (2 * 2 * 3, 2 * 3 * 4).
  EXPECT_EQ(outs[0].tensor.getValues<float>().vec(),
            (std::vector<float>{12, 24}));
}

TEST_F(GatedRunTest, WrittenWithExternalData) {
  // writeModelFile takes gates too (openModelSession's path for big models).
  std::string file = path("gated.onnx");
  WriteOptions wo;
  wo.externalThreshold = 0;
  wo.gates = {"b"};
  ASSERT_OK(writeModelFile(*m, file, wo));
  ASSERT_OK_AND_ASSIGN(session, OrtSession::createFromFile(file));
  std::vector<NamedTensor> feeds = {
      {"x", HostTensor::fromFloats({2, 2}, {1, 2, 3, -1})},
      {"b__gate", HostTensor::fromFloats({}, {0.5f})}};
  ASSERT_OK_AND_ASSIGN(outs, session->run(feeds, {"y"}));
  EXPECT_EQ(outs[0].tensor.getValues<float>().vec(), residualY(0.5f, 0, 2));
}

// ---- Gated runs -------------------------------------------------------------

TEST_F(GatedRunTest, OneGate) {
  auto p = provider(/*batch=*/5);
  ASSERT_TRUE(p);
  // The plain model, for gate 1's bit-for-bit check.
  std::vector<float> plain;
  ASSERT_OK(p->forEachBatch(*m, {"y"}, {},
                            [&](llvm::ArrayRef<std::vector<float>> values,
                                llvm::ArrayRef<std::vector<int64_t>>) {
                              plain = values[0];
                              return llvm::Error::success();
                            }));
  ASSERT_EQ(plain, residualY(1, 0, 5));

  int batches = 0;
  ASSERT_OK(p->forEachGatedBatch(
      *m, {"x", "y", "b"}, {"b"}, {},
      [&](CalibrationProvider::GatedBatch &batch) -> llvm::Error {
        ++batches;
        for (float gate : {1.0f, 0.0f, 0.5f, 1.0f}) {
          SCOPED_TRACE(gate);
          if (llvm::Error e = batch.run(
                  {gate}, [&](llvm::ArrayRef<std::vector<float>> values,
                              llvm::ArrayRef<std::vector<int64_t>> shapes) {
                    EXPECT_EQ(shapes[1], (std::vector<int64_t>{5, 2}));
                    const std::vector<float> &x = values[0], &y = values[1];
                    if (gate == 1) {
                      EXPECT_TRUE(sameBits(y, plain));
                    } else if (gate == 0) {
                      EXPECT_TRUE(sameBits(y, x));
                    }
                    EXPECT_EQ(y, residualY(gate, 0, 5));
                    // b is asked for under its name: the gated value.
                    std::vector<float> b;
                    for (size_t i = 0; i < y.size(); ++i)
                      b.push_back(y[i] - x[i]);
                    EXPECT_EQ(values[2], b);
                    return llvm::Error::success();
                  }))
            return e;
        }
        return llvm::Error::success();
      }));
  EXPECT_EQ(batches, 1);
}

TEST_F(GatedRunTest, TwoGates) {
  auto p = provider(/*batch=*/2);
  ASSERT_TRUE(p);
  // First two samples: h = (1, 1, 0) and (3, -4, 7).
  //   gates (2, 1):    Relu(2h) = 2a, b doubled: y = (3, 4), (23, 13)
  //   gates (0, 1):    Relu(0) = 0: y = x
  //   gates (-1, 0.5): Relu(-h) = (0, 0, 0), (0, 4, 0): b = (0, 0), (0, 4),
  //                    y = x + b / 2 = (1, 2), (3, 1)
  struct Case {
    float h, b;
    std::vector<float> y;
  };
  std::vector<Case> cases = {
      {2, 1, {3, 4, 23, 13}}, {0, 1, {1, 2, 3, -1}}, {-1, 0.5f, {1, 2, 3, 1}}};
  int batches = 0;
  ASSERT_OK(p->forEachGatedBatch(
      *m, {"y"}, {"h", "b"}, {},
      [&](CalibrationProvider::GatedBatch &batch) -> llvm::Error {
        if (batches++)
          return llvm::Error::success(); // The first batch is enough.
        for (const Case &c : cases)
          if (llvm::Error e = batch.run(
                  {c.h, c.b}, [&](llvm::ArrayRef<std::vector<float>> values,
                                  llvm::ArrayRef<std::vector<int64_t>>) {
                    EXPECT_EQ(values[0], c.y) << c.h << " " << c.b;
                    return llvm::Error::success();
                  }))
            return e;
        // One gate value for two gates.
        expectMessage(
            errorOf(batch.run(
                {1}, [](auto, auto) { return llvm::Error::success(); })),
            "calibration: 1 gate values for 2 gates");
        return llvm::Error::success();
      }));
  EXPECT_EQ(batches, 3);
}

TEST_F(GatedRunTest, BatchesOverNpz) {
  // 5 samples in batches of 2: 3 batches (2, 2, 1), each run 3 times.
  auto p = provider(/*batch=*/2);
  ASSERT_TRUE(p);
  std::vector<int64_t> sizes;
  int runs = 0;
  int64_t begin = 0;
  ASSERT_OK(p->forEachGatedBatch(
      *m, {"y"}, {"b"}, {},
      [&](CalibrationProvider::GatedBatch &batch) -> llvm::Error {
        for (float gate : {0.0f, 1.0f, 2.0f})
          if (llvm::Error e = batch.run(
                  {gate}, [&](llvm::ArrayRef<std::vector<float>> values,
                              llvm::ArrayRef<std::vector<int64_t>> shapes) {
                    ++runs;
                    int64_t n = shapes[0][0];
                    if (gate == 0)
                      sizes.push_back(n);
                    EXPECT_EQ(values[0], residualY(gate, begin, begin + n));
                    return llvm::Error::success();
                  }))
            return e;
        begin += sizes.back();
        return llvm::Error::success();
      }));
  EXPECT_EQ(sizes, (std::vector<int64_t>{2, 2, 1}));
  EXPECT_EQ(runs, 9);
}

TEST_F(GatedRunTest, ProviderErrors) {
  auto p = provider(/*batch=*/2);
  ASSERT_TRUE(p);
  auto noop = [](CalibrationProvider::GatedBatch &) {
    return llvm::Error::success();
  };
  for (const char *gate : {"x", "W2", "nope"}) {
    std::string msg =
        errorOf(p->forEachGatedBatch(*m, {"y"}, {gate}, {}, noop));
    expectMessage(msg, "calibration: cannot load the model");
    expectMessage(msg, "cannot gate '" + std::string(gate) + "'");
  }
  // An error of a run names the batch's samples.
  std::string msg = errorOf(p->forEachGatedBatch(
      *m, {"y"}, {"b"}, {}, [](CalibrationProvider::GatedBatch &batch) {
        return batch.run({1}, [](auto, auto) {
          return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                         "boom");
        });
      }));
  expectMessage(msg, "calibration: samples 0..2: boom");
}

TEST_F(GatedRunTest, Float16Gate) {
  // The gate is fed as float16, converted from the float given; Gaussian
  // inputs (no data needed).
  auto half = parseText(R"(
<ir_version: 8, opset_import: ["" : 17]>
half (float16[N,4] x) => (float16[N,4] y) <float16[N,4] b> {
  b = Relu(x)
  y = Add(x, b)
}
)");
  ASSERT_TRUE(half);
  OrtCalibrationOptions opts;
  opts.batch = 3;
  opts.progress = false;
  ASSERT_OK_AND_ASSIGN(p, OrtCalibrationProvider::create(*half, "", opts));
  CalibrationSource gaussian;
  gaussian.kind = CalibrationSource::Kind::Gaussian;
  gaussian.samples = 6;
  auto round = [](float f) { return halfToFloat(floatToHalf(f)); };
  int batches = 0;
  ASSERT_OK(p->forEachGatedBatch(
      *half, {"x", "y"}, {"b"}, gaussian,
      [&](CalibrationProvider::GatedBatch &batch) -> llvm::Error {
        ++batches;
        for (float gate : {0.0f, 2.0f})
          if (llvm::Error e = batch.run(
                  {gate}, [&](llvm::ArrayRef<std::vector<float>> values,
                              llvm::ArrayRef<std::vector<int64_t>>) {
                    const std::vector<float> &x = values[0], &y = values[1];
                    EXPECT_EQ(y.size(), 12u);
                    for (size_t i = 0; i < y.size(); ++i)
                      EXPECT_EQ(y[i],
                                round(x[i] + round(gate * std::max(x[i], 0.f))))
                          << i;
                    return llvm::Error::success();
                  }))
            return e;
        return llvm::Error::success();
      }));
  EXPECT_EQ(batches, 2);
}

// ---- Taps -------------------------------------------------------------------

using TappedRunTest = GatedRunTest;

TEST_F(TappedRunTest, ExportedProto) {
  ASSERT_OK_AND_ASSIGN(bytes, serializeModel(*m, {}, {}, {"b", "h"}));
  onnx::ModelProto proto;
  ASSERT_TRUE(proto.ParseFromString(bytes));
  const onnx::GraphProto &g = proto.graph();
  // The producers write V__untapped, the Tap right after each writes V,
  // and the readers still read V; inputs and outputs are the model's.
  std::vector<std::string> ops;
  for (const onnx::NodeProto &n : g.node())
    ops.push_back(n.op_type());
  ASSERT_EQ(ops, (std::vector<std::string>{"MatMul", "Tap", "Relu", "MatMul",
                                           "Tap", "Add"}));
  EXPECT_EQ(g.node(0).output(0), "h__untapped");
  const onnx::NodeProto &tapH = g.node(1);
  EXPECT_EQ(tapH.domain(), kTapDomain);
  EXPECT_EQ(tapH.input(0), "h__untapped");
  EXPECT_EQ(tapH.output(0), "h");
  ASSERT_EQ(tapH.attribute_size(), 1);
  EXPECT_EQ(tapH.attribute(0).name(), "index");
  EXPECT_EQ(tapH.attribute(0).i(), 1); // h is the second tap.
  EXPECT_EQ(g.node(2).input(0), "h");
  EXPECT_EQ(g.node(3).output(0), "b__untapped");
  EXPECT_EQ(g.node(4).output(0), "b");
  EXPECT_EQ(g.node(4).attribute(0).i(), 0);
  EXPECT_EQ(g.node(5).input(1), "b");
  EXPECT_EQ(g.input_size(), 1);
  EXPECT_EQ(g.output_size(), 1);
  bool imported = false;
  for (const onnx::OperatorSetIdProto &o : proto.opset_import())
    imported |= o.domain() == kTapDomain && o.version() == kTapVersion;
  EXPECT_TRUE(imported);
}

TEST_F(TappedRunTest, ExportErrors) {
  auto error = [&](const Model &model, std::vector<std::string> taps,
                   std::vector<std::string> gates = {}) {
    return errorOf(serializeModel(model, {}, gates, taps));
  };
  expectMessage(error(*m, {"x"}),
                "cannot tap 'x': it is a graph input, not a node output");
  expectMessage(error(*m, {"W1"}),
                "cannot tap 'W1': it is a weight, not a node output");
  expectMessage(error(*m, {"nope"}),
                "cannot tap 'nope': the graph has no such value");
  expectMessage(error(*m, {"b", "b"}), "cannot tap 'b': it is tapped twice");
  expectMessage(error(*m, {"b"}, {"b"}), "cannot tap 'b': it is gated");
  auto bad = parseText(kBadGates);
  ASSERT_TRUE(bad);
  expectMessage(error(*bad, {"s"}),
                "cannot tap 's': its element type is int64, not float");
  auto untyped = parseText(kBadGates, /*inferShapes=*/false);
  ASSERT_TRUE(untyped);
  expectMessage(error(*untyped, {"u"}),
                "cannot tap 'u': its element type is unknown");
}

/// Records what the taps show, one run at a time.
class RecordingSink final : public TapSink {
public:
  std::vector<std::pair<int64_t, std::vector<float>>> seen;
  std::vector<std::vector<int64_t>> shapes;
  bool stop = false;

  bool tap(int64_t index, const OrtSession::TensorView &v) override {
    EXPECT_EQ(v.dtype, DataType::Float);
    const float *f = reinterpret_cast<const float *>(v.data);
    seen.push_back({index, std::vector<float>(f, f + v.numBytes / 4)});
    shapes.push_back(v.shape);
    return !stop;
  }
};

TEST_F(TappedRunTest, SinkSeesEveryTapOncePerRun) {
  // y is a graph output and h an extra one, read by Relu too: all still get
  // their values.
  RecordingSink sink;
  RuntimeOptions ro;
  ro.tapSink = &sink;
  ASSERT_OK_AND_ASSIGN(tapped, openModelSession(*m, ro, {"h"}, {}, {"y", "h"}));
  ASSERT_OK_AND_ASSIGN(plain, openModelSession(*m, {}, {"h"}));
  std::vector<NamedTensor> feeds = {
      {"x", HostTensor::fromFloats({2, 2}, {1, 2, 3, -1})}};
  ASSERT_OK_AND_ASSIGN(want, plain->run(feeds, {"y", "h"}));
  for (int run = 0; run < 2; ++run) {
    sink.seen.clear();
    ASSERT_OK_AND_ASSIGN(got, tapped->run(feeds, {"y", "h"}));
    // The outputs pass through the taps unchanged.
    for (int i = 0; i < 2; ++i)
      EXPECT_TRUE(sameBits(got[i].tensor.getValues<float>(),
                           want[i].tensor.getValues<float>()));
    // h = (1, 1, 0), (3, -4, 7); y = (2, 3), (13, 6).
    ASSERT_EQ(sink.seen.size(), 2u);
    std::sort(sink.seen.begin(), sink.seen.end());
    EXPECT_EQ(sink.seen[0].first, 0);
    EXPECT_EQ(sink.seen[0].second, residualY(1, 0, 2));
    EXPECT_EQ(sink.seen[1].first, 1);
    EXPECT_EQ(sink.seen[1].second, (std::vector<float>{1, 1, 0, 3, -4, 7}));
  }
  // A sink that says stop fails the run.
  sink.stop = true;
  expectMessage(errorOf(tapped->run(feeds, {"y"})), "stopped by a tap");
}

TEST_F(TappedRunTest, WrittenWithExternalData) {
  // writeModelFile takes taps too (openModelSession's path for big models).
  std::string file = path("tapped.onnx");
  WriteOptions wo;
  wo.externalThreshold = 0;
  wo.taps = {"b"};
  ASSERT_OK(writeModelFile(*m, file, wo));
  RecordingSink sink;
  RuntimeOptions ro;
  ro.tapSink = &sink;
  ASSERT_OK_AND_ASSIGN(session, OrtSession::createFromFile(file, ro));
  std::vector<NamedTensor> feeds = {
      {"x", HostTensor::fromFloats({2, 2}, {1, 2, 3, -1})}};
  ASSERT_OK_AND_ASSIGN(outs, session->run(feeds, {"y"}));
  EXPECT_EQ(outs[0].tensor.getValues<float>().vec(), residualY(1, 0, 2));
  ASSERT_EQ(sink.seen.size(), 1u);
  EXPECT_EQ(sink.seen[0].second, (std::vector<float>{1, 1, 10, 7}));
  EXPECT_EQ(sink.shapes[0], (std::vector<int64_t>{2, 2}));
}

TEST_F(TappedRunTest, CollectByHand) {
  // Over the five samples in batches of 2, 2, 1: h (tapped, for moments and
  // X^T X both), x (a graph input: read from the batch), W2 (a weight: an
  // output of the run).
  //   h = (1, 1, 0), (3, -4, 7), (0, 0, 0), (-1, 2, -3), (2, 0, 2)
  //   x = (1, 2), (3, -1), (0, 0), (-1, 1), (2, 2)
  auto p = provider(/*batch=*/2);
  ASSERT_TRUE(p);
  StatRequest hMoments, hGram, xMoments, wMoments;
  hMoments.value = "h";
  hGram.kind = StatRequest::Kind::Gram;
  hGram.value = "h";
  xMoments.value = "x";
  wMoments.value = "W2";
  ASSERT_OK_AND_ASSIGN(
      stats, p->collect(*m, {hMoments, hGram, xMoments, wMoments}, {}));
  ASSERT_EQ(stats.size(), 4u);
  const ActivationStats &h = stats[0], &g = stats[1], &x = stats[2],
                        &w = stats[3];
  EXPECT_EQ(h.count, 5);
  EXPECT_EQ(h.sum, (std::vector<double>{5, -1, 6}));
  EXPECT_EQ(h.sumSq, (std::vector<double>{15, 21, 62}));
  EXPECT_EQ(h.sumAbs, (std::vector<double>{7, 7, 12}));
  EXPECT_EQ(g.count, 5);
  EXPECT_EQ(g.gram,
            (std::vector<double>{15, -13, 28, -13, 21, -34, 28, -34, 62}));
  EXPECT_EQ(x.count, 5);
  EXPECT_EQ(x.sum, (std::vector<double>{5, 4}));
  EXPECT_EQ(x.sumSq, (std::vector<double>{15, 10}));
  // W2 = [[1, 0], [0, 1], [1, 1]], once per batch.
  EXPECT_EQ(w.count, 9);
  EXPECT_EQ(w.sum, (std::vector<double>{6, 6}));

  // An accumulator's error comes back as it is, naming the batch.
  StatRequest badAxis = hMoments;
  badAxis.axis = 5;
  expectMessage(errorOf(p->collect(*m, {badAxis}, {})),
                "calibration: samples 0..2: calibration: tensor 'h' of shape "
                "[2,3] has no axis 5");
}

/// A provider that does not implement gated runs: the default fails.
class PlainProvider final : public CalibrationProvider {
public:
  bool hasData() const override { return false; }
  std::string describe(const CalibrationSource &) const override {
    return "plain";
  }
  llvm::Expected<std::vector<ActivationStats>>
  collect(const Model &, llvm::ArrayRef<StatRequest>,
          const CalibrationSource &) override {
    return std::vector<ActivationStats>();
  }
  llvm::Expected<std::vector<ActivationStats>>
  collectReference(llvm::ArrayRef<StatRequest>,
                   const CalibrationSource &) override {
    return std::vector<ActivationStats>();
  }
  llvm::Error forEachBatch(const Model &, llvm::ArrayRef<std::string>,
                           const CalibrationSource &, BatchFn) override {
    return llvm::Error::success();
  }
};

TEST_F(GatedRunTest, DefaultProviderCannot) {
  PlainProvider p;
  expectMessage(
      errorOf(p.forEachGatedBatch(*m, {"y"}, {"b"}, {},
                                  [](CalibrationProvider::GatedBatch &) {
                                    return llvm::Error::success();
                                  })),
      "this calibration provider cannot run gated models");
}

} // namespace
