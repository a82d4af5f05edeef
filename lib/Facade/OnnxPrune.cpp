//===- OnnxPrune.cpp - The C++ library facade -----------------------------===//
///
/// \file
/// onnxprune/OnnxPrune.h on top of the frontend, the pass builder and the
/// runtime, in the order of work of tools/onnx-prune (read, record the
/// original counts, open calibration data, run, write). llvm::Error stops
/// here and becomes a Status with the tool's one-line message.
///
//===----------------------------------------------------------------------===//

#include "onnxprune/OnnxPrune.h"

#include "frontends/onnx/ModelReader.h"
#include "frontends/onnx/ModelWriter.h"
#include "lib/Facade/FacadeInternal.h"
#include "lib/IR/Graph.h"
#include "lib/IR/Model.h"
#include "lib/IR/Node.h"
#include "lib/IR/Tensor.h"
#include "lib/Report/HtmlReport.h"
#include "lib/Report/RunSummary.h"
#include "lib/Support/Error.h"
#include "lib/Support/Parallel.h"
#include "passes/Analysis/DepGraph.h"
#include "passes/Analysis/StatsAnalysis.h"
#include "passes/OpHandlers/ShapeInference.h"
#include "passes/PassManager.h"
#include "passes/Pipeline/PassBuilder.h"
#ifdef ONNXPRUNE_HAVE_ORT
#include "lib/Runtime/CalibrationData.h"
#include "lib/Runtime/OrtCalibration.h"
#include "lib/Runtime/OrtLatency.h"
#include "lib/Runtime/OrtSession.h"
#include "passes/Analysis/Latency.h"
#endif

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/raw_ostream.h"

#include <exception>

#ifndef ONNXPRUNE_VERSION
#define ONNXPRUNE_VERSION "unknown"
#endif

using namespace llvm;

namespace onnxprune {
namespace api {

// ElementType (public) mirrors DataType (lib/IR/Type.h): both are ONNX's
// TensorProto numbers, converted by a cast.
static_assert(int(ElementType::Float) == int(DataType::Float) &&
                  int(ElementType::UInt8) == int(DataType::UInt8) &&
                  int(ElementType::Int64) == int(DataType::Int64) &&
                  int(ElementType::Bool) == int(DataType::Bool) &&
                  int(ElementType::Float16) == int(DataType::Float16) &&
                  int(ElementType::Double) == int(DataType::Double) &&
                  int(ElementType::BFloat16) == int(DataType::BFloat16),
              "ElementType must keep ONNX's numbering");

struct Model::Impl {
  std::unique_ptr<onnxprune::Model> model;
};

const char *version() { return ONNXPRUNE_VERSION; }

//===----------------------------------------------------------------------===//
// Errors
//===----------------------------------------------------------------------===//

Status toStatus(Error err, bool inputError) {
  if (!err)
    return Status();
  std::string msg = oneLine(toString(std::move(err)));
  return inputError ? Status::inputErrorOf(std::move(msg))
                    : Status::error(std::move(msg));
}

/// Runs \p fn and turns an escaping exception (libonnx, protobuf and the
/// standard library may throw past the frontend's guards) into a Status,
/// so that nothing crosses the library boundary.
template <typename Fn> Status guarded(Fn fn) {
  try {
    return fn();
  } catch (const std::exception &e) {
    return Status::error(std::string("unexpected exception: ") + e.what());
  } catch (...) {
    return Status::error("unexpected exception");
  }
}

//===----------------------------------------------------------------------===//
// Options
//===----------------------------------------------------------------------===//

std::vector<std::string> Options::keys() {
  return {"calibration",
          "calibration-samples",
          "calibration-batch",
          "threads",
          "calibration-threads",
          "report",
          "verify-each",
          "external-data",
          "external-data-file",
          "text",
          "base-dir"};
}

static Status parseBool(const std::string &key, const std::string &value,
                        bool &out) {
  std::string v = StringRef(value).lower();
  if (v == "true" || v == "1") {
    out = true;
    return Status();
  }
  if (v == "false" || v == "0") {
    out = false;
    return Status();
  }
  return Status::inputErrorOf("option '" + key +
                              "': expected true or false, got '" + value + "'");
}

static Status parseInt(const std::string &key, const std::string &value,
                       int64_t min, int64_t &out) {
  int64_t v;
  if (StringRef(value).trim().getAsInteger(10, v) || v < min)
    return Status::inputErrorOf(
        "option '" + key + "': expected an integer >= " + std::to_string(min) +
        ", got '" + value + "'");
  out = v;
  return Status();
}

Status Options::set(const std::string &key, const std::string &value) {
  if (key == "calibration")
    calibration = value;
  else if (key == "calibration-samples")
    return parseInt(key, value, 0, calibrationSamples);
  else if (key == "calibration-batch")
    return parseInt(key, value, 1, calibrationBatch);
  else if (key == "threads")
    return parseInt(key, value, 0, threads);
  else if (key == "calibration-threads")
    return parseInt(key, value, 0, calibrationThreads);
  else if (key == "report")
    report = value;
  else if (key == "verify-each")
    return parseBool(key, value, verifyEach);
  else if (key == "external-data") {
    if (!value.empty())
      if (Expected<uint64_t> size = parseSizeOption(value); !size)
        return toStatus(size.takeError(), /*inputError=*/true);
    externalData = value;
  } else if (key == "external-data-file")
    externalDataFile = value;
  else if (key == "text")
    return parseBool(key, value, text);
  else if (key == "base-dir")
    baseDir = value;
  else
    return Status::inputErrorOf("unknown option '" + key +
                                "' (known: " + join(keys(), ", ") + ")");
  return Status();
}

//===----------------------------------------------------------------------===//
// Model
//===----------------------------------------------------------------------===//

Model::Model() = default;
Model::~Model() = default;
Model::Model(Model &&) noexcept = default;
Model &Model::operator=(Model &&) noexcept = default;

onnxprune::Model *Model::ir() { return impl ? impl->model.get() : nullptr; }

static TensorDesc describe(const Value &v) {
  TensorDesc d;
  d.name = v.getName();
  const Type &t = v.getType();
  d.type = static_cast<ElementType>(t.elemType);
  if (t.hasRank())
    for (const Dim &dim : *t.shape)
      d.shape.push_back(dim.isStatic() ? dim.value : -1);
  return d;
}

std::vector<TensorDesc> Model::inputs() const {
  std::vector<TensorDesc> out;
  if (impl)
    for (const Value *v : impl->model->getGraph().getInputs())
      if (!v->isWeight())
        out.push_back(describe(*v));
  return out;
}

std::vector<TensorDesc> Model::outputs() const {
  std::vector<TensorDesc> out;
  if (impl)
    for (const Value *v : impl->model->getGraph().getOutputs())
      out.push_back(describe(*v));
  return out;
}

Status Model::load(const std::string &path, Model &out) {
  return guarded([&] {
    Expected<std::unique_ptr<onnxprune::Model>> m = readModelFile(path);
    if (!m)
      return toStatus(m.takeError(), /*inputError=*/true);
    fillTypes(**m);
    out.impl = std::make_unique<Impl>();
    out.impl->model = std::move(*m);
    return Status();
  });
}

Status Model::fromBytes(std::string bytes, Model &out,
                        const std::string &baseDir) {
  return guarded([&] {
    if (bytes.empty())
      return Status::inputErrorOf("model bytes: empty buffer");
    // Kept for check-numerics and reference runs (Model::sourceBytes).
    auto kept = std::make_shared<const std::string>(std::move(bytes));
    // Whole bytes: text models may open with a long block of # comments.
    ModelFormat format = guessFormat("", *kept);
    Expected<std::unique_ptr<onnxprune::Model>> m =
        readModelFromBuffer(*kept, format, baseDir, "model bytes");
    if (!m)
      return toStatus(m.takeError(), /*inputError=*/true);
    fillTypes(**m);
    (*m)->sourceBytes = std::move(kept);
    out.impl = std::make_unique<Impl>();
    out.impl->model = std::move(*m);
    return Status();
  });
}

static Status needModel(const Model &m) {
  return m.valid() ? Status()
                   : Status::inputErrorOf("no model (load one first)");
}

Status Model::toBytes(std::string &out) const {
  if (Status s = needModel(*this); !s)
    return s;
  return guarded([&] {
    Expected<std::string> bytes = serializeModel(*impl->model);
    if (!bytes)
      return toStatus(bytes.takeError(), false);
    out = std::move(*bytes);
    return Status();
  });
}

Status Model::save(const std::string &path, const Options &opts) const {
  if (Status s = needModel(*this); !s)
    return s;
  return guarded([&] {
    WriteOptions w;
    if (opts.text || StringRef(path).endswith(".onnxtext"))
      w.format = ModelFormat::Text;
    if (!opts.externalData.empty()) {
      Expected<uint64_t> size = parseSizeOption(opts.externalData);
      if (!size)
        return toStatus(size.takeError(), true);
      w.externalThreshold = *size;
    }
    w.externalFileName = opts.externalDataFile;
    return toStatus(writeModelFile(*impl->model, path, w), false);
  });
}

Status Model::infer(const std::vector<Array> &inputs,
                    std::vector<Array> &outputs) const {
  if (Status s = needModel(*this); !s)
    return s;
#ifdef ONNXPRUNE_HAVE_ORT
  return guarded([&] {
    Expected<std::string> bytes = serializeModel(*impl->model);
    if (!bytes)
      return toStatus(bytes.takeError(), false);
    auto session = OrtSession::createFromBytes(*bytes);
    if (!session)
      return toStatus(session.takeError(), false);
    std::vector<NamedTensor> feeds;
    for (const Array &a : inputs) {
      NamedTensor t;
      t.name = a.name;
      t.tensor.dtype = static_cast<DataType>(a.type);
      t.tensor.shape = a.shape;
      t.tensor.bytes.assign(a.data.begin(), a.data.end());
      if (Error err = validateHostTensor(t.tensor, "input '" + a.name + "'"))
        return toStatus(std::move(err), true);
      feeds.push_back(std::move(t));
    }
    auto outs = (*session)->run(feeds);
    if (!outs)
      return toStatus(outs.takeError(), false);
    outputs.clear();
    for (NamedTensor &t : *outs) {
      Array a;
      a.name = t.name;
      a.type = static_cast<ElementType>(t.tensor.dtype);
      a.shape = t.tensor.shape;
      a.data.assign(t.tensor.bytes.begin(), t.tensor.bytes.end());
      outputs.push_back(std::move(a));
    }
    return Status();
  });
#else
  return Status::error("infer needs a build with ONNX Runtime");
#endif
}

static Counts toCounts(const ModelStats &s) {
  Counts c;
  c.nodes = s.numNodes;
  c.params = s.numParams;
  c.flops = s.flops;
  c.flopsExact = s.flopsExact;
  c.weightBytes = s.weightBytes;
  return c;
}

Counts Model::counts() const {
  return impl ? toCounts(computeStats(*impl->model)) : Counts();
}

Status Model::coverage(Coverage &out) {
  if (Status s = needModel(*this); !s)
    return s;
  return guarded([&] {
    Expected<DepGraph> dg = buildDepGraph(*impl->model);
    if (!dg)
      return toStatus(dg.takeError(), false);
    out = Coverage();
    out.groups = dg->getGroups().size();
    for (const DepGraph::Group &g : dg->getGroups()) {
      out.prunableUnits += g.numPrunable;
      out.prunableGroups += g.numPrunable > 0;
    }
    out.params = dg->getTotalParams();
    out.prunableParams = dg->getPrunableParams();
    out.frozen = dg->freezeCounts;
    out.unhandledOps = dg->unhandledOps;
    return Status();
  });
}

//===----------------------------------------------------------------------===//
// Running a pipeline, and the report
//===----------------------------------------------------------------------===//

/// The library's Report from the run's summary.
static void fillReport(const RunSummary &sum, Report &r) {
  r.pipeline = sum.pipeline;
  r.before = toCounts(sum.before);
  r.after = toCounts(sum.after);
  r.removedNodes = sum.removedNodes;
  r.removedWeights = sum.removedWeights;
  for (const RunSummary::Sliced &c : sum.slicedWeights)
    r.slicedWeights.push_back({c.tensor, c.before, c.after});
  for (const GroupWidthRow &g : sum.groups)
    r.groups.push_back(
        {g.group, g.tensor, g.axis, g.unitWidth, g.before, g.after});
}

Status Model::run(const std::string &pipeline, const Options &opts,
                  Report *report) {
  if (Status s = needModel(*this); !s)
    return s;
  return guarded([&]() -> Status {
    onnxprune::Model &model = *impl->model;
    std::string log;
    raw_string_ostream logStream(log);
    PassBuilder pb(&logStream);
    addPluginPassCallbacks(pb);
    ModelPassManager mpm;
    if (Error err = pb.parsePassPipeline(mpm, pipeline))
      return toStatus(std::move(err), true);

    ModelStats before = computeStats(model);
    // Budgets are relative to the model as it is now (the tool: as read).
    originalCounts(model, &before);
    std::optional<ReportCollector> collector;
    if (report || !opts.report.empty()) {
      Expected<ReportCollector> c = ReportCollector::start(model);
      if (!c)
        return toStatus(c.takeError(), false);
      collector = std::move(*c);
    }
    // As the tool's -j: process-wide, for scoring and slicing; the output
    // is the same for any number.
    setThreadCount(static_cast<unsigned>(opts.threads));

    ModelAnalysisManager mam;
#ifdef ONNXPRUNE_HAVE_ORT
    OrtCalibrationOptions calOpts;
    calOpts.batch = opts.calibrationBatch;
    calOpts.samples = opts.calibrationSamples;
    calOpts.progress = false;
    calOpts.runtime.intraOpThreads = static_cast<int>(
        opts.calibrationThreads ? opts.calibrationThreads : getThreadCount());
    if (!opts.calibration.empty() && !opts.calibrationArrays.empty())
      return Status::inputErrorOf("calibration: give a path or arrays, not "
                                  "both");
    Expected<std::unique_ptr<OrtCalibrationProvider>> provider =
        opts.calibrationArrays.empty()
            ? OrtCalibrationProvider::create(model, opts.calibration, calOpts)
            : [&]() -> Expected<std::unique_ptr<OrtCalibrationProvider>> {
      std::vector<NamedTensor> arrays;
      for (const Array &a : opts.calibrationArrays) {
        NamedTensor t;
        t.name = a.name;
        t.tensor.dtype = static_cast<DataType>(a.type);
        t.tensor.shape = a.shape;
        t.tensor.bytes.assign(a.data.begin(), a.data.end());
        arrays.push_back(std::move(t));
      }
      auto data = CalibrationData::fromArrays("calibration arrays", arrays,
                                              describeModelInputs(model));
      if (!data)
        return data.takeError();
      return OrtCalibrationProvider::create(model, std::move(*data), calOpts);
    }();
    if (!provider)
      return toStatus(provider.takeError(), true);
    mam.registerAnalysis(CalibrationAnalysis(
        std::shared_ptr<CalibrationProvider>(std::move(*provider))));
    // print<latency> and prune-width<latency=R> time on ORT, as in the tool
    // (one thread, 30 runs by default; prune-width's latency-threads=N
    // overrides the threads of its own timings).
    auto latency = std::make_shared<OrtLatencyProvider>();
    mam.registerAnalysis(LatencyProviderAnalysis(latency, LatencyOptions()));
#else
    if (!opts.calibration.empty() || !opts.calibrationArrays.empty())
      return Status::inputErrorOf("calibration needs a build with ONNX "
                                  "Runtime (-DONNXPRUNE_ENABLE_ORT=ON)");
#endif
    pb.registerAnalyses(mam);
    if (collector)
      collector->registerWith(mam);
    if (opts.verifyEach)
      mpm.setVerifyEach(makeModelVerifier());
    Expected<PreservedAnalyses> pa = mpm.run(model, mam);
    logStream.flush();
    if (!pa)
      return toStatus(pa.takeError(), false);

    if (collector) {
      std::string text;
      raw_string_ostream os(text);
      mpm.printPipeline(os);
      os.flush();
      RunSummary sum = collector->finish(model, std::move(text));
      sum.title = reportTitle(model.sourcePath);
      if (!opts.report.empty())
        if (Error err = writeReport(opts.report, sum))
          return toStatus(std::move(err), false);
      if (report) {
        *report = Report();
        fillReport(sum, *report);
        report->log = std::move(log);
#ifdef ONNXPRUNE_HAVE_ORT
        // Latency budgets met in the run, predicted and measured (the tool
        // prints these lines with --stats).
        for (const std::string &line : latency->reports)
          report->log += line + "\n";
#endif
      }
    }
    return Status();
  });
}

//===----------------------------------------------------------------------===//
// Report JSON
//===----------------------------------------------------------------------===//

static json::Value countsJson(const Counts &c) {
  return json::Object{{"nodes", int64_t(c.nodes)},
                      {"params", int64_t(c.params)},
                      {"flops", int64_t(c.flops)},
                      {"flops_exact", c.flopsExact},
                      {"weight_bytes", int64_t(c.weightBytes)}};
}

std::string Report::toJson() const {
  json::Array groupsJson;
  for (const GroupWidth &g : groups)
    groupsJson.push_back(json::Object{{"group", int64_t(g.group)},
                                      {"tensor", g.tensor},
                                      {"axis", int64_t(g.axis)},
                                      {"unit_width", g.unitWidth},
                                      {"before", g.before},
                                      {"after", g.after}});
  json::Array sliced;
  for (const ShapeChange &c : slicedWeights)
    sliced.push_back(json::Object{{"tensor", c.tensor},
                                  {"before", json::Array(c.before)},
                                  {"after", json::Array(c.after)}});
  json::Object o{{"schema", "onnxprune.report"},
                 {"version", int64_t(kReportSchemaVersion)},
                 {"pipeline", pipeline},
                 {"before", countsJson(before)},
                 {"after", countsJson(after)},
                 {"removed_nodes", json::Array(removedNodes)},
                 {"removed_weights", json::Array(removedWeights)},
                 {"sliced_weights", std::move(sliced)},
                 {"groups", std::move(groupsJson)},
                 {"log", log}};
  std::string out;
  raw_string_ostream os(out);
  os << json::Value(std::move(o));
  return os.str();
}

std::string Coverage::toJson() const {
  json::Object frozenJson, unhandledJson;
  for (auto &[why, n] : frozen)
    frozenJson[why] = int64_t(n);
  for (auto &[op, n] : unhandledOps)
    unhandledJson[op] = int64_t(n);
  json::Object o{{"groups", int64_t(groups)},
                 {"prunable_groups", int64_t(prunableGroups)},
                 {"prunable_units", int64_t(prunableUnits)},
                 {"params", int64_t(params)},
                 {"prunable_params", int64_t(prunableParams)},
                 {"frozen", std::move(frozenJson)},
                 {"unhandled_ops", std::move(unhandledJson)}};
  std::string out;
  raw_string_ostream os(out);
  os << json::Value(std::move(o));
  return os.str();
}

} // namespace api
} // namespace onnxprune
