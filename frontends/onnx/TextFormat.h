//===- TextFormat.h - The ONNX text format ----------------------*- C++ -*-===//
///
/// \file
/// Prints a ModelProto in the ONNX text format that onnx::OnnxParser reads
/// (the format of our .onnxtext tests): a `<...>` header with the model's
/// fields, the graph, then model-local functions. value_info and subgraph
/// initializers have no place in that format and are not written.
///
//===----------------------------------------------------------------------===//
#ifndef ONNXPRUNE_FRONTENDS_ONNX_TEXTFORMAT_H
#define ONNXPRUNE_FRONTENDS_ONNX_TEXTFORMAT_H

#include "llvm/Support/Error.h"

#include "onnx/onnx_pb.h"

#include <string>

namespace onnxprune {

/// Fails for tensors without a text form (external data, float16...).
/// Lifted Constant weights should be exported as initializers first: the
/// onnx printer would round tensor attributes.
/// Value names that are not identifiers of the text format ("onnx::Conv_5",
/// "fc.weight") are renamed consistently ("onnx__Conv_5"); \p numRenamed
/// receives how many.
llvm::Expected<std::string> printModelText(const onnx::ModelProto &model,
                                           unsigned *numRenamed = nullptr);

} // namespace onnxprune

#endif // ONNXPRUNE_FRONTENDS_ONNX_TEXTFORMAT_H
