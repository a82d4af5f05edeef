//===- OrtCalibration.cpp - Calibration statistics on ONNX Runtime --------===//
///
/// \file
/// Runs a model with probe outputs over calibration batches and folds the
/// probes into StatsAccumulators. See OrtCalibration.h.
///
//===----------------------------------------------------------------------===//

#include "lib/Runtime/OrtCalibration.h"

#include "frontends/onnx/ModelReader.h"
#include "frontends/onnx/ModelWriter.h"
#include "lib/IR/Graph.h"
#include "lib/IR/Tensor.h"
#include "lib/Runtime/ModelSession.h"
#include "lib/Support/Error.h"
#include "lib/Support/Progress.h"
#include "lib/Support/SplitMix.h"
#include "passes/OpHandlers/ShapeInference.h"

#include "llvm/ADT/StringMap.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/Process.h"
#include "llvm/Support/raw_ostream.h"

#include <chrono>
#include <cmath>
#include <cstring>

using namespace llvm;

namespace onnxprune {

std::vector<TensorInfo> describeModelInputs(const Model &m) {
  std::vector<TensorInfo> out;
  for (const Value *v : m.getGraph().getInputs()) {
    if (v->isWeight())
      continue;
    TensorInfo info;
    info.name = v->getName();
    const Type &t = v->getType();
    info.isTensor = t.isTensor();
    info.dtype = t.elemType;
    if (t.hasRank())
      for (const Dim &d : *t.shape) {
        info.shape.push_back(d.isStatic() ? d.value : -1);
        info.symbolicDims.push_back(d.isSymbolic() ? d.param : "");
      }
    out.push_back(std::move(info));
  }
  return out;
}

Expected<std::unique_ptr<OrtCalibrationProvider>>
OrtCalibrationProvider::create(const Model &m, StringRef path,
                               const OrtCalibrationOptions &opts) {
  if (opts.batch < 1)
    return makeError("calibration batch must be at least 1");
  std::unique_ptr<OrtCalibrationProvider> p(new OrtCalibrationProvider());
  p->opts = opts;
  p->referencePath = m.sourcePath;
  p->referenceBytes = m.sourceBytes;
  p->referenceBaseDir = m.baseDir;
  if (!path.empty()) {
    auto data = CalibrationData::open(path, describeModelInputs(m));
    if (!data)
      return data.takeError();
    return create(m, std::move(*data), opts);
  }
  return std::move(p);
}

Expected<std::unique_ptr<OrtCalibrationProvider>>
OrtCalibrationProvider::create(const Model &m, CalibrationData data,
                               const OrtCalibrationOptions &opts) {
  auto p = create(m, "", opts);
  if (!p)
    return p.takeError();
  if (opts.samples > 0)
    data.limitSamples(opts.samples);
  if (data.getNumSamples() == 0)
    return makeError("calibration data '" + data.getPath() +
                     "': no whole batch of " + Twine(data.getFixedBatch()) +
                     " samples (the model fixes its batch size)");
  (*p)->data.emplace(std::move(data));
  return std::move(*p);
}

std::string OrtCalibrationProvider::describe(const CalibrationSource &s) const {
  std::string out;
  raw_string_ostream os(out);
  if (s.kind == CalibrationSource::Kind::Gaussian) {
    os << "gaussian (" << s.samples << " samples, seed " << s.seed << ")";
    return os.str();
  }
  if (!data)
    return "no data";
  // The file's name only, so plans do not depend on where it was.
  StringRef path = data->getPath();
  os << "data '" << path.substr(path.find_last_of('/') + 1) << "' ("
     << data->getNumSamples() << " samples)";
  return os.str();
}

namespace {

/// Standard normal floats (Box-Muller over splitmix64), the same bytes on
/// every platform up to libm's log/cos/sin.
void fillGaussian(HostTensor &t, uint64_t seed) {
  uint64_t state = seed * 0x2545f4914f6cdd1dULL + 1;
  int64_t n = t.getNumElements();
  std::vector<float> v(n);
  for (int64_t i = 0; i < n; i += 2) {
    double u1 = ((splitmix64(state) >> 11) + 1) * 0x1.0p-53;
    double u2 = splitmixUnit(state);
    double r = std::sqrt(-2 * std::log(u1));
    v[i] = float(r * std::cos(2 * M_PI * u2));
    if (i + 1 < n)
      v[i + 1] = float(r * std::sin(2 * M_PI * u2));
  }
  if (t.dtype == DataType::Float) {
    std::memcpy(t.bytes.data(), v.data(), n * sizeof(float));
  } else if (t.dtype == DataType::Float16 || t.dtype == DataType::BFloat16) {
    auto *p = reinterpret_cast<uint16_t *>(t.bytes.data());
    for (int64_t i = 0; i < n; ++i)
      p[i] = t.dtype == DataType::Float16 ? floatToHalf(v[i])
                                          : floatToBFloat16(v[i]);
  } else if (t.dtype == DataType::Double) {
    auto *p = reinterpret_cast<double *>(t.bytes.data());
    for (int64_t i = 0; i < n; ++i)
      p[i] = v[i];
  }
}

/// The values of \p t as floats.
std::vector<float> toFloats(const OrtSession::TensorView &t) {
  HostTensor h;
  h.dtype = t.dtype;
  h.shape = t.shape;
  h.bytes.assign(t.data, t.data + t.numBytes);
  std::vector<float> out(h.getNumElements());
  for (size_t i = 0; i < out.size(); ++i)
    out[i] = float(h.getAsDouble(i));
  return out;
}

} // namespace

Error OrtCalibrationProvider::forEachFeed(
    const Model &m, ArrayRef<std::string> probes, ArrayRef<std::string> gates,
    ArrayRef<std::string> taps, TapSink *sink, const CalibrationSource &source,
    FeedFn fn) {
  bool gaussian = source.kind == CalibrationSource::Kind::Gaussian;
  if (!gaussian && !data)
    return makeError("no calibration data was given (--calibration=PATH)");
  // Graph inputs are fed, not probed.
  StringMap<bool> fed;
  for (const TensorInfo &i : describeModelInputs(m))
    fed[i.name] = true;
  std::vector<std::string> outputs;
  for (const std::string &p : probes)
    if (!fed.count(p) && !is_contained(outputs, p))
      outputs.push_back(p);
  RuntimeOptions ro = opts.runtime;
  ro.tapSink = sink;
  auto session = openModelSession(m, ro, outputs, gates, taps);
  if (!session)
    return addContext(session.takeError(), "calibration: cannot load the model "
                                           "with its probes in ONNX Runtime");
  // The model's own inputs: a gated session also has the gates, which the
  // caller feeds.
  std::vector<TensorInfo> dataInputs;
  for (const TensorInfo &i : (*session)->getInputs())
    if (fed.count(i.name))
      dataInputs.push_back(i);
  int64_t total = gaussian ? source.samples : data->getNumSamples();
  int64_t batch =
      !gaussian && data->getFixedBatch() ? data->getFixedBatch() : opts.batch;
  Progress progress("calibration", total, Progress::Unit::Items, "samples",
                    opts.progress);
  for (int64_t begin = 0; begin < total; begin += batch) {
    int64_t end = std::min(total, begin + batch);
    std::vector<NamedTensor> feeds;
    if (gaussian) {
      RandomInputOptions ro;
      ro.seed = source.seed + uint64_t(begin);
      ro.batchDim = end - begin;
      auto r = makeRandomInputs(dataInputs, ro);
      if (!r)
        return r.takeError();
      feeds = std::move(*r);
      for (NamedTensor &f : feeds)
        if (isFloatingPoint(f.tensor.dtype))
          fillGaussian(f.tensor, source.seed * 1000003 + uint64_t(begin));
    } else {
      auto b = data->getBatch(begin, end);
      if (!b)
        return b.takeError();
      feeds = std::move(*b);
    }
    if (Error e = fn(**session, feeds, outputs))
      return addContext(std::move(e), "calibration: samples " + Twine(begin) +
                                          ".." + Twine(end));
    progress.set(end);
  }
  return Error::success();
}

namespace {

using ProbeFn =
    function_ref<Error(const StringMap<OrtSession::TensorView> &probes)>;

/// Runs \p session once on \p feeds; \p fn gets \p outputs and the feeds by
/// name, in ORT's and the feeds' buffers.
Error runProbes(OrtSession &session, ArrayRef<NamedTensor> feeds,
                ArrayRef<std::string> outputs, ProbeFn fn) {
  return session.runView(
      feeds, outputs, [&](ArrayRef<OrtSession::TensorView> outs) {
        StringMap<OrtSession::TensorView> byName;
        for (const NamedTensor &f : feeds)
          byName[f.name] = {f.name, f.tensor.dtype, f.tensor.shape,
                            f.tensor.bytes.data(), f.tensor.bytes.size()};
        for (const OrtSession::TensorView &o : outs)
          byName[o.name] = o;
        return fn(byName);
      });
}

/// Calls \p fn with \p outputs of \p byName as floats, in that order.
Error callBatchFn(const StringMap<OrtSession::TensorView> &byName,
                  ArrayRef<std::string> outputs,
                  CalibrationProvider::BatchFn fn) {
  std::vector<std::vector<float>> values;
  std::vector<std::vector<int64_t>> shapes;
  for (const std::string &name : outputs) {
    auto it = byName.find(name);
    if (it == byName.end())
      return makeError("calibration: the run gave no '" + name + "'");
    values.push_back(toFloats(it->second));
    shapes.push_back(it->second.shape);
  }
  return fn(values, shapes);
}

/// Stores \p v into the scalar \p t of a floating-point dtype.
void setScalar(HostTensor &t, float v) {
  switch (t.dtype) {
  case DataType::Float:
    std::memcpy(t.bytes.data(), &v, sizeof v);
    break;
  case DataType::Double: {
    double d = v;
    std::memcpy(t.bytes.data(), &d, sizeof d);
    break;
  }
  case DataType::Float16:
  case DataType::BFloat16: {
    uint16_t h =
        t.dtype == DataType::Float16 ? floatToHalf(v) : floatToBFloat16(v);
    std::memcpy(t.bytes.data(), &h, sizeof h);
    break;
  }
  default:
    llvm_unreachable("the exporter gates floating-point values only");
  }
}

/// One batch of a gated session: \p feeds (the batch's) end with
/// \p gateFeeds, one scalar per gate, rewritten before each run (the batch
/// itself is not copied).
class OrtGatedBatch final : public CalibrationProvider::GatedBatch {
public:
  OrtGatedBatch(OrtSession &session, ArrayRef<NamedTensor> feeds,
                MutableArrayRef<NamedTensor> gateFeeds,
                ArrayRef<std::string> sessionOutputs,
                ArrayRef<std::string> outputs)
      : session(session), feeds(feeds), gateFeeds(gateFeeds),
        sessionOutputs(sessionOutputs), outputs(outputs) {}

  Error run(ArrayRef<float> gateValues,
            CalibrationProvider::BatchFn fn) override {
    if (gateValues.size() != gateFeeds.size())
      return makeError("calibration: " + Twine(gateValues.size()) +
                       " gate values for " + Twine(gateFeeds.size()) +
                       " gates");
    for (size_t i = 0; i < gateFeeds.size(); ++i)
      setScalar(gateFeeds[i].tensor, gateValues[i]);
    return runProbes(session, feeds, sessionOutputs,
                     [&](const StringMap<OrtSession::TensorView> &byName) {
                       return callBatchFn(byName, outputs, fn);
                     });
  }

private:
  OrtSession &session;
  ArrayRef<NamedTensor> feeds;
  MutableArrayRef<NamedTensor> gateFeeds;
  ArrayRef<std::string> sessionOutputs, outputs;
};

/// Folds each tapped value into the accumulators of its requests as the
/// runtime makes it, and checks that every tap ran once per batch.
class AccumulatingSink final : public TapSink {
public:
  AccumulatingSink(MutableArrayRef<StatsAccumulator> acc,
                   ArrayRef<std::string> taps,
                   ArrayRef<SmallVector<size_t, 2>> tapAcc)
      : acc(acc), taps(taps), tapAcc(tapAcc), runs(taps.size()) {}
  ~AccumulatingSink() override { consumeError(std::move(err)); }

  bool tap(int64_t index, const OrtSession::TensorView &value) override {
    assert(index >= 0 && size_t(index) < taps.size() && "a tap we exported");
    assert(value.dtype == DataType::Float && "Tap takes float");
    if (runs[index]++)
      return fail(makeError("calibration: '" + taps[index] +
                            "' was tapped twice in one run"));
    for (size_t i : tapAcc[index])
      if (Error e = acc[i].add(reinterpret_cast<const float *>(value.data),
                               value.shape))
        return fail(std::move(e));
    return true;
  }

  void startBatch() { std::fill(runs.begin(), runs.end(), 0); }
  /// The reason a tap stopped the run, if one did.
  Error takeError() { return std::move(err); }
  /// Fails when a tap did not run (ORT skipped or folded it).
  Error finishBatch() {
    for (size_t i = 0; i < taps.size(); ++i)
      if (!runs[i])
        return makeError("calibration: the run gave no '" + taps[i] + "'");
    return Error::success();
  }

private:
  bool fail(Error e) {
    if (!err)
      err = std::move(e);
    else
      consumeError(std::move(e));
    return false;
  }

  MutableArrayRef<StatsAccumulator> acc;
  ArrayRef<std::string> taps;
  ArrayRef<SmallVector<size_t, 2>> tapAcc;
  std::vector<int> runs;
  Error err = Error::success();
};

} // namespace

Error OrtCalibrationProvider::run(const Model &m, ArrayRef<std::string> probes,
                                  const CalibrationSource &source, ProbeFn fn) {
  return forEachFeed(m, probes, /*gates=*/{}, /*taps=*/{}, nullptr, source,
                     [&](OrtSession &session, std::vector<NamedTensor> &feeds,
                         ArrayRef<std::string> outputs) {
                       return runProbes(session, feeds, outputs, fn);
                     });
}

Expected<std::vector<ActivationStats>>
OrtCalibrationProvider::collect(const Model &m, ArrayRef<StatRequest> requests,
                                const CalibrationSource &source) {
  std::vector<StatsAccumulator> acc;
  for (const StatRequest &r : requests) {
    std::vector<float> w;
    int64_t cols = 0;
    if (r.kind == StatRequest::Kind::BlockProjL1) {
      const Value *v = m.getGraph().lookup(r.weight);
      const Tensor *t = v ? v->getWeight() : nullptr;
      if (!t || t->getDims().size() != 2)
        return makeError("calibration: '" + r.weight +
                         "' is not a 2-D weight of the model");
      auto values = readAsDoubles(*t);
      if (!values)
        return values.takeError();
      w.assign(values->begin(), values->end());
      cols = t->getDims()[1];
    }
    acc.emplace_back(r, std::move(w), cols);
  }
  // Float node outputs are tapped, once for all the requests that name
  // them; anything else (a graph input, read from the batch, a weight, a
  // value of another or an unknown type) is a probe, an output of the run.
  std::vector<std::string> taps, probes;
  StringMap<unsigned> tapOf;
  std::vector<SmallVector<size_t, 2>> tapAcc;
  std::vector<size_t> probeAcc;
  for (size_t i = 0; i < acc.size(); ++i) {
    const std::string &name = acc[i].getRequest().value;
    const Value *v = m.getGraph().lookup(name);
    bool tappable = v && v->getProducer() && !v->isWeight() &&
                    v->getType().isTensor() &&
                    v->getType().elemType == DataType::Float;
    if (!tappable) {
      probeAcc.push_back(i);
      probes.push_back(name);
      continue;
    }
    auto [it, added] = tapOf.try_emplace(name, taps.size());
    if (added) {
      taps.push_back(name);
      tapAcc.emplace_back();
    }
    tapAcc[it->second].push_back(i);
  }
  AccumulatingSink sink(acc, taps, tapAcc);
  Error err = forEachFeed(
      m, probes, /*gates=*/{}, taps, &sink, source,
      [&](OrtSession &session, std::vector<NamedTensor> &feeds,
          ArrayRef<std::string> outputs) -> Error {
        sink.startBatch();
        Error e = runProbes(
            session, feeds, outputs,
            [&](const StringMap<OrtSession::TensorView> &byName) -> Error {
              // Float probes are read in place; others are converted once
              // per batch.
              StringMap<std::vector<float>> converted;
              for (size_t i : probeAcc) {
                const std::string &name = acc[i].getRequest().value;
                auto it = byName.find(name);
                if (it == byName.end())
                  return makeError("calibration: the run gave no '" + name +
                                   "'");
                const OrtSession::TensorView &t = it->second;
                const float *values;
                if (t.dtype == DataType::Float) {
                  values = reinterpret_cast<const float *>(t.data);
                } else {
                  auto f = converted.find(name);
                  if (f == converted.end())
                    f = converted.try_emplace(name, toFloats(t)).first;
                  values = f->second.data();
                }
                if (Error addErr = acc[i].add(values, t.shape))
                  return addErr;
              }
              return Error::success();
            });
        // The tap's reason, not ORT's wrapping of it.
        if (Error tapErr = sink.takeError()) {
          consumeError(std::move(e));
          return tapErr;
        }
        if (e)
          return e;
        return sink.finishBatch();
      });
  if (err)
    return std::move(err);
  std::vector<ActivationStats> out;
  for (StatsAccumulator &a : acc)
    out.push_back(a.take());
  return out;
}

Expected<std::vector<ActivationStats>>
OrtCalibrationProvider::collectReference(ArrayRef<StatRequest> requests,
                                         const CalibrationSource &source) {
  if (!reference) {
    if (referencePath.empty() && !referenceBytes)
      return makeError("the original model is needed, and it was read from "
                       "stdin: give it as a file");
    auto read = referencePath.empty()
                    ? readModelFromBuffer(
                          *referenceBytes, guessFormat("", *referenceBytes),
                          referenceBaseDir, "original model (in memory)")
                    : readModelFile(referencePath);
    if (!read)
      return read.takeError();
    fillTypes(**read);
    reference = std::move(*read);
  }
  return collect(*reference, requests, source);
}

Error OrtCalibrationProvider::forEachBatch(const Model &m,
                                           ArrayRef<std::string> outputs,
                                           const CalibrationSource &source,
                                           BatchFn fn) {
  return run(m, outputs, source,
             [&](const StringMap<OrtSession::TensorView> &byName) {
               return callBatchFn(byName, outputs, fn);
             });
}

Error OrtCalibrationProvider::forEachGatedBatch(
    const Model &m, ArrayRef<std::string> outputs, ArrayRef<std::string> gates,
    const CalibrationSource &source, function_ref<Error(GatedBatch &)> fn) {
  // The exporter names the gate inputs and checks the gates (a bad one fails
  // when the session is opened, before any batch).
  std::vector<GateNames> names = gateNames(m, gates);
  return forEachFeed(
      m, outputs, gates, /*taps=*/{}, nullptr, source,
      [&](OrtSession &session, std::vector<NamedTensor> &feeds,
          ArrayRef<std::string> sessionOutputs) {
        size_t first = feeds.size();
        for (size_t i = 0; i < gates.size(); ++i) {
          const Value *v = m.getGraph().lookup(gates[i]);
          assert(v && "the session was opened with this gate");
          feeds.push_back(
              {names[i].input, HostTensor::zeros(v->getType().elemType, {})});
        }
        OrtGatedBatch batch(
            session, feeds,
            MutableArrayRef<NamedTensor>(feeds).drop_front(first),
            sessionOutputs, outputs);
        return fn(batch);
      });
}

} // namespace onnxprune
