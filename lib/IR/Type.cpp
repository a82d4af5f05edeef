//===- Type.cpp - Element types, dims and value types ---------------------===//

#include "lib/IR/Type.h"

using namespace llvm;

namespace onnxprune {

unsigned elementSize(DataType type) {
  switch (type) {
  case DataType::Float:
  case DataType::Int32:
  case DataType::UInt32:
    return 4;
  case DataType::UInt8:
  case DataType::Int8:
  case DataType::Bool:
  case DataType::Float8E4M3FN:
  case DataType::Float8E4M3FNUZ:
  case DataType::Float8E5M2:
  case DataType::Float8E5M2FNUZ:
  case DataType::UInt4:
  case DataType::Int4:
    return 1;
  case DataType::UInt16:
  case DataType::Int16:
  case DataType::Float16:
  case DataType::BFloat16:
    return 2;
  case DataType::Int64:
  case DataType::UInt64:
  case DataType::Double:
  case DataType::Complex64:
    return 8;
  case DataType::Complex128:
    return 16;
  case DataType::String:
  case DataType::Undefined:
    return 0;
  }
  return 0;
}

uint64_t storageBytes(DataType type, uint64_t numElements) {
  if (type == DataType::UInt4 || type == DataType::Int4)
    return (numElements + 1) / 2;
  return numElements * elementSize(type);
}

std::string dataTypeName(DataType type) {
  switch (type) {
  case DataType::Float:
    return "float";
  case DataType::UInt8:
    return "uint8";
  case DataType::Int8:
    return "int8";
  case DataType::UInt16:
    return "uint16";
  case DataType::Int16:
    return "int16";
  case DataType::Int32:
    return "int32";
  case DataType::Int64:
    return "int64";
  case DataType::String:
    return "string";
  case DataType::Bool:
    return "bool";
  case DataType::Float16:
    return "float16";
  case DataType::Double:
    return "double";
  case DataType::UInt32:
    return "uint32";
  case DataType::UInt64:
    return "uint64";
  case DataType::Complex64:
    return "complex64";
  case DataType::Complex128:
    return "complex128";
  case DataType::BFloat16:
    return "bfloat16";
  default:
    return "dtype<" + std::to_string((int)type) + ">";
  }
}

bool isFloatingPoint(DataType type) {
  switch (type) {
  case DataType::Float:
  case DataType::Float16:
  case DataType::BFloat16:
  case DataType::Double:
    return true;
  default:
    return false;
  }
}

bool Type::isStaticShape() const {
  if (!hasRank())
    return false;
  for (const Dim &d : *shape)
    if (!d.isStatic())
      return false;
  return true;
}

std::optional<int64_t> Type::numElements() const {
  if (!isStaticShape())
    return std::nullopt;
  int64_t n = 1;
  for (const Dim &d : *shape)
    n *= d.value;
  return n;
}

bool Type::operator==(const Type &o) const {
  return kind == o.kind && elemType == o.elemType && shape == o.shape &&
         denotation == o.denotation && opaque == o.opaque;
}

void printType(raw_ostream &os, const Type &t) {
  switch (t.kind) {
  case Type::Kind::None:
    os << "?";
    return;
  case Type::Kind::Other:
    os << "<non-tensor>";
    return;
  case Type::Kind::SparseTensor:
    os << "sparse_tensor(";
    break;
  case Type::Kind::Tensor:
    break;
  }
  os << dataTypeName(t.elemType);
  if (t.shape) {
    if (!t.shape->empty() || t.kind == Type::Kind::Tensor) {
      if (!t.shape->empty()) {
        os << "[";
        for (size_t i = 0; i < t.shape->size(); ++i) {
          if (i)
            os << ",";
          const Dim &d = (*t.shape)[i];
          if (d.isStatic())
            os << d.value;
          else if (d.isSymbolic())
            os << d.param;
          else
            os << "?";
        }
        os << "]";
      }
    }
  } else {
    os << "[*]";
  }
  if (t.kind == Type::Kind::SparseTensor)
    os << ")";
}

std::string typeToString(const Type &t) {
  std::string s;
  raw_string_ostream os(s);
  printType(os, t);
  return os.str();
}

} // namespace onnxprune
