//===- ModelSession.cpp - An ONNX Runtime session on an IR model ----------===//

#include "lib/Runtime/ModelSession.h"
#include "frontends/onnx/ModelWriter.h"
#include "lib/Support/Error.h"

#include "llvm/ADT/ScopeExit.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"

namespace onnxprune {

/// Weights above this go through a file: protobuf stops at 2 GB, and an
/// in-memory copy of a big model would double its footprint.
constexpr uint64_t kMaxSerializedWeightBytes = 1536ull << 20;

static uint64_t weightBytes(const Model &m) {
  uint64_t total = 0;
  m.forEachGraph([&](const Graph &g) {
    for (Value *v : g.getValues())
      if (v->isWeight())
        total += v->getWeight()->getByteSize();
  });
  return total;
}

llvm::Expected<std::unique_ptr<OrtSession>>
openModelSession(const Model &m, const RuntimeOptions &ro,
                 llvm::ArrayRef<std::string> extraOutputs,
                 llvm::ArrayRef<std::string> gates,
                 llvm::ArrayRef<std::string> taps) {
  assert((taps.empty() || ro.tapSink) && "a tapped model needs a TapSink");
  if (weightBytes(m) <= kMaxSerializedWeightBytes) {
    auto bytes = serializeModel(m, extraOutputs, gates, taps);
    if (!bytes)
      return bytes.takeError();
    return OrtSession::createFromBytes(*bytes, ro);
  }
  llvm::SmallString<128> dir;
  if (std::error_code ec =
          llvm::sys::fs::createUniqueDirectory("onnx-prune-session", dir))
    return makeError("cannot create a temporary folder: " + ec.message());
  // The session has read (or mapped) the files once it exists; on Linux a
  // mapped file stays valid after its name is removed.
  auto removeDir =
      llvm::make_scope_exit([&] { llvm::sys::fs::remove_directories(dir); });
  llvm::SmallString<128> path(dir);
  llvm::sys::path::append(path, "model.onnx");
  WriteOptions wo;
  wo.externalThreshold = 1024;
  wo.extraOutputs.assign(extraOutputs.begin(), extraOutputs.end());
  wo.gates.assign(gates.begin(), gates.end());
  wo.taps.assign(taps.begin(), taps.end());
  if (llvm::Error err = writeModelFile(m, path, wo))
    return std::move(err);
  return OrtSession::createFromFile(path, ro);
}

} // namespace onnxprune
