//===- ModelReader.h - Read ONNX files into the IR --------------*- C++ -*-===//
///
/// \file
/// The way in: binary `.onnx` (with external data), the ONNX text format,
/// and stdin. Protobuf and ONNX exceptions stop here and become llvm::Error
/// with the file, node and op named.
///
/// The reader runs no passes: values have the types the file declares.
/// Whoever reads a model asks for the rest (fillTypes() in
/// passes/OpHandlers/ShapeInference.h, or libonnx's inferShapesWithOnnx()).
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
