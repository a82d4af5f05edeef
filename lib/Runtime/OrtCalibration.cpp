//===- OrtCalibration.cpp - Calibration statistics on ONNX Runtime --------===//
///
/// \file
/// Runs a model with probe outputs over calibration batches and folds the
/// probes into StatsAccumulators. See OrtCalibration.h.
///
//===----------------------------------------------------------------------===//

#include "lib/Runtime/OrtCalibration.h"

#include "frontends/onnx/ModelReader.h"
#include "lib/IR/Graph.h"
#include "lib/IR/Tensor.h"
#include "lib/Runtime/ModelSession.h"
#include "lib/Support/Error.h"
#include "lib/Support/SplitMix.h"

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
  if (!path.empty()) {
    auto data = CalibrationData::open(path, describeModelInputs(m));
    if (!data)
      return data.takeError();
    if (opts.samples > 0)
      data->limitSamples(opts.samples);
    if (data->getNumSamples() == 0)
      return makeError("calibration data '" + path + "': no whole batch of " +
                       Twine(data->getFixedBatch()) +
                       " samples (the model fixes its batch size)");
    p->data.emplace(std::move(*data));
  }
  return std::move(p);
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

/// Samples, rate and ETA on one terminal line.
class Progress {
public:
  Progress(bool on, int64_t total) : on(on), total(total) {}
  ~Progress() {
    if (on && shown)
      errs() << "\n";
  }
  void update(int64_t done) {
    if (!on)
      return;
    double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
            .count();
    double rate = secs > 0 ? done / secs : 0;
    errs() << "\rcalibration: " << done << "/" << total << " samples, "
           << format("%.1f", rate) << " samples/s, ETA "
           << format("%.0f", rate > 0 ? (total - done) / rate : 0.0) << " s ";
    shown = true;
  }

private:
  bool on;
  int64_t total;
  bool shown = false;
  std::chrono::steady_clock::time_point start =
      std::chrono::steady_clock::now();
};

} // namespace

Error OrtCalibrationProvider::run(const Model &m, ArrayRef<std::string> probes,
                                  const CalibrationSource &source, ProbeFn fn) {
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
  auto session = openModelSession(m, opts.runtime, outputs);
  if (!session)
    return addContext(session.takeError(), "calibration: cannot load the model "
                                           "with its probes in ONNX Runtime");
  int64_t total = gaussian ? source.samples : data->getNumSamples();
  int64_t batch =
      !gaussian && data->getFixedBatch() ? data->getFixedBatch() : opts.batch;
  Progress progress(
      opts.progress.value_or(llvm::sys::Process::StandardErrIsDisplayed()),
      total);
  for (int64_t begin = 0; begin < total; begin += batch) {
    int64_t end = std::min(total, begin + batch);
    std::vector<NamedTensor> feeds;
    if (gaussian) {
      RandomInputOptions ro;
      ro.seed = source.seed + uint64_t(begin);
      ro.batchDim = end - begin;
      auto r = makeRandomInputs((*session)->getInputs(), ro);
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
    Error e = (*session)->runView(
        feeds, outputs, [&](ArrayRef<OrtSession::TensorView> outs) {
          StringMap<OrtSession::TensorView> byName;
          for (const NamedTensor &f : feeds)
            byName[f.name] = {f.name, f.tensor.dtype, f.tensor.shape,
                              f.tensor.bytes.data(), f.tensor.bytes.size()};
          for (const OrtSession::TensorView &o : outs)
            byName[o.name] = o;
          return fn(byName);
        });
    if (e)
      return addContext(std::move(e), "calibration: samples " + Twine(begin) +
                                          ".." + Twine(end));
    progress.update(end);
  }
  return Error::success();
}

Expected<std::vector<ActivationStats>>
OrtCalibrationProvider::collect(const Model &m, ArrayRef<StatRequest> requests,
                                const CalibrationSource &source) {
  std::vector<StatsAccumulator> acc;
  std::vector<std::string> probes;
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
    probes.push_back(r.value);
  }
  Error err =
      run(m, probes, source,
          [&](const StringMap<OrtSession::TensorView> &byName) -> Error {
            // Float probes are read in place; others are converted once per
            // batch.
            StringMap<std::vector<float>> converted;
            for (StatsAccumulator &a : acc) {
              const std::string &name = a.getRequest().value;
              auto it = byName.find(name);
              if (it == byName.end())
                return makeError("calibration: the run gave no '" + name + "'");
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
              if (Error e = a.add(values, t.shape))
                return e;
            }
            return Error::success();
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
    if (referencePath.empty())
      return makeError("the original model is needed, and it was read from "
                       "stdin: give it as a file");
    auto read = readModelFile(referencePath);
    if (!read)
      return read.takeError();
    reference = std::move(*read);
  }
  return collect(*reference, requests, source);
}

Error OrtCalibrationProvider::forEachBatch(const Model &m,
                                           ArrayRef<std::string> outputs,
                                           const CalibrationSource &source,
                                           BatchFn fn) {
  return run(m, outputs, source,
             [&](const StringMap<OrtSession::TensorView> &byName) -> Error {
               std::vector<std::vector<float>> values;
               std::vector<std::vector<int64_t>> shapes;
               for (const std::string &name : outputs) {
                 auto it = byName.find(name);
                 if (it == byName.end())
                   return makeError("calibration: the run gave no '" + name +
                                    "'");
                 values.push_back(toFloats(it->second));
                 shapes.push_back(it->second.shape);
               }
               return fn(values, shapes);
             });
}

} // namespace onnxprune
