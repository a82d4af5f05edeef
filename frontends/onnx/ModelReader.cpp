//===- ModelReader.cpp - Read ONNX files into the IR ----------------------===//

#include "frontends/onnx/ModelReader.h"
#include "frontends/onnx/OnnxChecks.h"
#include "frontends/onnx/ProtoConvert.h"
#include "lib/IR/UntieWeights.h"
#include "lib/Support/Error.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

#include "onnx/defs/parser.h"

#include <google/protobuf/io/coded_stream.h>

#include <climits>
#include <cstring>

using namespace llvm;

namespace onnxprune {

ModelFormat guessFormat(StringRef path, StringRef firstBytes) {
  StringRef ext = sys::path::extension(path);
  if (ext == ".onnxtext" || ext == ".txt" || ext == ".onnxtxt")
    return ModelFormat::Text;
  if (ext == ".onnx" || ext == ".pb")
    return ModelFormat::Binary;
  // A binary ModelProto starts with a field tag (ir_version is 0x08); the
  // text format starts with '<' (after comments and blanks).
  StringRef s = firstBytes.ltrim();
  while (s.startswith("#")) {
    s = s.drop_until([](char c) { return c == '\n'; }).ltrim();
  }
  return s.startswith("<") ? ModelFormat::Text : ModelFormat::Binary;
}

/// The parser's message quotes the whole rest of the input as "context":
/// keep the position and the reason, and a short excerpt.
static std::string shortParseError(StringRef msg) {
  std::string line = oneLine(msg);
  StringRef s(line);
  size_t ctx = s.find("Error context: ");
  if (ctx == StringRef::npos)
    return s.take_front(400).str();
  StringRef head = s.take_front(ctx);
  StringRef rest = s.drop_front(ctx + strlen("Error context: "));
  // The reason follows the context, after the last "; ".
  size_t why = rest.rfind("; ");
  StringRef reason = why == StringRef::npos ? "" : rest.drop_front(why + 2);
  StringRef excerpt = rest.take_front(std::min<size_t>(why, 60));
  return (head + "near '" + excerpt + (why > 60 ? "...'" : "'") +
          (reason.empty() ? "" : ": ") + reason)
      .str();
}

static Expected<std::unique_ptr<Model>>
parseAndImport(std::string bytes, ModelFormat format, StringRef baseDir,
               StringRef displayName, const ReadOptions &opts) {
  onnx::ModelProto proto;
  if (format == ModelFormat::Text) {
    try {
      onnx::OnnxParser parser(bytes.c_str());
      auto status = parser.Parse(proto);
      if (!status.IsOK())
        return makeError(displayName + ": cannot parse ONNX text: " +
                         shortParseError(status.ErrorMessage()));
    } catch (const std::exception &e) {
      return makeError(displayName +
                       ": cannot parse ONNX text: " + oneLine(e.what()));
    }
  } else {
    google::protobuf::io::CodedInputStream in(
        reinterpret_cast<const uint8_t *>(bytes.data()), (int)bytes.size());
    in.SetTotalBytesLimit(INT_MAX);
    if (bytes.size() > (size_t)INT_MAX)
      return makeError(displayName +
                       ": the file is larger than 2 GB; big weights must be "
                       "stored as external data");
    if (!proto.ParseFromCodedStream(&in) || !in.ConsumedEntireMessage())
      return makeError(displayName +
                       ": not a valid ONNX model (protobuf parse failed; the "
                       "file is truncated or not ONNX)");
    // Free the file bytes before building the IR: raw_data was copied into
    // the proto and is moved (not copied again) into the weight store.
    std::string().swap(bytes);
  }
  auto model = std::make_unique<Model>();
  model->baseDir = baseDir.str();
  ImportContext ctx{displayName.str(), baseDir.str(), opts.liftConstants};
  if (Error e = importModel(proto, *model, ctx))
    return std::move(e);
  // Exporters merge bit-identical tensors; give each reader of a merged
  // splat its own copy before anyone reasons about coupling.
  untieSharedSplats(*model);
  return std::move(model);
}

Expected<std::unique_ptr<Model>>
readModelFromBuffer(std::string bytes, ModelFormat format, StringRef baseDir,
                    StringRef displayName, const ReadOptions &opts) {
  return parseAndImport(std::move(bytes), format, baseDir, displayName, opts);
}

Expected<std::unique_ptr<Model>> readModelFile(StringRef path,
                                               const ReadOptions &opts) {
  ErrorOr<std::unique_ptr<MemoryBuffer>> buf =
      path == "-" ? MemoryBuffer::getSTDIN()
                  : MemoryBuffer::getFile(path, /*IsText=*/false,
                                          /*RequiresNullTerminator=*/false);
  std::string display = path == "-" ? std::string("<stdin>") : path.str();
  if (!buf)
    return makeError("cannot read '" + display +
                     "': " + buf.getError().message());
  if (path != "-" && sys::fs::is_directory(path))
    return makeError("cannot read '" + display + "': it is a directory");
  std::string bytes((*buf)->getBufferStart(), (*buf)->getBufferSize());
  buf->reset();
  SmallString<256> dir;
  if (path != "-") {
    dir = path;
    sys::fs::make_absolute(dir);
    sys::path::remove_filename(dir);
  }
  ModelFormat fmt = guessFormat(path, StringRef(bytes).take_front(4096));
  auto model = parseAndImport(std::move(bytes), fmt, dir, display, opts);
  if (model && path != "-")
    (*model)->sourcePath = path.str();
  return model;
}

} // namespace onnxprune
