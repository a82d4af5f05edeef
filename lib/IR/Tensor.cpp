//===- Tensor.cpp - Weight tensors and where their bytes live -------------===//

#include "lib/IR/Tensor.h"
#include "lib/Support/Error.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Process.h"

#include <sys/mman.h>

#include <cstring>

using namespace llvm;

namespace onnxprune {

ExternalFile::~ExternalFile() = default;

Expected<ArrayRef<char>> ExternalFile::read(uint64_t offset, uint64_t length) {
  if (offset > size || length > size - offset)
    return makeError("external data '" + path + "': range [" + Twine(offset) +
                     ", " + Twine(offset + length) + ") is past its end (" +
                     Twine(size) + " bytes)");
  if (length == 0)
    return ArrayRef<char>();
  std::lock_guard<std::mutex> lock(mu);
  if (!region) {
    int fd;
    if (std::error_code ec = sys::fs::openFileForRead(path, fd))
      return makeError("cannot open external data '" + path +
                       "': " + ec.message());
    std::error_code ec;
    auto r = std::make_unique<sys::fs::mapped_file_region>(
        sys::fs::convertFDToNativeFile(fd),
        sys::fs::mapped_file_region::readonly, size, 0, ec);
    sys::fs::closeFile(fd);
    if (ec)
      return makeError("cannot map external data '" + path +
                       "': " + ec.message());
    region = std::move(r);
  }
  return ArrayRef<char>(region->const_data() + offset, length);
}

void ExternalFile::release(uint64_t offset, uint64_t length) {
  std::lock_guard<std::mutex> lock(mu);
  if (!region || length == 0)
    return;
  // Whole pages inside the range only: neighbours may still be in use.
  const uint64_t page = sys::Process::getPageSizeEstimate();
  uint64_t begin = (offset + page - 1) / page * page;
  uint64_t end = std::min<uint64_t>(offset + length, size) / page * page;
  if (end > begin)
    ::madvise(const_cast<char *>(region->const_data()) + begin, end - begin,
              MADV_DONTNEED);
}

bool Tensor::isSplat() const {
  unsigned es = elementSize(dtype);
  if (dtype == DataType::String || es == 0 || getNumElements() < 2)
    return false;
  auto data = getBytes();
  if (!data) {
    consumeError(data.takeError());
    return false;
  }
  StringRef all(data->data(), data->size()), first = all.take_front(es);
  for (size_t off = es; off + es <= all.size(); off += es)
    if (all.substr(off, es) != first)
      return false;
  return true;
}

uint64_t Tensor::getNumElements() const {
  uint64_t n = 1;
  for (int64_t d : dims)
    n *= d < 0 ? 0 : (uint64_t)d;
  return n;
}

void Tensor::releaseBytes() const {
  if (isExternal && external.file)
    external.file->release(external.offset, external.length);
}

std::string gatherAxis(StringRef src, ArrayRef<int64_t> dims, unsigned es,
                       unsigned axis, ArrayRef<int64_t> kept) {
  uint64_t outer = 1, inner = es;
  for (unsigned i = 0; i < axis; ++i)
    outer *= dims[i];
  for (unsigned i = axis + 1; i < dims.size(); ++i)
    inner *= dims[i];
  std::string out(outer * kept.size() * inner, '\0');
  char *dst = out.data();
  for (uint64_t o = 0; o < outer; ++o)
    for (int64_t k : kept) {
      std::memcpy(dst, src.data() + (o * dims[axis] + k) * inner, inner);
      dst += inner;
    }
  return out;
}

void Tensor::setLazySlice(ArrayRef<int64_t> newDims,
                          std::vector<SliceAxis> axes) {
  assert(isExternal && !lazy && "only unchanged external tensors");
  auto l = std::make_unique<LazySlice>();
  l->sourceDims = dims;
  l->axes = std::move(axes);
  llvm::sort(l->axes, [](const SliceAxis &a, const SliceAxis &b) {
    return a.axis < b.axis;
  });
  lazy = std::move(l);
  dims.assign(newDims.begin(), newDims.end());
  modified = true;
}

Error Tensor::streamLazySlice(function_ref<Error(StringRef)> sink) const {
  assert(lazy && "not a lazy slice");
  const LazySlice &l = *lazy;
  unsigned es = elementSize(dtype);
  // Walk the source's first axis: each of its rows is contiguous in the
  // file, is gathered along the other sliced axes in memory (one row at a
  // time), written, and its pages released.
  ArrayRef<int64_t> src = l.sourceDims;
  uint64_t rowElems = 1;
  for (size_t i = 1; i < src.size(); ++i)
    rowElems *= src[i];
  uint64_t rowBytes = rowElems * es;
  std::vector<int64_t> rows;
  const SliceAxis *first =
      !l.axes.empty() && l.axes[0].axis == 0 ? &l.axes[0] : nullptr;
  if (src.empty()) {
    rows.push_back(0);
  } else if (first) {
    rows = first->kept;
  } else {
    rows.resize(src[0]);
    for (int64_t i = 0; i < src[0]; ++i)
      rows[i] = i;
  }
  SmallVector<int64_t, 4> rowDims(src.begin() + (src.empty() ? 0 : 1),
                                  src.end());
  for (int64_t r : rows) {
    uint64_t off = external.offset + (uint64_t)r * rowBytes;
    auto bytesOr = external.file->read(off, rowBytes);
    if (!bytesOr)
      return bytesOr.takeError();
    std::string row(bytesOr->data(), bytesOr->size());
    SmallVector<int64_t, 4> d(rowDims);
    for (const SliceAxis &a : l.axes) {
      if (a.axis == 0)
        continue;
      row = gatherAxis(row, d, es, a.axis - 1, a.kept);
      d[a.axis - 1] = a.kept.size();
    }
    if (Error e = sink(row))
      return e;
    external.file->release(off, rowBytes);
  }
  return Error::success();
}

Expected<ArrayRef<char>> Tensor::getBytes() const {
  if (lazy) {
    // Someone needs the values themselves: materialise the slice once.
    std::string out;
    out.reserve(getByteSize());
    if (Error e = streamLazySlice([&](StringRef piece) {
          out.append(piece.data(), piece.size());
          return Error::success();
        }))
      return std::move(e);
    bytes = std::move(out);
    lazy.reset();
    isExternal = false;
    external.file.reset();
  }
  if (!isExternal)
    return ArrayRef<char>(bytes.data(), bytes.size());
  if (!external.file)
    return makeError("tensor '" + name + "': external data file not opened");
  return external.file->read(external.offset, external.length);
}

void Tensor::setData(ArrayRef<int64_t> newDims, std::string rawBytes) {
  lazy.reset();
  dims.assign(newDims.begin(), newDims.end());
  assert(rawBytes.size() == getByteSize() && "byte size must match dims");
  bytes = std::move(rawBytes);
  isExternal = false;
  external.file.reset();
  modified = true;
}

namespace {
template <typename T> T load(const char *p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

template <typename OutT> Expected<std::vector<OutT>> readAs(const Tensor &t) {
  auto bytesOr = t.getBytes();
  if (!bytesOr)
    return bytesOr.takeError();
  ArrayRef<char> b = *bytesOr;
  uint64_t n = t.getNumElements();
  unsigned es = elementSize(t.getDataType());
  if (t.getDataType() == DataType::String || es == 0 || b.size() < n * es)
    return makeError("tensor '" + t.getName() + "' of type " +
                     dataTypeName(t.getDataType()) +
                     " cannot be read as numbers");
  std::vector<OutT> out(n);
  const char *p = b.data();
  for (uint64_t i = 0; i < n; ++i, p += es) {
    switch (t.getDataType()) {
    case DataType::Float:
      out[i] = (OutT)load<float>(p);
      break;
    case DataType::Double:
      out[i] = (OutT)load<double>(p);
      break;
    case DataType::Float16:
      out[i] = (OutT)halfToFloat(load<uint16_t>(p));
      break;
    case DataType::BFloat16:
      out[i] = (OutT)bfloat16ToFloat(load<uint16_t>(p));
      break;
    case DataType::Int8:
      out[i] = (OutT)load<int8_t>(p);
      break;
    case DataType::UInt8:
    case DataType::Bool:
      out[i] = (OutT)load<uint8_t>(p);
      break;
    case DataType::Int16:
      out[i] = (OutT)load<int16_t>(p);
      break;
    case DataType::UInt16:
      out[i] = (OutT)load<uint16_t>(p);
      break;
    case DataType::Int32:
      out[i] = (OutT)load<int32_t>(p);
      break;
    case DataType::UInt32:
      out[i] = (OutT)load<uint32_t>(p);
      break;
    case DataType::Int64:
      out[i] = (OutT)load<int64_t>(p);
      break;
    case DataType::UInt64:
      out[i] = (OutT)load<uint64_t>(p);
      break;
    default:
      return makeError("tensor '" + t.getName() + "' of type " +
                       dataTypeName(t.getDataType()) +
                       " cannot be read as numbers");
    }
  }
  return out;
}
} // namespace

Expected<std::vector<double>> readAsDoubles(const Tensor &t) {
  return readAs<double>(t);
}
Expected<std::vector<int64_t>> readAsInt64s(const Tensor &t) {
  return readAs<int64_t>(t);
}

} // namespace onnxprune
