//===- WeightStore.cpp - Owner of a model's weights -----------------------===//

#include "lib/IR/WeightStore.h"
#include "lib/Support/Error.h"

#include "llvm/Support/FileSystem.h"

using namespace llvm;

namespace onnxprune {

Tensor *WeightStore::add(std::unique_ptr<Tensor> t) {
  Tensor *raw = t.get();
  tensors[raw] = std::move(t);
  return raw;
}

void WeightStore::erase(Tensor *t) { tensors.erase(t); }

Expected<std::shared_ptr<ExternalFile>>
WeightStore::openExternalFile(StringRef path) {
  auto it = files.find(path);
  if (it != files.end())
    return it->second;
  sys::fs::file_status st;
  if (std::error_code ec = sys::fs::status(path, st))
    return makeError("external data file '" + path + "': " + ec.message());
  if (!sys::fs::is_regular_file(st))
    return makeError("external data file '" + path + "' is not a regular file");
  auto f = std::make_shared<ExternalFile>(path.str(), st.getSize());
  files[path] = f;
  return f;
}

} // namespace onnxprune
