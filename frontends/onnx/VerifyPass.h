//===- VerifyPass.h - The `verify` pass -------------------------*- C++ -*-===//
///
/// \file
/// `verify` checks the model three ways and fails on the first problem:
///   1. the IR's own structure (use lists, topological order, definitions,
///      weight shapes) -- always;
///   2. onnx::checker with strict shape inference -- when the linked ONNX
///      library knows the model's IR version and opsets;
///   3. a session load in ONNX Runtime -- when (2) had to be skipped and the
///      tool was built with the runtime (the fallback is injected, so this
///      library does not link ONNX Runtime).
/// Each skipped check is reported as a remark, never as a failure: a valid
/// model is never rejected because the local ONNX library is old.
///
//===----------------------------------------------------------------------===//
#ifndef ONNXPRUNE_FRONTENDS_ONNX_VERIFYPASS_H
#define ONNXPRUNE_FRONTENDS_ONNX_VERIFYPASS_H

#include "passes/PassManager.h"

#include <functional>

namespace onnxprune {

class VerifyPass {
public:
  /// Loads the model in a runtime; returns an error if it does not load.
  using RuntimeCheck = std::function<llvm::Error(const Model &)>;

  explicit VerifyPass(RuntimeCheck fallback = {})
      : fallback(std::move(fallback)) {}
  static llvm::StringRef name() { return "verify"; }
  llvm::Expected<PreservedAnalyses> run(Model &m, ModelAnalysisManager &am);

private:
  RuntimeCheck fallback;
};

} // namespace onnxprune

#endif // ONNXPRUNE_FRONTENDS_ONNX_VERIFYPASS_H
