//===- onnx-prune.cpp - The onnx-prune driver -----------------------------===//
///
/// \file
/// The opt-style driver, kept thin (llvm/tools/opt/NewPMDriver.cpp's order
/// of work): parse options, build the pipeline from -passes, read the model
/// (and record its counts: every budget is relative to the file as read),
/// run the pipeline, write the model. Every failure becomes exactly one line
/// `onnx-prune: error: <message>` on stderr and exit code 1; no partial
/// output file is left (the writer replaces files atomically).
///
/// \code
///   onnx-prune in.onnx -passes='print<stats>,dce' -o out.onnx --stats
///   onnx-prune - -passes=dce -S -o -          (stdin to text on stdout)
///   onnx-prune --list-passes
/// \endcode
///
//===----------------------------------------------------------------------===//

#include "frontends/onnx/ModelReader.h"
#include "frontends/onnx/ModelWriter.h"
#include "lib/Facade/FacadeInternal.h"
#include "lib/IR/IRVerifier.h"
#include "lib/Report/HtmlReport.h"
#include "lib/Report/RunSummary.h"
#include "lib/Support/Error.h"
#include "lib/Support/OutputFile.h"
#include "lib/Support/Parallel.h"
#include "lib/Support/Progress.h"
#include "passes/Analysis/Calibration.h"
#include "passes/Analysis/DepGraph.h"
#include "passes/Analysis/StatsAnalysis.h"
#include "passes/OpHandlers/ShapeInference.h"
#include "passes/PassManager.h"
#include "passes/Pipeline/PassBuilder.h"
#include "passes/StandardInstrumentations.h"
#ifdef ONNXPRUNE_HAVE_ORT
#include "lib/Runtime/OrtCalibration.h"
#include "lib/Runtime/OrtLatency.h"
#endif

#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/ErrorHandling.h"
#include "llvm/Support/WithColor.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdio>
#include <cstring>
#include <exception>
#include <optional>
#include <string>
#include <unistd.h>

#ifndef ONNXPRUNE_VERSION
#define ONNXPRUNE_VERSION "unknown"
#endif

using namespace llvm;
using namespace onnxprune;

namespace {

constexpr const char *toolName = "onnx-prune";

/// Prints the one error line the tool promises and returns the exit code.
int reportError(StringRef msg) {
  errs() << toolName << ": error: " << oneLine(msg) << '\n';
  errs().flush();
  return 1;
}

int reportError(Error err) {
  std::string msg = toString(std::move(err));
  return reportError(msg);
}

/// The tool's options. libLLVM registers ~2000 options of its own (some
/// with our names: -stats, -time-passes, -print-pipeline-passes), so they
/// are removed from the parser first and ours are created afterwards.
struct ToolOptions {
  cl::OptionCategory category{"onnx-prune options"};

  cl::opt<std::string> input{cl::Positional,
                             cl::desc("<input model: .onnx, .onnxtext, or - "
                                      "for stdin>"),
                             cl::init(""), cl::cat(category)};
  cl::opt<std::string> passes{
      "passes",
      cl::desc("The pipeline to run, e.g. 'print<stats>,dce' (see "
               "--list-passes)"),
      cl::value_desc("pipeline"), cl::init(""), cl::cat(category)};
  cl::opt<std::string> output{
      "o",
      cl::desc("Write the model here ('-' for stdout); without -o nothing "
               "is written"),
      cl::value_desc("file"), cl::init(""), cl::cat(category)};
  cl::opt<bool> textOutput{"S",
                           cl::desc("Write the ONNX text format (also "
                                    "chosen by a .onnxtext output name)"),
                           cl::cat(category)};
  cl::opt<std::string> externalData{
      "external-data",
      cl::desc("Store tensors of at least this size in an external data "
               "file: bytes, or with a unit K/KB/KiB, M/MB/MiB, G/GB/GiB "
               "(powers of 1024), e.g. 1024 or 1MB. Default: keep each "
               "tensor where it was"),
      cl::value_desc("size"), cl::init(""), cl::cat(category)};
  cl::opt<std::string> externalDataFile{
      "external-data-file",
      cl::desc("Name of the external data file, relative to the output "
               "(default: <output name>.data)"),
      cl::value_desc("name"), cl::init(""), cl::cat(category)};
  cl::opt<bool> verifyEach{
      "verify-each",
      cl::desc("Verify the model (IR structure and ONNX checker) after "
               "every pass that changed it"),
      cl::cat(category)};
  cl::opt<bool> stats{"stats",
                      cl::desc("Print node, parameter and FLOP counts "
                               "before and after the pipeline to stderr"),
                      cl::cat(category)};
  cl::opt<std::string> report{
      "report",
      cl::desc("After the pipeline, write a report people look at: a "
               "self-contained HTML page (sizes before and after, the width "
               "of every layer, each group's scores and cut, depth units "
               "dropped, frozen spaces and why), or, for a name ending in "
               ".svg, the per-layer width chart alone"),
      cl::value_desc("file.html|file.svg"), cl::init(""), cl::cat(category)};
  cl::opt<bool> coverage{
      "coverage",
      cl::desc("Print, before the pipeline, the share of parameters in "
               "prunable dependency groups and the ops and rules that froze "
               "the rest (the summary of print<dep-groups>) to stderr"),
      cl::cat(category)};
  cl::opt<std::string> calibration{
      "calibration",
      cl::desc("Calibration data for data-driven criteria and repair passes "
               "(obs, amp, wanda, recalibrate-bn): a .npz of arrays named "
               "after the graph inputs (axis 0 = samples), a .npy for "
               "one-input models, or an ONNX test-data folder "
               "(test_data_set_N/input_K.pb)"),
      cl::value_desc("path"), cl::init(""), cl::cat(category)};
  cl::opt<int64_t> calibrationSamples{
      "calibration-samples",
      cl::desc("Use only the first N calibration samples (default: all)"),
      cl::value_desc("N"), cl::init(0), cl::cat(category)};
  cl::opt<int64_t> calibrationBatch{
      "calibration-batch",
      cl::desc("Samples per calibration run (default 32; a model with a "
               "static batch dim fixes it)"),
      cl::value_desc("B"), cl::init(32), cl::cat(category)};
  cl::opt<unsigned> threads{
      "j",
      cl::desc("Threads for scoring and slicing weights, and for ONNX "
               "Runtime's calibration runs (default: every core). The output "
               "is the same for any number"),
      cl::value_desc("N"),
      cl::init(0),
      cl::Prefix,
      cl::cat(category)};
  cl::alias threadsAlias{"threads", cl::desc("Alias for -j"),
                         cl::aliasopt(threads)};
  cl::opt<unsigned> calibrationThreads{
      "calibration-threads",
      cl::desc("Threads ONNX Runtime uses in calibration runs (default: "
               "those of -j)"),
      cl::value_desc("N"), cl::init(0), cl::cat(category)};
  cl::opt<bool> quiet{"quiet",
                      cl::desc("No progress lines (shown on a terminal "
                               "for work that takes more than a second)"),
                      cl::cat(category)};
  cl::opt<int> latencyThreads{
      "latency-threads",
      cl::desc("Intra-op threads of the ONNX Runtime sessions that "
               "print<latency> times (0: all cores; default 1)"),
      cl::value_desc("N"), cl::init(1), cl::cat(category)};
  cl::opt<int> latencyRuns{
      "latency-runs",
      cl::desc("Timed runs whose median print<latency> and prune-width's "
               "latency budget report (default 30, after 5 warm-up runs)"),
      cl::value_desc("N"), cl::init(30), cl::cat(category)};
  cl::opt<bool> timePasses{"time-passes",
                           cl::desc("Print wall time and peak memory of "
                                    "each pass and analysis to stderr"),
                           cl::cat(category)};
  cl::opt<bool> printPipelinePasses{
      "print-pipeline-passes",
      cl::desc("Print the canonical form of -passes and exit"),
      cl::cat(category)};
  cl::opt<bool> listPasses{"list-passes",
                           cl::desc("List passes and analyses and exit"),
                           cl::cat(category)};
  cl::list<std::string> load{
      "load",
      cl::desc("Load a plugin (a shared library exporting "
               "onnxprunePluginInfo, see docs/library.md) before anything "
               "else: its criteria, op handlers and passes join the "
               "registries. Repeatable"),
      cl::value_desc("plugin.so"), cl::cat(category)};
  cl::opt<bool> debugPassManager{
      "debug-pass-manager",
      cl::desc("Print each pass and analysis as it runs to stderr"),
      cl::cat(category)};
};

/// Removes every option libLLVM registered except --help and --version, so
/// that only the tool's options parse and show in --help.
// libLLVM is built without RTTI, so UBSan's vptr check cannot recognise its
// option objects: not a bug, silence it here.
#if defined(__clang__) || defined(__GNUC__)
__attribute__((no_sanitize("vptr")))
#endif
void removeForeignOptions() {
  StringMap<cl::Option *> &registered = cl::getRegisteredOptions();
  DenseSet<cl::Option *> seen;
  SmallVector<cl::Option *, 64> foreign;
  for (auto &entry : registered) {
    StringRef name = entry.getKey();
    if (name == "help" || name == "version")
      continue;
    if (seen.insert(entry.getValue()).second)
      foreign.push_back(entry.getValue());
  }
  // Aliases of --help (-h) point at help's option object: keep them.
  cl::Option *help = registered.lookup("help");
  cl::Option *version = registered.lookup("version");
  for (cl::Option *o : foreign)
    if (o != help && o != version)
      o->removeArgument();
}

/// Sends stderr (fd 2) to a temporary file until finish() returns what was
/// written. Does nothing when the temporary cannot be made.
class StderrCapture {
public:
  StderrCapture() {
    errs().flush();
    tmp = std::tmpfile();
    if (tmp)
      savedFd = ::dup(2);
    if (savedFd >= 0 && ::dup2(::fileno(tmp), 2) < 0) {
      ::close(savedFd);
      savedFd = -1;
    }
  }
  ~StderrCapture() { finish(); }

  std::string finish() {
    std::string text;
    if (savedFd < 0) {
      if (tmp)
        std::fclose(tmp);
      tmp = nullptr;
      return text;
    }
    errs().flush();
    ::dup2(savedFd, 2);
    ::close(savedFd);
    savedFd = -1;
    std::rewind(tmp);
    char buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof(buf), tmp)) > 0)
      text.append(buf, n);
    std::fclose(tmp);
    tmp = nullptr;
    return text;
  }

private:
  std::FILE *tmp = nullptr;
  int savedFd = -1;
};

void printStatsReport(const ModelStats &before, const ModelStats &after) {
  raw_ostream &os = errs();
  os << toolName << ": model statistics\n";
  printStatsDelta(os, before, after);
  os.flush();
}

int runTool(int argc, char **argv) {
  removeForeignOptions();
  // Created after the removal so our names do not clash with libLLVM's;
  // static because the parser keeps pointers to the options.
  static ToolOptions opts;

  static std::string passHelp = [] {
    std::string text = "\n";
    raw_string_ostream os(text);
    PassBuilder::printRegistry(os);
    return os.str();
  }();
  static cl::extrahelp extraHelp(passHelp);
  cl::SetVersionPrinter([](raw_ostream &os) {
    os << toolName << " " << ONNXPRUNE_VERSION << '\n';
  });

  // Some parse errors go to errs() rather than the stream we pass: catch
  // stderr while parsing so that any failure prints as one line.
  std::string parseErrors;
  bool parsed;
  {
    StderrCapture capture;
    raw_string_ostream parseErrStream(parseErrors);
    parsed = cl::ParseCommandLineOptions(
        argc, argv, "onnx-prune: structural pruning compiler for ONNX models\n",
        &parseErrStream);
    parseErrStream.flush();
    parseErrors = capture.finish() + parseErrors;
  }
  if (!parsed) {
    // The parser prefixes lines with the program name: drop it.
    SmallVector<StringRef, 4> lines;
    StringRef(parseErrors).split(lines, '\n', -1, false);
    std::string msg;
    for (StringRef line : lines) {
      line = line.trim();
      line.consume_front(StringRef(argv[0]));
      line.consume_front(toolName);
      line.consume_front(":");
      line = line.trim();
      if (line.empty())
        continue;
      if (!msg.empty())
        msg += "; ";
      msg += line.str();
    }
    // "Try: '/path/to/onnx-prune --help'" -> "Try: 'onnx-prune --help'".
    for (size_t pos; (pos = msg.find(argv[0])) != std::string::npos;)
      msg.replace(pos, strlen(argv[0]), toolName);
    return reportError(msg.empty() ? "invalid command line" : msg);
  }

  for (const std::string &plugin : opts.load)
    if (Error err = loadPluginLibrary(plugin))
      return reportError(std::move(err));

  if (opts.listPasses) {
    PassBuilder::printRegistry(outs());
    return 0;
  }
  setThreadCount(opts.threads);
  if (opts.quiet)
    setProgressEnabled(false);

  bool outputToStdout = opts.output == "-";
  // Analysis printouts go to stdout, unless the model does.
  PassBuilder pb(outputToStdout ? &errs() : nullptr);
  addPluginPassCallbacks(pb);
  ModelPassManager mpm;
  if (!opts.passes.empty())
    if (Error err = pb.parsePassPipeline(mpm, opts.passes))
      return reportError(std::move(err));

  if (opts.printPipelinePasses) {
    mpm.printPipeline(outs());
    outs() << '\n';
    return 0;
  }

  if (opts.input.empty())
    return reportError("no input file (use '-' to read stdin; see --help)");

  WriteOptions writeOpts;
  if (opts.textOutput || StringRef(opts.output).endswith(".onnxtext"))
    writeOpts.format = ModelFormat::Text;
  if (!opts.externalData.empty()) {
    Expected<uint64_t> threshold = parseSizeOption(opts.externalData);
    if (!threshold)
      return reportError(threshold.takeError());
    writeOpts.externalThreshold = *threshold;
  }
  writeOpts.externalFileName = opts.externalDataFile;
  if (opts.output.empty() &&
      (!opts.externalData.empty() || !opts.externalDataFile.empty()))
    return reportError("--external-data and --external-data-file need an "
                       "output file (-o)");

  Expected<std::unique_ptr<Model>> modelOrErr = readModelFile(opts.input);
  if (!modelOrErr)
    return reportError(modelOrErr.takeError());
  Model &model = **modelOrErr;
  // The reader runs no passes: the tool asks for the types the file left
  // open before anything reads them.
  fillTypes(model);

  std::optional<ModelStats> statsBefore;
  if (opts.stats)
    statsBefore = computeStats(model);
  // Budgets (prune-width<ratio=R>, flops=R...) are relative to the model
  // as read, whatever ran before them: record its counts before any pass
  // runs, reusing --stats' figures. Counting reads the bytes of shared
  // weights, so a pipeline that only prints or caches analyses skips it.
  if (llvm::any_of(mpm.getPassNames(), [](StringRef name) {
        return !name.startswith("print<") && !name.startswith("require<") &&
               !name.startswith("invalidate<");
      }))
    originalCounts(model, statsBefore ? &*statsBefore : nullptr);
  // The report's file is opened before anything runs (a bad path fails
  // here, with nothing written) and committed after the model is written.
  std::optional<ReportCollector> collector;
  std::optional<OutputFile> reportFile;
  if (!opts.report.empty()) {
    Expected<OutputFile> f = OutputFile::create(opts.report);
    if (!f)
      return reportError(addContext(f.takeError(), "cannot write report '" +
                                                       opts.report + "'"));
    reportFile.emplace(std::move(*f));
    Expected<ReportCollector> c = ReportCollector::start(model);
    if (!c)
      return reportError(c.takeError());
    collector.emplace(std::move(*c));
  }
  if (opts.coverage) {
    Expected<DepGraph> dg = buildDepGraph(model);
    if (!dg)
      return reportError(dg.takeError());
    dg->printCoverage(errs());
  }

  if (opts.latencyThreads < 0 || opts.latencyRuns < 1)
    return reportError("--latency-threads must be >= 0 and --latency-runs "
                       ">= 1");
  if (opts.calibrationSamples < 0 || opts.calibrationBatch < 1)
    return reportError("--calibration-samples must be >= 0 and "
                       "--calibration-batch >= 1");
#ifdef ONNXPRUNE_HAVE_ORT
  // Opened (and checked against the model's inputs) before any pass runs:
  // bad data fails here and nothing is written.
  OrtCalibrationOptions calOpts;
  calOpts.batch = opts.calibrationBatch;
  calOpts.samples = opts.calibrationSamples;
  calOpts.runtime.intraOpThreads =
      opts.calibrationThreads ? opts.calibrationThreads : getThreadCount();
  auto provider =
      OrtCalibrationProvider::create(model, opts.calibration, calOpts);
  if (!provider)
    return reportError(provider.takeError());
  std::shared_ptr<CalibrationProvider> calibration = std::move(*provider);
  // Budgets met in the run leave their predicted and measured latency here
  // for --stats.
  auto latency = std::make_shared<OrtLatencyProvider>();
#else
  if (!opts.calibration.empty())
    return reportError("--calibration needs a build with ONNX Runtime "
                       "(-DONNXPRUNE_ENABLE_ORT=ON)");
#endif

  PassInstrumentationCallbacks pic;
  TimePassesHandler timer;
  PrintPassesHandler printer(errs());
  if (opts.timePasses)
    timer.registerCallbacks(pic);
  if (opts.debugPassManager)
    printer.registerCallbacks(pic);

  {
    ModelAnalysisManager mam;
    mam.setInstrumentation(&pic);
#ifdef ONNXPRUNE_HAVE_ORT
    mam.registerAnalysis(CalibrationAnalysis(calibration));
    LatencyOptions latOpts;
    latOpts.threads = opts.latencyThreads;
    latOpts.runs = opts.latencyRuns;
    mam.registerAnalysis(LatencyProviderAnalysis(latency, latOpts));
#endif
    pb.registerAnalyses(mam);
    if (collector)
      collector->registerWith(mam);
    if (opts.verifyEach) {
      ModelVerifierFn verifier = makeModelVerifier(&errs(), toolName);
      if (Error err = verifyModelStructure(model))
        return reportError(addContext(std::move(err), "input model"));
      mpm.setVerifyEach(std::move(verifier));
    }
    Expected<PreservedAnalyses> pa = mpm.run(model, mam);
    if (!pa)
      return reportError(pa.takeError());
  }

  if (!opts.output.empty())
    if (Error err = writeModelFile(model, opts.output, writeOpts))
      return reportError(std::move(err));

  if (reportFile) {
    std::string pipelineText;
    raw_string_ostream ps(pipelineText);
    mpm.printPipeline(ps);
    RunSummary summary = collector->finish(model, ps.str());
    summary.title = reportTitle(opts.input);
    Error err = reportFile->write(renderReport(opts.report, summary));
    if (!err)
      err = reportFile->commit();
    if (err)
      return reportError(addContext(std::move(err), "cannot write report '" +
                                                        opts.report + "'"));
  }

  if (statsBefore) {
    printStatsReport(*statsBefore, computeStats(model));
#ifdef ONNXPRUNE_HAVE_ORT
    for (const std::string &line : latency->reports)
      errs() << line << "\n";
#endif
  }
  if (opts.timePasses) {
    timer.print(errs());
    errs().flush();
  }
  outs().flush();
  return 0;
}

} // namespace

int main(int argc, char **argv) {
  // No LLVM signal handlers or stack dumps: errors are one line. LLVM's own
  // fatal errors (should they happen) are worded the same way.
  install_fatal_error_handler(
      [](void *, const char *reason, bool) {
        reportError((Twine("internal error: ") + reason).str());
      },
      nullptr);
  try {
    return runTool(argc, argv);
  } catch (const std::exception &e) {
    return reportError(std::string("unexpected exception: ") + e.what());
  } catch (...) {
    return reportError("unexpected exception");
  }
}
