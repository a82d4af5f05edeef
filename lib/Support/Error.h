//===- Error.h - Error helpers for onnx-prune -------------------*- C++ -*-===//
///
/// \file
/// One error system: llvm::Error. These helpers build the one-line messages
/// the project promises users ("node 'conv_3' (Conv): weight is not a
/// constant") so every layer words its errors the same way.
///
//===----------------------------------------------------------------------===//
#ifndef ONNXPRUNE_SUPPORT_ERROR_H
#define ONNXPRUNE_SUPPORT_ERROR_H

#include "llvm/ADT/StringRef.h"
#include "llvm/ADT/Twine.h"
#include "llvm/Support/Error.h"

namespace onnxprune {

/// An error with a plain message.
inline llvm::Error makeError(const llvm::Twine &msg) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), msg);
}

/// Prefixes the message of \p err with \p context and ": ".
llvm::Error addContext(llvm::Error err, const llvm::Twine &context);

/// Collapses an error message to one line (newlines become "; ").
std::string oneLine(llvm::StringRef msg);

} // namespace onnxprune

#endif // ONNXPRUNE_SUPPORT_ERROR_H
