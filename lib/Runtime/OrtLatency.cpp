//===- OrtLatency.cpp - Latency measured in ONNX Runtime ------------------===//

#include "lib/Runtime/OrtLatency.h"

#include "frontends/onnx/ModelReader.h"
#include "frontends/onnx/ModelWriter.h"
#include "lib/Runtime/ModelSession.h"
#include "lib/Support/Error.h"

#include "llvm/ADT/ScopeExit.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

#include <chrono>
#include <ctime>
#include <thread>

using namespace llvm;

namespace onnxprune {

namespace {

RuntimeOptions runtimeOptions(const LatencyOptions &opts) {
  RuntimeOptions ro;
  ro.intraOpThreads = opts.threads;
  ro.interOpThreads = 1;
  // Users run with the default kernels; deterministic compute only picks
  // slower ones.
  ro.deterministicCompute = false;
  ro.denormalAsZero = true;
  return ro;
}

/// A model serialized when the snapshot was taken.
struct BytesSnapshot final : LatencySnapshot {
  std::string bytes;
};

/// One model ready to run: its session and inputs.
struct Runner {
  std::unique_ptr<OrtSession> session;
  std::vector<NamedTensor> feeds;

  Error open(LatencySubject subject, const LatencyOptions &opts,
             const RuntimeOptions &ro) {
    auto s =
        subject.model
            ? openModelSession(*subject.model, ro)
            : OrtSession::createFromBytes(
                  static_cast<const BytesSnapshot *>(subject.snapshot)->bytes,
                  ro);
    if (!s)
      return s.takeError();
    session = std::move(*s);
    RandomInputOptions rio;
    rio.seed = opts.seed;
    rio.batchDim = opts.batch;
    rio.otherDim = opts.otherDim;
    auto in = makeRandomInputs(session->getInputs(), rio);
    if (!in)
      return in.takeError();
    feeds = std::move(*in);
    return Error::success();
  }
  /// One run, outputs left in ORT's buffers; milliseconds of the calling
  /// thread's CPU time when \p cpuTime, else of wall time.
  Expected<double> run(bool cpuTime) {
    double start = now(cpuTime);
    if (Error e =
            session->runView(feeds, {}, [](ArrayRef<OrtSession::TensorView>) {
              return Error::success();
            }))
      return std::move(e);
    return now(cpuTime) - start;
  }
  static double now(bool cpuTime) {
    if (cpuTime) {
      timespec ts;
      clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
      return double(ts.tv_sec) * 1e3 + double(ts.tv_nsec) / 1e6;
    }
    std::chrono::duration<double, std::milli> d =
        std::chrono::steady_clock::now().time_since_epoch();
    return d.count();
  }
};

/// One intra-op thread runs every kernel on the calling thread (no pool),
/// so that thread's CPU time is the run's compute time, which other
/// processes preempting it on a shared machine do not inflate; with more
/// threads only wall time says how long a run took.
bool usesCpuTime(const LatencyOptions &opts) { return opts.threads == 1; }

Error checkOptions(const LatencyOptions &opts) {
  if (opts.threads < 0 || opts.runs < 1 || opts.warmup < 0)
    return makeError("latency: threads must be >= 0, runs >= 1 and warm-up "
                     ">= 0");
  return Error::success();
}

} // namespace

std::string OrtLatencyProvider::describe(const LatencyOptions &opts) const {
  std::string version = "?";
  if (auto v = OrtSession::getRuntimeVersion())
    version = *v;
  else
    consumeError(v.takeError());
  std::string threads =
      opts.threads == 0
          ? "all threads (" +
                std::to_string(std::thread::hardware_concurrency()) + " cores)"
          : std::to_string(opts.threads) +
                (opts.threads == 1 ? " thread" : " threads");
  return "ONNX Runtime " + version + ", CPU, " + threads +
         (usesCpuTime(opts) ? " (thread CPU time)" : " (wall time)");
}

Expected<std::vector<LatencyMeasurement>>
OrtLatencyProvider::measure(ArrayRef<LatencySubject> models,
                            const LatencyOptions &opts) {
  if (Error e = checkOptions(opts))
    return std::move(e);
  RuntimeOptions ro = runtimeOptions(opts);
  bool cpuTime = usesCpuTime(opts);
  std::vector<Runner> runners(models.size());
  auto which = [&](size_t i) {
    return models.size() == 1 ? std::string("latency")
                              : "latency of model " + std::to_string(i + 1);
  };
  for (size_t i = 0; i < models.size(); ++i)
    if (Error e = runners[i].open(models[i], opts, ro))
      return addContext(std::move(e), which(i));
  for (int w = 0; w < opts.warmup; ++w)
    for (size_t i = 0; i < runners.size(); ++i)
      if (auto t = runners[i].run(cpuTime); !t)
        return addContext(t.takeError(), which(i));
  std::vector<std::vector<double>> samples(models.size());
  for (int r = 0; r < opts.runs; ++r)
    for (size_t k = 0; k < runners.size(); ++k) {
      // The first model of a round rotates: none always runs right after
      // the same neighbour (caches, frequency steps).
      size_t i = (k + size_t(r)) % runners.size();
      auto t = runners[i].run(cpuTime);
      if (!t)
        return addContext(t.takeError(), which(i));
      samples[i].push_back(*t);
    }
  std::vector<LatencyMeasurement> out;
  for (auto &s : samples)
    out.push_back(summarize(std::move(s)));
  return out;
}

Expected<std::unique_ptr<LatencySnapshot>>
OrtLatencyProvider::snapshot(const Model &m) {
  auto bytes = serializeModel(m);
  if (!bytes)
    return addContext(bytes.takeError(), "latency: cannot keep a copy of the "
                                         "model to compare with");
  auto s = std::make_unique<BytesSnapshot>();
  s->bytes = std::move(*bytes);
  return std::unique_ptr<LatencySnapshot>(std::move(s));
}

Expected<std::unique_ptr<Model>>
OrtLatencyProvider::restore(const LatencySnapshot &s) {
  return readModelFromBuffer(static_cast<const BytesSnapshot &>(s).bytes,
                             ModelFormat::Binary, "", "latency snapshot");
}

Expected<std::vector<OpLatency>>
OrtLatencyProvider::profile(const Model &m, const LatencyOptions &opts) {
  if (Error e = checkOptions(opts))
    return std::move(e);
  SmallString<128> dir;
  if (std::error_code ec =
          sys::fs::createUniqueDirectory("onnx-prune-profile", dir))
    return makeError("cannot create a temporary folder: " + ec.message());
  auto removeDir = make_scope_exit([&] { sys::fs::remove_directories(dir); });
  RuntimeOptions ro = runtimeOptions(opts);
  SmallString<128> prefix(dir);
  sys::path::append(prefix, "profile");
  ro.profilePrefix = std::string(prefix);
  std::string path;
  {
    Runner runner;
    if (Error e = runner.open(LatencySubject(&m), opts, ro))
      return addContext(std::move(e), "latency profile");
    for (int r = 0; r < opts.warmup + opts.runs; ++r)
      if (auto t = runner.run(false); !t)
        return addContext(t.takeError(), "latency profile");
    auto p = runner.session->endProfiling();
    if (!p)
      return p.takeError();
    path = *p;
  }
  auto buf = MemoryBuffer::getFile(path);
  if (!buf)
    return makeError("cannot read ONNX Runtime's profile '" + path +
                     "': " + buf.getError().message());
  auto json = json::parse((*buf)->getBuffer());
  if (!json)
    return addContext(json.takeError(), "ONNX Runtime's profile");
  const json::Array *events = json->getAsArray();
  if (!events)
    return makeError("ONNX Runtime's profile is not a JSON array of events");
  // Kernel time of every node, run by run, in the order the runs came; the
  // warm-up runs come first.
  StringMap<std::pair<std::string, std::vector<double>>> byNode;
  std::vector<std::string> order;
  for (const json::Value &ev : *events) {
    const json::Object *o = ev.getAsObject();
    if (!o)
      continue;
    auto cat = o->getString("cat");
    if (!cat || *cat != "Node")
      continue;
    StringRef name = o->getString("name").getValueOr("");
    if (!name.consume_back("_kernel_time"))
      continue;
    double dur = o->getNumber("dur").getValueOr(0) / 1000.0; // us -> ms
    std::string op;
    if (const json::Object *args = o->getObject("args"))
      op = args->getString("op_name").getValueOr("").str();
    auto [it, inserted] = byNode.try_emplace(name);
    if (inserted)
      order.push_back(name.str());
    it->second.first = op;
    it->second.second.push_back(dur);
  }
  std::vector<OpLatency> out;
  for (const std::string &n : order) {
    auto &[op, durs] = byNode[n];
    size_t skip =
        std::min<size_t>(opts.warmup, durs.size() > 1 ? durs.size() - 1 : 0);
    std::vector<double> timed(durs.begin() + skip, durs.end());
    out.push_back({n, op, medianOf(std::move(timed))});
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const OpLatency &a, const OpLatency &b) {
                     if (a.median != b.median)
                       return a.median > b.median;
                     return a.node < b.node;
                   });
  return out;
}

} // namespace onnxprune
