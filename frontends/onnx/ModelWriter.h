//===- ModelWriter.h - Write the IR back to ONNX files ----------*- C++ -*-===//
///
/// \file
/// The way out. Unchanged weights are written as they were read (same
/// encoding, Constant nodes restored); external data is copied file to file
/// without mapping it. Output goes through OutputFile: a regular file is
/// renamed into place only when everything succeeded (a failing run leaves
/// no file), anything else is written in place.
///
//===----------------------------------------------------------------------===//
#ifndef ONNXPRUNE_FRONTENDS_ONNX_MODELWRITER_H
#define ONNXPRUNE_FRONTENDS_ONNX_MODELWRITER_H

#include "frontends/onnx/ModelReader.h"

#include <optional>

namespace onnxprune {

struct WriteOptions {
  ModelFormat format = ModelFormat::Binary;
  /// Tensors of at least this many bytes go to the external data file.
  /// Unset: keep each tensor where it was (inline stays inline, external
  /// stays external), and go external automatically when the model would
  /// pass protobuf's 2 GB limit.
  std::optional<uint64_t> externalThreshold;
  /// Name of the external data file, relative to the output's folder.
  /// Default: "<output file name>.data".
  std::string externalFileName;
  /// Main-graph values written as extra graph outputs (ExportOptions).
  std::vector<std::string> extraOutputs;
  /// Main-graph values multiplied by a scalar graph input (ExportOptions).
  std::vector<std::string> gates;
  /// Main-graph values passed through a runtime Tap node (ExportOptions).
  std::vector<std::string> taps;
};

/// Writes \p model to \p path. A regular file is replaced atomically, with
/// its external data file beside it; stdout ("-"), a device, a FIFO or a
/// socket is written in place with every weight inline (an error past
/// protobuf's 2 GB limit).
llvm::Error writeModelFile(const Model &model, llvm::StringRef path,
                           const WriteOptions &opts = {});

/// Serializes \p model to binary bytes with every weight inline (fails past
/// protobuf's 2 GB limit). For runtimes and tests. \p extraOutputs are
/// main-graph values added as graph outputs (calibration probes); \p gates
/// are main-graph values multiplied by a scalar input (ExportOptions::gates);
/// \p taps are main-graph values passed through a Tap node
/// (ExportOptions::taps).
llvm::Expected<std::string>
serializeModel(const Model &model,
               llvm::ArrayRef<std::string> extraOutputs = {},
               llvm::ArrayRef<std::string> gates = {},
               llvm::ArrayRef<std::string> taps = {});

/// The names a gated export (ExportOptions::gates) gives one gated value V:
/// the producer's renamed output and the scalar graph input to feed.
struct GateNames {
  std::string ungated; ///< "V__ungated"
  std::string input;   ///< "V__gate"
};
/// The names for each of \p gates, in order, made unique against every
/// value of \p model (all graphs) and each other: what the exporter uses,
/// and what a runtime feeds.
std::vector<GateNames> gateNames(const Model &model,
                                 llvm::ArrayRef<std::string> gates);

/// The domain, op type and opset version of the Tap nodes of a tapped
/// export (ExportOptions::taps): an op of onnx-prune's runtime, not of ONNX;
/// a runtime that runs such a model registers a kernel for it.
inline constexpr const char *kTapDomain = "onnx_prune.runtime";
inline constexpr const char *kTapOp = "Tap";
inline constexpr int64_t kTapVersion = 1;

} // namespace onnxprune

#endif // ONNXPRUNE_FRONTENDS_ONNX_MODELWRITER_H
