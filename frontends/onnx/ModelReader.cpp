//===- ModelReader.cpp - Read ONNX files into the IR ----------------------===//

#include "frontends/onnx/ModelReader.h"
#include "frontends/onnx/OnnxChecks.h"
#include "frontends/onnx/ProtoConvert.h"
#include "lib/IR/UntieWeights.h"
#include "lib/Support/Error.h"
#include "passes/OpHandlers/ShapeInference.h"

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

/// The declared type \p declared with the dims it leaves open (no value,
/// no name: dynamo writes whole value_info entries of such dims) taken
/// from the inferred type \p inferred of the same rank.
static Type refineDeclared(Type declared, const Type &inferred,
                           bool refineSymbols) {
  if (!declared.shape || !inferred.shape ||
      declared.shape->size() != inferred.shape->size() ||
      declared.elemType != inferred.elemType)
    return declared;
  for (size_t i = 0; i < declared.shape->size(); ++i) {
    Dim &d = (*declared.shape)[i];
    if ((d.isUnknown() && d.denotation.empty()) ||
        (refineSymbols && !d.isStatic() && (*inferred.shape)[i].isStatic()))
      d = (*inferred.shape)[i];
  }
  return declared;
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
  if (opts.inferShapes) {
    // Types are a convenience here: a model that inference cannot handle
    // still loads. libonnx 1.12 stops at opset 17; past it, and when it
    // fails, our own inference fills what it can.
    bool done = false;
    if (opts.onnxShapeInference) {
      CheckReport report;
      Error err = inferShapesWithOnnx(*model, report);
      done = !err && report.skipped.empty();
      consumeError(std::move(err));
    }
    if (!done) {
      // Types the file declares (graph inputs and outputs, value_info, of
      // every graph) are written back as declared: inference only fills
      // in the values the file left open.
      std::vector<std::pair<Value *, Type>> declared;
      model->forEachGraph([&](Graph &g) {
        for (Value *v : g.getValues())
          if (v->inValueInfo || v->isGraphInput() || v->isGraphOutput())
            declared.emplace_back(v, v->getType());
      });
      consumeError(inferShapes(*model));
      // Inside subgraphs exporters name every dim of the outputs (torch:
      // "Add/Add_output_0_dim_1"); a size inference proved (a Loop body
      // that keeps its carried shapes) replaces such a name there.
      for (auto &[v, t] : declared)
        v->setType(refineDeclared(std::move(t), v->getType(),
                                  v->getGraph()->getOwnerNode() &&
                                      !v->isGraphInput()));
    }
  }
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
