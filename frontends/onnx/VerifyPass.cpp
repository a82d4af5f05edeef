//===- VerifyPass.cpp - The `verify` pass ---------------------------------===//

#include "frontends/onnx/VerifyPass.h"
#include "frontends/onnx/OnnxChecks.h"
#include "lib/IR/IRVerifier.h"
#include "lib/Support/Error.h"

#include "llvm/Support/WithColor.h"

using namespace llvm;

namespace onnxprune {

Expected<PreservedAnalyses> VerifyPass::run(Model &m,
                                            ModelAnalysisManager &am) {
  if (Error e = verifyModelStructure(m))
    return addContext(std::move(e), "verify");
  CheckReport report;
  if (Error e = runOnnxChecker(m, report))
    return addContext(std::move(e), "verify");
  for (const std::string &s : report.skipped)
    WithColor::remark(errs(), "onnx-prune") << "verify: skipped " << s << "\n";
  if (!report.skipped.empty()) {
    if (fallback) {
      if (Error e = fallback(m))
        return addContext(std::move(e), "verify: ONNX Runtime load");
      WithColor::remark(errs(), "onnx-prune")
          << "verify: the model loads in ONNX Runtime\n";
    } else {
      WithColor::remark(errs(), "onnx-prune")
          << "verify: built without ONNX Runtime, no runtime check either\n";
    }
  }
  return PreservedAnalyses::all();
}

} // namespace onnxprune
