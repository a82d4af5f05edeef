//===- TensorFile.cpp - Read serialized TensorProto files -----------------===//

#include "frontends/onnx/TensorFile.h"
#include "frontends/onnx/ProtoConvert.h"
#include "lib/Support/Error.h"

#include "llvm/Support/MemoryBuffer.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/wire_format_lite.h>

#include <climits>

using namespace llvm;

namespace onnxprune {

/// The offset of the raw_data bytes in the serialized TensorProto \p data,
/// or -1 when the field is absent. Protobuf keeps the last occurrence of a
/// bytes field, so the scan does too.
static int64_t findRawDataOffset(StringRef data) {
  using google::protobuf::internal::WireFormatLite;
  constexpr int kRawDataField = onnx::TensorProto::kRawDataFieldNumber;
  google::protobuf::io::CodedInputStream in(
      reinterpret_cast<const uint8_t *>(data.data()), (int)data.size());
  in.SetTotalBytesLimit(INT_MAX);
  int64_t offset = -1;
  while (uint32_t tag = in.ReadTag()) {
    if (WireFormatLite::GetTagFieldNumber(tag) == kRawDataField &&
        WireFormatLite::GetTagWireType(tag) ==
            WireFormatLite::WIRETYPE_LENGTH_DELIMITED) {
      uint32_t length;
      if (!in.ReadVarint32(&length))
        return -1;
      offset = in.CurrentPosition();
      if (!in.Skip((int)length))
        return -1;
      continue;
    }
    if (!WireFormatLite::SkipField(&in, tag))
      return -1;
  }
  return offset;
}

Expected<TensorFileContents> readTensorProtoFile(StringRef path,
                                                 bool keepRawData) {
  // Mapped, not read: the parse below makes the one copy of the data.
  auto bufOr = MemoryBuffer::getFile(path, /*IsText=*/false,
                                     /*RequiresNullTerminator=*/false);
  if (!bufOr)
    return makeError(path + ": cannot read: " + bufOr.getError().message());
  StringRef data = (*bufOr)->getBuffer();
  if (data.empty())
    return makeError(path + ": the file is empty");
  if (data.size() > (size_t)INT_MAX)
    return makeError(path + ": the file is larger than 2 GB, the most a "
                            "TensorProto can hold");

  onnx::TensorProto proto;
  google::protobuf::io::CodedInputStream in(
      reinterpret_cast<const uint8_t *>(data.data()), (int)data.size());
  in.SetTotalBytesLimit(INT_MAX);
  if (!proto.ParseFromCodedStream(&in) || !in.ConsumedEntireMessage())
    return makeError(path + ": not a serialized TensorProto (protobuf parse "
                            "failed; the file is truncated or of another "
                            "kind)");
  if (proto.data_location() == onnx::TensorProto::EXTERNAL)
    return makeError(path + ": tensor '" + proto.name() +
                     "' has external data, which is not supported here");
  if (proto.data_type() == onnx::TensorProto::STRING)
    return makeError(path + ": tensor '" + proto.name() +
                     "' holds strings, which have no raw bytes");

  bool isRaw = proto.has_raw_data();
  auto tensorOr = importTensorProto(proto, path);
  if (!tensorOr)
    return tensorOr.takeError();
  const Tensor &t = **tensorOr;

  TensorFileContents out;
  out.name = t.getName();
  out.dtype = t.getDataType();
  out.dims.assign(t.getDims().begin(), t.getDims().end());
  if (isRaw) {
    out.rawDataOffset = findRawDataOffset(data);
    // The parse succeeded, so the scan finds the field; check anyway that
    // the bytes it points at are the tensor's.
    if (out.rawDataOffset < 0 ||
        (uint64_t)out.rawDataOffset + t.getByteSize() > data.size())
      return makeError(path + ": cannot locate raw_data in the file");
  }
  if (!isRaw || keepRawData) {
    auto bytesOr = t.getBytes();
    if (!bytesOr)
      return addContext(bytesOr.takeError(), path);
    out.bytes.assign(bytesOr->begin(), bytesOr->end());
  }
  return std::move(out);
}

} // namespace onnxprune
