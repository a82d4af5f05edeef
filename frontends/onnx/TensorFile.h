//===- TensorFile.h - Read serialized TensorProto files ---------*- C++ -*-===//
///
/// \file
/// Reads one serialized onnx::TensorProto from a file, the format of ONNX's
/// test data (`test_data_set_0/input_0.pb`), and hands back what it holds
/// without protobuf types: name, element type, dims and the raw
/// little-endian bytes. Typed fields (float_data, int64_data...) are decoded
/// as the model reader decodes initializers.
///
/// A tensor stored as raw_data can be read without keeping its bytes: the
/// result then says where they lie in the file, so a caller that needs only
/// some rows later reads just those (calibration data bigger than memory).
///
//===----------------------------------------------------------------------===//
#ifndef ONNXPRUNE_FRONTENDS_ONNX_TENSORFILE_H
#define ONNXPRUNE_FRONTENDS_ONNX_TENSORFILE_H

#include "lib/IR/Type.h"

#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <string>

namespace onnxprune {

/// The contents of one TensorProto file.
struct TensorFileContents {
  /// The proto's name field ("" when unset).
  std::string name;
  DataType dtype = DataType::Undefined;
  llvm::SmallVector<int64_t, 4> dims;
  /// The elements, raw little-endian and row-major. Empty when the data is
  /// raw_data and the caller asked not to keep it (see rawDataOffset).
  std::string bytes;
  /// For a tensor stored as raw_data: the file offset of its first byte
  /// (the data is storageBytes(dtype, elements) long); -1 for typed fields.
  int64_t rawDataOffset = -1;
};

/// Reads the TensorProto in \p path. With \p keepRawData false, a tensor
/// stored as raw_data comes back with empty `bytes` and its file offset in
/// `rawDataOffset`; typed data is always decoded into `bytes`. Fails with a
/// message naming the file on anything but a complete, consistent dense
/// tensor held in the file (external data and segments are refused).
llvm::Expected<TensorFileContents> readTensorProtoFile(llvm::StringRef path,
                                                       bool keepRawData = true);

} // namespace onnxprune

#endif // ONNXPRUNE_FRONTENDS_ONNX_TENSORFILE_H
