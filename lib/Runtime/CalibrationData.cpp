//===- CalibrationData.cpp - Calibration samples from files ---------------===//
///
/// \file
/// Readers for .npy, .npz (ZIP, with ZIP64) and ONNX test-data folders, and
/// the checks of what they hold against the model's inputs. Every offset and
/// size read from a file is checked against the file's size before use, with
/// overflow-checked arithmetic: garbage and truncated files give errors,
/// never reads out of bounds.
///
//===----------------------------------------------------------------------===//

#include "lib/Runtime/CalibrationData.h"

#include "frontends/onnx/TensorFile.h"
#include "lib/Support/Error.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Host.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <climits>
#include <cstring>
#include <new>

#if ONNXPRUNE_HAVE_ZLIB
#include <zlib.h>
#endif

using namespace llvm;

namespace onnxprune {

namespace {

static_assert(sys::IsLittleEndianHost,
              "array bytes are copied as they are: little-endian hosts only");

bool mulOverflows(uint64_t a, uint64_t b, uint64_t &result) {
  return __builtin_mul_overflow(a, b, &result);
}

/// numpy's names for element types, which users of .npy/.npz know.
std::string typeName(DataType t) {
  switch (t) {
  case DataType::Float16:
    return "float16";
  case DataType::Float:
    return "float32";
  case DataType::Double:
    return "float64";
  case DataType::BFloat16:
    return "bfloat16";
  case DataType::Int8:
    return "int8";
  case DataType::Int16:
    return "int16";
  case DataType::Int32:
    return "int32";
  case DataType::Int64:
    return "int64";
  case DataType::UInt8:
    return "uint8";
  case DataType::UInt16:
    return "uint16";
  case DataType::UInt32:
    return "uint32";
  case DataType::UInt64:
    return "uint64";
  case DataType::Bool:
    return "bool";
  default:
    return dataTypeName(t);
  }
}

std::string shapeString(ArrayRef<int64_t> shape) {
  std::string s;
  raw_string_ostream os(s);
  os << '[';
  interleave(shape, os, ",");
  os << ']';
  return os.str();
}

/// "[?,3,4]": a shape past its sample axis.
std::string sampleShapeString(ArrayRef<int64_t> sampleShape) {
  std::string s = "[?";
  for (int64_t d : sampleShape)
    s += "," + std::to_string(d);
  return s + "]";
}

/// "'a', 'b'", or "none".
std::string quotedList(ArrayRef<std::string> names) {
  if (names.empty())
    return "none";
  std::string s;
  for (const std::string &n : names)
    s += (s.empty() ? "'" : ", '") + n + "'";
  return s;
}

/// Reads an \p n-byte little-endian integer at \p off; false when the bytes
/// are not all inside \p buf.
bool readLE(StringRef buf, uint64_t off, unsigned n, uint64_t &v) {
  if (off > buf.size() || n > buf.size() - off)
    return false;
  v = 0;
  for (unsigned i = 0; i < n; ++i)
    v |= (uint64_t)(uint8_t)buf[off + i] << (8 * i);
  return true;
}

//===----------------------------------------------------------------------===//
// .npy
//===----------------------------------------------------------------------===//

/// One array of a .npy file: its type, shape and element bytes.
struct NpyArray {
  DataType dtype = DataType::Undefined;
  SmallVector<int64_t, 4> shape;
  StringRef data;
};

/// Parses the Python dict literal of a .npy header:
/// {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }
class NpyHeaderParser {
public:
  explicit NpyHeaderParser(StringRef text) : text(text) {}

  Error parse(std::string &descr, bool &fortranOrder,
              SmallVectorImpl<int64_t> &shape) {
    bool haveDescr = false, haveOrder = false, haveShape = false;
    if (!consume('{'))
      return fail("expected '{'");
    while (!consume('}')) {
      std::string key;
      if (Error e = parseString(key))
        return e;
      if (!consume(':'))
        return fail("expected ':' after '" + key + "'");
      if (key == "descr") {
        skipSpace();
        if (pos < text.size() && text[pos] == '[')
          return makeError("structured dtypes (a list 'descr') are not "
                           "supported; save one plain array per input");
        if (Error e = parseString(descr))
          return e;
        haveDescr = true;
      } else if (key == "fortran_order") {
        if (Error e = parseBool(fortranOrder))
          return e;
        haveOrder = true;
      } else if (key == "shape") {
        if (Error e = parseShape(shape))
          return e;
        haveShape = true;
      } else {
        return fail("unexpected key '" + key + "'");
      }
      if (consume(','))
        continue;
      if (!consume('}'))
        return fail("expected ',' or '}'");
      break;
    }
    skipSpace();
    if (pos != text.size())
      return fail("text after the closing '}'");
    if (!haveDescr || !haveOrder || !haveShape)
      return fail("'descr', 'fortran_order' and 'shape' are required");
    return Error::success();
  }

private:
  Error fail(const Twine &why) {
    return makeError("bad .npy header at character " + Twine(pos) + ": " + why);
  }
  void skipSpace() {
    while (pos < text.size() && isSpace(text[pos]))
      ++pos;
  }
  static bool isSpace(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
  }
  bool consume(char c) {
    skipSpace();
    if (pos < text.size() && text[pos] == c) {
      ++pos;
      return true;
    }
    return false;
  }
  Error parseString(std::string &out) {
    skipSpace();
    if (pos >= text.size() || (text[pos] != '\'' && text[pos] != '"'))
      return fail("expected a quoted string");
    char quote = text[pos++];
    size_t end = text.find(quote, pos);
    if (end == StringRef::npos)
      return fail("unterminated string");
    StringRef s = text.slice(pos, end);
    if (s.contains('\\'))
      return fail("escapes in strings are not supported");
    out = s.str();
    pos = end + 1;
    return Error::success();
  }
  Error parseBool(bool &out) {
    skipSpace();
    StringRef rest = text.drop_front(pos);
    if (rest.startswith("True")) {
      out = true;
      pos += 4;
    } else if (rest.startswith("False")) {
      out = false;
      pos += 5;
    } else {
      return fail("expected True or False");
    }
    return Error::success();
  }
  Error parseShape(SmallVectorImpl<int64_t> &shape) {
    if (!consume('('))
      return fail("expected '(' for the shape");
    while (!consume(')')) {
      skipSpace();
      size_t start = pos;
      while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9')
        ++pos;
      uint64_t v;
      if (pos == start || text.slice(start, pos).getAsInteger(10, v) ||
          v > (uint64_t)INT64_MAX)
        return fail("expected a non-negative dim in the shape");
      // Python 2 wrote longs as "3L".
      if (pos < text.size() && text[pos] == 'L')
        ++pos;
      shape.push_back((int64_t)v);
      if (shape.size() > 64)
        return fail("more than 64 dims");
      if (consume(','))
        continue;
      if (!consume(')'))
        return fail("expected ',' or ')' in the shape");
      break;
    }
    return Error::success();
  }

  StringRef text;
  size_t pos = 0;
};

/// The element type of numpy's dtype string \p descr ('<f4', '|b1').
Expected<DataType> npyDataType(StringRef descr, const Twine &where) {
  char order = '|';
  StringRef rest = descr;
  if (!rest.empty() && StringRef("<>|=").contains(rest[0])) {
    order = rest[0];
    rest = rest.drop_front();
  }
  unsigned size = 0;
  char kind = rest.empty() ? '\0' : rest[0];
  if (rest.size() > 1 && rest.drop_front().getAsInteger(10, size))
    size = 0;
  DataType t = DataType::Undefined;
  switch (kind) {
  case 'f':
    t = size == 2   ? DataType::Float16
        : size == 4 ? DataType::Float
        : size == 8 ? DataType::Double
                    : DataType::Undefined;
    break;
  case 'i':
    t = size == 1   ? DataType::Int8
        : size == 2 ? DataType::Int16
        : size == 4 ? DataType::Int32
        : size == 8 ? DataType::Int64
                    : DataType::Undefined;
    break;
  case 'u':
    t = size == 1   ? DataType::UInt8
        : size == 2 ? DataType::UInt16
        : size == 4 ? DataType::UInt32
        : size == 8 ? DataType::UInt64
                    : DataType::Undefined;
    break;
  case 'b':
    t = size == 1 ? DataType::Bool : DataType::Undefined;
    break;
  case 'O':
    return makeError(where + ": dtype '" + descr +
                     "' is an object array (pickled Python objects), which "
                     "is not supported");
  default:
    break;
  }
  if (t == DataType::Undefined)
    return makeError(where + ": dtype '" + descr +
                     "' is not supported (supported: float16/32/64, "
                     "int8/16/32/64, uint8/16/32/64, bool)");
  if (order == '>' && size > 1)
    return makeError(where + ": dtype '" + descr +
                     "' is big-endian; save little-endian data (e.g. "
                     "arr.astype('<" +
                     rest + "'))");
  return t;
}

/// Parses the .npy bytes \p bytes (a file or a zip entry); the element
/// bytes stay where they are.
Expected<NpyArray> parseNpy(StringRef bytes, const Twine &whereT) {
  std::string where = whereT.str();
  if (bytes.empty())
    return makeError(where + ": empty .npy data");
  if (!bytes.startswith(StringRef("\x93NUMPY", 6)))
    return makeError(where + ": not a .npy array (bad magic)");
  uint64_t major, minor, headerLen, headerStart;
  if (!readLE(bytes, 6, 1, major) || !readLE(bytes, 7, 1, minor))
    return makeError(where + ": truncated .npy header");
  if (major == 1) {
    headerStart = 10;
    if (!readLE(bytes, 8, 2, headerLen))
      return makeError(where + ": truncated .npy header");
  } else if (major == 2 || major == 3) {
    headerStart = 12;
    if (!readLE(bytes, 8, 4, headerLen))
      return makeError(where + ": truncated .npy header");
  } else {
    return makeError(where + ": unsupported .npy version " + Twine(major) +
                     "." + Twine(minor));
  }
  if (headerLen > bytes.size() - headerStart)
    return makeError(where + ": truncated .npy: the header runs past the end");
  StringRef header = bytes.substr(headerStart, headerLen);

  std::string descr;
  bool fortranOrder = false;
  NpyArray arr;
  if (Error e = NpyHeaderParser(header).parse(descr, fortranOrder, arr.shape))
    return addContext(std::move(e), where);
  auto dtypeOr = npyDataType(descr, where);
  if (!dtypeOr)
    return dtypeOr.takeError();
  arr.dtype = *dtypeOr;
  // Fortran order changes nothing when at most one dim is above 1.
  if (fortranOrder && count_if(arr.shape, [](int64_t d) { return d > 1; }) > 1)
    return makeError(where + ": the array is in Fortran order; save it in C "
                             "order (np.ascontiguousarray)");

  uint64_t need = elementSize(arr.dtype);
  for (int64_t d : arr.shape)
    if (mulOverflows(need, (uint64_t)d, need))
      return makeError(where + ": shape " + shapeString(arr.shape) +
                       " is too large");
  uint64_t dataStart = headerStart + headerLen;
  uint64_t have = bytes.size() - dataStart;
  if (have < need)
    return makeError(where + ": truncated .npy: shape " +
                     shapeString(arr.shape) + " of " + typeName(arr.dtype) +
                     " needs " + Twine(need) + " bytes, " + Twine(have) +
                     " follow the header");
  if (have > need)
    return makeError(where + ": corrupt .npy: " + Twine(have) +
                     " bytes follow the header, shape " +
                     shapeString(arr.shape) + " of " + typeName(arr.dtype) +
                     " needs " + Twine(need));
  arr.data = bytes.substr(dataStart, need);
  return std::move(arr);
}

//===----------------------------------------------------------------------===//
// .npz (ZIP)
//===----------------------------------------------------------------------===//

constexpr uint64_t kLocalHeaderSig = 0x04034b50;
constexpr uint64_t kCentralHeaderSig = 0x02014b50;
constexpr uint64_t kEndSig = 0x06054b50;
constexpr uint64_t kZip64EndSig = 0x06064b50;
constexpr uint64_t kZip64LocatorSig = 0x07064b50;
constexpr uint64_t kEndSize = 22;
constexpr uint64_t kCentralHeaderSize = 46;
constexpr uint64_t kLocalHeaderSize = 30;

struct ZipEntry {
  std::string name;
  uint64_t flags = 0;
  uint64_t method = 0;
  uint64_t crc = 0;
  uint64_t compressedSize = 0;
  uint64_t uncompressedSize = 0;
  uint64_t localOffset = 0;
};

/// Reads the ZIP64 extended information extra field of a central
/// directory entry: the 8-byte values stand in, in this order, for those of
/// the fixed fields that hold 0xFFFFFFFF.
Error readZip64Extra(StringRef extra, ZipEntry &e, bool needUSize,
                     bool needCSize, bool needOffset, const Twine &where) {
  while (extra.size() >= 4) {
    uint64_t id, len;
    readLE(extra, 0, 2, id);
    readLE(extra, 2, 2, len);
    if (len > extra.size() - 4)
      return makeError(where + ": corrupt extra field");
    if (id == 1) {
      StringRef data = extra.substr(4, len);
      uint64_t off = 0;
      for (auto [need, field] : {std::make_pair(needUSize, &e.uncompressedSize),
                                 std::make_pair(needCSize, &e.compressedSize),
                                 std::make_pair(needOffset, &e.localOffset)}) {
        if (!need)
          continue;
        if (!readLE(data, off, 8, *field))
          return makeError(where + ": ZIP64 extra field too short");
        off += 8;
      }
      return Error::success();
    }
    extra = extra.drop_front(4 + len);
  }
  return makeError(where + ": ZIP64 sizes without a ZIP64 extra field");
}

/// The entries of the central directory of the zip file \p file.
Expected<std::vector<ZipEntry>> parseZipDirectory(StringRef file,
                                                  const std::string &where) {
  const uint64_t size = file.size();
  auto corrupt = [&](const Twine &why) {
    return makeError(where + ": truncated or corrupt .npz (zip): " + why);
  };
  // The end record is the last 22 bytes plus a comment of up to 64 KiB.
  if (size < kEndSize)
    return corrupt("no end of central directory record");
  uint64_t end = UINT64_MAX;
  uint64_t maxBack = std::min<uint64_t>(size - kEndSize, 0xFFFF);
  for (uint64_t back = 0; back <= maxBack; ++back) {
    uint64_t pos = size - kEndSize - back, sig, commentLen;
    if (readLE(file, pos, 4, sig) && sig == kEndSig &&
        readLE(file, pos + 20, 2, commentLen) && commentLen == back) {
      end = pos;
      break;
    }
  }
  if (end == UINT64_MAX)
    return corrupt("no end of central directory record");

  uint64_t disk, cdDisk, entriesHere, total, cdSize, cdOffset;
  readLE(file, end + 4, 2, disk);
  readLE(file, end + 6, 2, cdDisk);
  readLE(file, end + 8, 2, entriesHere);
  readLE(file, end + 10, 2, total);
  readLE(file, end + 12, 4, cdSize);
  readLE(file, end + 16, 4, cdOffset);
  uint64_t locatorSig;
  if (end >= 20 && readLE(file, end - 20, 4, locatorSig) &&
      locatorSig == kZip64LocatorSig) {
    uint64_t rec, sig;
    readLE(file, end - 20 + 8, 8, rec);
    if (!readLE(file, rec, 4, sig) || sig != kZip64EndSig ||
        !readLE(file, rec + 16, 4, disk) ||
        !readLE(file, rec + 20, 4, cdDisk) ||
        !readLE(file, rec + 24, 8, entriesHere) ||
        !readLE(file, rec + 32, 8, total) ||
        !readLE(file, rec + 40, 8, cdSize) ||
        !readLE(file, rec + 48, 8, cdOffset))
      return corrupt("bad ZIP64 end of central directory record");
  } else if (total == 0xFFFF || cdSize == 0xFFFFFFFF ||
             cdOffset == 0xFFFFFFFF) {
    return corrupt("ZIP64 values without a ZIP64 end record");
  }
  if (disk != 0 || cdDisk != 0 || entriesHere != total)
    return makeError(where + ": multi-part zip archives are not supported");
  if (cdOffset > size || cdSize > size - cdOffset)
    return corrupt("the central directory runs past the end of the file");
  if (total > cdSize / kCentralHeaderSize)
    return corrupt(Twine(total) +
                   " entries cannot fit in a central "
                   "directory of " +
                   Twine(cdSize) + " bytes");

  std::vector<ZipEntry> entries;
  StringRef cd = file.substr(cdOffset, cdSize);
  uint64_t pos = 0;
  for (uint64_t i = 0; i < total; ++i) {
    uint64_t sig, nameLen, extraLen, commentLen, diskStart, csize, usize, off;
    ZipEntry e;
    if (!readLE(cd, pos, 4, sig) || sig != kCentralHeaderSig ||
        !readLE(cd, pos + 8, 2, e.flags) ||
        !readLE(cd, pos + 10, 2, e.method) || !readLE(cd, pos + 16, 4, e.crc) ||
        !readLE(cd, pos + 20, 4, csize) || !readLE(cd, pos + 24, 4, usize) ||
        !readLE(cd, pos + 28, 2, nameLen) ||
        !readLE(cd, pos + 30, 2, extraLen) ||
        !readLE(cd, pos + 32, 2, commentLen) ||
        !readLE(cd, pos + 34, 2, diskStart) || !readLE(cd, pos + 42, 4, off))
      return corrupt("bad central directory entry " + Twine(i));
    uint64_t varStart = pos + kCentralHeaderSize;
    uint64_t varLen = nameLen + extraLen + commentLen;
    if (varStart > cd.size() || varLen > cd.size() - varStart)
      return corrupt("central directory entry " + Twine(i) +
                     " runs past the directory");
    e.name = cd.substr(varStart, nameLen).str();
    e.compressedSize = csize;
    e.uncompressedSize = usize;
    e.localOffset = off;
    bool needU = usize == 0xFFFFFFFF, needC = csize == 0xFFFFFFFF,
         needO = off == 0xFFFFFFFF;
    if (needU || needC || needO)
      if (Error err =
              readZip64Extra(cd.substr(varStart + nameLen, extraLen), e, needU,
                             needC, needO, where + ": entry '" + e.name + "'"))
        return std::move(err);
    if (diskStart != 0 && diskStart != 0xFFFF)
      return makeError(where + ": multi-part zip archives are not supported");
    entries.push_back(std::move(e));
    pos = varStart + varLen;
  }
  return std::move(entries);
}

/// The stored bytes of \p e (compressed or not) inside \p file.
Expected<StringRef> zipEntryBytes(StringRef file, const ZipEntry &e,
                                  const Twine &where) {
  uint64_t sig, nameLen, extraLen;
  if (!readLE(file, e.localOffset, 4, sig) || sig != kLocalHeaderSig ||
      !readLE(file, e.localOffset + 26, 2, nameLen) ||
      !readLE(file, e.localOffset + 28, 2, extraLen))
    return makeError(where + ": truncated or corrupt .npz: bad local header");
  // localOffset < size (checked above), so this cannot overflow.
  uint64_t start = e.localOffset + kLocalHeaderSize + nameLen + extraLen;
  if (start > file.size() || e.compressedSize > file.size() - start)
    return makeError(where + ": truncated .npz: the entry's " +
                     Twine(e.compressedSize) +
                     " bytes run past the end of the file");
  return file.substr(start, e.compressedSize);
}

#if ONNXPRUNE_HAVE_ZLIB
/// Inflates the raw deflate stream \p in, which must give \p outSize bytes
/// whose CRC-32 is \p crc.
Expected<std::unique_ptr<char[]>> inflateEntry(StringRef in, uint64_t outSize,
                                               uint64_t crc,
                                               const Twine &whereT) {
  std::string where = whereT.str();
  // Deflate expands at most about 1032:1; a bigger claim is corrupt and
  // must not size an allocation.
  if (outSize / 1032 > in.size() + 1)
    return makeError(where + ": corrupt .npz: " + Twine(in.size()) +
                     " compressed bytes cannot inflate to " + Twine(outSize));
  std::unique_ptr<char[]> out(new (std::nothrow) char[outSize ? outSize : 1]);
  if (!out)
    return makeError(where + ": cannot allocate " + Twine(outSize) +
                     " bytes to inflate the entry");
  z_stream zs;
  std::memset(&zs, 0, sizeof(zs));
  if (inflateInit2(&zs, -MAX_WBITS) != Z_OK)
    return makeError(where + ": cannot initialise zlib");
  uint64_t inPos = 0, outPos = 0;
  int rc;
  for (;;) {
    // zlib counts in 32-bit units: feed big entries in pieces.
    uInt inChunk = (uInt)std::min<uint64_t>(in.size() - inPos, UINT_MAX);
    uInt outChunk = (uInt)std::min<uint64_t>(outSize - outPos, UINT_MAX);
    zs.next_in = (Bytef *)(in.data() + inPos);
    zs.avail_in = inChunk;
    zs.next_out = (Bytef *)(out.get() + outPos);
    zs.avail_out = outChunk;
    rc = inflate(&zs, Z_NO_FLUSH);
    inPos += inChunk - zs.avail_in;
    outPos += outChunk - zs.avail_out;
    if (rc != Z_OK)
      break;
  }
  inflateEnd(&zs);
  if (rc != Z_STREAM_END)
    return makeError(where +
                     ": corrupt or truncated .npz: the deflate "
                     "stream " +
                     (rc == Z_BUF_ERROR ? "ends early or is longer than the "
                                          "directory says"
                                        : "is invalid"));
  if (outPos != outSize)
    return makeError(where + ": corrupt .npz: the entry inflates to " +
                     Twine(outPos) + " bytes, the directory says " +
                     Twine(outSize));
  uLong sum = crc32_z(0, (const Bytef *)out.get(), (z_size_t)outSize);
  if (sum != crc)
    return makeError(where + ": corrupt .npz: CRC-32 mismatch");
  return std::move(out);
}
#endif

} // namespace

//===----------------------------------------------------------------------===//
// Loader: checks arrays against the model's inputs.
//===----------------------------------------------------------------------===//

class CalibrationData::Loader {
public:
  Loader(CalibrationData &cd, ArrayRef<TensorInfo> modelInputs) : cd(cd) {
    for (size_t i = 0; i < modelInputs.size(); ++i) {
      cd.inputs.emplace_back();
      cd.inputs.back().info = modelInputs[i];
      index[modelInputs[i].name] = i;
    }
  }

  Error checkModelInputs();
  Error loadNpy(StringRef file);
  Error loadNpz(StringRef file);
  Error loadFolder();
  Error loadArrays(ArrayRef<NamedTensor> arrays);
  Error finish();

private:
  /// Adds an array for input \p idx: samples along axis 0 of \p shape,
  /// stored in \p chunk (whose position and count are set here). \p where
  /// names the file.
  Error addArray(const std::string &where, size_t idx, DataType dtype,
                 ArrayRef<int64_t> shape, Chunk chunk);
  Error loadSet(StringRef dir, bool isTopFolder);
  std::string inputNames() const {
    std::vector<std::string> names;
    for (const Input &in : cd.inputs)
      names.push_back(in.info.name);
    return quotedList(names);
  }
  const char *keep(StringRef bytes) {
    cd.owned.emplace_back(new char[bytes.size() ? bytes.size() : 1]);
    std::memcpy(cd.owned.back().get(), bytes.data(), bytes.size());
    return cd.owned.back().get();
  }

  CalibrationData &cd;
  StringMap<size_t> index;
  /// Size and first user ("input 'x'") of each symbolic dim past axis 0.
  StringMap<std::pair<int64_t, std::string>> symbols;
};

Error CalibrationData::Loader::checkModelInputs() {
  if (cd.inputs.empty())
    return makeError(cd.path + ": the model has no inputs to feed");
  for (const Input &in : cd.inputs) {
    if (!in.info.isTensor)
      return makeError(cd.path + ": input '" + in.info.name +
                       "' is not a tensor; calibration data cannot feed it");
    if (in.info.shape.empty())
      return makeError(cd.path + ": input '" + in.info.name +
                       "' is a scalar or of unknown rank in the model; "
                       "calibration data needs a sample axis (axis 0)");
  }
  return Error::success();
}

Error CalibrationData::Loader::addArray(const std::string &where, size_t idx,
                                        DataType dtype, ArrayRef<int64_t> shape,
                                        Chunk chunk) {
  Input &in = cd.inputs[idx];
  const TensorInfo &info = in.info;
  std::string label = where + ": input '" + info.name + "'";
  if (info.dtype != DataType::Undefined && dtype != info.dtype)
    return makeError(label + ": " + typeName(dtype) +
                     " in the data, the model takes " + typeName(info.dtype));
  if (!isSupportedHostType(dtype))
    return makeError(label + ": element type " + typeName(dtype) +
                     " is not supported by the runtime");
  if (shape.size() != info.shape.size())
    return makeError(label + ": the data has rank " + Twine(shape.size()) +
                     " (" + shapeString(shape) + "), the model takes rank " +
                     Twine(info.shape.size()) + " (" + info.describe() +
                     "); axis 0 counts samples");
  ArrayRef<int64_t> sampleShape = shape.drop_front();

  if (in.dtype != DataType::Undefined) {
    // A later test-data set (the first one set the type): it extends the
    // first set's arrays.
    if (dtype != in.dtype || sampleShape != ArrayRef<int64_t>(in.sampleShape))
      return makeError(label + ": " + typeName(dtype) + shapeString(shape) +
                       " here, but " + typeName(in.dtype) +
                       sampleShapeString(in.sampleShape) +
                       " in earlier sets; sets are concatenated along axis "
                       "0, so the other dims must agree");
  } else {
    for (size_t d = 1; d < shape.size(); ++d) {
      if (info.shape[d] >= 0 && info.shape[d] != shape[d])
        return makeError(label + ": dim " + Twine(d) + " is " +
                         Twine(shape[d]) + " in the data, the model's is " +
                         Twine(info.shape[d]) + " (" + info.describe() + ")");
      StringRef sym =
          d < info.symbolicDims.size() ? StringRef(info.symbolicDims[d]) : "";
      if (info.shape[d] >= 0 || sym.empty())
        continue;
      auto ins = symbols.try_emplace(
          sym, shape[d], "input '" + info.name + "' dim " + Twine(d).str());
      if (!ins.second && ins.first->second.first != shape[d])
        return makeError(label + ": dim " + Twine(d) + " ('" + sym + "') is " +
                         Twine(shape[d]) + ", but " + ins.first->second.second +
                         " has '" + sym +
                         "' = " + Twine(ins.first->second.first));
    }
    in.dtype = dtype;
    in.sampleShape.assign(sampleShape.begin(), sampleShape.end());
    uint64_t bytes = elementSize(dtype);
    for (int64_t d : sampleShape)
      if (mulOverflows(bytes, (uint64_t)d, bytes))
        return makeError(label + ": shape " + shapeString(shape) +
                         " is too large");
    in.sampleBytes = bytes;
  }
  if (shape[0] > INT64_MAX - in.total)
    return makeError(label + ": too many samples");
  chunk.firstSample = in.total;
  chunk.numSamples = shape[0];
  if (chunk.numSamples > 0)
    in.chunks.push_back(std::move(chunk));
  in.total += shape[0];
  return Error::success();
}

Error CalibrationData::Loader::loadNpy(StringRef file) {
  if (cd.inputs.size() != 1)
    return makeError(cd.path + ": a .npy file holds one array, the model has " +
                     Twine(cd.inputs.size()) + " inputs (" + inputNames() +
                     "); use a .npz with one array per input");
  auto arrOr = parseNpy(file, cd.path);
  if (!arrOr)
    return arrOr.takeError();
  Chunk chunk;
  chunk.data = arrOr->data.data();
  return addArray(cd.path, 0, arrOr->dtype, arrOr->shape, std::move(chunk));
}

Error CalibrationData::Loader::loadArrays(ArrayRef<NamedTensor> arrays) {
  std::vector<std::string> names;
  for (const NamedTensor &a : arrays) {
    auto it = index.find(a.name);
    if (it == index.end())
      return makeError(
          cd.path + ": array '" + a.name +
          "' is not an input of the model (its inputs: " + inputNames() + ")");
    if (is_contained(names, a.name))
      return makeError(cd.path + ": array '" + a.name + "' appears twice");
    names.push_back(a.name);
  }
  for (const Input &in : cd.inputs)
    if (!is_contained(names, in.info.name))
      return makeError(cd.path + ": no array for model input '" + in.info.name +
                       "' (given: " + quotedList(names) + ")");
  for (const NamedTensor &a : arrays) {
    std::string where = cd.path + ": array '" + a.name + "'";
    if (Error e = validateHostTensor(a.tensor, where))
      return e;
    Chunk chunk;
    chunk.data = keep(StringRef(a.tensor.bytes.data(), a.tensor.bytes.size()));
    if (Error e = addArray(where, index[a.name], a.tensor.dtype, a.tensor.shape,
                           std::move(chunk)))
      return e;
  }
  return Error::success();
}

Error CalibrationData::Loader::loadNpz(StringRef file) {
  auto entriesOr = parseZipDirectory(file, cd.path);
  if (!entriesOr)
    return entriesOr.takeError();
  if (entriesOr->empty())
    return makeError(cd.path + ": the .npz holds no arrays");
  std::vector<std::string> names;
  for (const ZipEntry &e : *entriesOr) {
    StringRef name(e.name);
    if (!name.consume_back(".npy"))
      return makeError(cd.path + ": entry '" + e.name +
                       "' is not a .npy array");
    auto it = index.find(name);
    if (it == index.end())
      return makeError(
          cd.path + ": array '" + name +
          "' is not an input of the model (its inputs: " + inputNames() + ")");
    if (is_contained(names, name))
      return makeError(cd.path + ": array '" + name + "' appears twice");
    names.push_back(name.str());
  }
  for (const Input &in : cd.inputs)
    if (!is_contained(names, in.info.name))
      return makeError(cd.path + ": no array for model input '" + in.info.name +
                       "' (the file has: " + quotedList(names) + ")");

  for (const ZipEntry &e : *entriesOr) {
    StringRef name = StringRef(e.name).drop_back(4);
    std::string where = cd.path + ": array '" + name.str() + "'";
    if (e.flags & 1)
      return makeError(where + ": encrypted zip entries are not supported");
    auto rawOr = zipEntryBytes(file, e, where);
    if (!rawOr)
      return rawOr.takeError();
    StringRef npy;
    if (e.method == 0) {
      if (e.compressedSize != e.uncompressedSize)
        return makeError(where + ": corrupt .npz: a stored entry of " +
                         Twine(e.compressedSize) + " bytes claims " +
                         Twine(e.uncompressedSize));
      npy = *rawOr;
    } else if (e.method == 8) {
#if ONNXPRUNE_HAVE_ZLIB
      auto outOr = inflateEntry(*rawOr, e.uncompressedSize, e.crc, where);
      if (!outOr)
        return outOr.takeError();
      cd.owned.push_back(std::move(*outOr));
      npy = StringRef(cd.owned.back().get(), e.uncompressedSize);
#else
      return makeError(where + ": the entry is deflate-compressed "
                               "(numpy.savez_compressed), and onnx-prune was "
                               "built without zlib; save with numpy.savez");
#endif
    } else {
      return makeError(where + ": zip compression method " + Twine(e.method) +
                       " is not supported (only stored and deflate)");
    }
    auto arrOr = parseNpy(npy, where);
    if (!arrOr)
      return arrOr.takeError();
    Chunk chunk;
    chunk.data = arrOr->data.data();
    if (Error err = addArray(cd.path, index[name], arrOr->dtype, arrOr->shape,
                             std::move(chunk)))
      return err;
  }
  return Error::success();
}

/// The entries "<prefix><N><suffix>" of folder \p dir (folders when
/// \p wantDirs, else files), sorted by N.
static Expected<std::vector<std::pair<uint64_t, std::string>>>
listNumbered(StringRef dir, StringRef prefix, StringRef suffix, bool wantDirs) {
  std::vector<std::pair<uint64_t, std::string>> found;
  std::error_code ec;
  for (sys::fs::directory_iterator it(dir, ec), end; it != end && !ec;
       it.increment(ec)) {
    StringRef name = sys::path::filename(it->path());
    if (!name.startswith(prefix) || !name.endswith(suffix))
      continue;
    StringRef num = name.drop_front(prefix.size()).drop_back(suffix.size());
    uint64_t n;
    if (num.empty() ||
        !all_of(num, [](char c) { return c >= '0' && c <= '9'; }) ||
        num.getAsInteger(10, n))
      continue;
    if (wantDirs ? !sys::fs::is_directory(it->path())
                 : !sys::fs::is_regular_file(it->path()))
      continue;
    found.emplace_back(n, it->path());
  }
  if (ec)
    return makeError(dir + ": cannot list the folder: " + ec.message());
  llvm::sort(found);
  for (size_t i = 1; i < found.size(); ++i)
    if (found[i].first == found[i - 1].first)
      return makeError(dir + ": both '" +
                       sys::path::filename(found[i - 1].second) + "' and '" +
                       sys::path::filename(found[i].second) + "' are number " +
                       Twine(found[i].first));
  return std::move(found);
}

Error CalibrationData::Loader::loadSet(StringRef dir, bool isTopFolder) {
  auto filesOr = listNumbered(dir, "input_", ".pb", /*wantDirs=*/false);
  if (!filesOr)
    return filesOr.takeError();
  if (filesOr->empty())
    return makeError(
        dir + (isTopFolder ? ": a folder with no test_data_set_N folders and "
                             "no input_N.pb files"
                           : ": no input_N.pb files in the set"));
  std::vector<std::string> fedBy(cd.inputs.size());
  std::vector<int64_t> before;
  for (const Input &in : cd.inputs)
    before.push_back(in.total);
  for (auto &[position, file] : *filesOr) {
    auto tfOr = readTensorProtoFile(file, /*keepRawData=*/false);
    if (!tfOr)
      return tfOr.takeError();
    size_t idx;
    if (tfOr->name.empty()) {
      if (position >= cd.inputs.size())
        return makeError(file + ": the tensor has no name, and position " +
                         Twine(position) + " is past the model's " +
                         Twine(cd.inputs.size()) + " inputs (" + inputNames() +
                         ")");
      idx = position;
    } else {
      auto it = index.find(tfOr->name);
      if (it == index.end())
        return makeError(file + ": tensor '" + tfOr->name +
                         "' is not an input of the model (its inputs: " +
                         inputNames() + ")");
      idx = it->second;
    }
    if (!fedBy[idx].empty())
      return makeError(file + ": input '" + cd.inputs[idx].info.name +
                       "' is fed twice (also by " + fedBy[idx] + ")");
    fedBy[idx] = file;
    Chunk chunk;
    if (tfOr->rawDataOffset >= 0) {
      chunk.file = file;
      chunk.fileOffset = tfOr->rawDataOffset;
    } else {
      chunk.data = keep(tfOr->bytes);
    }
    if (Error e =
            addArray(file, idx, tfOr->dtype, tfOr->dims, std::move(chunk)))
      return e;
  }
  std::vector<std::string> fed;
  for (size_t i = 0; i < cd.inputs.size(); ++i)
    if (!fedBy[i].empty())
      fed.push_back(cd.inputs[i].info.name);
  for (size_t i = 0; i < cd.inputs.size(); ++i)
    if (fedBy[i].empty())
      return makeError(dir + ": no tensor for model input '" +
                       cd.inputs[i].info.name +
                       "' (the set has: " + quotedList(fed) + ")");
  for (size_t i = 1; i < cd.inputs.size(); ++i) {
    int64_t n0 = cd.inputs[0].total - before[0];
    int64_t ni = cd.inputs[i].total - before[i];
    if (ni != n0)
      return makeError(dir + ": input '" + cd.inputs[i].info.name + "' has " +
                       Twine(ni) + " samples, input '" +
                       cd.inputs[0].info.name + "' has " + Twine(n0));
  }
  return Error::success();
}

Error CalibrationData::Loader::loadFolder() {
  auto setsOr = listNumbered(cd.path, "test_data_set_", "", /*wantDirs=*/true);
  if (!setsOr)
    return setsOr.takeError();
  // A set folder given by itself is one set.
  if (setsOr->empty())
    return loadSet(cd.path, /*isTopFolder=*/true);
  for (auto &set : *setsOr)
    if (Error e = loadSet(set.second, /*isTopFolder=*/false))
      return e;
  return Error::success();
}

Error CalibrationData::Loader::finish() {
  const Input &first = cd.inputs[0];
  for (const Input &in : cd.inputs)
    if (in.total != first.total)
      return makeError(cd.path + ": input '" + in.info.name + "' has " +
                       Twine(in.total) + " samples, input '" + first.info.name +
                       "' has " + Twine(first.total) +
                       "; every input needs one row per sample");
  if (first.total == 0)
    return makeError(cd.path + ": input '" + first.info.name +
                     "' has no samples (axis 0 is 0)");
  cd.totalSamples = first.total;

  const Input *fixedBy = nullptr;
  for (const Input &in : cd.inputs) {
    int64_t b = in.info.shape[0];
    if (b < 0)
      continue;
    if (b == 0)
      return makeError(cd.path + ": input '" + in.info.name +
                       "' has a static axis 0 of size 0 in the model");
    if (fixedBy && b != cd.fixedBatch)
      return makeError(cd.path + ": input '" + in.info.name +
                       "' has a static axis 0 of " + Twine(b) + ", input '" +
                       fixedBy->info.name + "' of " + Twine(cd.fixedBatch) +
                       "; batches cannot satisfy both");
    cd.fixedBatch = b;
    fixedBy = &in;
  }
  if (fixedBy && cd.totalSamples < cd.fixedBatch)
    return makeError(
        cd.path + ": input '" + fixedBy->info.name + "' has " +
        Twine(cd.totalSamples) + " samples, fewer than one batch of " +
        Twine(cd.fixedBatch) +
        " (the model's axis 0 is static: " + fixedBy->info.describe() + ")");
  cd.updateNumSamples();
  return Error::success();
}

//===----------------------------------------------------------------------===//
// CalibrationData
//===----------------------------------------------------------------------===//

CalibrationData::~CalibrationData() = default;

Expected<CalibrationData>
CalibrationData::open(StringRef path, ArrayRef<TensorInfo> modelInputs) {
  CalibrationData cd;
  cd.path = path.str();
  Loader loader(cd, modelInputs);
  if (Error e = loader.checkModelInputs())
    return std::move(e);

  if (sys::fs::is_directory(path)) {
    if (Error e = loader.loadFolder())
      return std::move(e);
  } else {
    // Mapped, not read, when the file is big: batches copy only their rows.
    auto bufOr = MemoryBuffer::getFile(path, /*IsText=*/false,
                                       /*RequiresNullTerminator=*/false);
    if (!bufOr)
      return makeError(path + ": cannot read: " + bufOr.getError().message());
    cd.buffers.push_back(std::move(*bufOr));
    StringRef file = cd.buffers.back()->getBuffer();
    if (file.empty())
      return makeError(path + ": the file is empty");
    // By content first: a .npz saved under another name still loads; the
    // extension picks the format's own message for a damaged file.
    StringRef ext = sys::path::extension(path);
    bool isNpy = file.startswith(StringRef("\x93NUMPY", 6));
    bool isZip = file.startswith("PK\x03\x04") || file.startswith("PK\x05\x06");
    if (!isNpy && !isZip) {
      isNpy = ext.equals_insensitive(".npy");
      isZip = ext.equals_insensitive(".npz");
    }
    if (!isNpy && !isZip)
      return makeError(path + ": not a .npz or .npy file (nor a folder of "
                              "ONNX test data)");
    if (Error e = isNpy ? loader.loadNpy(file) : loader.loadNpz(file))
      return std::move(e);
  }
  if (Error e = loader.finish())
    return std::move(e);
  return std::move(cd);
}

Expected<CalibrationData>
CalibrationData::fromArrays(StringRef displayName, ArrayRef<NamedTensor> arrays,
                            ArrayRef<TensorInfo> modelInputs) {
  CalibrationData cd;
  cd.path = displayName.str();
  Loader loader(cd, modelInputs);
  if (Error e = loader.checkModelInputs())
    return std::move(e);
  if (Error e = loader.loadArrays(arrays))
    return std::move(e);
  if (Error e = loader.finish())
    return std::move(e);
  return std::move(cd);
}

void CalibrationData::updateNumSamples() {
  numSamples = limit >= 0 ? std::min(limit, totalSamples) : totalSamples;
  if (fixedBatch > 0)
    numSamples -= numSamples % fixedBatch;
}

void CalibrationData::limitSamples(int64_t n) {
  assert(n >= 0 && "negative sample limit");
  limit = n;
  updateNumSamples();
}

/// Reads exactly \p buf.size() bytes of \p path from \p offset.
static Error readFileSlice(const std::string &path, uint64_t offset,
                           MutableArrayRef<char> buf) {
  auto fdOr = sys::fs::openNativeFileForRead(path);
  if (!fdOr)
    return makeError(path + ": cannot open: " + toString(fdOr.takeError()));
  sys::fs::file_t fd = *fdOr;
  Error err = Error::success();
  while (!buf.empty()) {
    auto nOr = sys::fs::readNativeFileSlice(fd, buf, offset);
    if (!nOr) {
      err = makeError(path + ": cannot read: " + toString(nOr.takeError()));
      break;
    }
    if (*nOr == 0) {
      err = makeError(path + ": the file is shorter than when it was opened");
      break;
    }
    buf = buf.drop_front(*nOr);
    offset += *nOr;
  }
  sys::fs::closeFile(fd);
  return err;
}

Expected<std::vector<NamedTensor>>
CalibrationData::getBatch(int64_t begin, int64_t end) const {
  if (begin < 0 || end > numSamples || begin >= end)
    return makeError(path + ": batch [" + Twine(begin) + ", " + Twine(end) +
                     ") is empty or outside the " + Twine(numSamples) +
                     " samples in use");
  int64_t n = end - begin;
  if (fixedBatch > 0 && n != fixedBatch)
    return makeError(path + ": batch [" + Twine(begin) + ", " + Twine(end) +
                     ") has " + Twine(n) +
                     " samples; the model's axis 0 is static, batches "
                     "must have " +
                     Twine(fixedBatch));
  std::vector<NamedTensor> out;
  out.reserve(inputs.size());
  for (const Input &in : inputs) {
    NamedTensor nt;
    nt.name = in.info.name;
    nt.tensor.dtype = in.dtype;
    nt.tensor.shape.push_back(n);
    nt.tensor.shape.insert(nt.tensor.shape.end(), in.sampleShape.begin(),
                           in.sampleShape.end());
    // n * sampleBytes fits: the data held totalSamples such rows.
    nt.tensor.bytes.resize((uint64_t)n * in.sampleBytes);
    char *dst = nt.tensor.bytes.data();
    auto it = std::upper_bound(
        in.chunks.begin(), in.chunks.end(), begin,
        [](int64_t s, const Chunk &c) { return s < c.firstSample; });
    assert(it != in.chunks.begin() && "chunks cover every sample");
    for (--it; it != in.chunks.end() && it->firstSample < end; ++it) {
      int64_t lo = std::max(begin, it->firstSample);
      int64_t hi = std::min(end, it->firstSample + it->numSamples);
      if (lo >= hi)
        continue;
      uint64_t off = (uint64_t)(lo - it->firstSample) * in.sampleBytes;
      uint64_t len = (uint64_t)(hi - lo) * in.sampleBytes;
      if (it->data) {
        if (len)
          std::memcpy(dst, it->data + off, len);
      } else if (Error e = readFileSlice(it->file, it->fileOffset + off,
                                         MutableArrayRef<char>(dst, len))) {
        return std::move(e);
      }
      dst += len;
    }
    assert(dst == nt.tensor.bytes.data() + nt.tensor.bytes.size() &&
           "chunks cover the batch");
    out.push_back(std::move(nt));
  }
  return std::move(out);
}

} // namespace onnxprune
