//===- ProtoImport.cpp - ModelProto -> IR ---------------------------------===//
///
/// \file
/// Builds the IR from a parsed ModelProto. Every malformed input (dangling
/// names, duplicates, cycles, bad tensor sizes, external data outside the
/// model's folder) becomes an llvm::Error naming the graph, node and op.
///
//===----------------------------------------------------------------------===//

#include "frontends/onnx/ProtoConvert.h"
#include "lib/Support/Error.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/Support/Path.h"

#include <google/protobuf/unknown_field_set.h>

using namespace llvm;

namespace onnxprune {

namespace {

std::string unknownFieldsOf(const google::protobuf::Message &m) {
  const auto &ufs = m.GetReflection()->GetUnknownFields(m);
  if (ufs.empty())
    return {};
  std::string out;
  ufs.SerializeToString(&out);
  return out;
}

/// "node 'name' (Op): msg", or "node producing 'out' (Op): msg" for the
/// unnamed nodes of the text format and of many exporters.
Error nodeError(const onnx::NodeProto &np, const Twine &msg) {
  std::string label = !np.name().empty() ? "'" + np.name() + "'"
                      : np.output_size() > 0
                          ? "producing '" + np.output(0) + "'"
                          : std::string("<unnamed>");
  return makeError("node " + label + " (" + np.op_type() + "): " + msg);
}

class Importer {
public:
  Importer(Model &model, const ImportContext &ctx) : model(model), ctx(ctx) {}

  Error importGraph(onnx::GraphProto &gp, Graph &g);
  Expected<std::unique_ptr<Tensor>> importTensor(onnx::TensorProto &tp,
                                                 const Twine &where);

private:
  Error importAttribute(onnx::AttributeProto &ap, Node &n, Attribute &a);
  Error liftConstant(Node &n);
  Error sortTopologically(Graph &g);
  Expected<ExternalLocation> importExternal(const onnx::TensorProto &tp,
                                            uint64_t expectedBytes,
                                            const Twine &where);

  Model &model;
  const ImportContext &ctx;
};

Type importTypeImpl(const onnx::TypeProto &tp) {
  Type t;
  t.denotation = tp.denotation();
  auto readShape = [&](bool has, const onnx::TensorShapeProto &sp) {
    if (!has)
      return;
    Shape s;
    for (const auto &d : sp.dim()) {
      Dim dim;
      if (d.has_dim_value())
        dim.value = d.dim_value() < 0 ? -1 : d.dim_value();
      else if (d.has_dim_param())
        dim.param = d.dim_param();
      dim.denotation = d.denotation();
      s.push_back(std::move(dim));
    }
    t.shape = std::move(s);
  };
  switch (tp.value_case()) {
  case onnx::TypeProto::kTensorType:
    t.kind = Type::Kind::Tensor;
    t.elemType = (DataType)tp.tensor_type().elem_type();
    readShape(tp.tensor_type().has_shape(), tp.tensor_type().shape());
    break;
  case onnx::TypeProto::kSparseTensorType:
    t.kind = Type::Kind::SparseTensor;
    t.elemType = (DataType)tp.sparse_tensor_type().elem_type();
    readShape(tp.sparse_tensor_type().has_shape(),
              tp.sparse_tensor_type().shape());
    break;
  case onnx::TypeProto::VALUE_NOT_SET:
    if (tp.denotation().empty() && tp.ByteSizeLong() == 0)
      break;
    [[fallthrough]];
  default:
    t.kind = Type::Kind::Other;
    tp.SerializeToString(&t.opaque);
    break;
  }
  return t;
}

/// Appends \p n little-endian values of the typed field to \p out.
template <typename Src, typename Dst>
void appendAs(const google::protobuf::RepeatedField<Src> &field,
              std::string &out) {
  size_t base = out.size();
  out.resize(base + field.size() * sizeof(Dst));
  for (int i = 0; i < field.size(); ++i) {
    Dst v = (Dst)field.Get(i);
    std::memcpy(&out[base + i * sizeof(Dst)], &v, sizeof(Dst));
  }
}

} // namespace

Type importType(const onnx::TypeProto &tp) { return importTypeImpl(tp); }

Expected<ExternalLocation> Importer::importExternal(const onnx::TensorProto &tp,
                                                    uint64_t expectedBytes,
                                                    const Twine &where) {
  ExternalLocation loc;
  bool hasLength = false;
  for (const auto &kv : tp.external_data()) {
    if (kv.key() == "location") {
      loc.location = kv.value();
    } else if (kv.key() == "offset" || kv.key() == "length") {
      uint64_t v;
      if (StringRef(kv.value()).getAsInteger(10, v))
        return makeError(where + ": external data " + kv.key() + " '" +
                         kv.value() + "' is not a number");
      (kv.key() == "offset" ? loc.offset : loc.length) = v;
      hasLength |= kv.key() == "length";
    } else {
      loc.extra.emplace_back(kv.key(), kv.value());
    }
  }
  if (loc.location.empty())
    return makeError(where + ": external data has no location");
  if (ctx.baseDir.empty())
    return makeError(where + ": external data '" + loc.location +
                     "' needs the model's folder; read the model from a file");
  // Resolve against the model's folder and refuse anything that escapes it
  // (absolute paths, "..", symlinks are the filesystem's business).
  if (sys::path::is_absolute(loc.location))
    return makeError(where + ": external data location '" + loc.location +
                     "' is absolute; only paths inside the model's folder "
                     "are allowed");
  SmallString<256> rel(loc.location);
  sys::path::remove_dots(rel, /*remove_dot_dot=*/true);
  if (rel.empty() || StringRef(rel).startswith("..") || rel == ".")
    return makeError(where + ": external data location '" + loc.location +
                     "' leaves the model's folder");
  SmallString<256> full(ctx.baseDir);
  sys::path::append(full, rel);
  auto fileOr = model.getWeights().openExternalFile(full);
  if (!fileOr)
    return addContext(fileOr.takeError(), where);
  loc.file = *fileOr;
  uint64_t size = loc.file->getSize();
  if (!hasLength)
    loc.length = loc.offset <= size ? size - loc.offset : 0;
  if (loc.offset > size || loc.length > size - loc.offset)
    return makeError(where + ": external data range [" + Twine(loc.offset) +
                     ", " + Twine(loc.offset + loc.length) +
                     ") is past the end of '" + loc.location + "' (" +
                     Twine(size) + " bytes)");
  if (loc.length != expectedBytes)
    return makeError(where + ": external data length " + Twine(loc.length) +
                     " does not match the tensor's " + Twine(expectedBytes) +
                     " bytes");
  return loc;
}

Expected<std::unique_ptr<Tensor>> Importer::importTensor(onnx::TensorProto &tp,
                                                         const Twine &whereT) {
  std::string where = whereT.str();
  SmallVector<int64_t, 4> dims;
  uint64_t n = 1;
  for (int64_t d : tp.dims()) {
    if (d < 0)
      return makeError(where + ": negative dimension " + Twine(d));
    dims.push_back(d);
    if (d && n > (UINT64_MAX / 16) / (uint64_t)d)
      return makeError(where + ": tensor is too large");
    n *= d;
  }
  DataType dt = (DataType)tp.data_type();
  if (tp.data_type() == 0)
    return makeError(where + ": tensor has no data type");
  auto t = std::make_unique<Tensor>(tp.name(), dt, dims);
  t->docString = tp.doc_string();
  t->unknownFields = unknownFieldsOf(tp);
  if (tp.has_segment())
    return makeError(where + ": segmented tensors are not supported");
  uint64_t expected = storageBytes(dt, n);

  if (tp.data_location() == onnx::TensorProto::EXTERNAL) {
    if (dt == DataType::String)
      return makeError(where + ": string tensors cannot be external");
    auto locOr = importExternal(tp, expected, where);
    if (!locOr)
      return locOr.takeError();
    t->setExternal(std::move(*locOr));
    return std::move(t);
  }

  if (dt == DataType::String) {
    if ((uint64_t)tp.string_data_size() != n)
      return makeError(where + ": has " + Twine(tp.string_data_size()) +
                       " strings for " + Twine(n) + " elements");
    t->encoding = Tensor::Encoding::Typed;
    t->setInlineStrings(std::vector<std::string>(tp.string_data().begin(),
                                                 tp.string_data().end()));
    return std::move(t);
  }
  if (elementSize(dt) == 0)
    return makeError(where + ": unsupported data type " + Twine((int)dt));

  if (tp.has_raw_data()) {
    if (tp.raw_data().size() != expected)
      return makeError(where + ": raw data has " + Twine(tp.raw_data().size()) +
                       " bytes, expected " + Twine(expected) + " for " +
                       dataTypeName(dt) + " " + Twine(n) + " elements");
    std::string bytes;
    bytes.swap(*tp.mutable_raw_data()); // move, no copy
    t->setInlineBytes(std::move(bytes));
    return std::move(t);
  }

  // Typed fields: decode to raw little-endian bytes once.
  std::string raw;
  uint64_t count = 0;
  switch (dt) {
  case DataType::Float:
    appendAs<float, float>(tp.float_data(), raw);
    count = tp.float_data_size();
    break;
  case DataType::Complex64:
    appendAs<float, float>(tp.float_data(), raw);
    count = tp.float_data_size() / 2;
    break;
  case DataType::Double:
    appendAs<double, double>(tp.double_data(), raw);
    count = tp.double_data_size();
    break;
  case DataType::Complex128:
    appendAs<double, double>(tp.double_data(), raw);
    count = tp.double_data_size() / 2;
    break;
  case DataType::Int64:
    appendAs<int64_t, int64_t>(tp.int64_data(), raw);
    count = tp.int64_data_size();
    break;
  case DataType::UInt32:
    appendAs<uint64_t, uint32_t>(tp.uint64_data(), raw);
    count = tp.uint64_data_size();
    break;
  case DataType::UInt64:
    appendAs<uint64_t, uint64_t>(tp.uint64_data(), raw);
    count = tp.uint64_data_size();
    break;
  case DataType::Int32:
    appendAs<int32_t, int32_t>(tp.int32_data(), raw);
    count = tp.int32_data_size();
    break;
  case DataType::Int16:
    appendAs<int32_t, int16_t>(tp.int32_data(), raw);
    count = tp.int32_data_size();
    break;
  case DataType::UInt16:
  case DataType::Float16:
  case DataType::BFloat16:
    appendAs<int32_t, uint16_t>(tp.int32_data(), raw);
    count = tp.int32_data_size();
    break;
  case DataType::Int8:
    appendAs<int32_t, int8_t>(tp.int32_data(), raw);
    count = tp.int32_data_size();
    break;
  case DataType::UInt8:
  case DataType::Bool:
  case DataType::Float8E4M3FN:
  case DataType::Float8E4M3FNUZ:
  case DataType::Float8E5M2:
  case DataType::Float8E5M2FNUZ:
    appendAs<int32_t, uint8_t>(tp.int32_data(), raw);
    count = tp.int32_data_size();
    break;
  default:
    return makeError(where + ": typed data of type " + dataTypeName(dt) +
                     " is not supported; store it as raw_data");
  }
  if (count != n)
    return makeError(where + ": has " + Twine(count) + " values for " +
                     Twine(n) + " elements");
  t->encoding = Tensor::Encoding::Typed;
  t->setInlineBytes(std::move(raw));
  return std::move(t);
}

Error Importer::importAttribute(onnx::AttributeProto &ap, Node &n,
                                Attribute &a) {
  a.name = ap.name();
  a.docString = ap.doc_string();
  a.refAttrName = ap.ref_attr_name();
  // Returns a string: a Twine would point at temporaries freed on return.
  auto where = [&](const Twine &what) -> std::string {
    return ("node " + n.describe() + " attribute '" + ap.name() + "'" + what)
        .str();
  };
  auto sub = [&](onnx::GraphProto &gp) -> Expected<std::unique_ptr<Graph>> {
    auto g = std::make_unique<Graph>(model, &n);
    if (Error e = importGraph(gp, *g))
      return std::move(e);
    return std::move(g);
  };
  a.kind = (AttrKind)ap.type();
  switch (ap.type()) {
  case onnx::AttributeProto::FLOAT:
    a.f = ap.f();
    break;
  case onnx::AttributeProto::INT:
    a.i = ap.i();
    break;
  case onnx::AttributeProto::STRING:
    a.s = ap.s();
    break;
  case onnx::AttributeProto::TENSOR: {
    auto t = importTensor(*ap.mutable_t(), where(""));
    if (!t)
      return t.takeError();
    a.tensors.push_back(std::shared_ptr<Tensor>(std::move(*t)));
    break;
  }
  case onnx::AttributeProto::GRAPH: {
    auto g = sub(*ap.mutable_g());
    if (!g)
      return g.takeError();
    a.graphs.push_back(std::move(*g));
    break;
  }
  case onnx::AttributeProto::FLOATS:
    a.floats.assign(ap.floats().begin(), ap.floats().end());
    break;
  case onnx::AttributeProto::INTS:
    a.ints.assign(ap.ints().begin(), ap.ints().end());
    break;
  case onnx::AttributeProto::STRINGS:
    a.strings.assign(ap.strings().begin(), ap.strings().end());
    break;
  case onnx::AttributeProto::TENSORS:
    for (auto &tp : *ap.mutable_tensors()) {
      auto t = importTensor(tp, where(""));
      if (!t)
        return t.takeError();
      a.tensors.push_back(std::shared_ptr<Tensor>(std::move(*t)));
    }
    break;
  case onnx::AttributeProto::GRAPHS:
    for (auto &gp : *ap.mutable_graphs()) {
      auto g = sub(gp);
      if (!g)
        return g.takeError();
      a.graphs.push_back(std::move(*g));
    }
    break;
  case onnx::AttributeProto::SPARSE_TENSOR:
    a.opaque.push_back(ap.sparse_tensor().SerializeAsString());
    break;
  case onnx::AttributeProto::SPARSE_TENSORS:
    for (const auto &st : ap.sparse_tensors())
      a.opaque.push_back(st.SerializeAsString());
    break;
  case onnx::AttributeProto::TYPE_PROTO:
    a.opaque.push_back(ap.tp().SerializeAsString());
    break;
  case onnx::AttributeProto::TYPE_PROTOS:
    for (const auto &tp : ap.type_protos())
      a.opaque.push_back(tp.SerializeAsString());
    break;
  case onnx::AttributeProto::UNDEFINED:
    if (!ap.ref_attr_name().empty())
      break;
    return makeError(where(" has no type"));
  default:
    return makeError(where(" has unknown type " + Twine((int)ap.type())));
  }
  return Error::success();
}

Error Importer::liftConstant(Node &n) {
  // Only the forms that are weights: a tensor or float/int scalars and lists.
  static const char *const liftable[] = {"value", "value_float", "value_floats",
                                         "value_int", "value_ints"};
  if (n.getNumOutputs() != 1 || !n.getOutput(0) || n.getAttrs().size() != 1)
    return Error::success();
  Attribute &a = n.getAttrs()[0];
  if (std::find(std::begin(liftable), std::end(liftable), a.name) ==
      std::end(liftable))
    return Error::success();
  if (!a.refAttrName.empty())
    return Error::success();
  std::unique_ptr<Tensor> t;
  if (a.name == "value") {
    if (a.kind != AttrKind::Tensor || a.tensors.size() != 1)
      return makeError("node " + n.describe() + ": 'value' is not a tensor");
    // The attribute owned it alone; move it into the store.
    Tensor &src = *a.tensors[0];
    t = std::make_unique<Tensor>(std::move(src));
  } else {
    auto scalarOf = [&](DataType dt, ArrayRef<int64_t> dims, const void *p,
                        size_t bytes) {
      t = std::make_unique<Tensor>("", dt, dims);
      t->setInlineBytes(std::string((const char *)p, bytes));
    };
    if (a.name == "value_float" && a.kind == AttrKind::Float)
      scalarOf(DataType::Float, {}, &a.f, 4);
    else if (a.name == "value_int" && a.kind == AttrKind::Int)
      scalarOf(DataType::Int64, {}, &a.i, 8);
    else if (a.name == "value_floats" && a.kind == AttrKind::Floats)
      scalarOf(DataType::Float, {(int64_t)a.floats.size()}, a.floats.data(),
               a.floats.size() * 4);
    else if (a.name == "value_ints" && a.kind == AttrKind::Ints)
      scalarOf(DataType::Int64, {(int64_t)a.ints.size()}, a.ints.data(),
               a.ints.size() * 8);
    else
      return makeError("node " + n.describe() + ": attribute '" + a.name +
                       "' has the wrong type");
  }
  t->liftedFromAttr = a.name;
  t->attrDocString = a.docString;
  Value *out = n.getOutput(0);
  Shape s;
  for (int64_t d : t->getDims())
    s.push_back(Dim::of(d));
  if (out->getType().kind == Type::Kind::None)
    out->setType(Type::tensor(t->getDataType(), s));
  Tensor *raw = model.getWeights().add(std::move(t));
  n.getAttrs().clear();
  n.getGraph()->setLiftedWeight(out, raw);
  return Error::success();
}

Error Importer::sortTopologically(Graph &g) {
  // Exported models are almost always in order: check first, sort only if
  // needed (Kahn's algorithm, keeping the file order among ready nodes).
  DenseSet<const Node *> seen;
  bool sorted = true;
  auto ready = [&](const Node &n, auto &&self) -> bool {
    // Inputs from this graph must come from earlier nodes; nodes inside
    // subgraphs may capture values of this graph too.
    for (Value *v : n.getInputs())
      if (v && v->getGraph() == &g && v->getProducer() &&
          !seen.count(v->getProducer()))
        return false;
    bool ok = true;
    n.forEachSubgraph([&](const Graph &sg) {
      for (const Node &inner : sg.getNodes())
        for (Value *v : inner.getInputs())
          if (v && v->getGraph() == &g && v->getProducer() &&
              !seen.count(v->getProducer()))
            ok = false;
      if (ok)
        for (const Node &inner : sg.getNodes())
          if (inner.hasSubgraphs() && !self(inner, self))
            ok = false;
    });
    return ok;
  };
  for (Node &n : g.getNodes()) {
    if (!ready(n, ready)) {
      sorted = false;
      break;
    }
    seen.insert(&n);
  }
  if (sorted)
    return Error::success();

  std::vector<Node *> pending;
  for (Node &n : g.getNodes())
    pending.push_back(&n);
  seen.clear();
  std::vector<Node *> order;
  while (!pending.empty()) {
    bool progress = false;
    std::vector<Node *> rest;
    for (Node *n : pending) {
      if (ready(*n, ready)) {
        seen.insert(n);
        order.push_back(n);
        progress = true;
      } else {
        rest.push_back(n);
      }
    }
    if (!progress)
      return makeError("graph '" + g.name + "' has a cycle through node " +
                       rest.front()->describe());
    pending.swap(rest);
  }
  for (Node *n : order)
    g.moveNode(n, nullptr);
  return Error::success();
}

Error Importer::importGraph(onnx::GraphProto &gp, Graph &g) {
  g.name = gp.name();
  g.docString = gp.doc_string();
  g.unknownFields = unknownFieldsOf(gp);
  std::string gname = gp.name().empty() ? std::string("<unnamed>") : gp.name();
  auto defined = [&](StringRef name) -> Value * {
    // Names are unique across the model: nested graphs may not shadow.
    return g.lookupInScope(name);
  };

  for (const auto &vi : gp.input()) {
    if (vi.name().empty())
      return makeError("graph '" + gname + "': an input has no name");
    if (defined(vi.name()))
      return makeError("graph '" + gname + "': input '" + vi.name() +
                       "' is defined twice");
    Value *v = g.createValue(vi.name());
    v->setType(importType(vi.type()));
    v->docString = vi.doc_string();
    g.addInput(v);
  }
  for (auto &tp : *gp.mutable_initializer()) {
    if (tp.name().empty())
      return makeError("graph '" + gname + "': an initializer has no name");
    Value *v = g.lookup(tp.name());
    if (v && (v->isWeight() || !v->isGraphInput()))
      return makeError("graph '" + gname + "': initializer '" + tp.name() +
                       "' is defined twice");
    if (!v && defined(tp.name()))
      return makeError("graph '" + gname + "': initializer '" + tp.name() +
                       "' shadows a value of an enclosing graph");
    auto t = importTensor(tp, "initializer '" + tp.name() + "'");
    if (!t)
      return t.takeError();
    if (!v) {
      v = g.createValue(tp.name());
      Shape s;
      for (int64_t d : (*t)->getDims())
        s.push_back(Dim::of(d));
      v->setType(Type::tensor((*t)->getDataType(), s));
    }
    g.setInitializer(v, model.getWeights().add(std::move(*t)));
  }
  g.sparseInitializers.clear();
  for (const auto &sp : gp.sparse_initializer())
    g.sparseInitializers.push_back(sp.SerializeAsString());
  for (const auto &qa : gp.quantization_annotation())
    g.quantizationAnnotations.push_back(qa.SerializeAsString());

  // Pass 1: nodes and their outputs, so inputs may refer forward (an
  // unsorted file) and subgraphs can see every value of this graph.
  std::vector<Node *> nodes;
  nodes.reserve(gp.node_size());
  for (auto &np : gp.node()) {
    if (np.op_type().empty())
      return makeError("graph '" + gname + "': node '" + np.name() +
                       "' has no op_type");
    Node *n = g.createNode(np.op_type(), np.domain(), np.name());
    n->docString = np.doc_string();
    n->unknownFields = unknownFieldsOf(np);
    for (const std::string &out : np.output()) {
      if (out.empty()) {
        g.addNodeOutput(n, nullptr);
        continue;
      }
      if (defined(out))
        return nodeError(np, "output '" + out + "' is defined twice");
      g.addNodeOutput(n, g.createValue(out));
    }
    nodes.push_back(n);
  }
  // Pass 2: operands and attributes (subgraphs are imported here).
  for (int i = 0; i < gp.node_size(); ++i) {
    onnx::NodeProto &np = *gp.mutable_node(i);
    Node *n = nodes[i];
    for (const std::string &in : np.input()) {
      if (in.empty()) {
        g.addNodeInput(n, nullptr);
        continue;
      }
      Value *v = defined(in);
      if (!v)
        return nodeError(np, "input '" + in +
                                 "' is not defined by any node, graph input "
                                 "or initializer");
      g.addNodeInput(n, v);
    }
    for (auto &ap : *np.mutable_attribute()) {
      Attribute a;
      if (Error e = importAttribute(ap, *n, a))
        return e;
      if (n->hasAttr(a.name))
        return nodeError(np, "attribute '" + a.name + "' is given twice");
      n->getAttrs().push_back(std::move(a));
    }
  }
  for (const auto &vi : gp.value_info()) {
    Value *v = g.lookup(vi.name());
    if (!v || v->inValueInfo)
      continue; // value_info for a name the graph lacks: meaningless, drop
    v->setType(importType(vi.type()));
    v->docString = vi.doc_string();
    v->inValueInfo = true;
    g.valueInfoOrder.push_back(v);
  }
  for (const auto &vi : gp.output()) {
    Value *v = defined(vi.name());
    if (!v)
      return makeError("graph '" + gname + "': output '" + vi.name() +
                       "' is not produced by any node, input or initializer");
    Type t = importType(vi.type());
    if (v->getType().kind == Type::Kind::None || t.kind != Type::Kind::None)
      v->setType(t);
    if (!vi.doc_string().empty())
      v->docString = vi.doc_string();
    g.addOutput(v);
  }
  if (ctx.liftConstants)
    for (Node *n : nodes)
      if (n->getOpType() == "Constant" &&
          (n->getDomain().empty() || n->getDomain() == "ai.onnx"))
        if (Error e = liftConstant(*n))
          return e;
  return sortTopologically(g);
}

Error importModel(onnx::ModelProto &proto, Model &model,
                  const ImportContext &ctx) {
  model.irVersion = proto.ir_version();
  for (const auto &os : proto.opset_import())
    model.opsetImports.push_back({os.domain(), os.version()});
  model.producerName = proto.producer_name();
  model.producerVersion = proto.producer_version();
  model.domain = proto.domain();
  model.hasModelVersion = proto.has_model_version();
  model.modelVersion = proto.model_version();
  model.docString = proto.doc_string();
  for (const auto &kv : proto.metadata_props())
    model.metadataProps.emplace_back(kv.key(), kv.value());
  for (const auto &fn : proto.functions())
    model.functions.push_back({fn.domain(), fn.name(), fn.SerializeAsString()});
  for (const auto &ti : proto.training_info())
    model.trainingInfo.push_back(ti.SerializeAsString());
  model.unknownFields = unknownFieldsOf(proto);
  if (!proto.has_graph())
    return makeError(ctx.displayName + ": the model has no graph");
  Importer imp(model, ctx);
  return addContext(imp.importGraph(*proto.mutable_graph(), model.getGraph()),
                    ctx.displayName);
}

Expected<std::unique_ptr<Tensor>> importTensorProto(onnx::TensorProto &tp,
                                                    const Twine &where) {
  // A scratch model: importTensor needs one only for external data, which
  // the empty base folder refuses.
  Model scratch;
  ImportContext ctx;
  Importer imp(scratch, ctx);
  return imp.importTensor(tp, where);
}

} // namespace onnxprune
