//===- OrtSession.cpp - Run ONNX models in ONNX Runtime -------------------===//
//
// Every call into ORT's C++ API goes through guard(), which turns
// Ort::Exception (and any std::exception) into llvm::Error.
//
//===----------------------------------------------------------------------===//

#include "lib/Runtime/OrtSession.h"

#include "frontends/onnx/ModelWriter.h"
#include "lib/Support/Error.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringSet.h"

#include <onnxruntime_cxx_api.h>
#include <onnxruntime_session_options_config_keys.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <mutex>
#include <random>

namespace onnxprune {

namespace {

/// Runs \p fn, converting any exception it throws into an error prefixed
/// with \p what.
template <typename Fn> llvm::Error guard(const llvm::Twine &what, Fn &&fn) {
  try {
    fn();
    return llvm::Error::success();
  } catch (const Ort::Exception &e) {
    return makeError(what + ": " + oneLine(e.what()));
  } catch (const std::exception &e) {
    return makeError(what + ": " + oneLine(e.what()));
  } catch (...) {
    return makeError(what + ": unknown exception from ONNX Runtime");
  }
}

/// ORT's C API matching our headers, or an error when the loaded library
/// is older than them (the C++ API would dereference a null table).
llvm::Error checkApi() {
  const OrtApiBase *base = OrtGetApiBase();
  if (!base || !base->GetApi(ORT_API_VERSION))
    return makeError(llvm::Twine("ONNX Runtime library ") +
                     (base ? base->GetVersionString() : "?") +
                     " does not provide C API version " +
                     llvm::Twine(ORT_API_VERSION));
  return llvm::Error::success();
}

/// The process-wide ORT environment, made on first use and never destroyed
/// (ORT's own statics may be gone at exit).
llvm::Expected<Ort::Env *> getEnv() {
  static std::mutex mu;
  static Ort::Env *env = nullptr;
  std::lock_guard<std::mutex> lock(mu);
  if (env)
    return env;
  if (llvm::Error err = checkApi())
    return std::move(err);
  if (llvm::Error err = guard("cannot start ONNX Runtime", [&] {
        // Fatal only: ORT's own error lines would break the one-line
        // error promise; every failure comes back to us as a status.
        env = new Ort::Env(ORT_LOGGING_LEVEL_FATAL, "onnx-prune");
      }))
    return std::move(err);
  return env;
}

GraphOptimizationLevel toOrt(RuntimeOptions::OptLevel level) {
  switch (level) {
  case RuntimeOptions::OptLevel::Disable:
    return ORT_DISABLE_ALL;
  case RuntimeOptions::OptLevel::Basic:
    return ORT_ENABLE_BASIC;
  case RuntimeOptions::OptLevel::Extended:
    return ORT_ENABLE_EXTENDED;
  case RuntimeOptions::OptLevel::All:
    return ORT_ENABLE_ALL;
  }
  llvm_unreachable("bad OptLevel");
}

Ort::SessionOptions makeSessionOptions(const RuntimeOptions &opts) {
  Ort::SessionOptions so;
  so.SetIntraOpNumThreads(opts.intraOpThreads);
  so.SetInterOpNumThreads(opts.interOpThreads);
  so.SetExecutionMode(ORT_SEQUENTIAL);
  so.SetGraphOptimizationLevel(toOrt(opts.optLevel));
  so.SetLogSeverityLevel(ORT_LOGGING_LEVEL_FATAL);
  so.AddConfigEntry(kOrtSessionOptionsConfigAllowIntraOpSpinning, "0");
  so.AddConfigEntry(kOrtSessionOptionsConfigAllowInterOpSpinning, "0");
  if (opts.deterministicCompute)
    so.AddConfigEntry(kOrtSessionOptionsConfigUseDeterministicCompute, "1");
  if (!opts.externalDataDir.empty())
    so.AddConfigEntry(kOrtSessionOptionsModelExternalInitializersFileFolderPath,
                      opts.externalDataDir.c_str());
  if (opts.denormalAsZero)
    so.AddConfigEntry(kOrtSessionOptionsConfigSetDenormalAsZero, "1");
  if (!opts.profilePrefix.empty())
    so.EnableProfiling(opts.profilePrefix.c_str());
  return so;
}

/// ONNXTensorElementDataType and DataType both number types as ONNX's
/// TensorProto does.
ONNXTensorElementDataType toOrt(DataType t) {
  return static_cast<ONNXTensorElementDataType>(t);
}
DataType fromOrt(ONNXTensorElementDataType t) {
  return static_cast<DataType>(t);
}

/// The kernel of onnx-prune's Tap op (kTapDomain, kTapOp): shows its input
/// to the session's TapSink, in ORT's buffer, and passes it on.
struct TapKernel {
  TapSink *sink;
  int64_t index;

  OrtStatusPtr ComputeV2(OrtKernelContext *context) {
    try {
      Ort::KernelContext ctx(context);
      Ort::ConstValue in = ctx.GetInput(0);
      auto info = in.GetTensorTypeAndShapeInfo();
      OrtSession::TensorView view;
      view.dtype = fromOrt(info.GetElementType());
      view.shape = info.GetShape();
      view.data = static_cast<const char *>(in.GetTensorRawData());
      view.numBytes = info.GetElementCount() * elementSize(view.dtype);
      if (!sink->tap(index, view))
        return Ort::GetApi().CreateStatus(ORT_FAIL, "stopped by a tap");
      // The output aliases the input (GetAliasMap); copy where ORT could
      // not alias them.
      Ort::UnownedValue out = ctx.GetOutput(0, view.shape);
      void *to = out.GetTensorMutableRawData();
      if (to != view.data && view.numBytes)
        std::memcpy(to, view.data, view.numBytes);
      return nullptr;
    } catch (const std::exception &e) {
      return Ort::GetApi().CreateStatus(ORT_FAIL, e.what());
    }
  }
};

/// The Tap op: a float input passed through to its output (the same
/// buffer), attribute `index`.
struct TapOp : Ort::CustomOpBase<TapOp, TapKernel, /*WithStatus=*/true> {
  explicit TapOp(TapSink *sink) : sink(sink) {
    OrtCustomOp::GetAliasMap = [](int **inputs, int **outputs) -> size_t {
      *inputs = new int[1]{0};
      *outputs = new int[1]{0};
      return 1;
    };
    OrtCustomOp::ReleaseAliasMap = [](int *inputs, int *outputs) {
      delete[] inputs;
      delete[] outputs;
    };
  }

  OrtStatusPtr CreateKernelV2(const OrtApi &, const OrtKernelInfo *info,
                              void **kernel) const {
    try {
      int64_t index = Ort::ConstKernelInfo(info).GetAttribute<int64_t>("index");
      *kernel = new TapKernel{sink, index};
      return nullptr;
    } catch (const std::exception &e) {
      return Ort::GetApi().CreateStatus(ORT_FAIL, e.what());
    }
  }
  /// The input's shape, so that ORT's shape inference goes on past a tap;
  /// none when some dim is unknown, or the rank may be (an empty shape).
  static OrtStatusPtr InferOutputShape(Ort::ShapeInferContext &ctx) {
    const Ort::ShapeInferContext::Shape &shape = ctx.GetInputShape(0);
    bool known = !shape.empty();
    for (const auto &d : shape)
      known &= !d.IsInt() || d.AsInt() >= 0;
    if (known)
      return ctx.SetOutputShape(0, shape).release();
    return nullptr;
  }
  const char *GetName() const { return kTapOp; }
  size_t GetInputTypeCount() const { return 1; }
  ONNXTensorElementDataType GetInputType(size_t) const {
    return ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT;
  }
  size_t GetOutputTypeCount() const { return 1; }
  ONNXTensorElementDataType GetOutputType(size_t) const {
    return ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT;
  }

  TapSink *sink;
};

TensorInfo describeValue(std::string name, const Ort::TypeInfo &typeInfo) {
  TensorInfo info;
  info.name = std::move(name);
  if (typeInfo.GetONNXType() != ONNX_TYPE_TENSOR) {
    info.isTensor = false;
    return info;
  }
  auto tensorInfo = typeInfo.GetTensorTypeAndShapeInfo();
  info.dtype = fromOrt(tensorInfo.GetElementType());
  info.shape = tensorInfo.GetShape();
  for (const char *sym : tensorInfo.GetSymbolicDimensions())
    info.symbolicDims.push_back(sym ? sym : "");
  info.symbolicDims.resize(info.shape.size());
  for (size_t i = 0; i < info.shape.size(); ++i)
    if (info.shape[i] >= 0)
      info.symbolicDims[i].clear();
    else
      info.shape[i] = -1;
  return info;
}

} // namespace

std::string TensorInfo::describe() const {
  if (!isTensor)
    return "<non-tensor>";
  std::string s;
  llvm::raw_string_ostream os(s);
  os << dataTypeName(dtype) << '[';
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i)
      os << ',';
    if (shape[i] >= 0)
      os << shape[i];
    else if (i < symbolicDims.size() && !symbolicDims[i].empty())
      os << symbolicDims[i];
    else
      os << '?';
  }
  os << ']';
  return os.str();
}

// ---- OrtSession -------------------------------------------------------------

struct OrtSession::Impl {
  /// The Tap op and its domain, when the options name a TapSink: before
  /// the session, which must be destroyed first.
  std::unique_ptr<TapOp> tapOp;
  Ort::CustomOpDomain tapDomain{nullptr};
  Ort::Session session{nullptr};
  Ort::MemoryInfo memInfo{nullptr};

  /// makeSessionOptions(opts) with the Tap op registered when wanted.
  Ort::SessionOptions sessionOptions(const RuntimeOptions &opts) {
    Ort::SessionOptions so = makeSessionOptions(opts);
    if (opts.tapSink) {
      tapOp = std::make_unique<TapOp>(opts.tapSink);
      tapDomain = Ort::CustomOpDomain(kTapDomain);
      tapDomain.Add(tapOp.get());
      so.Add(tapDomain);
    }
    return so;
  }
};

OrtSession::OrtSession(std::unique_ptr<Impl> impl) : impl(std::move(impl)) {}
OrtSession::~OrtSession() = default;
TapSink::~TapSink() = default;

llvm::Expected<std::string> OrtSession::endProfiling() {
  std::string path;
  if (llvm::Error err = guard("ONNX Runtime cannot end profiling", [&] {
        Ort::AllocatorWithDefaultOptions alloc;
        path = impl->session.EndProfilingAllocated(alloc).get();
      }))
    return std::move(err);
  return path;
}

llvm::Expected<std::string> OrtSession::getRuntimeVersion() {
  if (llvm::Error err = checkApi())
    return std::move(err);
  return std::string(OrtGetApiBase()->GetVersionString());
}

llvm::Expected<std::unique_ptr<OrtSession>>
OrtSession::createFromBytes(llvm::StringRef modelBytes,
                            const RuntimeOptions &opts) {
  auto env = getEnv();
  if (!env)
    return env.takeError();
  auto impl = std::make_unique<Impl>();
  if (llvm::Error err = guard("ONNX Runtime cannot load the model", [&] {
        impl->session =
            Ort::Session(**env, modelBytes.data(), modelBytes.size(),
                         impl->sessionOptions(opts));
        impl->memInfo =
            Ort::MemoryInfo::CreateCpu(OrtArenaAllocator, OrtMemTypeDefault);
      }))
    return std::move(err);
  std::unique_ptr<OrtSession> s(new OrtSession(std::move(impl)));
  if (llvm::Error err = s->describeIO())
    return std::move(err);
  return std::move(s);
}

llvm::Expected<std::unique_ptr<OrtSession>>
OrtSession::createFromFile(llvm::StringRef path, const RuntimeOptions &opts) {
  auto env = getEnv();
  if (!env)
    return env.takeError();
  auto impl = std::make_unique<Impl>();
  std::string pathStr = path.str();
  if (llvm::Error err = guard("ONNX Runtime cannot load '" + path + "'", [&] {
        impl->session =
            Ort::Session(**env, pathStr.c_str(), impl->sessionOptions(opts));
        impl->memInfo =
            Ort::MemoryInfo::CreateCpu(OrtArenaAllocator, OrtMemTypeDefault);
      }))
    return std::move(err);
  std::unique_ptr<OrtSession> s(new OrtSession(std::move(impl)));
  if (llvm::Error err = s->describeIO())
    return std::move(err);
  return std::move(s);
}

llvm::Error OrtSession::describeIO() {
  return guard("ONNX Runtime cannot describe the model's inputs/outputs", [&] {
    Ort::AllocatorWithDefaultOptions alloc;
    Ort::Session &s = impl->session;
    for (size_t i = 0, e = s.GetInputCount(); i < e; ++i)
      inputs.push_back(describeValue(s.GetInputNameAllocated(i, alloc).get(),
                                     s.GetInputTypeInfo(i)));
    for (size_t i = 0, e = s.GetOutputCount(); i < e; ++i)
      outputs.push_back(describeValue(s.GetOutputNameAllocated(i, alloc).get(),
                                      s.GetOutputTypeInfo(i)));
  });
}

llvm::Error OrtSession::runView(llvm::ArrayRef<NamedTensor> feeds,
                                llvm::ArrayRef<std::string> outputNames,
                                ViewFn fn) {
  llvm::StringSet<> inputNames, seen;
  for (const TensorInfo &in : inputs)
    inputNames.insert(in.name);
  for (const NamedTensor &f : feeds) {
    if (!inputNames.count(f.name)) {
      std::string known;
      for (const TensorInfo &in : inputs)
        known += (known.empty() ? "'" : ", '") + in.name + "'";
      return makeError("run: '" + f.name +
                       "' is not an input of the model (inputs: " + known +
                       ")");
    }
    if (!seen.insert(f.name).second)
      return makeError("run: input '" + f.name + "' given twice");
    if (llvm::Error err =
            validateHostTensor(f.tensor, "input '" + f.name + "'"))
      return err;
  }
  // ORT lists only inputs without an initializer: all are required.
  for (const TensorInfo &in : inputs)
    if (!seen.count(in.name))
      return makeError("run: no value given for input '" + in.name + "' (" +
                       in.describe() + ")");

  std::vector<std::string> outNames;
  if (outputNames.empty())
    for (const TensorInfo &o : outputs)
      outNames.push_back(o.name);
  else
    outNames.assign(outputNames.begin(), outputNames.end());

  std::vector<TensorView> views;
  std::string problem; // An output this wrapper cannot return.
  llvm::Error viewErr = llvm::Error::success();
  (void)static_cast<bool>(viewErr); // Checked: reassigned below.
  llvm::Error err = guard("ONNX Runtime run failed", [&] {
    std::vector<const char *> inPtrs, outPtrs;
    std::vector<Ort::Value> inValues;
    static char emptyBuffer[8];
    for (const NamedTensor &f : feeds) {
      const HostTensor &t = f.tensor;
      // ORT only reads input buffers; its API takes them non-const.
      void *data =
          t.bytes.empty() ? emptyBuffer : const_cast<char *>(t.bytes.data());
      inValues.push_back(Ort::Value::CreateTensor(
          impl->memInfo, data, t.bytes.size(), t.shape.data(), t.shape.size(),
          toOrt(t.dtype)));
      inPtrs.push_back(f.name.c_str());
    }
    for (const std::string &n : outNames)
      outPtrs.push_back(n.c_str());

    std::vector<Ort::Value> outValues = impl->session.Run(
        Ort::RunOptions{nullptr}, inPtrs.data(), inValues.data(),
        inValues.size(), outPtrs.data(), outPtrs.size());

    for (size_t i = 0; i < outValues.size(); ++i) {
      TensorView out;
      out.name = outNames[i];
      Ort::Value &v = outValues[i];
      if (!v.IsTensor()) {
        problem = "output '" + out.name + "' is not a tensor";
        return;
      }
      auto info = v.GetTensorTypeAndShapeInfo();
      out.dtype = fromOrt(info.GetElementType());
      out.shape = info.GetShape();
      if (!isSupportedHostType(out.dtype)) {
        problem = "output '" + out.name + "' has element type " +
                  dataTypeName(out.dtype) +
                  ", which the runtime does not support";
        return;
      }
      out.data = static_cast<const char *>(v.GetTensorRawData());
      out.numBytes = info.GetElementCount() * elementSize(out.dtype);
      views.push_back(std::move(out));
    }
    // Inside the guard: the views point into outValues, alive until here.
    if (problem.empty())
      viewErr = fn(views);
  });
  if (err) {
    llvm::consumeError(std::move(viewErr));
    return err;
  }
  if (!problem.empty())
    return makeError("run: " + problem);
  return viewErr;
}

llvm::Expected<std::vector<NamedTensor>>
OrtSession::run(llvm::ArrayRef<NamedTensor> feeds,
                llvm::ArrayRef<std::string> outputNames) {
  std::vector<NamedTensor> results;
  llvm::Error err =
      runView(feeds, outputNames, [&](llvm::ArrayRef<TensorView> outs) {
        for (const TensorView &v : outs) {
          NamedTensor t;
          t.name = v.name;
          t.tensor.dtype = v.dtype;
          t.tensor.shape = v.shape;
          t.tensor.bytes.assign(v.data, v.data + v.numBytes);
          results.push_back(std::move(t));
        }
        return llvm::Error::success();
      });
  if (err)
    return std::move(err);
  return std::move(results);
}

// ---- Random inputs ----------------------------------------------------------

llvm::Expected<std::vector<NamedTensor>>
makeRandomInputs(llvm::ArrayRef<TensorInfo> inputs,
                 const RandomInputOptions &opts) {
  if (opts.intHigh <= opts.intLow)
    return makeError("random inputs: empty integer range [" +
                     llvm::Twine(opts.intLow) + ", " +
                     llvm::Twine(opts.intHigh) + ")");
  // mt19937_64's output is fixed by the standard; the distributions of
  // <random> are not, so values are derived from raw draws by hand.
  std::mt19937_64 gen(opts.seed);
  auto uniform01 = [&] { return double(gen() >> 11) * 0x1.0p-53; };

  llvm::StringMap<int64_t> symbols;
  for (const auto &kv : opts.dimValues)
    symbols[kv.getKey()] = kv.getValue();

  std::vector<NamedTensor> result;
  for (const TensorInfo &in : inputs) {
    if (!in.isTensor)
      return makeError("random inputs: input '" + in.name +
                       "' is not a tensor");
    if (!isSupportedHostType(in.dtype))
      return makeError("random inputs: input '" + in.name + "' has type " +
                       dataTypeName(in.dtype) + ", which is not supported");
    std::vector<int64_t> shape;
    for (size_t i = 0; i < in.shape.size(); ++i) {
      if (in.shape[i] >= 0) {
        shape.push_back(in.shape[i]);
        continue;
      }
      llvm::StringRef sym =
          i < in.symbolicDims.size() ? in.symbolicDims[i] : llvm::StringRef();
      if (!sym.empty()) {
        auto it = symbols.find(sym);
        if (it != symbols.end()) {
          shape.push_back(it->second);
          continue;
        }
      }
      int64_t v = i == 0 ? opts.batchDim : opts.otherDim;
      if (!sym.empty())
        symbols[sym] = v;
      shape.push_back(v);
    }

    HostTensor t = HostTensor::zeros(in.dtype, shape);
    int64_t n = t.getNumElements();
    bool isUnsigned =
        in.dtype == DataType::UInt8 || in.dtype == DataType::UInt16 ||
        in.dtype == DataType::UInt32 || in.dtype == DataType::UInt64;
    int64_t lo = isUnsigned ? std::max<int64_t>(opts.intLow, 0) : opts.intLow;
    int64_t hi = std::max(opts.intHigh, lo + 1);
    uint64_t span = uint64_t(hi - lo);
    char *p = t.bytes.data();
    auto store = [&](int64_t i, auto value) {
      std::memcpy(p + i * sizeof(value), &value, sizeof(value));
    };
    for (int64_t i = 0; i < n; ++i) {
      double f = opts.floatLow + uniform01() * (opts.floatHigh - opts.floatLow);
      int64_t k = lo + int64_t(gen() % span);
      switch (in.dtype) {
      case DataType::Float:
        store(i, float(f));
        break;
      case DataType::Double:
        store(i, f);
        break;
      case DataType::Float16:
        store(i, floatToHalf(float(f)));
        break;
      case DataType::BFloat16:
        store(i, floatToBFloat16(float(f)));
        break;
      case DataType::Bool:
        store(i, uint8_t(k & 1));
        break;
      case DataType::Int8:
        store(i, int8_t(k));
        break;
      case DataType::Int16:
        store(i, int16_t(k));
        break;
      case DataType::Int32:
        store(i, int32_t(k));
        break;
      case DataType::Int64:
        store(i, int64_t(k));
        break;
      case DataType::UInt8:
        store(i, uint8_t(k));
        break;
      case DataType::UInt16:
        store(i, uint16_t(k));
        break;
      case DataType::UInt32:
        store(i, uint32_t(k));
        break;
      case DataType::UInt64:
        store(i, uint64_t(k));
        break;
      default:
        llvm_unreachable("unsupported types were refused above");
      }
    }
    result.push_back({in.name, std::move(t)});
  }
  return std::move(result);
}

// ---- Comparing outputs ------------------------------------------------------

CompareResult compareOutputs(llvm::ArrayRef<NamedTensor> expected,
                             llvm::ArrayRef<NamedTensor> actual, double rtol,
                             double atol) {
  CompareResult r;
  auto fail = [&](int64_t out, llvm::StringRef name, int64_t elem,
                  const llvm::Twine &why) {
    if (!r.match)
      return; // Keep the first mismatch.
    r.match = false;
    r.outputIndex = out;
    r.outputName = name.str();
    r.elementIndex = elem;
    r.reason = why.str();
  };

  if (expected.size() != actual.size())
    fail(-1, "", -1,
         "output count differs: " + llvm::Twine((uint64_t)expected.size()) +
             " vs " + llvm::Twine((uint64_t)actual.size()));
  size_t n = std::min(expected.size(), actual.size());
  for (size_t o = 0; o < n; ++o) {
    const NamedTensor &e = expected[o], &a = actual[o];
    if (e.name != a.name) {
      fail(o, e.name, -1,
           "output names differ: '" + e.name + "' vs '" + a.name + "'");
      continue;
    }
    if (e.tensor.dtype != a.tensor.dtype || e.tensor.shape != a.tensor.shape) {
      fail(o, e.name, -1,
           "type differs: " + e.tensor.describe() + " vs " +
               a.tensor.describe());
      continue;
    }
    bool isFloat = isFloatingPoint(e.tensor.dtype);
    for (int64_t i = 0, m = e.tensor.getNumElements(); i < m; ++i) {
      if (!isFloat) {
        int64_t x = e.tensor.getAsInt64(i), y = a.tensor.getAsInt64(i);
        if (x != y) {
          if (r.match) {
            r.expected = double(x);
            r.actual = double(y);
          }
          fail(o, e.name, i,
               "value differs: expected " + llvm::Twine(x) + ", got " +
                   llvm::Twine(y));
        }
        continue;
      }
      double x = e.tensor.getAsDouble(i), y = a.tensor.getAsDouble(i);
      bool ok;
      if (std::isnan(x) || std::isnan(y)) {
        ok = std::isnan(x) && std::isnan(y);
      } else if (std::isinf(x) || std::isinf(y)) {
        ok = x == y;
      } else {
        double diff = std::fabs(x - y);
        r.maxAbsErr = std::max(r.maxAbsErr, diff);
        if (std::fabs(x) > atol)
          r.maxRelErr = std::max(r.maxRelErr, diff / std::fabs(x));
        ok = diff <= atol + rtol * std::fabs(x);
      }
      if (!ok) {
        if (r.match) {
          r.expected = x;
          r.actual = y;
        }
        std::string msg;
        llvm::raw_string_ostream os(msg);
        os << "value differs: expected " << x << ", got " << y;
        fail(o, e.name, i, os.str());
      }
    }
  }
  return r;
}

} // namespace onnxprune
