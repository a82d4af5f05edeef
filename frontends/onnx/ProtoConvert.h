//===- ProtoConvert.h - ModelProto <-> IR conversion ------------*- C++ -*-===//
///
/// \file
/// Internal to frontends/onnx: the two directions of conversion between
/// onnx::ModelProto and the IR. The reader and writer, the checker wrappers
/// and the runtime's serializer are built on these.
///
//===----------------------------------------------------------------------===//
#ifndef ONNXPRUNE_FRONTENDS_ONNX_PROTOCONVERT_H
#define ONNXPRUNE_FRONTENDS_ONNX_PROTOCONVERT_H

#include "lib/IR/Model.h"

#include "onnx/onnx_pb.h"

#include <functional>

namespace onnxprune {

struct ImportContext {
  /// Names the source in messages ("model.onnx").
  std::string displayName;
  /// Folder external data locations are relative to ("" forbids external).
  std::string baseDir;
  bool liftConstants = true;
};

/// Moves the contents of \p proto into \p model (raw_data is swapped out,
/// not copied; \p proto is left gutted).
llvm::Error importModel(onnx::ModelProto &proto, Model &model,
                        const ImportContext &ctx);

/// What to do with one tensor's bytes on export.
enum class TensorPlacement {
  Inline,   ///< Bytes in the protobuf (raw_data or the typed field).
  External, ///< The exporter's external sink decides the location.
  Stub,     ///< Skeleton: dims and type, a one-byte placeholder for data.
};

struct ExportOptions {
  /// Where each tensor goes; default: everything inline.
  std::function<TensorPlacement(const Tensor &)> placement;
  /// Called for External tensors: fills the external_data fields of the
  /// proto (location/offset/length) and remembers to write the bytes.
  std::function<llvm::Error(const Tensor &, onnx::TensorProto &)> external;
  /// Keep Constant nodes of lifted weights (true), or turn every weight into
  /// an initializer (false; skeletons for shape inference don't care).
  bool restoreConstants = true;
  /// Main-graph values added as graph outputs (probes for calibration),
  /// after the model's own; those already outputs are skipped.
  std::vector<std::string> extraOutputs;
  /// Main-graph node outputs each multiplied by a scalar graph input, so
  /// that one runtime session runs the model with any of them scaled or
  /// removed (gate 0), gate values fed per run: FinerCut's depth criterion
  /// scores a residual branch by the output change when it is removed, and
  /// a session per variant would cost a model load each.
  ///
  ///   before:  V = Op(...)               ... = Use(V)
  ///   after:   V__ungated = Op(...)
  ///            V = Mul(V__ungated, V__gate)   ... = Use(V)
  ///            input V__gate: scalar of V's element type
  ///
  /// Readers of V (nodes, graph outputs, extraOutputs) are unchanged; the
  /// names are gateNames()'s (ModelWriter.h). Fails, naming the value, on
  /// a graph input, a weight, an unknown name, a value gated twice, or an
  /// element type that is unknown or not floating-point.
  std::vector<std::string> gates;
  /// Main-graph node outputs each passed through a Tap node of the
  /// runtime's own domain (kTapDomain, ModelWriter.h) right after their
  /// producer, so that a runtime that implements Tap sees each value as it
  /// is made, still in cache, and frees its buffer as plain inference does
  /// (calibration folds them into statistics) instead of holding every one
  /// as a graph output until the run ends.
  ///
  ///   before:  V = Op(...)                                ... = Use(V)
  ///   after:   V__untapped = Op(...)
  ///            V = onnx_prune.runtime.Tap<index=i>(V__untapped)
  ///                                                       ... = Use(V)
  ///
  /// i is V's position in taps; Tap returns its input (a runtime aliases
  /// the buffer: no copy). Readers of V are unchanged; V__untapped is made
  /// unique against every name of the model. Fails, naming the value, on a
  /// graph input, a weight, an unknown name, a value tapped twice or gated,
  /// or an element type other than float.
  std::vector<std::string> taps;
};

llvm::Error exportModel(const Model &model, onnx::ModelProto &proto,
                        const ExportOptions &opts);

/// Converts one dense TensorProto held in the proto (raw_data, moved out of
/// \p tp, or typed fields, decoded) into a Tensor not tied to a model;
/// external data is refused. \p where names the tensor in messages.
llvm::Expected<std::unique_ptr<Tensor>>
importTensorProto(onnx::TensorProto &tp, const llvm::Twine &where);

/// Converts between IR types and TypeProto.
Type importType(const onnx::TypeProto &tp);
void exportType(const Type &t, onnx::TypeProto &tp);

} // namespace onnxprune

#endif // ONNXPRUNE_FRONTENDS_ONNX_PROTOCONVERT_H
