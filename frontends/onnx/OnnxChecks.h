//===- OnnxChecks.h - ONNX's checker and shape inference --------*- C++ -*-===//
///
/// \file
/// Wrappers around libonnx's checker and shape inference, run on a
/// "skeleton" export of the IR (small tensors inline, big ones as dims and
/// type with a placeholder byte, which the checker accepts and nothing
/// reads), so they cost little even for models of
/// many GB. libonnx 1.12 knows opsets up to 17: for newer models the check is
/// skipped with a note, never failed.
///
//===----------------------------------------------------------------------===//
#ifndef ONNXPRUNE_FRONTENDS_ONNX_ONNXCHECKS_H
#define ONNXPRUNE_FRONTENDS_ONNX_ONNXCHECKS_H

#include "lib/IR/Model.h"

#include "llvm/Support/Error.h"

#include <string>
#include <vector>

namespace onnxprune {

/// Highest ai.onnx opset the linked ONNX library knows.
int64_t maxKnownOpset();

struct CheckReport {
  /// Checks not run, each with the reason ("onnx checker: opset 21 is newer
  /// than the 17 this ONNX library knows").
  std::vector<std::string> skipped;
};

/// Runs onnx::checker (full check: also strict shape inference) on \p model.
llvm::Error runOnnxChecker(const Model &model, CheckReport &report);

/// Fills the types of values in all graphs from ONNX shape inference. Types
/// already known are refined, never replaced by less information.
llvm::Error inferShapesWithOnnx(Model &model, CheckReport &report);

} // namespace onnxprune

#endif // ONNXPRUNE_FRONTENDS_ONNX_ONNXCHECKS_H
