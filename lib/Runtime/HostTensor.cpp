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
  return isFloatingPoint(dtype) || isIntegerOrBool(dtype);
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

} // namespace onnxprune
