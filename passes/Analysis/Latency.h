//===- Latency.h - Measured inference latency -------------------*- C++ -*-===//
///
/// \file
/// How long a model takes to run, measured, not estimated: FLOPs do not
/// say that a conv kept at 77 channels falls off the runtime's blocked
/// kernels and runs slower than the 96 it came from.
///
/// The interface lives here; lib/Runtime implements LatencyProvider on ONNX
/// Runtime (OrtLatency.h) and the tool or the library facade injects it by
/// registering a LatencyProviderAnalysis that holds it, as calibration is
/// injected (Calibration.h), so no pass links a runtime.
///
/// Timing on a shared machine is noisy. measure() therefore takes several
/// models and times them interleaved (A B C A B C ..., the starting model
/// rotating each round) after a warm-up, and reports medians: a comparison
/// of models measured in one call sees the same background load.
///
/// The `latency` analysis (print<latency>) times the whole model and, from
/// the runtime's per-node profile, its costliest ops.
///
//===----------------------------------------------------------------------===//
#ifndef ONNXPRUNE_PASSES_ANALYSIS_LATENCY_H
#define ONNXPRUNE_PASSES_ANALYSIS_LATENCY_H

#include "lib/IR/Model.h"
#include "passes/PassManager.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace onnxprune {

/// How to time a model.
struct LatencyOptions {
  /// Intra-op threads of the runtime; 0: the runtime's default (all cores).
  int threads = 1;
  /// Untimed runs of every model before the timed ones.
  int warmup = 5;
  /// Timed runs of every model; the median is reported.
  int runs = 30;
  /// Inputs are seeded random values; dynamic dims take these values
  /// (axis 0: batch, any other: other).
  uint64_t seed = 0;
  int64_t batch = 1;
  int64_t otherDim = 8;
};

/// The timed runs of one model, in milliseconds.
struct LatencyMeasurement {
  double median = 0;
  double min = 0;
  double max = 0;
  /// Every timed run in the order it ran.
  std::vector<double> samples;
};

/// The median of \p xs (the mean of the two middle values for an even
/// count; 0 when empty).
double medianOf(std::vector<double> xs);

/// \p samples as a measurement: median, min, max.
LatencyMeasurement summarize(std::vector<double> samples);

/// One node's share of a run, from the runtime's profile (fused nodes are
/// named as the runtime names them).
struct OpLatency {
  std::string node;
  std::string opType;
  double median = 0; ///< Milliseconds per run.
};

/// A model as it was when LatencyProvider::snapshot() was called (the
/// runtime's own copy): a pass that changes the model times it against
/// this, side by side.
class LatencySnapshot {
public:
  virtual ~LatencySnapshot();
};

/// What measure() times: a model as it is, or a snapshot.
struct LatencySubject {
  LatencySubject(const Model *m) : model(m) {}
  LatencySubject(const LatencySnapshot *s) : snapshot(s) {}
  const Model *model = nullptr;
  const LatencySnapshot *snapshot = nullptr;
};

/// Times models on a runtime: implemented in lib/Runtime and injected.
/// Thread-compatible, not thread-safe.
class LatencyProvider {
public:
  virtual ~LatencyProvider();
  /// The runtime and settings, for reports: "ONNX Runtime 1.23.0, CPU, 1
  /// thread".
  virtual std::string describe(const LatencyOptions &opts) const = 0;
  /// Times every model of \p models with \p opts, interleaved round by
  /// round, and returns one measurement per model (same order). Fails
  /// naming the model's position when one cannot be loaded or run.
  virtual llvm::Expected<std::vector<LatencyMeasurement>>
  measure(llvm::ArrayRef<LatencySubject> models,
          const LatencyOptions &opts) = 0;
  /// A copy of \p m as it is now, for measure().
  virtual llvm::Expected<std::unique_ptr<LatencySnapshot>>
  snapshot(const Model &m) = 0;
  /// A new model equal to the one \p s was taken of, for trying a change
  /// on a copy (prune-width<latency> measures several plans). As with any
  /// reader, the types the bytes leave open are the caller's to fill
  /// (fillTypes).
  virtual llvm::Expected<std::unique_ptr<Model>>
  restore(const LatencySnapshot &s) = 0;
  /// Per-node times of \p m over opts.runs profiled runs, costliest first
  /// (ties by name).
  virtual llvm::Expected<std::vector<OpLatency>>
  profile(const Model &m, const LatencyOptions &opts) = 0;

  /// One line per latency budget met in this run ("latency: 12.3 ms ->
  /// ..."), which the tool prints with --stats.
  std::vector<std::string> reports;
};

/// The injected provider, as an analysis: `am.getResult<
/// LatencyProviderAnalysis>` gives it, or null when none was registered
/// (the tool registers one when it is built with a runtime), with the
/// options the user chose (--latency-threads, --latency-runs).
class LatencyProviderAnalysis {
public:
  struct Result {
    LatencyProvider *provider = nullptr;
    LatencyOptions options;
  };
  static inline AnalysisKey Key;
  static llvm::StringRef name() { return "latency-provider"; }
  LatencyProviderAnalysis() = default;
  LatencyProviderAnalysis(std::shared_ptr<LatencyProvider> p,
                          LatencyOptions opts)
      : provider(std::move(p)), options(opts) {}
  llvm::Expected<Result> run(const Model &, ModelAnalysisManager &) {
    return Result{provider.get(), options};
  }

private:
  std::shared_ptr<LatencyProvider> provider;
  LatencyOptions options;
};

/// The injected provider of \p am with its options, or an error saying that
/// \p who needs ONNX Runtime.
llvm::Expected<LatencyProviderAnalysis::Result>
getLatencyProvider(const Model &m, ModelAnalysisManager &am,
                   llvm::StringRef who);

/// What print<latency> shows: the model's median time and its costliest
/// ops.
struct LatencyReport {
  std::string runtime; ///< LatencyProvider::describe().
  LatencyOptions options;
  LatencyMeasurement model;
  std::vector<OpLatency> ops; ///< Costliest first.

  /// "latency: ..., model 1.234 ms (min, max)" and a table of the ten
  /// costliest ops with their share of the profiled op time.
  void print(llvm::raw_ostream &os, const Model &m) const;
};

/// `latency`: times the model (and its ops) on the injected provider.
class LatencyAnalysis {
public:
  using Result = LatencyReport;
  static inline AnalysisKey Key;
  static llvm::StringRef name() { return "latency"; }
  llvm::Expected<Result> run(const Model &m, ModelAnalysisManager &am);
};

} // namespace onnxprune

#endif // ONNXPRUNE_PASSES_ANALYSIS_LATENCY_H
