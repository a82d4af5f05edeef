//===- Type.h - Element types, dims and value types -------------*- C++ -*-===//
///
/// \file
/// The IR's view of ONNX types. Tensor types are modelled (element type and a
/// shape of static, symbolic or unknown dims); every other kind of type
/// (sequence, map, optional) is kept as the serialized TypeProto the frontend
/// read, so it round-trips without the IR having to understand it.
///
//===----------------------------------------------------------------------===//
#ifndef ONNXPRUNE_IR_TYPE_H
#define ONNXPRUNE_IR_TYPE_H

#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdint>
#include <optional>
#include <string>

namespace onnxprune {

/// Element types, numbered as ONNX's TensorProto::DataType so the frontend
/// converts with a cast. Values past the last one ONNX 1.12 knows (float8
/// types of newer opsets) are carried through as plain integers.
enum class DataType : int32_t {
  Undefined = 0,
  Float = 1,
  UInt8 = 2,
  Int8 = 3,
  UInt16 = 4,
  Int16 = 5,
  Int32 = 6,
  Int64 = 7,
  String = 8,
  Bool = 9,
  Float16 = 10,
  Double = 11,
  UInt32 = 12,
  UInt64 = 13,
  Complex64 = 14,
  Complex128 = 15,
  BFloat16 = 16,
  Float8E4M3FN = 17,
  Float8E4M3FNUZ = 18,
  Float8E5M2 = 19,
  Float8E5M2FNUZ = 20,
  UInt4 = 21,
  Int4 = 22,
};

/// Bytes per element, 0 for String/Undefined/unknown; 4-bit types report 1
/// (see storageBytes for their packed size).
unsigned elementSize(DataType type);
/// Bytes that \p numElements of \p type occupy in raw_data.
uint64_t storageBytes(DataType type, uint64_t numElements);
/// The ONNX text-format name ("float", "int64", ...), or "dtype<N>".
std::string dataTypeName(DataType type);
bool isFloatingPoint(DataType type);
/// Whole-byte integers and Bool (not Int4/UInt4): what shape data and
/// masks are made of.
bool isIntegerOrBool(DataType type);

/// One dimension: a static size, a symbolic name, or unknown.
struct Dim {
  int64_t value = -1;     ///< >= 0 when static.
  std::string param;      ///< Non-empty when symbolic.
  std::string denotation; ///< Kept for round trip; rarely set.

  static Dim of(int64_t v) { return Dim{v, {}, {}}; }
  static Dim symbol(llvm::StringRef s) { return Dim{-1, s.str(), {}}; }
  static Dim unknown() { return Dim{}; }
  bool isStatic() const { return value >= 0; }
  bool isSymbolic() const { return value < 0 && !param.empty(); }
  bool isUnknown() const { return value < 0 && param.empty(); }
  bool operator==(const Dim &o) const {
    return value == o.value && param == o.param;
  }
  bool operator!=(const Dim &o) const { return !(*this == o); }
};

using Shape = llvm::SmallVector<Dim, 4>;

/// The type of a value.
struct Type {
  enum class Kind : uint8_t {
    None,         ///< Nothing known (no value_info, not inferred).
    Tensor,       ///< Dense tensor: elemType and optionally shape.
    SparseTensor, ///< Sparse tensor: elemType and optionally shape.
    Other,        ///< Sequence/map/optional/...: see `opaque`.
  };
  Kind kind = Kind::None;
  DataType elemType = DataType::Undefined;
  std::optional<Shape> shape; ///< Unset: rank unknown.
  std::string denotation;
  std::string opaque; ///< Serialized TypeProto when kind == Other.

  static Type tensor(DataType t, std::optional<Shape> s = std::nullopt) {
    Type ty;
    ty.kind = Kind::Tensor;
    ty.elemType = t;
    ty.shape = std::move(s);
    return ty;
  }
  bool isTensor() const { return kind == Kind::Tensor; }
  bool hasRank() const { return isTensor() && shape.has_value(); }
  int64_t rank() const { return hasRank() ? (int64_t)shape->size() : -1; }
  /// True when every dim is static.
  bool isStaticShape() const;
  /// Product of static dims, or std::nullopt.
  std::optional<int64_t> numElements() const;
  bool operator==(const Type &o) const;
  bool operator!=(const Type &o) const { return !(*this == o); }
};

/// IEEE half and bfloat16 conversions (round to nearest even), for weights
/// and runtime tensors alike.
float halfToFloat(uint16_t h);
uint16_t floatToHalf(float f);
float bfloat16ToFloat(uint16_t b);
uint16_t floatToBFloat16(float f);

/// Prints "float[N,3,224,224]", "int64[?]", "float" (scalar), "?" (unknown).
void printType(llvm::raw_ostream &os, const Type &t);
std::string typeToString(const Type &t);

} // namespace onnxprune

#endif // ONNXPRUNE_IR_TYPE_H
