//===- ShapeValues.cpp - Known values of shape tensors, on demand ---------===//

#include "passes/OpHandlers/ShapeValues.h"

#include "lib/IR/Graph.h"

#include "llvm/ADT/StringMap.h"

using namespace llvm;

namespace onnxprune {

using namespace shapeinf;

namespace {

/// The same (domain:op) -> handler table the shape-inference driver builds.
const StringMap<ShapeHandler> &valueHandlers() {
  static const StringMap<ShapeHandler> table = [] {
    StringMap<ShapeHandler> t;
#define SI_OP(DOMAIN, OP, FN) t[std::string(DOMAIN) + ":" + OP] = &FN;
#include "passes/OpHandlers/ShapeInferenceOps.def"
    return t;
  }();
  return table;
}

/// Only small integer tensors are worth walking into: a float input of a
/// Shape node is read for its type, never evaluated.
bool isSmallInt(const Value *v) {
  const Type &t = v->getType();
  if (!t.isTensor() || t.rank() > 1)
    return false;
  switch (t.elemType) {
  case DataType::Int64:
  case DataType::Int32:
  case DataType::Bool:
    break;
  default:
    return false;
  }
  std::optional<int64_t> n = t.numElements();
  return !n || *n <= MaxKnownElements;
}

} // namespace

ShapeValueEvaluator::ShapeValueEvaluator() = default;
ShapeValueEvaluator::ShapeValueEvaluator(const TypeOverrides &overrides) {
  state.typeOverrides = &overrides;
}
ShapeValueEvaluator::~ShapeValueEvaluator() = default;

const ValueVec *ShapeValueEvaluator::evaluate(Value *v) {
  if (!v)
    return nullptr;
  auto it = state.known.find(v);
  if (it != state.known.end())
    return &it->second;
  if (v->isWeight() || !v->getProducer()) {
    // Weights are read through a one-node context; graph inputs are unknown.
    if (!v->isWeight() || v->isGraphInput())
      return nullptr;
    Node *user = v->getUses().empty() ? nullptr : v->getUses().front().user;
    if (!user)
      return nullptr;
    NodeContext ctx(state, *user, 0);
    return ctx.inValues(v->getUses().front().operandIndex);
  }
  if (!visited.try_emplace(v, true).second)
    return nullptr; // Evaluated before without a result.
  Node &n = *v->getProducer();
  if (n.getGraph() != v->getGraph() || n.hasSubgraphs())
    return nullptr;
  StringRef domain = n.getDomain() == "ai.onnx" ? "" : StringRef(n.getDomain());
  auto h = valueHandlers().find((domain + ":" + n.getOpType()).str());
  if (h == valueHandlers().end())
    return nullptr;
  // Inputs first: the handler reads their known values from the table.
  for (Value *in : n.getInputs())
    if (in && in->getProducer() && isSmallInt(in))
      evaluate(in);
  NodeContext ctx(state, n, n.getGraph()->getModel().getOpsetVersion(domain));
  if (Error e = h->second(ctx)) {
    consumeError(std::move(e));
    return nullptr;
  }
  const ValueVec *result = nullptr;
  for (unsigned i = 0; i < n.getNumOutputs(); ++i) {
    Value *out = n.getOutput(i);
    const std::optional<ValueVec> &vals = ctx.getOutputValues()[i];
    if (!out || !vals)
      continue;
    ValueVec &slot = state.known[out] = *vals;
    if (out == v)
      result = &slot;
  }
  return result;
}

std::optional<std::vector<Type>> ShapeValueEvaluator::inferTypes(Node &n) {
  if (n.hasSubgraphs())
    return std::nullopt;
  StringRef domain = n.getDomain() == "ai.onnx" ? "" : StringRef(n.getDomain());
  auto h = valueHandlers().find((domain + ":" + n.getOpType()).str());
  if (h == valueHandlers().end())
    return std::nullopt;
  for (Value *in : n.getInputs())
    if (in && in->getProducer() && isSmallInt(in))
      evaluate(in);
  NodeContext ctx(state, n, n.getGraph()->getModel().getOpsetVersion(domain));
  if (Error e = h->second(ctx)) {
    consumeError(std::move(e));
    return std::nullopt;
  }
  return ctx.getOutputTypes();
}

std::optional<std::vector<int64_t>>
ShapeValueEvaluator::evaluateInts(Value *v) {
  const ValueVec *vals = evaluate(v);
  if (!vals)
    return std::nullopt;
  std::vector<int64_t> out;
  for (const SymInt &x : *vals) {
    if (!x.value)
      return std::nullopt;
    out.push_back(*x.value);
  }
  return out;
}

} // namespace onnxprune
