//===- PipelineFuzzer.cpp - libFuzzer target for the whole pipeline -------===//
///
/// \file
/// What llvm-opt-fuzzer is to opt: every input that loads and passes
/// `verify` is pushed through dependency groups and a random 30% width
/// prune (after dropping one random residual unit, for odd seeds), and the
/// result must pass `verify` again. A crash, hang, sanitizer
/// report, or a pruned model that fails `verify` is a finding (the latter
/// aborts, so libFuzzer saves the input). Errors from the passes themselves
/// are fine: bad or unsupported models are allowed to be refused.
///
/// The random criterion's seed comes from the input's last byte, so the
/// fuzzer explores unit choices as well as graphs.
///
//===----------------------------------------------------------------------===//

#include "frontends/onnx/ModelReader.h"
#include "passes/OpHandlers/ShapeInference.h"
#include "passes/PassManager.h"
#include "passes/Pipeline/PassBuilder.h"

#include "llvm/Support/raw_ostream.h"

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

using namespace onnxprune;

namespace {

/// Runs \p pipeline on \p m; false (error consumed) when a pass refused.
bool runPipeline(Model &m, const std::string &pipeline,
                 std::string *error = nullptr) {
  llvm::raw_null_ostream sink;
  PassBuilder pb(&sink);
  ModelPassManager mpm;
  if (llvm::Error e = pb.parsePassPipeline(mpm, pipeline)) {
    std::fprintf(stderr, "bad fuzzer pipeline: %s\n",
                 llvm::toString(std::move(e)).c_str());
    std::abort();
  }
  ModelAnalysisManager mam;
  pb.registerAnalyses(mam);
  auto pa = mpm.run(m, mam);
  if (pa)
    return true;
  std::string msg = llvm::toString(pa.takeError());
  if (error)
    *error = msg;
  return false;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 2 || size > (1u << 20))
    return 0;
  unsigned seed = data[size - 1];
  std::string bytes(reinterpret_cast<const char *>(data), size - 1);
  // Seeds are binary models and text-format tests (which start with a
  // header '<' or a comment '#').
  ModelFormat fmt = data[0] == '<' || data[0] == '#' ? ModelFormat::Text
                                                     : ModelFormat::Binary;
  auto model = readModelFromBuffer(std::move(bytes), fmt, "", "fuzz");
  if (!model) {
    llvm::consumeError(model.takeError());
    return 0;
  }
  fillTypes(**model);
  // Only valid models are interesting: the reader fuzzer covers the rest.
  if (!runPipeline(**model, "verify"))
    return 0;
  // Odd seeds drop a residual unit first: depth then width, as users chain
  // them (a model without residual units is left as it was).
  std::string prune =
      std::string(seed % 2 ? "drop-layers<criterion=random;count=1;seed=" +
                                 std::to_string(seed) + ">,"
                           : "") +
      "require<dep-groups>,prune-width<criterion=random;ratio=0.3;seed=" +
      std::to_string(seed) + ">,dce";
  if (!runPipeline(**model, prune))
    return 0;
  std::string why;
  if (!runPipeline(**model, "verify", &why)) {
    std::fprintf(stderr, "pruned model fails verify: %s\n", why.c_str());
    std::abort();
  }
  return 0;
}
