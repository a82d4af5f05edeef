//===- ReaderFuzzer.cpp - libFuzzer target for the model reader -----------===//
///
/// \file
/// Feeds arbitrary bytes to the reader (binary and text), then writes the
/// model back and runs the structural verifier on it. Any crash, sanitizer
/// report, hang or uncaught exception is a bug: bad input must come back as
/// an llvm::Error. Reading runs onnx-prune's own shape inference, so it is
/// fuzzed too. External data is disabled (no base folder), so the
/// fuzzer never touches the filesystem.
///
//===----------------------------------------------------------------------===//

#include "frontends/onnx/ModelReader.h"
#include "frontends/onnx/ModelWriter.h"
#include "lib/IR/IRVerifier.h"
#include "passes/OpHandlers/ShapeInference.h"

#include <cstddef>
#include <cstdint>

using namespace onnxprune;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > (1u << 20))
    return 0;
  std::string bytes(reinterpret_cast<const char *>(data), size);
  // The first byte picks the format so both parsers get fuzzed.
  ModelFormat fmt =
      size && (data[0] & 1) ? ModelFormat::Text : ModelFormat::Binary;
  auto model = readModelFromBuffer(std::move(bytes), fmt, "", "fuzz");
  if (!model) {
    llvm::consumeError(model.takeError());
    return 0;
  }
  // Shape inference is fuzzed with the reader: every caller runs it next.
  fillTypes(**model);
  llvm::consumeError(verifyModelStructure(**model));
  // libonnx's checker runs in a child process (OnnxChecks.cpp): its crashes
  // are its own, and the regression tests cover that isolation.
  auto out = serializeModel(**model);
  if (!out)
    llvm::consumeError(out.takeError());
  return 0;
}
