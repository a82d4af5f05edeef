//===- ModelReader.h - Read ONNX files into the IR --------------*- C++ -*-===//
///
/// \file
/// The way in: binary `.onnx` (with external data), the ONNX text format,
/// and stdin. Protobuf and ONNX exceptions stop here and become llvm::Error
/// with the file, node and op named.
///
//===----------------------------------------------------------------------===//
#ifndef ONNXPRUNE_FRONTENDS_ONNX_MODELREADER_H
#define ONNXPRUNE_FRONTENDS_ONNX_MODELREADER_H

#include "lib/IR/Model.h"

#include "llvm/Support/Error.h"

#include <memory>

namespace onnxprune {

struct ReadOptions {
  /// Lift `Constant` node tensors into the WeightStore (passes then see one
  /// kind of weight; the writer puts them back into Constant nodes).
  bool liftConstants = true;
  /// Fill value types after reading, with onnx-prune's own shape inference
  /// (it knows every opset and is fuzzed with the reader).
  bool inferShapes = true;
  /// Use libonnx's shape inference instead where it knows the opset (run
  /// in a child process: it crashes on some malformed models). Tests use it
  /// to cross-check ours.
  bool onnxShapeInference = false;
};

enum class ModelFormat { Binary, Text };

/// Guesses the format from the file name (.onnxtext/.txt are text) and,
/// failing that, from the first bytes.
ModelFormat guessFormat(llvm::StringRef path, llvm::StringRef firstBytes);

/// Reads \p path ("-" is stdin). External data is resolved against the
/// model's folder; locations escaping it are refused.
llvm::Expected<std::unique_ptr<Model>>
readModelFile(llvm::StringRef path, const ReadOptions &opts = {});

/// Reads a model held in memory. \p baseDir resolves external data ("" when
/// none is allowed); \p displayName names the source in messages.
llvm::Expected<std::unique_ptr<Model>>
readModelFromBuffer(std::string bytes, ModelFormat format,
                    llvm::StringRef baseDir, llvm::StringRef displayName,
                    const ReadOptions &opts = {});

} // namespace onnxprune

#endif // ONNXPRUNE_FRONTENDS_ONNX_MODELREADER_H
