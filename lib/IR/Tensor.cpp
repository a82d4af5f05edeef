//===- Tensor.cpp - Weight tensors and where their bytes live -------------===//

#include "lib/IR/Tensor.h"
#include "lib/Support/Error.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Process.h"

#include <sys/mman.h>

#include <cstring>
#include <optional>

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

void ExternalFile::prefetch(uint64_t offset, uint64_t length) {
  std::lock_guard<std::mutex> lock(mu);
  if (!region || length == 0 || offset >= size)
    return;
  const uint64_t page = sys::Process::getPageSizeEstimate();
  uint64_t begin = offset / page * page;
  uint64_t end = std::min<uint64_t>(offset + length, size);
  ::madvise(const_cast<char *>(region->const_data()) + begin, end - begin,
            MADV_WILLNEED);
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

std::unique_ptr<Tensor> Tensor::clone(std::string newName) const {
  auto t = std::make_unique<Tensor>(std::move(newName), dtype, dims);
  t->bytes = bytes;
  if (lazy)
    t->lazy = std::make_unique<LazySlice>(*lazy);
  t->strings = strings;
  t->external = external;
  t->isExternal = isExternal;
  t->modified = modified;
  t->encoding = encoding;
  t->docString = docString;
  t->liftedFromAttr = liftedFromAttr;
  t->attrDocString = attrDocString;
  t->unknownFields = unknownFields;
  return t;
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

void Tensor::releaseBytes(uint64_t offset, uint64_t length) const {
  if (isExternal && external.file && offset < external.length)
    external.file->release(external.offset + offset,
                           std::min(length, external.length - offset));
}

void Tensor::prefetchBytes(uint64_t offset, uint64_t length) const {
  if (isExternal && external.file && offset < external.length)
    external.file->prefetch(external.offset + offset,
                            std::min(length, external.length - offset));
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
  // Slicing the last axis moves one element per kept index: typed copies,
  // not a memcpy call each.
  auto typed = [&](auto zero) {
    using T = decltype(zero);
    for (uint64_t o = 0; o < outer; ++o) {
      const char *row = src.data() + o * dims[axis] * sizeof(T);
      for (int64_t k : kept) {
        T v;
        std::memcpy(&v, row + k * sizeof(T), sizeof(T));
        std::memcpy(dst, &v, sizeof(T));
        dst += sizeof(T);
      }
    }
  };
  switch (inner) {
  case 2:
    typed(uint16_t());
    break;
  case 4:
    typed(uint32_t());
    break;
  case 8:
    typed(uint64_t());
    break;
  default:
    for (uint64_t o = 0; o < outer; ++o)
      for (int64_t k : kept) {
        std::memcpy(dst, src.data() + (o * dims[axis] + k) * inner, inner);
        dst += inner;
      }
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

namespace {

/// How to gather the kept elements of one row of a sliced tensor (the
/// source's axes after the first, some of them sliced): the byte runs to
/// copy, in order, worked out once per tensor. A MatMul weight `[K, N]`
/// pruned along N has one row of N elements per k, and most kept runs are
/// a few elements long, so short runs are copied as typed elements rather
/// than with one memcpy call each.
class RowGather {
public:
  RowGather(ArrayRef<int64_t> rowDims, ArrayRef<Tensor::SliceAxis> axes,
            unsigned es)
      : es(es) {
    // Element offsets of the kept elements, in row-major order of the
    // kept indices.
    std::vector<uint64_t> offsets{0};
    uint64_t stride = 1;
    SmallVector<uint64_t, 4> strides(rowDims.size());
    for (size_t d = rowDims.size(); d-- > 0;) {
      strides[d] = stride;
      stride *= rowDims[d];
    }
    for (size_t d = 0; d < rowDims.size(); ++d) {
      const Tensor::SliceAxis *cut = nullptr;
      for (const Tensor::SliceAxis &a : axes)
        if (a.axis == d + 1)
          cut = &a;
      std::vector<uint64_t> next;
      uint64_t count = cut ? cut->kept.size() : rowDims[d];
      next.reserve(offsets.size() * count);
      for (uint64_t base : offsets)
        for (uint64_t i = 0; i < count; ++i)
          next.push_back(base + (cut ? cut->kept[i] : i) * strides[d]);
      offsets = std::move(next);
    }
    for (uint64_t o : offsets) {
      if (!runs.empty() && runs.back().first + runs.back().second == o * es)
        runs.back().second += es;
      else
        runs.push_back({o * es, es});
      outBytes += es;
    }
    // Short runs on average: copy element by element.
    elementwise = runs.size() * 16 > outBytes &&
                  (es == 1 || es == 2 || es == 4 || es == 8);
    if (elementwise)
      elements = std::move(offsets);
  }

  uint64_t getOutBytes() const { return outBytes; }

  /// Writes the kept bytes of the row at \p src to \p dst.
  void gather(const char *src, char *dst) const {
    if (!elementwise) {
      for (auto &[off, len] : runs) {
        std::memcpy(dst, src + off, len);
        dst += len;
      }
      return;
    }
    switch (es) {
    case 1:
      return gatherTyped<uint8_t>(src, dst);
    case 2:
      return gatherTyped<uint16_t>(src, dst);
    case 4:
      return gatherTyped<uint32_t>(src, dst);
    default:
      return gatherTyped<uint64_t>(src, dst);
    }
  }

private:
  template <typename T> void gatherTyped(const char *src, char *dst) const {
    const size_t n = elements.size();
    for (size_t i = 0; i < n; ++i) {
      T v;
      std::memcpy(&v, src + elements[i] * sizeof(T), sizeof(T));
      std::memcpy(dst + i * sizeof(T), &v, sizeof(T));
    }
  }

  unsigned es;
  uint64_t outBytes = 0;
  bool elementwise = false;
  std::vector<std::pair<uint64_t, uint64_t>> runs;
  std::vector<uint64_t> elements;
};

/// Output is handed to the sink in pieces of about this size, and source
/// pages are released every this many bytes read.
constexpr uint64_t kStreamPiece = 4u << 20;

} // namespace

Error Tensor::streamLazySlice(function_ref<Error(StringRef)> sink) const {
  assert(lazy && "not a lazy slice");
  const LazySlice &l = *lazy;
  unsigned es = elementSize(dtype);
  // Walk the source's first axis: each of its rows is contiguous in the
  // file; its kept elements go to a buffer that is written every few MB,
  // and the source pages behind are released. One sequential read and
  // one sequential write.
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
  auto allOr = external.file->read(external.offset, external.length);
  if (!allOr)
    return allOr.takeError();
  const char *base = allOr->data();
  if ((uint64_t)allOr->size() < (src.empty() ? 1 : (uint64_t)src[0]) * rowBytes)
    return makeError("tensor '" + name +
                     "': external data is shorter than "
                     "its shape");
  SmallVector<int64_t, 4> rowDims(src.begin() + (src.empty() ? 0 : 1),
                                  src.end());
  bool slicedInRow = l.axes.size() > (first ? 1u : 0u);
  std::optional<RowGather> gather;
  uint64_t outRowBytes = rowBytes;
  if (slicedInRow) {
    gather.emplace(rowDims, l.axes, es);
    outRowBytes = gather->getOutBytes();
  }
  prefetchBytes(0, 2 * kStreamPiece);
  std::string buf;
  buf.reserve(std::min<uint64_t>(std::max<uint64_t>(kStreamPiece, outRowBytes),
                                 outRowBytes * rows.size()));
  uint64_t releasedTo = 0;
  for (size_t k = 0; k < rows.size(); ++k) {
    const char *row = base + (uint64_t)rows[k] * rowBytes;
    if (!slicedInRow && rowBytes >= kStreamPiece && buf.empty()) {
      // Whole big rows: straight from the mapping.
      if (Error e = sink(StringRef(row, rowBytes)))
        return e;
    } else {
      size_t at = buf.size();
      buf.resize(at + outRowBytes);
      if (gather)
        gather->gather(row, &buf[at]);
      else
        std::memcpy(&buf[at], row, rowBytes);
      if (buf.size() >= kStreamPiece || k + 1 == rows.size()) {
        if (Error e = sink(buf))
          return e;
        buf.clear();
      }
    }
    uint64_t readTo = (uint64_t)(rows[k] + 1) * rowBytes;
    if (readTo - releasedTo >= kStreamPiece || k + 1 == rows.size()) {
      external.file->release(external.offset + releasedTo, readTo - releasedTo);
      releasedTo = readTo;
      // The kernel reads the next pieces while this one is written.
      if (k + 1 < rows.size())
        prefetchBytes(readTo, 2 * kStreamPiece);
    }
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
