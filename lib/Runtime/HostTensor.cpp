//===- HostTensor.cpp - Dense tensors in host memory ----------------------===//

#include "lib/Runtime/HostTensor.h"

#include "lib/Support/Error.h"

#include "llvm/Support/raw_ostream.h"

#include <cmath>

namespace onnxprune {

int64_t HostTensor::getNumElements() const {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

HostTensor HostTensor::zeros(DataType dtype, llvm::ArrayRef<int64_t> shape) {
  HostTensor t;
  t.dtype = dtype;
  t.shape.assign(shape.begin(), shape.end());
  t.bytes.assign(t.getNumElements() * elementSize(dtype), 0);
  return t;
}

template <typename T> static T loadAt(const HostTensor &t, int64_t i) {
  T v;
  std::memcpy(&v, t.bytes.data() + i * sizeof(T), sizeof(T));
  return v;
}

double HostTensor::getAsDouble(int64_t i) const {
  switch (dtype) {
  case DataType::Float:
    return loadAt<float>(*this, i);
  case DataType::Double:
    return loadAt<double>(*this, i);
  case DataType::Float16:
    return halfToFloat(loadAt<uint16_t>(*this, i));
  case DataType::BFloat16:
    return bfloat16ToFloat(loadAt<uint16_t>(*this, i));
  default:
    return (double)getAsInt64(i);
  }
}

int64_t HostTensor::getAsInt64(int64_t i) const {
  switch (dtype) {
  case DataType::Int8:
    return loadAt<int8_t>(*this, i);
  case DataType::Int16:
    return loadAt<int16_t>(*this, i);
  case DataType::Int32:
    return loadAt<int32_t>(*this, i);
  case DataType::Int64:
    return loadAt<int64_t>(*this, i);
  case DataType::UInt8:
    return loadAt<uint8_t>(*this, i);
  case DataType::UInt16:
    return loadAt<uint16_t>(*this, i);
  case DataType::UInt32:
    return loadAt<uint32_t>(*this, i);
  case DataType::UInt64:
    return (int64_t)loadAt<uint64_t>(*this, i);
  case DataType::Bool:
    return loadAt<uint8_t>(*this, i) != 0;
  default:
    return (int64_t)getAsDouble(i);
  }
}

std::string HostTensor::describe() const {
  std::string s;
  llvm::raw_string_ostream os(s);
  os << dataTypeName(dtype) << '[';
  for (size_t i = 0; i < shape.size(); ++i)
    os << (i ? "," : "") << shape[i];
  os << ']';
  return os.str();
}

bool isSupportedHostType(DataType dtype) {
  switch (dtype) {
  case DataType::Float:
  case DataType::Double:
  case DataType::Float16:
  case DataType::BFloat16:
  case DataType::Int8:
  case DataType::Int16:
  case DataType::Int32:
  case DataType::Int64:
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

llvm::Error validateHostTensor(const HostTensor &t, const llvm::Twine &what) {
  if (!isSupportedHostType(t.dtype))
    return makeError(what + ": element type " + dataTypeName(t.dtype) +
                     " is not supported by the runtime");
  for (int64_t d : t.shape)
    if (d < 0)
      return makeError(what + ": negative dim in shape " + t.describe());
  uint64_t want = (uint64_t)t.getNumElements() * elementSize(t.dtype);
  if (t.bytes.size() != want)
    return makeError(what + ": " + t.describe() + " needs " +
                     llvm::Twine(want) + " bytes, has " +
                     llvm::Twine((uint64_t)t.bytes.size()));
  return llvm::Error::success();
}

// ---- 16-bit floats ---------------------------------------------------------

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
