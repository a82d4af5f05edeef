//===- FacadeInternal.h - Pieces the library faces share --------*- C++ -*-===//
///
/// \file
/// What the C++ facade, the C ABI, the Python module and the tool share
/// beyond the public header: the conversion of llvm::Error into a Status,
/// the parser of size options (--external-data=1MB) and the -verify-each
/// verifier. Internal: not installed.
///
//===----------------------------------------------------------------------===//
#ifndef ONNXPRUNE_FACADE_FACADEINTERNAL_H
#define ONNXPRUNE_FACADE_FACADEINTERNAL_H

#include "onnxprune/OnnxPrune.h"
#include "passes/PassManager.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdint>

namespace onnxprune {
namespace api {

/// \p err as a Status (success when it holds none); \p inputError marks
/// errors about what the caller gave.
Status toStatus(llvm::Error err, bool inputError);

} // namespace api

/// Parses "1024", "64K", "1MB", "2GiB" (powers of 1024) into bytes; the
/// error names --external-data.
llvm::Expected<uint64_t> parseSizeOption(llvm::StringRef text);

/// -verify-each: the IR's invariants, then ONNX's checker. Checks the
/// checker had to skip are noted once on \p remarks (null: not at all),
/// prefixed by \p who ("onnx-prune").
ModelVerifierFn makeModelVerifier(llvm::raw_ostream *remarks = nullptr,
                                  llvm::StringRef who = "onnxprune");

class PassBuilder;

/// Loads a plugin (onnxprune/Plugin.h): opens \p path, checks its API
/// version and registers it. Loading the same library again does nothing.
llvm::Error loadPluginLibrary(llvm::StringRef path);

/// Lets every loaded plugin add its passes to \p pb.
void addPluginPassCallbacks(PassBuilder &pb);

} // namespace onnxprune

#endif // ONNXPRUNE_FACADE_FACADEINTERNAL_H
