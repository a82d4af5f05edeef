//===- ModelSession.h - An ONNX Runtime session on an IR model --*- C++ -*-===//
///
/// \file
/// Opens an ONNX Runtime session on a model held in the IR: serialized in
/// memory when its weights are small enough, else written with external
/// data to a temporary folder that is removed once the session is loaded.
/// check-numerics and verify's runtime fallback share it.
///
//===----------------------------------------------------------------------===//
#ifndef ONNXPRUNE_LIB_RUNTIME_MODELSESSION_H
#define ONNXPRUNE_LIB_RUNTIME_MODELSESSION_H

#include "lib/IR/Model.h"
#include "lib/Runtime/OrtSession.h"

namespace onnxprune {

/// \p extraOutputs: main-graph values added as graph outputs (probes).
/// \p gates: main-graph values multiplied by a scalar input each, fed per
/// run (ExportOptions::gates; the inputs are named by gateNames()).
/// \p taps: main-graph values passed through a Tap node each, which shows
/// them to ro.tapSink as the model runs (ExportOptions::taps).
llvm::Expected<std::unique_ptr<OrtSession>>
openModelSession(const Model &m, const RuntimeOptions &ro = {},
                 llvm::ArrayRef<std::string> extraOutputs = {},
                 llvm::ArrayRef<std::string> gates = {},
                 llvm::ArrayRef<std::string> taps = {});

} // namespace onnxprune

#endif // ONNXPRUNE_LIB_RUNTIME_MODELSESSION_H
