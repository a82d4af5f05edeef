//===- OnnxChecks.cpp - ONNX's checker and shape inference ----------------===//

#include "frontends/onnx/OnnxChecks.h"
#include "frontends/onnx/ProtoConvert.h"
#include "lib/Support/Error.h"

#include "llvm/ADT/StringMap.h"

#include "onnx/checker.h"
#include "onnx/defs/schema.h"
#include "onnx/shape_inference/implementation.h"

using namespace llvm;

namespace onnxprune {

int64_t maxKnownOpset() {
  const auto &map = onnx::OpSchemaRegistry::DomainToVersionRange::Instance().Map();
  auto it = map.find(onnx::ONNX_DOMAIN);
  return it == map.end() ? 0 : it->second.second;
}

static int64_t maxKnownVersion(StringRef domain) {
  const auto &map = onnx::OpSchemaRegistry::DomainToVersionRange::Instance().Map();
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

Error runOnnxChecker(const Model &model, CheckReport &report) {
  std::string why = whyUnsupported(model);
  if (!why.empty()) {
    report.skipped.push_back("onnx checker: " + why);
    return Error::success();
  }
  onnx::ModelProto proto;
  if (Error e = exportSkeleton(model, proto))
    return e;
  try {
    onnx::checker::check_model(proto);
  } catch (const std::exception &e) {
    return makeError("onnx checker: " + oneLine(e.what()));
  }
  try {
    onnx::ShapeInferenceOptions opts{/*check_type=*/true, /*error_mode=*/1,
                                     /*enable_data_propagation=*/false};
    onnx::shape_inference::InferShapes(proto, onnx::OpSchemaRegistry::Instance(),
                                       opts);
  } catch (const std::exception &e) {
    return makeError("onnx shape inference: " + oneLine(e.what()));
  }
  return Error::success();
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
  try {
    onnx::ShapeInferenceOptions opts{/*check_type=*/false, /*error_mode=*/0,
                                     /*enable_data_propagation=*/true};
    onnx::shape_inference::InferShapes(proto, onnx::OpSchemaRegistry::Instance(),
                                       opts);
  } catch (const std::exception &e) {
    return makeError("onnx shape inference: " + oneLine(e.what()));
  }
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
