//===- Calibration.h - Activation statistics from calibration data -*- C++
//-*-===//
///
/// \file
/// What data-driven criteria and repair passes know about activations:
/// streaming statistics gathered by running the model on calibration data.
///
/// The interface lives here; the runtime that runs models (ONNX Runtime, in
/// lib/Runtime) implements CalibrationProvider and is injected by the tool or
/// the library facade by registering a CalibrationAnalysis that holds it, so
/// no pass links a runtime. A pass asks for statistics at tensors of the
/// model it holds (StatRequest); the provider runs that model, or a copy
/// with the tensors as extra outputs, batch by batch, folds each batch into
/// a StatsAccumulator and drops it. Memory is one batch plus the statistics.
///
/// The accumulators are plain math over float buffers, here beside the
/// interface so they are tested without a runtime:
///
///   Moments      per channel of one axis: sum x, sum x^2, sum |x|, and the
///                number of vectors (all other positions of all samples);
///   Gram         X^T X with X the [vectors, channels] view along an axis
///                (a MatMul or Gemm input: the last axis);
///   ConvGram     X^T X of a 2-D (or 1-D) Conv's input patches (im2col):
///                D = C * kh * kw, row c * kh * kw + t for channel c, tap t;
///   BlockProjL1  for a weight W [K, N] read by a MatMul: per block b of
///                `block` consecutive rows, the sum over vectors x of
///                || x_b W_b ||_1 (a head's contribution at the output
///                projection, as AMP scores it).
///
//===----------------------------------------------------------------------===//
#ifndef ONNXPRUNE_PASSES_ANALYSIS_CALIBRATION_H
#define ONNXPRUNE_PASSES_ANALYSIS_CALIBRATION_H

#include "lib/IR/Model.h"
#include "passes/PassManager.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/STLFunctionalExtras.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace onnxprune {

/// The geometry of a Conv, for its input patches.
struct ConvGeometry {
  llvm::SmallVector<int64_t, 2> kernel;    ///< kh, kw (or k for 1-D).
  llvm::SmallVector<int64_t, 2> strides;   ///< Defaults 1.
  llvm::SmallVector<int64_t, 2> dilations; ///< Defaults 1.
  llvm::SmallVector<int64_t, 4> pads;      ///< Begins then ends; default 0.
};

/// One statistic wanted at one tensor.
struct StatRequest {
  enum class Kind : uint8_t { Moments, Gram, ConvGram, BlockProjL1 };
  Kind kind = Kind::Moments;
  /// The tensor, by name, in the model the provider runs.
  std::string value;
  /// Channel axis (Moments, Gram); negative counts from the end.
  int64_t axis = -1;
  /// ConvGram: the conv's geometry (the input is [N, C, H, W] or [N, C, L]).
  ConvGeometry conv;
  /// BlockProjL1: the weight (an initializer of the model, [K, N]) and the
  /// rows per block.
  std::string weight;
  int64_t block = 1;

  /// A text that tells requests apart ("gram:x:-1"), for caching.
  std::string key() const;
};

/// Statistics of one request over all calibration vectors.
struct ActivationStats {
  /// Vectors folded in: samples times the positions of the other axes
  /// (ConvGram: output positions).
  int64_t count = 0;
  /// Channels (Moments, Gram), or patch width C * kh * kw (ConvGram), or
  /// blocks (BlockProjL1).
  int64_t channels = 0;
  std::vector<double> sum, sumSq, sumAbs; ///< Moments.
  std::vector<double> gram;               ///< Gram, ConvGram: row-major D x D.
  std::vector<double> blockL1;            ///< BlockProjL1: per block.

  double mean(int64_t c) const { return count ? sum[c] / count : 0.0; }
  /// Population variance of channel c.
  double variance(int64_t c) const;
};

/// Folds batches of one tensor into the statistics of one request.
class StatsAccumulator {
public:
  /// \p weight: BlockProjL1's weight values, row-major [K, N].
  StatsAccumulator(StatRequest request, std::vector<float> weight = {},
                   int64_t weightCols = 0);
  /// Adds one batch: the tensor's values (row-major) and shape. Fails when
  /// the shape does not fit the request (naming the tensor).
  llvm::Error add(const float *data, llvm::ArrayRef<int64_t> shape);
  const StatRequest &getRequest() const { return request; }
  /// The statistics so far (the gram is symmetrised here).
  ActivationStats take();

private:
  llvm::Error addMoments(const float *data, llvm::ArrayRef<int64_t> shape);
  llvm::Error addGram(const float *data, llvm::ArrayRef<int64_t> shape);
  llvm::Error addConvGram(const float *data, llvm::ArrayRef<int64_t> shape);
  llvm::Error addBlockProj(const float *data, llvm::ArrayRef<int64_t> shape);
  /// Adds rows [n, D] (row-major, float) to the gram's lower triangle
  /// (take() mirrors it).
  void addRows(const float *rows, int64_t n, int64_t d);
  /// Calls \p fill(out) for each of \p count vectors of width \p d (it
  /// writes d floats) and folds them into the gram a chunk at a time.
  void addGathered(int64_t count, int64_t d,
                   llvm::function_ref<void(int64_t, float *)> fill);

  StatRequest request;
  std::vector<float> weight;
  int64_t weightCols = 0;
  ActivationStats stats;
  /// One chunk's X^T X in float, kept between chunks (no allocation per
  /// chunk on the calibration's hot path).
  std::vector<float> chunkGram;
};

/// Where the samples a provider runs come from.
struct CalibrationSource {
  enum class Kind : uint8_t {
    Data,    ///< The user's calibration data (--calibration=PATH).
    Gaussian ///< Synthetic: float inputs N(0, 1), integer inputs small
             ///< uniform ints, seeded (data-free criteria).
  };
  Kind kind = Kind::Data;
  uint64_t seed = 0;
  /// Gaussian: how many samples (batches of the data batch size).
  int64_t samples = 64;
};

/// Runs models on calibration data: implemented on a runtime (lib/Runtime)
/// and injected. Thread-compatible, not thread-safe.
class CalibrationProvider {
public:
  virtual ~CalibrationProvider();
  /// True when user data was given (Data sources work).
  virtual bool hasData() const = 0;
  /// Describes \p source for reports and plans: "data 'calib.npz' (512
  /// samples, batch 32)" or "gaussian (64 samples, seed 0)".
  virtual std::string describe(const CalibrationSource &source) const = 0;
  /// Runs \p m on every batch of \p source and returns the statistics of
  /// each request (same order). Progress goes to a terminal only.
  virtual llvm::Expected<std::vector<ActivationStats>>
  collect(const Model &m, llvm::ArrayRef<StatRequest> requests,
          const CalibrationSource &source = {}) = 0;
  /// collect() on the model as it was read, before any pass changed it
  /// (repairs compare a pruned model with it). Fails when there is none
  /// (a model read from stdin).
  virtual llvm::Expected<std::vector<ActivationStats>>
  collectReference(llvm::ArrayRef<StatRequest> requests,
                   const CalibrationSource &source = {}) = 0;
  using BatchFn = llvm::function_ref<llvm::Error(
      llvm::ArrayRef<std::vector<float>> values,
      llvm::ArrayRef<std::vector<int64_t>> shapes)>;
  /// Runs \p m on every batch of \p source and calls \p fn with the values
  /// of \p outputs (flattened to float, with their shapes) for each batch:
  /// what statistics that are not per tensor need (distances between two
  /// models' outputs).
  virtual llvm::Error forEachBatch(const Model &m,
                                   llvm::ArrayRef<std::string> outputs,
                                   const CalibrationSource &source,
                                   BatchFn fn) = 0;

  /// One calibration batch of a gated run: run() feeds the batch with the
  /// given gate values (one per gated value, in order) and calls fn with the
  /// outputs, as forEachBatch does. Valid only inside forEachGatedBatch's
  /// callback.
  class GatedBatch {
  public:
    virtual ~GatedBatch();
    virtual llvm::Error run(llvm::ArrayRef<float> gateValues, BatchFn fn) = 0;
  };
  /// Runs \p m, with each value of \p gates (main-graph node outputs of a
  /// floating-point type) multiplied by a scalar fed per run, on every batch
  /// of \p source; per batch calls \p fn once with a GatedBatch that may be
  /// run any number of times, all on one session. A gate of 1 leaves the
  /// model as it is, 0 removes that value (a residual branch): FinerCut
  /// scores every branch by the output change when it is removed, and a
  /// model copy and session per variant would cost a load each. The default
  /// fails: "this calibration provider cannot run gated models".
  virtual llvm::Error
  forEachGatedBatch(const Model &m, llvm::ArrayRef<std::string> outputs,
                    llvm::ArrayRef<std::string> gates,
                    const CalibrationSource &source,
                    llvm::function_ref<llvm::Error(GatedBatch &)> fn);
};

/// The injected provider, as an analysis: `am.getResult<CalibrationAnalysis>`
/// gives the provider or null when none was registered (the tool registers
/// one when it is built with a runtime).
class CalibrationAnalysis {
public:
  using Result = CalibrationProvider *;
  static inline AnalysisKey Key;
  static llvm::StringRef name() { return "calibration"; }
  CalibrationAnalysis() = default;
  explicit CalibrationAnalysis(std::shared_ptr<CalibrationProvider> p)
      : provider(std::move(p)) {}
  llvm::Expected<Result> run(const Model &, ModelAnalysisManager &) {
    return provider.get();
  }

private:
  std::shared_ptr<CalibrationProvider> provider;
};

/// Fails when \p p is null or, with \p needData, has no user data: "WHO
/// needs calibration data (--calibration=PATH ...)".
llvm::Error requireCalibration(const CalibrationProvider *p,
                               llvm::StringRef who, bool needData);

/// The provider of \p am, or an error saying that \p who needs calibration
/// data: "criterion 'obs' needs calibration data (--calibration=PATH)".
/// With \p needData false, a provider without user data is enough.
llvm::Expected<CalibrationProvider &> getCalibration(const Model &m,
                                                     ModelAnalysisManager &am,
                                                     llvm::StringRef who,
                                                     bool needData = true);

} // namespace onnxprune

#endif // ONNXPRUNE_PASSES_ANALYSIS_CALIBRATION_H
