//===- ShapeInference.cpp - onnx-prune's own shape inference --------------===//
///
/// \file
/// The driver: walks graphs in topological order, dispatches each node to
/// the handler ShapeInferenceOps.def names for its (domain, op type), merges
/// the inferred types into the values (filling, refining, or reporting a
/// contradiction), and handles the control-flow ops If/Loop/Scan, whose
/// bodies are subgraphs. Also the NodeContext accessors and the shape
/// helpers the handler files share.
///
//===----------------------------------------------------------------------===//

#include "passes/OpHandlers/ShapeInference.h"
#include "passes/OpHandlers/ShapeInferenceImpl.h"

#include "lib/IR/Tensor.h"
#include "lib/Support/Error.h"

#include "llvm/ADT/StringMap.h"

using namespace llvm;

namespace onnxprune {
namespace shapeinf {

// ---- NodeContext -----------------------------------------------------------

const Type &NodeContext::inType(unsigned i) const {
  static const Type none;
  Value *v = node.getInput(i);
  if (!v)
    return none;
  if (state.typeOverrides) {
    auto it = state.typeOverrides->find(v);
    if (it != state.typeOverrides->end())
      return it->second;
  }
  return v->getType();
}

const Shape *NodeContext::inShape(unsigned i) const {
  const Type &t = inType(i);
  return t.hasRank() ? &*t.shape : nullptr;
}

const ValueVec *NodeContext::inValues(unsigned i) {
  Value *v = node.getInput(i);
  if (!v)
    return nullptr;
  auto it = state.known.find(v);
  if (it != state.known.end())
    return &it->second;
  // Small integer weights are read once, on first use.
  // An initializer that is also a graph input is a default the caller may
  // override: not a constant.
  Tensor *w = v->isGraphInput() ? nullptr : v->getWeight();
  if (!w || state.weightRead.count(v))
    return nullptr;
  state.weightRead[v] = true;
  if (!isIntegerOrBool(w->getDataType()) || w->getDims().size() > 1 ||
      w->getNumElements() > (uint64_t)MaxKnownElements)
    return nullptr;
  Expected<std::vector<int64_t>> ints = readAsInt64s(*w);
  if (!ints) {
    // An unreadable weight is the reader's problem to report; here it only
    // means the value is not known.
    consumeError(ints.takeError());
    return nullptr;
  }
  ValueVec vals;
  for (int64_t x : *ints)
    vals.push_back(SymInt::of(x));
  return &(state.known[v] = std::move(vals));
}

std::optional<SmallVector<int64_t, 8>> NodeContext::inInts(unsigned i) {
  const ValueVec *vals = inValues(i);
  if (!vals)
    return std::nullopt;
  SmallVector<int64_t, 8> out;
  for (const SymInt &x : *vals) {
    if (!x.value)
      return std::nullopt;
    out.push_back(*x.value);
  }
  return out;
}

std::optional<std::vector<double>> NodeContext::inDoubles(unsigned i) const {
  Value *v = node.getInput(i);
  Tensor *w = v && !v->isGraphInput() ? v->getWeight() : nullptr;
  if (!w || w->getNumElements() > (uint64_t)MaxKnownElements)
    return std::nullopt;
  Expected<std::vector<double>> d = readAsDoubles(*w);
  if (!d) {
    consumeError(d.takeError());
    return std::nullopt;
  }
  return std::move(*d);
}

Error NodeContext::error(const Twine &msg) const {
  return makeError("node " + node.describe() + ": " + msg);
}

// ---- Shared helpers --------------------------------------------------------

std::string shapeToString(ArrayRef<Dim> shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i)
      s += ",";
    const Dim &d = shape[i];
    s += d.isStatic()     ? std::to_string(d.value)
         : d.isSymbolic() ? d.param
                          : "?";
  }
  return s + "]";
}

Expected<Shape> broadcastShapes(NodeContext &ctx,
                                ArrayRef<const Shape *> shapes) {
  size_t rank = 0;
  for (const Shape *s : shapes)
    rank = std::max(rank, s->size());
  Shape out;
  for (size_t i = 0; i < rank; ++i) {
    // Static dims other than 1 must agree; a symbolic dim survives only if
    // every non-1 dim is that same symbol (it could be 1 at run time, so a
    // static partner wins). An unknown partner is 1 or that symbol in any
    // model that runs, so S with ? is S: exports lose the sequence length
    // on side paths (position tables, masks) that broadcast back into it.
    int64_t value = 1;
    const Dim *sym = nullptr;
    bool symMixed = false, anyUnknown = false;
    for (const Shape *s : shapes) {
      if (i + s->size() < rank)
        continue;
      const Dim &d = (*s)[i + s->size() - rank];
      if (d.isStatic()) {
        if (d.value == 1)
          continue;
        if (value != 1 && value != d.value)
          return ctx.error("shapes " + [&] {
            std::string all;
            for (const Shape *t : shapes)
              all += (all.empty() ? "" : " and ") + shapeToString(*t);
            return all;
          }() + " do not broadcast");
        value = d.value;
      } else if (d.isSymbolic()) {
        if (sym && sym->param != d.param)
          symMixed = true;
        sym = sym ? sym : &d;
      } else {
        anyUnknown = true;
      }
    }
    if (value != 1 || (!sym && !anyUnknown))
      out.push_back(Dim::of(value));
    else if (sym && !symMixed)
      out.push_back(Dim::symbol(sym->param));
    else
      out.push_back(Dim::unknown());
  }
  return out;
}

Expected<int64_t> normalizeAxis(NodeContext &ctx, int64_t axis, int64_t rank) {
  if (axis < -rank || axis >= rank)
    return ctx.error("axis " + Twine(axis) + " is out of range for rank " +
                     Twine(rank));
  return axis < 0 ? axis + rank : axis;
}

Shape unknownShape(int64_t rank) { return Shape(rank, Dim::unknown()); }

Shape staticShape(ArrayRef<int64_t> dims) {
  Shape s;
  for (int64_t d : dims)
    s.push_back(Dim::of(d));
  return s;
}

Dim mulDims(const Dim &a, const Dim &b) {
  if (a.isStatic() && b.isStatic())
    return Dim::of(a.value * b.value);
  if (a.isStatic() && a.value == 1)
    return b;
  if (b.isStatic() && b.value == 1)
    return a;
  return Dim::unknown();
}

Dim addDims(const Dim &a, const Dim &b) {
  if (a.isStatic() && b.isStatic())
    return Dim::of(a.value + b.value);
  if (a.isStatic() && a.value == 0)
    return b;
  if (b.isStatic() && b.value == 0)
    return a;
  return Dim::unknown();
}

Dim subDims(const Dim &a, const Dim &b) {
  if (a.isStatic() && b.isStatic())
    return Dim::of(a.value - b.value);
  if (b.isStatic() && b.value == 0)
    return a;
  return Dim::unknown();
}

Dim divDims(const Dim &a, const Dim &b) {
  if (a.isStatic() && b.isStatic() && b.value > 0)
    return Dim::of(a.value / b.value);
  if (b.isStatic() && b.value == 1)
    return a;
  return Dim::unknown();
}

Dim mergeDims(const Dim &a, const Dim &b) {
  if (a.isStatic())
    return a;
  if (b.isStatic())
    return b;
  return a.isSymbolic() ? a : b;
}

} // namespace shapeinf

using namespace shapeinf;

namespace {

/// The handler table, built once from ShapeInferenceOps.def; keys are
/// "domain:OpType" with ai.onnx spelled "".
const StringMap<ShapeHandler> &handlerTable() {
  static const StringMap<ShapeHandler> table = [] {
    StringMap<ShapeHandler> t;
#define SI_OP(DOMAIN, OP, FN) t[std::string(DOMAIN) + ":" + OP] = &FN;
#include "passes/OpHandlers/ShapeInferenceOps.def"
    return t;
  }();
  return table;
}

StringRef canonicalDomain(StringRef d) { return d == "ai.onnx" ? "" : d; }

/// One run over a model.
class ShapeInferrer {
public:
  ShapeInferrer(Model &model, const ShapeInferenceOptions &opts,
                ShapeInferenceStats &stats)
      : model(model), opts(opts), stats(stats) {}

  Error inferGraph(Graph &g);

private:
  Error inferNode(Node &n);
  Error inferIf(Node &n);
  /// The Loop's result types, from its inferred body.
  Error inferLoopOutputs(Node &n, Graph &body);
  Error inferLoop(Node &n);
  Error inferScan(Node &n);
  Error inferSubgraphs(Node &n);
  /// Merges an inferred type into \p v following the options.
  Error mergeInto(Node &n, Value *v, const Type &inferred);
  /// Gives a subgraph input a type when the file left it open.
  void fillInput(Value *v, const Type &t);
  Error applyResults(Node &n, const NodeContext &ctx);

  Model &model;
  const ShapeInferenceOptions &opts;
  ShapeInferenceStats &stats;
  InferenceState state;
};

Error ShapeInferrer::inferGraph(Graph &g) {
  for (Node &n : g.getNodes())
    if (Error e = inferNode(n))
      return e;
  return Error::success();
}

Error ShapeInferrer::inferNode(Node &n) {
  StringRef domain = canonicalDomain(n.getDomain());
  if (domain.empty() && n.hasSubgraphs()) {
    if (n.getOpType() == "If")
      return inferIf(n);
    if (n.getOpType() == "Loop")
      return inferLoop(n);
    if (n.getOpType() == "Scan")
      return inferScan(n);
  }
  if (n.hasSubgraphs())
    if (Error e = inferSubgraphs(n))
      return e;
  std::string key = (domain + ":" + n.getOpType()).str();
  auto it = handlerTable().find(key);
  if (it == handlerTable().end()) {
    ++stats.unknownOps[key];
    return Error::success();
  }
  NodeContext ctx(state, n, model.getOpsetVersion(domain));
  if (Error e = it->second(ctx))
    return e;
  return applyResults(n, ctx);
}

Error ShapeInferrer::applyResults(Node &n, const NodeContext &ctx) {
  for (unsigned i = 0; i < n.getNumOutputs(); ++i) {
    Value *v = n.getOutput(i);
    if (!v)
      continue;
    if (Error e = mergeInto(n, v, ctx.getOutputTypes()[i]))
      return e;
    const std::optional<ValueVec> &vals = ctx.getOutputValues()[i];
    if (!vals)
      continue;
    // Keep known values only when the value's type agrees with them.
    const Type &t = v->getType();
    std::optional<int64_t> num = t.numElements();
    if (t.rank() <= 1 && num && *num == (int64_t)vals->size())
      state.known[v] = *vals;
  }
  return Error::success();
}

Error ShapeInferrer::mergeInto(Node &n, Value *v, const Type &inf) {
  if (inf.kind == Type::Kind::None)
    return Error::success();
  const Type &cur = v->getType();
  auto set = [&](Type t) {
    if (t != cur) {
      v->setType(std::move(t));
      ++stats.valuesUpdated;
    }
  };
  if (opts.overwrite || cur.kind == Type::Kind::None) {
    Type t = inf;
    t.denotation = cur.denotation;
    set(std::move(t));
    return Error::success();
  }
  if (!cur.isTensor() || !inf.isTensor())
    return Error::success();
  auto contradiction = [&] {
    return makeError("node " + n.describe() + ": inferred " +
                     typeToString(inf) + " for '" + v->getName() +
                     "' but it is declared " + typeToString(cur));
  };
  Type merged = cur;
  if (merged.elemType == DataType::Undefined)
    merged.elemType = inf.elemType;
  else if (inf.elemType != DataType::Undefined &&
           inf.elemType != merged.elemType)
    return contradiction();
  if (inf.shape) {
    if (!merged.shape) {
      merged.shape = inf.shape;
    } else {
      if (merged.shape->size() != inf.shape->size())
        return contradiction();
      for (size_t i = 0; i < inf.shape->size(); ++i) {
        Dim &d = (*merged.shape)[i];
        const Dim &e = (*inf.shape)[i];
        if (d.isStatic() && e.isStatic() && d.value != e.value)
          return contradiction();
        // Refine only unknown dims: a declared symbol is the user's word.
        if (d.isUnknown() && !e.isUnknown())
          d = e;
      }
    }
  }
  set(std::move(merged));
  return Error::success();
}

void ShapeInferrer::fillInput(Value *v, const Type &t) {
  if (v && v->getType().kind == Type::Kind::None &&
      t.kind != Type::Kind::None) {
    v->setType(t);
    ++stats.valuesUpdated;
  }
}

Error ShapeInferrer::inferSubgraphs(Node &n) {
  for (Attribute &a : n.getAttrs())
    for (auto &g : a.graphs)
      if (Error e = inferGraph(*g))
        return e;
  return Error::success();
}

/// The type both \p a and \p b fit: equal dims kept, differing dims
/// unknown, differing ranks no shape (ONNX's union of types).
static Type unionType(const Type &a, const Type &b) {
  if (!a.isTensor() || !b.isTensor() || a.elemType != b.elemType)
    return Type();
  Type t = Type::tensor(a.elemType);
  if (a.hasRank() && b.hasRank() && a.rank() == b.rank()) {
    t.shape = Shape();
    for (int64_t i = 0; i < a.rank(); ++i)
      t.shape->push_back((*a.shape)[i] == (*b.shape)[i] ? (*a.shape)[i]
                                                        : Dim::unknown());
  }
  return t;
}

static Graph *subgraphAttr(Node &n, StringRef name) {
  Attribute *a = n.getAttr(name);
  return a && a->graphs.size() == 1 ? a->graphs[0].get() : nullptr;
}

Error ShapeInferrer::inferIf(Node &n) {
  if (Error e = inferSubgraphs(n))
    return e;
  Graph *thenG = subgraphAttr(n, "then_branch");
  Graph *elseG = subgraphAttr(n, "else_branch");
  if (!thenG || !elseG)
    return Error::success();
  for (unsigned i = 0; i < n.getNumOutputs(); ++i) {
    Value *v = n.getOutput(i);
    if (!v || i >= thenG->getOutputs().size() ||
        i >= elseG->getOutputs().size())
      continue;
    Type t = unionType(thenG->getOutputs()[i]->getType(),
                       elseG->getOutputs()[i]->getType());
    if (Error e = mergeInto(n, v, t))
      return e;
  }
  return Error::success();
}

/// A loop-carried value's type inside a body: its element type and rank,
/// not its dims, which may change from one iteration to the next.
static Type carriedType(const Type &t) {
  if (!t.isTensor())
    return Type();
  Type out = Type::tensor(t.elemType);
  if (t.hasRank())
    out.shape = unknownShape(t.rank());
  return out;
}

/// True when every dim of \p t is static or a named symbol (a batch size):
/// a shape a loop can provably keep.
static bool isFullyNamed(const Type &t) {
  if (!t.isTensor() || !t.hasRank())
    return false;
  for (const Dim &d : *t.shape)
    if (d.isUnknown())
      return false;
  return true;
}

/// The final type of a loop-carried value: the initial type when the body
/// provably keeps it (same static or named shape), else what both have in
/// common.
static Type carriedResult(const Type &init, const Type &bodyOut) {
  if (isFullyNamed(init) && bodyOut == init)
    return init;
  return carriedType(unionType(init, bodyOut));
}

/// True when a value declared \p decl may be given the static type \p t:
/// nothing declared, or the same element type and rank with no static dim
/// that differs.
static bool fitsDeclared(const Type &t, const Type &decl) {
  if (decl.kind == Type::Kind::None)
    return true;
  if (!decl.isTensor() || decl.elemType != t.elemType)
    return false;
  if (!decl.hasRank())
    return true;
  if (decl.rank() != t.rank())
    return false;
  for (int64_t i = 0; i < t.rank(); ++i)
    if ((*decl.shape)[i].isStatic() && (*decl.shape)[i] != (*t.shape)[i])
      return false;
  return true;
}

/// The types of every value of \p g and of its subgraphs, to restore.
static void collectTypes(Graph &g, std::vector<std::pair<Value *, Type>> &out) {
  for (Value *v : g.getValues())
    out.push_back({v, v->getType()});
  for (Node &n : g.getNodes())
    for (Attribute &a : n.getAttrs())
      for (auto &sg : a.graphs)
        collectTypes(*sg, out);
}

Error ShapeInferrer::inferLoop(Node &n) {
  Graph *body = subgraphAttr(n, "body");
  if (!body)
    return inferSubgraphs(n);
  ArrayRef<Value *> ins = body->getInputs();
  if (ins.size() >= 1)
    fillInput(ins[0], Type::tensor(DataType::Int64, Shape()));
  if (ins.size() >= 2)
    fillInput(ins[1], Type::tensor(DataType::Bool, Shape()));
  // Optimistic first: a carried value with a known initial shape is
  // assumed to keep it (the common case: an accumulator, an RNN state), so
  // the body's channel axes have sizes the pruner can couple. When the body
  // does not give it back unchanged, every type inferred in the body is
  // restored and the body is inferred again with rank-only carried types.
  std::vector<std::pair<Value *, Type>> saved;
  std::vector<unsigned> assumed;
  for (unsigned k = 2; k < ins.size() && k < n.getNumInputs(); ++k) {
    Value *init = n.getInput(k);
    if (!init || !isFullyNamed(init->getType()) ||
        !fitsDeclared(init->getType(), ins[k]->getType()))
      continue;
    if (saved.empty())
      collectTypes(*body, saved);
    ins[k]->setType(init->getType());
    assumed.push_back(k);
  }
  if (!assumed.empty()) {
    // Exporters declare the body's values with invented symbols (torch:
    // "Add/Add_output_0_dim_1") that inference may not refine; under the
    // assumption the static dims are provable, so the symbols give way.
    for (auto &[v, t] : saved) {
      if (v->isGraphInput() || v->isWeight() || !t.hasRank())
        continue;
      Type open = t;
      for (Dim &d : *open.shape)
        if (!d.isStatic())
          d = Dim::unknown();
      v->setType(std::move(open));
    }
    if (Error e = inferGraph(*body))
      return e;
    bool kept = true;
    for (unsigned k : assumed)
      kept &= k - 1 < body->getOutputs().size() &&
              body->getOutputs()[k - 1]->getType() == ins[k]->getType();
    if (kept)
      return inferLoopOutputs(n, *body);
    for (auto &[v, t] : saved)
      v->setType(t);
  }
  for (unsigned k = 2; k < ins.size() && k < n.getNumInputs(); ++k)
    if (Value *init = n.getInput(k))
      fillInput(ins[k], carriedType(init->getType()));
  if (Error e = inferGraph(*body))
    return e;
  return inferLoopOutputs(n, *body);
}

Error ShapeInferrer::inferLoopOutputs(Node &n, Graph &body) {
  // Body outputs: cond, then the carried values, then the scan outputs.
  ArrayRef<Value *> outs = body.getOutputs();
  unsigned numCarried = n.getNumInputs() > 2 ? n.getNumInputs() - 2 : 0;
  for (unsigned i = 0; i < n.getNumOutputs(); ++i) {
    Value *v = n.getOutput(i);
    if (!v || i + 1 >= outs.size())
      continue;
    const Type &bodyT = outs[i + 1]->getType();
    Type t;
    if (i < numCarried) {
      if (Value *init = n.getInput(i + 2))
        t = carriedResult(init->getType(), bodyT);
    } else if (bodyT.isTensor()) {
      // Scan outputs stack one body output per iteration.
      t = Type::tensor(bodyT.elemType);
      if (bodyT.hasRank()) {
        t.shape = Shape{Dim::unknown()};
        t.shape->append(bodyT.shape->begin(), bodyT.shape->end());
      }
    }
    if (Error e = mergeInto(n, v, t))
      return e;
  }
  return Error::success();
}

Error ShapeInferrer::inferScan(Node &n) {
  if (Error e = inferSubgraphs(n))
    return e;
  // Only the final states are inferred, and only when the body keeps their
  // type; scan outputs depend on axes and directions: left unknown.
  Graph *body = subgraphAttr(n, "body");
  if (!body || model.getOpsetVersion("") < 9)
    return Error::success();
  unsigned numScanInputs = n.getIntAttr("num_scan_inputs", 0);
  if (numScanInputs > n.getNumInputs())
    return Error::success();
  unsigned numStates = n.getNumInputs() - numScanInputs;
  for (unsigned i = 0; i < numStates && i < n.getNumOutputs(); ++i) {
    Value *init = n.getInput(i);
    if (!init || !n.getOutput(i) || i >= body->getOutputs().size())
      continue;
    const Type &bodyT = body->getOutputs()[i]->getType();
    if (init->getType().isStaticShape() && bodyT == init->getType())
      if (Error e = mergeInto(n, n.getOutput(i), bodyT))
        return e;
  }
  return Error::success();
}

} // namespace

Error inferShapes(Model &model, const ShapeInferenceOptions &opts,
                  ShapeInferenceStats *stats) {
  ShapeInferenceStats local;
  ShapeInferrer inferrer(model, opts, stats ? *stats : local);
  return inferrer.inferGraph(model.getGraph());
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

void fillTypes(Model &model) {
  // Types the file declares (graph inputs and outputs, value_info, of
  // every graph) are written back as declared: inference only fills in
  // the values the file left open.
  std::vector<std::pair<Value *, Type>> declared;
  model.forEachGraph([&](Graph &g) {
    for (Value *v : g.getValues())
      if (v->inValueInfo || v->isGraphInput() || v->isGraphOutput())
        declared.emplace_back(v, v->getType());
  });
  llvm::consumeError(inferShapes(model));
  // Inside subgraphs exporters name every dim of the outputs (torch:
  // "Add/Add_output_0_dim_1"); a size inference proved (a Loop body that
  // keeps its carried shapes) replaces such a name there.
  for (auto &[v, t] : declared)
    v->setType(
        refineDeclared(std::move(t), v->getType(),
                       v->getGraph()->getOwnerNode() && !v->isGraphInput()));
}

} // namespace onnxprune
