//===- SliceNorms.cpp - Lp norms of every slice of a weight ---------------===//

#include "passes/Criteria/SliceNorms.h"

#include "lib/IR/FloatConvert.h"
#include "lib/Support/Error.h"
#include "lib/Support/Progress.h"

#include <algorithm>
#include <cassert>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>

using namespace llvm;

namespace onnxprune {

namespace {

enum class NormKind { L1, L2, Inf, Pow };

/// One element's contribution, exactly as the reference loop writes it.
template <NormKind K> inline double step(double s, double a, double p) {
  if constexpr (K == NormKind::L1)
    return s + a;
  else if constexpr (K == NormKind::L2)
    return s + a * a;
  else if constexpr (K == NormKind::Inf)
    return std::max(s, a);
  else
    return s + std::pow(a, p);
}

/// Values converted per step: 32 KB of floats stays in L1.
constexpr size_t kBlock = 8192;
/// Units accumulated side by side when each unit's elements are contiguous.
constexpr unsigned kLanes = 8;
/// Pages read are released (and progress counted) every this many bytes.
constexpr uint64_t kReleaseBytes = 8u << 20;
/// Bytes read from an external file at a time, and the most a reader
/// holds when a unit's runs are long (else the weight is mapped).
constexpr uint64_t kWindow = 8u << 20, kMaxWindow = 64u << 20;

/// acc[i] = step(acc[i], |x[i]|): one row of a tensor scored along its last
/// axis. Lanes are independent, so this vectorises without reordering any
/// unit's sum.
template <NormKind K, typename T>
void addColumns(double *acc, const T *x, size_t n, double p) {
  for (size_t i = 0; i < n; ++i)
    acc[i] = step<K>(acc[i], std::fabs(double(x[i])), p);
}

/// s[l] = step(... step(s[l], |x[l*stride]|) ..., |x[l*stride + len-1]|) for
/// each lane l: \p lanes units whose elements are contiguous runs, in
/// sequence within each lane, interleaved across lanes.
template <NormKind K, typename T>
void addRuns(double *s, const T *x, size_t stride, size_t len, unsigned lanes,
             double p) {
  if (lanes == kLanes) {
    double r[kLanes];
    std::copy(s, s + kLanes, r);
    for (size_t k = 0; k < len; ++k)
      for (unsigned l = 0; l < kLanes; ++l)
        r[l] = step<K>(r[l], std::fabs(double(x[l * stride + k])), p);
    std::copy(r, r + kLanes, s);
    return;
  }
  for (unsigned l = 0; l < lanes; ++l)
    for (size_t k = 0; k < len; ++k)
      s[l] = step<K>(s[l], std::fabs(double(x[l * stride + k])), p);
}

/// Reads elements [begin, begin + n) of a tensor as T into a buffer.
template <typename T> struct Reader {
  virtual ~Reader() = default;
  virtual const T *read(uint64_t begin, size_t n, T *buf) = 0;
};

/// Mapped bytes of a float, float16 or bfloat16 tensor, converted to float.
struct FloatReader final : Reader<float> {
  DataType type;
  const char *bytes;
  unsigned es;
  const float *read(uint64_t begin, size_t n, float *buf) override {
    toFloats(type, bytes + begin * es, buf, n);
    return buf;
  }
};

/// An unchanged external float, float16 or bfloat16 weight, read with
/// pread into a window of a few MB and converted from there. Reading the
/// file is about twice as fast as faulting in a mapping of it (no page
/// tables to fill and tear down, large sequential reads), and it leaves
/// nothing mapped.
struct FileReader final : Reader<float> {
  DataType type;
  unsigned es;
  int fd = -1;
  uint64_t fileOffset = 0, numElems = 0;
  std::vector<char> window;
  uint64_t winBegin = 0, winEnd = 0; ///< elements in the window
  std::string error;

  ~FileReader() override {
    if (fd >= 0)
      ::close(fd);
  }
  const float *read(uint64_t begin, size_t n, float *buf) override {
    if (begin < winBegin || begin + n > winEnd) {
      uint64_t want = std::min<uint64_t>(window.size() / es, numElems - begin);
      winBegin = begin;
      winEnd = begin;
      uint64_t got = 0, bytes = want * es;
      while (got < bytes) {
        ssize_t r = ::pread(fd, window.data() + got, bytes - got,
                            fileOffset + begin * es + got);
        if (r < 0 && errno == EINTR)
          continue;
        if (r <= 0) {
          if (error.empty())
            error = r < 0 ? std::strerror(errno) : "file is shorter";
          std::fill(buf, buf + n, 0.0f);
          return buf;
        }
        got += r;
      }
      winEnd = begin + want;
    }
    toFloats(type, window.data() + (begin - winBegin) * es, buf, n);
    return buf;
  }
};

/// Doubles: mapped bytes copied (they may be unaligned), or values another
/// reader already converted.
struct DoubleReader final : Reader<double> {
  const char *bytes;
  const double *read(uint64_t begin, size_t n, double *buf) override {
    std::memcpy(buf, bytes + begin * sizeof(double), n * sizeof(double));
    return buf;
  }
};

/// The storage-order pass over all outer * size * inner elements.
template <NormKind K, typename T>
void accumulate(Reader<T> &in, std::vector<double> &acc, uint64_t outer,
                uint64_t size, uint64_t inner, double p,
                function_ref<void(uint64_t)> consumed) {
  std::vector<T> buf(kBlock);
  if (inner == 1) {
    for (uint64_t o = 0; o < outer; ++o) {
      for (uint64_t i0 = 0; i0 < size; i0 += kBlock) {
        size_t n = std::min<uint64_t>(kBlock, size - i0);
        addColumns<K>(acc.data() + i0, in.read(o * size + i0, n, buf.data()), n,
                      p);
      }
      consumed((o + 1) * size);
    }
    return;
  }
  // Rows q = o * size + i hold unit i's run of `inner` elements. Up to
  // kLanes consecutive rows belong to distinct units while kLanes <= size,
  // and each unit's rows still come in increasing o.
  const uint64_t rows = outer * size;
  const unsigned maxLanes = unsigned(std::min<uint64_t>(kLanes, size));
  double s[kLanes];
  for (uint64_t q0 = 0; q0 < rows; q0 += maxLanes) {
    unsigned lanes = unsigned(std::min<uint64_t>(maxLanes, rows - q0));
    for (unsigned l = 0; l < lanes; ++l)
      s[l] = acc[(q0 + l) % size];
    if (lanes * inner <= kBlock) {
      const T *x = in.read(q0 * inner, lanes * inner, buf.data());
      addRuns<K>(s, x, inner, inner, lanes, p);
    } else {
      // Long runs: a slice of every lane's run at a time.
      size_t piece = kBlock / lanes;
      for (uint64_t k0 = 0; k0 < inner; k0 += piece) {
        size_t len = std::min<uint64_t>(piece, inner - k0);
        for (unsigned l = 0; l < lanes; ++l) {
          const T *x =
              in.read((q0 + l) * inner + k0, len, buf.data() + l * len);
          if (x != buf.data() + l * len)
            std::copy(x, x + len, buf.data() + l * len);
        }
        addRuns<K>(s, buf.data(), len, len, lanes, p);
      }
    }
    for (unsigned l = 0; l < lanes; ++l)
      acc[(q0 + l) % size] = s[l];
    consumed((q0 + lanes) * inner);
  }
}

template <typename T>
void accumulateKind(double p, Reader<T> &in, std::vector<double> &acc,
                    uint64_t outer, uint64_t size, uint64_t inner,
                    function_ref<void(uint64_t)> consumed) {
  if (std::isinf(p))
    accumulate<NormKind::Inf>(in, acc, outer, size, inner, p, consumed);
  else if (p == 1)
    accumulate<NormKind::L1>(in, acc, outer, size, inner, p, consumed);
  else if (p == 2)
    accumulate<NormKind::L2>(in, acc, outer, size, inner, p, consumed);
  else
    accumulate<NormKind::Pow>(in, acc, outer, size, inner, p, consumed);
}

/// Sums of p-th powers -> norms, as the reference does.
void finish(std::vector<double> &acc, double p) {
  if (!std::isinf(p) && p != 1)
    for (double &s : acc)
      s = p == 2 ? std::sqrt(s) : std::pow(s, 1.0 / p);
}

} // namespace

Expected<std::vector<double>> sliceNorms(const Tensor &t, unsigned axis,
                                         double p, Progress *progress) {
  auto dims = t.getDims();
  if (axis >= dims.size())
    return makeError("weight '" + t.getName() + "' has no axis " + Twine(axis));
  uint64_t outer = 1, size = dims[axis], inner = 1;
  for (size_t d = 0; d < axis; ++d)
    outer *= dims[d];
  for (size_t d = axis + 1; d < dims.size(); ++d)
    inner *= dims[d];
  std::vector<double> acc(size, 0.0);
  DataType type = t.getDataType();
  unsigned es = elementSize(type);
  uint64_t n = t.getNumElements();

  if (!convertsToFloats(type) && type != DataType::Double) {
    // Rare types (integers never get here; float8 and the like): the
    // generic element reader, then the same loop.
    auto values = readAsDoubles(t);
    t.releaseBytes();
    if (!values)
      return values.takeError();
    struct VectorReader final : Reader<double> {
      const double *data;
      const double *read(uint64_t begin, size_t, double *) override {
        return data + begin;
      }
    } in;
    in.data = values->data();
    accumulateKind(p, in, acc, outer, size, inner, [](uint64_t) {});
    if (progress)
      progress->add(t.getByteSize());
    finish(acc, p);
    return acc;
  }

  if (t.hasExternalData() && convertsToFloats(type) &&
      (inner == 1 || kLanes * inner * es <= kMaxWindow)) {
    const ExternalLocation &loc = t.getExternal();
    if (loc.length < n * es)
      return makeError("tensor '" + t.getName() + "' of type " +
                       dataTypeName(type) + " cannot be read as numbers");
    FileReader in;
    in.type = type;
    in.es = es;
    in.fd = ::open(loc.file->getPath().c_str(), O_RDONLY | O_CLOEXEC);
    if (in.fd < 0)
      return makeError("cannot open external data '" + loc.file->getPath() +
                       "': " + std::strerror(errno));
    in.fileOffset = loc.offset;
    in.numElems = n;
    // Room for the eight runs scored side by side.
    in.window.resize(std::max<uint64_t>(kWindow, kLanes * inner * es));
    ::posix_fadvise(in.fd, loc.offset, loc.length, POSIX_FADV_SEQUENTIAL);
    uint64_t counted = 0;
    accumulateKind(p, in, acc, outer, size, inner, [&](uint64_t elems) {
      if (progress && (elems * es - counted >= kReleaseBytes || elems == n)) {
        progress->add(elems * es - counted);
        counted = elems * es;
      }
    });
    if (!in.error.empty())
      return makeError("cannot read external data '" + loc.file->getPath() +
                       "': " + in.error);
    finish(acc, p);
    return acc;
  }

  auto bytesOr = t.getBytes();
  if (!bytesOr)
    return bytesOr.takeError();
  if (bytesOr->size() < n * es)
    return makeError("tensor '" + t.getName() + "' of type " +
                     dataTypeName(type) + " cannot be read as numbers");
  // Lets the pages already read go, every few MB: a weight bigger than
  // RAM streams through.
  uint64_t released = 0;
  auto consumed = [&](uint64_t elems) {
    uint64_t bytes = elems * es;
    if (bytes - released < kReleaseBytes && elems != n)
      return;
    t.releaseBytes(released, bytes - released);
    // The kernel reads ahead while this part is scored.
    t.prefetchBytes(bytes, 2 * kReleaseBytes);
    if (progress)
      progress->add(bytes - released);
    released = bytes;
  };
  t.prefetchBytes(0, 2 * kReleaseBytes);
  if (type == DataType::Double) {
    DoubleReader in;
    in.bytes = bytesOr->data();
    accumulateKind(p, in, acc, outer, size, inner, consumed);
  } else {
    FloatReader in;
    in.type = type;
    in.bytes = bytesOr->data();
    in.es = es;
    accumulateKind(p, in, acc, outer, size, inner, consumed);
  }
  finish(acc, p);
  return acc;
}

std::vector<double> sliceNormsOfValues(ArrayRef<double> values,
                                       ArrayRef<int64_t> dims, unsigned axis,
                                       double p) {
  assert(axis < dims.size() && "axis checked by the caller");
  uint64_t size = dims[axis], inner = 1;
  for (size_t d = axis + 1; d < dims.size(); ++d)
    inner *= dims[d];
  std::vector<double> acc(size, 0.0);
  bool inf = std::isinf(p);
  for (uint64_t j = 0; j < values.size(); ++j) {
    double a = std::fabs(values[j]);
    double &s = acc[(j / inner) % size];
    if (inf)
      s = std::max(s, a);
    else if (p == 1)
      s += a;
    else if (p == 2)
      s += a * a;
    else
      s += std::pow(a, p);
  }
  finish(acc, p);
  return acc;
}

Expected<std::vector<double>> sliceNormsReference(const Tensor &t,
                                                  unsigned axis, double p) {
  auto dims = t.getDims();
  if (axis >= dims.size())
    return makeError("weight '" + t.getName() + "' has no axis " + Twine(axis));
  auto values = readAsDoubles(t);
  if (!values)
    return values.takeError();
  return sliceNormsOfValues(*values, dims, axis, p);
}

} // namespace onnxprune
