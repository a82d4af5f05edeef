//===- TextFormat.h - The ONNX text format ----------------------*- C++ -*-===//
///
/// \file
/// Prints a ModelProto in the ONNX text format that onnx::OnnxParser reads
/// (the format of our .onnxtext tests): a `<...>` header with the model's
/// fields, the graph, then model-local functions.
///
//===----------------------------------------------------------------------===//
#ifndef ONNXPRUNE_FRONTENDS_ONNX_TEXTFORMAT_H
#define ONNXPRUNE_FRONTENDS_ONNX_TEXTFORMAT_H

#include "onnx/onnx_pb.h"

#include <string>

namespace onnxprune {

std::string printModelText(const onnx::ModelProto &model);

} // namespace onnxprune

#endif // ONNXPRUNE_FRONTENDS_ONNX_TEXTFORMAT_H
