//===- OnnxChecks.cpp - ONNX's checker and shape inference ----------------===//

#include "frontends/onnx/OnnxChecks.h"
#include "frontends/onnx/ProtoConvert.h"
#include "lib/Support/Error.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringMap.h"

#include "onnx/checker.h"
#include "onnx/defs/schema.h"
#include "onnx/shape_inference/implementation.h"

#include <cerrno>
#include <cstdio>
#include <sys/wait.h>
#include <unistd.h>

using namespace llvm;

namespace onnxprune {

int64_t maxKnownOpset() {
  const auto &map =
      onnx::OpSchemaRegistry::DomainToVersionRange::Instance().Map();
  auto it = map.find(onnx::ONNX_DOMAIN);
  return it == map.end() ? 0 : it->second.second;
}

static int64_t maxKnownVersion(StringRef domain) {
  const auto &map =
      onnx::OpSchemaRegistry::DomainToVersionRange::Instance().Map();
  auto it = map.find(domain == "ai.onnx" ? std::string() : domain.str());
  return it == map.end() ? -1 : it->second.second;
}

/// Why libonnx cannot judge this model, or "" when it can.
static std::string whyUnsupported(const Model &model) {
  if (model.irVersion > onnx::IR_VERSION)
    return "IR version " + std::to_string(model.irVersion) +
           " is newer than the " + std::to_string(onnx::IR_VERSION) +
           " this ONNX library knows";
  for (const OpsetImport &o : model.opsetImports) {
    int64_t known = maxKnownVersion(o.domain);
    if (known >= 0 && o.version > known)
      return "opset " + std::to_string(o.version) + " of domain '" +
             (o.domain.empty() ? std::string("ai.onnx") : o.domain) +
             "' is newer than the " + std::to_string(known) +
             " this ONNX library knows";
  }
  return "";
}

/// An export light enough to check a model of many GB: small tensors (and
/// the integer tensors shape inference reads) inline, the rest as dims and
/// type with a placeholder byte; their bytes are never read.
static Error exportSkeleton(const Model &model, onnx::ModelProto &proto) {
  ExportOptions opts;
  opts.placement = [](const Tensor &t) {
    uint64_t size = t.getByteSize();
    bool isInt = t.getDataType() == DataType::Int64 ||
                 t.getDataType() == DataType::Int32;
    if (size <= 1024 || (isInt && size <= (1u << 20)))
      return TensorPlacement::Inline;
    return TensorPlacement::Stub;
  };
  return exportModel(model, proto, opts);
}

/// Runs \p fn in a child process and returns what it returned. libonnx
/// 1.12 crashes on some malformed models (a zero stride divides by zero in
/// its pooling inference; fuzzing found more): a crash there must be an
/// error of ours, not the end of the tool. The child only runs libonnx on
/// a proto it already holds, then leaves with _exit.
/// The first byte of the reply says whether \p fn threw (its message
/// follows) or returned (its result follows).
static Expected<std::string> runIsolated(StringRef what,
                                         llvm::function_ref<std::string()> fn) {
  int fds[2];
  if (::pipe(fds) != 0)
    return makeError(what + ": cannot create a pipe");
  fflush(nullptr);
  pid_t pid = ::fork();
  if (pid < 0) {
    ::close(fds[0]);
    ::close(fds[1]);
    return makeError(what + ": cannot fork");
  }
  if (pid == 0) {
    ::close(fds[0]);
    std::string reply;
    try {
      reply = "0" + fn();
    } catch (const std::exception &e) {
      reply = std::string("1") + e.what();
    } catch (...) {
      reply = "1unknown exception";
    }
    const char *p = reply.data();
    size_t left = reply.size();
    while (left) {
      ssize_t n = ::write(fds[1], p, left);
      if (n <= 0)
        break;
      p += n;
      left -= n;
    }
    ::_exit(0);
  }
  ::close(fds[1]);
  std::string reply;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fds[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    reply.append(buf, n);
  }
  ::close(fds[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR)
    ;
  if (WIFSIGNALED(status))
    return makeError(what + " crashed on this model (signal " +
                     Twine(WTERMSIG(status)) +
                     "): the model is malformed in a way libonnx does not "
                     "check");
  if (reply.empty())
    return makeError(what + " ended without an answer");
  if (reply[0] == '1')
    return makeError(what + ": " + oneLine(StringRef(reply).drop_front()));
  return reply.substr(1);
}

Error runOnnxChecker(const Model &model, CheckReport &report) {
  std::string why = whyUnsupported(model);
  if (!why.empty()) {
    report.skipped.push_back("onnx checker: " + why);
    return Error::success();
  }
  onnx::ModelProto proto;
  if (Error e = exportSkeleton(model, proto))
    return e;
  auto checked = runIsolated("onnx checker", [&] {
    onnx::checker::check_model(proto);
    return std::string();
  });
  if (!checked)
    return checked.takeError();
  auto inferred = runIsolated("onnx shape inference", [&] {
    onnx::ShapeInferenceOptions opts{/*check_type=*/true, /*error_mode=*/1,
                                     /*enable_data_propagation=*/false};
    onnx::shape_inference::InferShapes(
        proto, onnx::OpSchemaRegistry::Instance(), opts);
    return std::string();
  });
  return inferred ? Error::success() : inferred.takeError();
}

static void collectTypes(const onnx::GraphProto &g,
                         StringMap<const onnx::TypeProto *> &out) {
  for (const auto &vi : g.value_info())
    out[vi.name()] = &vi.type();
  for (const auto &vi : g.output())
    out.try_emplace(vi.name(), &vi.type());
  for (const auto &n : g.node())
    for (const auto &a : n.attribute()) {
      if (a.has_g())
        collectTypes(a.g(), out);
      for (const auto &sg : a.graphs())
        collectTypes(sg, out);
    }
}

Error inferShapesWithOnnx(Model &model, CheckReport &report) {
  std::string why = whyUnsupported(model);
  if (!why.empty()) {
    report.skipped.push_back("onnx shape inference: " + why);
    return Error::success();
  }
  onnx::ModelProto proto;
  if (Error e = exportSkeleton(model, proto))
    return e;
  // libonnx's inference assumes a checked model and still crashes on some
  // checked ones: check first, and run both in a child process.
  auto bytes = runIsolated("onnx shape inference", [&] {
    onnx::checker::check_model(proto);
    onnx::ShapeInferenceOptions opts{/*check_type=*/false, /*error_mode=*/0,
                                     /*enable_data_propagation=*/true};
    onnx::shape_inference::InferShapes(
        proto, onnx::OpSchemaRegistry::Instance(), opts);
    return proto.SerializeAsString();
  });
  if (!bytes)
    return bytes.takeError();
  if (!proto.ParseFromString(*bytes))
    return makeError("onnx shape inference: unreadable result");
  StringMap<const onnx::TypeProto *> inferred;
  collectTypes(proto.graph(), inferred);
  model.forEachGraph([&](Graph &g) {
    for (Value *v : g.getValues()) {
      // Types the file declares are written back as they were; only fill
      // in what it left open.
      if (v->inValueInfo || v->isGraphInput() || v->isGraphOutput() ||
          v->isWeight())
        continue;
      auto it = inferred.find(v->getName());
      if (it == inferred.end())
        continue;
      Type t = importType(*it->second);
      if (t.kind != Type::Kind::None)
        v->setType(std::move(t));
    }
  });
  return Error::success();
}

} // namespace onnxprune
