//===- OrtSession.h - Run ONNX models in ONNX Runtime -----------*- C++ -*-===//
///
/// \file
/// The one door to ONNX Runtime: an OrtSession loads a serialized model (from
/// bytes, or from a file when the model has external data, which ORT resolves
/// relative to the model's folder), describes its inputs and outputs, and
/// runs it on HostTensors. ORT's C++ API throws; this wrapper catches every
/// exception and returns llvm::Error, so callers never see one.
///
/// Sessions are deterministic by default: one intra-op and one inter-op
/// thread, sequential execution. A session of a tapped model
/// (ExportOptions::taps) runs onnx-prune's Tap op, which hands the values it
/// reads to a TapSink as the model runs. Also here: seeded random inputs for
/// a model's inputs, and an element-wise comparison of two runs' outputs.
///
/// ORT's headers stay in OrtSession.cpp; users of this header need only the
/// library `onnxprune_runtime`.
///
//===----------------------------------------------------------------------===//
#ifndef ONNXPRUNE_RUNTIME_ORTSESSION_H
#define ONNXPRUNE_RUNTIME_ORTSESSION_H

#include "lib/Runtime/HostTensor.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/STLFunctionalExtras.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace onnxprune {

/// One graph input or output as the runtime sees it.
struct TensorInfo {
  std::string name;
  /// False for sequence/map/optional values; dtype and shape are then unset.
  bool isTensor = true;
  DataType dtype = DataType::Undefined;
  /// -1 for a dim that is not static (symbolic or unknown).
  std::vector<int64_t> shape;
  /// Per dim: the symbol name of a symbolic dim, "" otherwise.
  std::vector<std::string> symbolicDims;

  /// "float[N,3,224,224]" (symbols by name, "?" for unknown dims).
  std::string describe() const;
};

class TapSink;

struct RuntimeOptions {
  /// ORT's graph optimisation levels.
  enum class OptLevel { Disable, Basic, Extended, All };

  int intraOpThreads = 1;
  int interOpThreads = 1;
  OptLevel optLevel = OptLevel::All;
  /// ORT's "deterministic compute" switch (affects a few kernels).
  bool deterministicCompute = true;
  /// Folder that external data of a model given as bytes is read from;
  /// "" lets ORT use its default (no folder: external data is refused).
  std::string externalDataDir;
  /// Where the Tap nodes of a tapped model send their values; it must
  /// outlive the session. Null: the session has no Tap op (a tapped model
  /// fails to load).
  TapSink *tapSink = nullptr;
  /// Flush denormal floats to zero (ORT's set_denormal_as_zero): random
  /// weights can make a model crawl through denormal arithmetic that
  /// trained ones rarely meet, which latency measurements must not see.
  bool denormalAsZero = false;
  /// Non-empty: ORT profiles every run into a JSON file whose name starts
  /// with this prefix; OrtSession::endProfiling() closes it.
  std::string profilePrefix;
};

class OrtSession {
public:
  ~OrtSession();
  OrtSession(const OrtSession &) = delete;
  OrtSession &operator=(const OrtSession &) = delete;

  /// Loads a serialized binary ModelProto held in memory.
  static llvm::Expected<std::unique_ptr<OrtSession>>
  createFromBytes(llvm::StringRef modelBytes, const RuntimeOptions &opts = {});

  /// Loads the model file at \p path; external data is resolved relative to
  /// the file's folder.
  static llvm::Expected<std::unique_ptr<OrtSession>>
  createFromFile(llvm::StringRef path, const RuntimeOptions &opts = {});

  llvm::ArrayRef<TensorInfo> getInputs() const { return inputs; }
  llvm::ArrayRef<TensorInfo> getOutputs() const { return outputs; }

  /// Runs the model. \p feeds must name graph inputs (each at most once;
  /// ORT reports missing required ones). Returns the outputs named in
  /// \p outputNames in that order, or all outputs in graph order when
  /// \p outputNames is empty.
  llvm::Expected<std::vector<NamedTensor>>
  run(llvm::ArrayRef<NamedTensor> feeds,
      llvm::ArrayRef<std::string> outputNames = {});

  /// An output as ORT holds it, valid only inside runView's callback.
  struct TensorView {
    std::string name;
    DataType dtype = DataType::Undefined;
    std::vector<int64_t> shape;
    const char *data = nullptr;
    size_t numBytes = 0;
  };
  using ViewFn =
      llvm::function_ref<llvm::Error(llvm::ArrayRef<TensorView> outputs)>;
  /// run() without copying the outputs: \p fn sees them in ORT's buffers
  /// (calibration folds big probes into statistics and drops them).
  llvm::Error runView(llvm::ArrayRef<NamedTensor> feeds,
                      llvm::ArrayRef<std::string> outputNames, ViewFn fn);

  /// Stops profiling (RuntimeOptions::profilePrefix) and returns the path
  /// of the profile ORT wrote.
  llvm::Expected<std::string> endProfiling();

  /// ORT's version string ("1.23.0"), or an error when the library cannot
  /// be used (its C API is older than the headers we were built with).
  static llvm::Expected<std::string> getRuntimeVersion();

  struct Impl;

private:
  explicit OrtSession(std::unique_ptr<Impl> impl);
  llvm::Error describeIO();

  std::unique_ptr<Impl> impl;
  std::vector<TensorInfo> inputs;
  std::vector<TensorInfo> outputs;
};

/// Receives the values the Tap nodes of a tapped model (ExportOptions::taps)
/// read, during OrtSession::run and runView, as the runtime runs each node:
/// a probe seen while it is still in cache and without being kept as a
/// graph output until the run ends.
class TapSink {
public:
  virtual ~TapSink();
  /// Called once per run for each Tap node, on the thread that runs the
  /// session (sessions run their nodes one at a time): \p index is the
  /// tap's position in the export's list; \p value (float, its name left
  /// empty) is valid during the call only. Returning false fails the run;
  /// the sink keeps the reason for its caller.
  virtual bool tap(int64_t index, const OrtSession::TensorView &value) = 0;
};

/// How makeRandomInputs picks shapes and values.
struct RandomInputOptions {
  uint64_t seed = 0;
  /// Value of a non-static dim at axis 0 (batch-like).
  int64_t batchDim = 1;
  /// Value of any other non-static dim.
  int64_t otherDim = 8;
  /// Values for symbolic dims by name; take precedence over the two above.
  /// A symbol seen twice gets the same value both times.
  llvm::StringMap<int64_t> dimValues;
  /// Floating-point elements are uniform in [floatLow, floatHigh).
  double floatLow = -1.0;
  double floatHigh = 1.0;
  /// Integer elements are uniform in [intLow, intHigh): small, so that
  /// index-like inputs (token ids, gather indices) stay in range.
  int64_t intLow = 0;
  int64_t intHigh = 4;
};

/// One random tensor per input of \p inputs, deterministic in opts.seed
/// (the same seed gives the same bytes on every platform). Bools are 0/1
/// with equal odds. Fails on non-tensor or unsupported-type inputs.
llvm::Expected<std::vector<NamedTensor>>
makeRandomInputs(llvm::ArrayRef<TensorInfo> inputs,
                 const RandomInputOptions &opts = {});

/// The result of comparing two runs' outputs.
struct CompareResult {
  /// True when every output matched in name, type, shape and values.
  bool match = true;
  /// Largest |actual - expected| over all floating-point elements.
  double maxAbsErr = 0;
  /// Largest |actual - expected| / |expected| over the elements with
  /// |expected| > atol (tiny expected values would make it meaningless).
  double maxRelErr = 0;
  /// The first mismatch (when !match): output position and name, flat
  /// element index (-1 for a name/type/shape mismatch), the two values and
  /// a one-line reason.
  int64_t outputIndex = -1;
  std::string outputName;
  int64_t elementIndex = -1;
  double expected = 0;
  double actual = 0;
  std::string reason;
};

/// Compares \p actual against the reference \p expected, output by output
/// (paired by position; names must agree). Floating-point elements match
/// when |actual - expected| <= atol + rtol * |expected| (NaN matches NaN,
/// an infinity only itself); integers and bools must be equal. The error
/// maxima cover all elements, also past the first mismatch.
CompareResult compareOutputs(llvm::ArrayRef<NamedTensor> expected,
                             llvm::ArrayRef<NamedTensor> actual, double rtol,
                             double atol);

} // namespace onnxprune

#endif // ONNXPRUNE_RUNTIME_ORTSESSION_H
