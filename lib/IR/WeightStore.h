//===- WeightStore.h - Owner of a model's weights ---------------*- C++ -*-===//
///
/// \file
/// The WeightStore owns every weight tensor of a model (initializers of all
/// graphs and tensors lifted from Constant nodes) and the external data files
/// they point into, each opened once. Values point at tensors here; nothing
/// copies a weight it does not change.
///
//===----------------------------------------------------------------------===//
#ifndef ONNXPRUNE_IR_WEIGHTSTORE_H
#define ONNXPRUNE_IR_WEIGHTSTORE_H

#include "lib/IR/Tensor.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/StringMap.h"

#include <memory>

namespace onnxprune {

class WeightStore {
public:
  /// Takes ownership of \p t; the pointer stays valid until erase().
  Tensor *add(std::unique_ptr<Tensor> t);
  void erase(Tensor *t);
  size_t size() const { return tensors.size(); }

  /// The external file at \p path (absolute), opened once and shared.
  llvm::Expected<std::shared_ptr<ExternalFile>>
  openExternalFile(llvm::StringRef path);

private:
  llvm::DenseMap<const Tensor *, std::unique_ptr<Tensor>> tensors;
  llvm::StringMap<std::shared_ptr<ExternalFile>> files;
};

} // namespace onnxprune

#endif // ONNXPRUNE_IR_WEIGHTSTORE_H
