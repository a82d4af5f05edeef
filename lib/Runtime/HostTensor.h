//===- HostTensor.h - Dense tensors in host memory --------------*- C++ -*-===//
///
/// \file
/// A HostTensor is what goes into and comes out of a runtime session: an
/// element type, a shape and the raw little-endian bytes, row-major. It is a
/// plain value (copyable, no runtime types in it), so callers that only build
/// inputs or read results do not see ONNX Runtime's headers.
///
/// Supported element types are the fixed-size numeric ones: float, double,
/// float16, bfloat16, int8/16/32/64, uint8/16/32/64 and bool (one byte each).
///
//===----------------------------------------------------------------------===//
#ifndef ONNXPRUNE_RUNTIME_HOSTTENSOR_H
#define ONNXPRUNE_RUNTIME_HOSTTENSOR_H

#include "lib/IR/Type.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/Twine.h"
#include "llvm/Support/Error.h"

#include <cassert>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace onnxprune {

struct HostTensor {
  DataType dtype = DataType::Undefined;
  std::vector<int64_t> shape;
  std::vector<char> bytes;

  /// Product of the dims (1 for a scalar).
  int64_t getNumElements() const;

  /// A tensor of \p dtype and \p shape filled with zero bytes.
  static HostTensor zeros(DataType dtype, llvm::ArrayRef<int64_t> shape);

  /// A tensor whose bytes are a copy of \p values; T must have the size of
  /// \p dtype's elements (e.g. float for Float, uint16_t for Float16,
  /// uint8_t/bool for Bool).
  template <typename T>
  static HostTensor fromValues(DataType dtype, llvm::ArrayRef<int64_t> shape,
                               llvm::ArrayRef<T> values) {
    assert(elementSize(dtype) == sizeof(T) && "element size mismatch");
    HostTensor t;
    t.dtype = dtype;
    t.shape.assign(shape.begin(), shape.end());
    assert((int64_t)values.size() == t.getNumElements() && "wrong count");
    t.bytes.resize(values.size() * sizeof(T));
    if (!values.empty())
      std::memcpy(t.bytes.data(), values.data(), t.bytes.size());
    return t;
  }
  static HostTensor fromFloats(llvm::ArrayRef<int64_t> shape,
                               llvm::ArrayRef<float> values) {
    return fromValues(DataType::Float, shape, values);
  }
  static HostTensor fromInt64s(llvm::ArrayRef<int64_t> shape,
                               llvm::ArrayRef<int64_t> values) {
    return fromValues(DataType::Int64, shape, values);
  }

  /// The elements as a typed view; T must match the element size.
  template <typename T> llvm::ArrayRef<T> getValues() const {
    assert(elementSize(dtype) == sizeof(T) && "element size mismatch");
    return llvm::ArrayRef<T>(reinterpret_cast<const T *>(bytes.data()),
                             bytes.size() / sizeof(T));
  }

  /// Element \p i converted to double (float16/bfloat16 decoded; int64
  /// values above 2^53 lose precision).
  double getAsDouble(int64_t i) const;
  /// Element \p i of an integer or bool tensor, exactly.
  int64_t getAsInt64(int64_t i) const;

  /// "float[1,3,8,8]".
  std::string describe() const;
};

/// A tensor with the name of the graph input or output it belongs to.
struct NamedTensor {
  std::string name;
  HostTensor tensor;
};

/// True for the element types HostTensor and the runtime handle.
bool isSupportedHostType(DataType dtype);

/// Checks that \p t has a supported type, non-negative dims, and exactly
/// the bytes its shape needs.
llvm::Error validateHostTensor(const HostTensor &t, const llvm::Twine &what);

} // namespace onnxprune

#endif // ONNXPRUNE_RUNTIME_HOSTTENSOR_H
