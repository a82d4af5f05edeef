//===- Type.cpp - Element types, dims and value types ---------------------===//

#include "lib/IR/Type.h"

#include <cmath>
#include <cstring>

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

bool isIntegerOrBool(DataType type) {
  switch (type) {
  case DataType::Int64:
  case DataType::Int32:
  case DataType::Int16:
  case DataType::Int8:
  case DataType::UInt8:
  case DataType::UInt16:
  case DataType::UInt32:
  case DataType::UInt64:
  case DataType::Bool:
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

// ---- 16-bit floats ------------------------------------------------------

static uint32_t floatBits(float f) {
  uint32_t x;
  std::memcpy(&x, &f, sizeof(x));
  return x;
}

static float bitsFloat(uint32_t x) {
  float f;
  std::memcpy(&f, &x, sizeof(f));
  return f;
}

float halfToFloat(uint16_t h) {
  uint32_t sign = uint32_t(h & 0x8000) << 16;
  uint32_t exp = (h >> 10) & 0x1f;
  uint32_t mant = h & 0x3ff;
  if (exp == 0) {
    // Zero or subnormal: mant * 2^-24.
    float v = std::ldexp((float)mant, -24);
    return sign ? -v : v;
  }
  if (exp == 31)
    return bitsFloat(sign | 0x7f800000 | (mant << 13));
  return bitsFloat(sign | ((exp + 112) << 23) | (mant << 13));
}

uint16_t floatToHalf(float f) {
  uint32_t x = floatBits(f);
  uint16_t sign = (x >> 16) & 0x8000;
  uint32_t absx = x & 0x7fffffff;
  if (absx >= 0x7f800000) // Inf, or NaN (kept quiet, payload truncated).
    return sign | 0x7c00 |
           (absx > 0x7f800000 ? 0x200 | ((absx >> 13) & 0x3ff) : 0);
  if (absx < 0x38800000) {
    // Below half's smallest normal (2^-14): a subnormal, mant * 2^-24.
    if (absx < 0x33000000) // < 2^-25 rounds to zero (2^-25 ties to even 0).
      return sign;
    uint32_t e = absx >> 23;
    uint32_t m = (absx & 0x7fffff) | 0x800000;
    uint32_t shift = 126 - e; // 14..24
    uint32_t r = m >> shift;
    uint32_t rem = m & ((1u << shift) - 1);
    uint32_t halfway = 1u << (shift - 1);
    if (rem > halfway || (rem == halfway && (r & 1)))
      ++r;
    return sign | r;
  }
  // Normal: rebias the exponent (127 -> 15), round the 13 dropped bits to
  // nearest even; a carry past the largest finite value gives Inf.
  uint32_t h = (absx - 0x38000000) >> 13;
  uint32_t rem = absx & 0x1fff;
  if (rem > 0x1000 || (rem == 0x1000 && (h & 1)))
    ++h;
  if (h >= 0x7c00)
    h = 0x7c00;
  return sign | h;
}

float bfloat16ToFloat(uint16_t b) { return bitsFloat(uint32_t(b) << 16); }

uint16_t floatToBFloat16(float f) {
  uint32_t x = floatBits(f);
  if ((x & 0x7fffffff) > 0x7f800000) // NaN: keep it a quiet NaN.
    return ((x >> 16) & 0x8000) | 0x7fc0;
  x += 0x7fff + ((x >> 16) & 1);
  return x >> 16;
}

} // namespace onnxprune
