//===- OrtCalibration.h - Calibration statistics on ONNX Runtime -*- C++
//-*-===//
///
/// \file
/// The CalibrationProvider (passes/Analysis/Calibration.h) the tool and the
/// library inject: it runs a model in ONNX Runtime batch by batch over the
/// user's calibration data (CalibrationData) or over seeded Gaussian
/// inputs. collect() taps the tensors the requests name (ExportOptions::
/// taps): ORT hands each to a StatsAccumulator as soon as it is made, while
/// it is still in cache, and reuses its buffer as in plain inference; a
/// graph input is read from the batch. forEachBatch() adds the tensors it
/// is asked for as graph outputs. Memory is one batch of inputs and probes
/// plus the statistics.
///
/// Gated runs (forEachGatedBatch) open one session on a copy of the model
/// written with scalar gate inputs (ExportOptions::gates) and run each batch
/// as many times as the caller asks, with the gate values fed per run.
///
/// On a terminal, progress goes to stderr: samples done, rate and ETA; a
/// pipe or file stays quiet.
///
//===----------------------------------------------------------------------===//
#ifndef ONNXPRUNE_RUNTIME_ORTCALIBRATION_H
#define ONNXPRUNE_RUNTIME_ORTCALIBRATION_H

#include "lib/Runtime/CalibrationData.h"
#include "lib/Runtime/OrtSession.h"
#include "passes/Analysis/Calibration.h"

#include <memory>
#include <optional>

namespace onnxprune {

struct OrtCalibrationOptions {
  /// Samples per run (ignored when the model fixes its batch).
  int64_t batch = 32;
  /// Use only the first N samples of the data (0: all).
  int64_t samples = 0;
  /// Basic graph optimisations only: with ORT's layout and fusion passes
  /// (Extended, All) an intermediate asked for as an output came back empty
  /// from fused Conv+Add nodes (the pinned ORT, a pruned ResNet, 45-wide).
  RuntimeOptions runtime = [] {
    RuntimeOptions r;
    r.optLevel = RuntimeOptions::OptLevel::Basic;
    return r;
  }();
  /// Progress on stderr; unset: progressEnabled() (on a terminal, unless
  /// --quiet), after a second of work.
  std::optional<bool> progress;
};

class OrtCalibrationProvider final : public CalibrationProvider {
public:
  /// Opens the calibration data at \p path for \p m's inputs ("" for none:
  /// only synthetic sources work then). Fails on bad data, naming the file
  /// and the input. \p m's sourcePath is the reference model.
  static llvm::Expected<std::unique_ptr<OrtCalibrationProvider>>
  create(const Model &m, llvm::StringRef path,
         const OrtCalibrationOptions &opts = {});
  /// The same over data opened already (CalibrationData::fromArrays).
  static llvm::Expected<std::unique_ptr<OrtCalibrationProvider>>
  create(const Model &m, CalibrationData data,
         const OrtCalibrationOptions &opts = {});

  bool hasData() const override { return data.has_value(); }
  std::string describe(const CalibrationSource &source) const override;
  llvm::Expected<std::vector<ActivationStats>>
  collect(const Model &m, llvm::ArrayRef<StatRequest> requests,
          const CalibrationSource &source) override;
  llvm::Expected<std::vector<ActivationStats>>
  collectReference(llvm::ArrayRef<StatRequest> requests,
                   const CalibrationSource &source) override;
  llvm::Error forEachBatch(const Model &m, llvm::ArrayRef<std::string> outputs,
                           const CalibrationSource &source,
                           BatchFn fn) override;
  llvm::Error
  forEachGatedBatch(const Model &m, llvm::ArrayRef<std::string> outputs,
                    llvm::ArrayRef<std::string> gates,
                    const CalibrationSource &source,
                    llvm::function_ref<llvm::Error(GatedBatch &)> fn) override;

private:
  OrtCalibrationProvider() = default;
  /// Opens one session on \p m with \p probes as outputs (those not fed),
  /// \p gates gated and \p taps tapped into \p sink, and calls \p fn once
  /// per batch of \p source with the session, the batch's feeds (which
  /// \p fn may extend with its own) and the session outputs to ask for.
  /// Progress counts batches; errors name the batch's samples.
  using FeedFn = llvm::function_ref<llvm::Error(
      OrtSession &session, std::vector<NamedTensor> &feeds,
      llvm::ArrayRef<std::string> sessionOutputs)>;
  llvm::Error forEachFeed(const Model &m, llvm::ArrayRef<std::string> probes,
                          llvm::ArrayRef<std::string> gates,
                          llvm::ArrayRef<std::string> taps, TapSink *sink,
                          const CalibrationSource &source, FeedFn fn);
  /// Runs \p m with \p probes as outputs on every batch of \p source; \p fn
  /// gets every probe (fed inputs included) by name, in ORT's buffers.
  using ProbeFn = llvm::function_ref<llvm::Error(
      const llvm::StringMap<OrtSession::TensorView> &probes)>;
  llvm::Error run(const Model &m, llvm::ArrayRef<std::string> probes,
                  const CalibrationSource &source, ProbeFn fn);

  std::optional<CalibrationData> data;
  OrtCalibrationOptions opts;
  /// The file the model was read from; read again on first use.
  std::string referencePath;
  /// The bytes it was read from when it came from memory (Model::sourceBytes).
  std::shared_ptr<const std::string> referenceBytes;
  std::string referenceBaseDir;
  std::unique_ptr<Model> reference;
};

/// The graph inputs of \p m that have no initializer, as the runtime sees
/// them (name, dtype, dims with -1 and symbols for non-static ones).
std::vector<TensorInfo> describeModelInputs(const Model &m);

} // namespace onnxprune

#endif // ONNXPRUNE_RUNTIME_ORTCALIBRATION_H
