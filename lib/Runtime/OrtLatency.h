//===- OrtLatency.h - Latency measured in ONNX Runtime ----------*- C++ -*-===//
///
/// \file
/// The LatencyProvider (passes/Analysis/Latency.h) the tool and the library
/// inject: it opens one ONNX Runtime session per model (CPU provider, all
/// graph optimisations, the thread count asked for, no spinning: the
/// machine is shared; denormals flushed to zero: random weights can make
/// a model crawl through denormal arithmetic that a trained one would not
/// meet), feeds seeded random inputs of the model's dims, runs
/// every model opts.warmup times untimed, then opts.runs timed rounds in
/// which every model runs once, the first model of a round rotating, and
/// reports medians. With one thread, a run's time is the calling thread's
/// CPU time (ORT runs every kernel on it): other processes preempting it
/// on a busy machine do not count, and on a quiet one it equals wall time;
/// with more threads it is wall time. profile() reads ORT's own per-node
/// profile (a JSON file in a temporary folder, removed after reading).
///
//===----------------------------------------------------------------------===//
#ifndef ONNXPRUNE_RUNTIME_ORTLATENCY_H
#define ONNXPRUNE_RUNTIME_ORTLATENCY_H

#include "passes/Analysis/Latency.h"

namespace onnxprune {

class OrtLatencyProvider final : public LatencyProvider {
public:
  std::string describe(const LatencyOptions &opts) const override;
  llvm::Expected<std::vector<LatencyMeasurement>>
  measure(llvm::ArrayRef<LatencySubject> models,
          const LatencyOptions &opts) override;
  /// The model serialized (weights inline; models over 1.5 GB of weights
  /// are refused).
  llvm::Expected<std::unique_ptr<LatencySnapshot>>
  snapshot(const Model &m) override;
  /// The snapshot's bytes read back.
  llvm::Expected<std::unique_ptr<Model>>
  restore(const LatencySnapshot &s) override;
  llvm::Expected<std::vector<OpLatency>>
  profile(const Model &m, const LatencyOptions &opts) override;
};

} // namespace onnxprune

#endif // ONNXPRUNE_RUNTIME_ORTLATENCY_H
