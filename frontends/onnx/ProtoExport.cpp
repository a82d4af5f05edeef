//===- ProtoExport.cpp - IR -> ModelProto ---------------------------------===//
///
/// \file
/// Rebuilds a ModelProto from the IR: unchanged weights keep their encoding
/// (raw or typed field), lifted weights go back into their Constant nodes,
/// and every field the IR keeps opaque (functions, training info, unknown
/// fields of newer ONNX versions) is put back as it was read.
/// Gated and tapped exports (ExportOptions::gates, taps) also happen here,
/// as the proto is built: the IR is never changed for a runtime's copy.
///
//===----------------------------------------------------------------------===//

#include "frontends/onnx/ModelWriter.h"
#include "frontends/onnx/ProtoConvert.h"
#include "lib/Support/Error.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringSet.h"

#include <cstring>

using namespace llvm;

namespace onnxprune {

void exportType(const Type &t, onnx::TypeProto &tp) {
  if (t.kind == Type::Kind::Other) {
    tp.ParseFromString(t.opaque);
    return;
  }
  if (t.kind == Type::Kind::None)
    return;
  if (!t.denotation.empty())
    tp.set_denotation(t.denotation);
  auto fill = [&](auto *tt) {
    tt->set_elem_type((int32_t)t.elemType);
    if (!t.shape)
      return;
    auto *sp = tt->mutable_shape();
    for (const Dim &d : *t.shape) {
      auto *dp = sp->add_dim();
      if (d.isStatic())
        dp->set_dim_value(d.value);
      else if (d.isSymbolic())
        dp->set_dim_param(d.param);
      if (!d.denotation.empty())
        dp->set_denotation(d.denotation);
    }
  };
  if (t.kind == Type::Kind::Tensor)
    fill(tp.mutable_tensor_type());
  else
    fill(tp.mutable_sparse_tensor_type());
}

namespace {

template <typename T> T loadLE(const char *p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

/// Writes \p bytes into the typed field the model originally used.
template <typename Src, typename Dst>
void storeTyped(ArrayRef<char> bytes, google::protobuf::RepeatedField<Dst> *f) {
  size_t n = bytes.size() / sizeof(Src);
  f->Reserve(n);
  for (size_t i = 0; i < n; ++i)
    f->Add((Dst)loadLE<Src>(bytes.data() + i * sizeof(Src)));
}

Error fillTyped(const Tensor &t, ArrayRef<char> b, onnx::TensorProto &tp) {
  switch (t.getDataType()) {
  case DataType::Float:
  case DataType::Complex64:
    storeTyped<float>(b, tp.mutable_float_data());
    break;
  case DataType::Double:
  case DataType::Complex128:
    storeTyped<double>(b, tp.mutable_double_data());
    break;
  case DataType::Int64:
    storeTyped<int64_t>(b, tp.mutable_int64_data());
    break;
  case DataType::UInt32:
    storeTyped<uint32_t>(b, tp.mutable_uint64_data());
    break;
  case DataType::UInt64:
    storeTyped<uint64_t>(b, tp.mutable_uint64_data());
    break;
  case DataType::Int32:
    storeTyped<int32_t>(b, tp.mutable_int32_data());
    break;
  case DataType::Int16:
    storeTyped<int16_t>(b, tp.mutable_int32_data());
    break;
  case DataType::UInt16:
  case DataType::Float16:
  case DataType::BFloat16:
    storeTyped<uint16_t>(b, tp.mutable_int32_data());
    break;
  case DataType::Int8:
    storeTyped<int8_t>(b, tp.mutable_int32_data());
    break;
  default:
    storeTyped<uint8_t>(b, tp.mutable_int32_data());
    break;
  }
  return Error::success();
}

/// Makes names unique against every value of a model and each other.
class UniqueNames {
public:
  explicit UniqueNames(const Model &model) {
    // Every graph's names: a subgraph's name equal to an outer one breaks
    // SSA for onnx's checker.
    model.forEachGraph([&](const Graph &g) {
      for (const Value *v : g.getValues())
        used.insert(v->getName());
    });
  }
  std::string operator()(const std::string &base) {
    std::string name = base;
    for (unsigned i = 1; !used.insert(name).second; ++i)
      name = base + "_" + std::to_string(i);
    return name;
  }

private:
  StringSet<> used;
};

/// The names a tapped export gives the producers' renamed outputs, for each
/// of \p taps in order ("V__untapped"). They end in "__untapped" or
/// "__untapped_N", so never meet gateNames()'s.
std::vector<std::string> tapNames(const Model &model,
                                  ArrayRef<std::string> taps) {
  UniqueNames unique(model);
  std::vector<std::string> out;
  for (const std::string &v : taps)
    out.push_back(unique(v + "__untapped"));
  return out;
}

class Exporter {
public:
  Exporter(const Model &model, const ExportOptions &opts)
      : model(model), opts(opts) {}

  /// Checks and names opts.gates; before exportGraph.
  Error prepareGates();
  /// Checks and names opts.taps; before exportGraph.
  Error prepareTaps();
  Expected<std::pair<const Value *, DataType>>
  rewiredOutput(StringRef verb, const std::string &name) const;
  Error exportGraph(const Graph &g, onnx::GraphProto &gp);
  Error exportTensor(const Tensor &t, StringRef name, onnx::TensorProto &tp);

private:
  /// Renames the gated outputs of \p np (just written for \p n) and adds
  /// their Mul nodes after it, so the node list stays topological.
  void emitGates(const Node &n, onnx::NodeProto &np, onnx::GraphProto &gp);
  /// Renames the tapped outputs of \p np (just written for \p n) and adds
  /// their Tap nodes after it.
  void emitTaps(const Node &n, onnx::NodeProto &np, onnx::GraphProto &gp);
  Error exportNode(const Node &n, onnx::NodeProto &np);
  /// Fills `writtenAs` for the untied copies of \p g (see UntieWeights.h).
  void mergeEqualCopies(const Graph &g);
  /// The name \p v is written under: its own, or that of an equal copy.
  const std::string &nameOf(const Value *v) const {
    auto it = writtenAs.find(v);
    return it == writtenAs.end() ? v->getName() : it->second->getName();
  }
  Error exportAttribute(const Attribute &a, onnx::AttributeProto &ap);
  Error exportLifted(const Tensor &t, onnx::AttributeProto &ap);

  const Model &model;
  const ExportOptions &opts;
  /// Untied copies written as an earlier copy with equal contents.
  DenseMap<const Value *, const Value *> writtenAs;
  /// Gated main-graph values: index into opts.gates and gates.
  DenseMap<const Value *, unsigned> gateIndex;
  std::vector<GateNames> gates;
  /// Tapped main-graph values: index into opts.taps and taps.
  DenseMap<const Value *, unsigned> tapIndex;
  std::vector<std::string> taps;
};

/// Equal contents, for copies of one untied weight: copies still as read
/// are equal by construction; changed ones are compared byte for byte
/// (lazy slices of external data are left distinct rather than read).
bool sameContents(const Tensor &a, const Tensor &b) {
  if (a.getDataType() != b.getDataType() || a.getDims() != b.getDims() ||
      a.hasLazySlice() || b.hasLazySlice())
    return false;
  if (!a.isModified() && !b.isModified())
    return true;
  auto ba = a.getBytes(), bb = b.getBytes();
  if (!ba || !bb) {
    consumeError(ba.takeError());
    consumeError(bb.takeError());
    return false;
  }
  return *ba == *bb;
}

void Exporter::mergeEqualCopies(const Graph &g) {
  DenseMap<unsigned, SmallVector<const Value *, 4>> written;
  for (const Value *v : g.getInitializers()) {
    if (!v->tieGroup)
      continue;
    auto &reps = written[v->tieGroup];
    auto same = find_if(reps, [&](const Value *r) {
      return sameContents(*r->getWeight(), *v->getWeight());
    });
    if (same != reps.end())
      writtenAs[v] = *same;
    else
      reps.push_back(v);
  }
}

Error Exporter::exportTensor(const Tensor &t, StringRef name,
                             onnx::TensorProto &tp) {
  tp.set_name(name.str());
  for (int64_t d : t.getDims())
    tp.add_dims(d);
  tp.set_data_type((int32_t)t.getDataType());
  if (!t.docString.empty())
    tp.set_doc_string(t.docString);
  if (t.getDataType() == DataType::String) {
    for (const std::string &s : t.getStrings())
      tp.add_string_data(s);
  } else {
    TensorPlacement where =
        opts.placement ? opts.placement(t) : TensorPlacement::Inline;
    if (where == TensorPlacement::External) {
      if (Error e = opts.external(t, tp))
        return e;
    } else if (where == TensorPlacement::Stub) {
      // Dims and type with a one-byte raw_data: onnx 1.12's checker wants a
      // non-empty value field but does not check its size, and nothing
      // reads it.
      tp.set_raw_data(std::string(1, '\0'));
    } else {
      auto bytes = t.getBytes();
      if (!bytes)
        return bytes.takeError();
      if (t.encoding == Tensor::Encoding::Typed) {
        if (Error e = fillTyped(t, *bytes, tp))
          return e;
      } else {
        tp.set_raw_data(bytes->data(), bytes->size());
      }
    }
  }
  if (!t.unknownFields.empty())
    tp.MergeFromString(t.unknownFields);
  return Error::success();
}

/// The node output \p name that a gated or tapped export (\p verb: "gate",
/// "tap") rewires, with its element type; an error for anything else.
Expected<std::pair<const Value *, DataType>>
Exporter::rewiredOutput(StringRef verb, const std::string &name) const {
  auto fail = [&](const Twine &why) {
    return makeError("cannot " + verb + " '" + name + "': " + why);
  };
  const Value *v = model.getGraph().lookup(name);
  if (!v)
    return fail("the graph has no such value");
  if (v->isGraphInput())
    return fail("it is a graph input, not a node output");
  if (v->isWeight())
    return fail("it is a weight, not a node output");
  assert(v->getProducer() && "a value that is no input or weight has a "
                             "producer");
  DataType dt =
      v->getType().isTensor() ? v->getType().elemType : DataType::Undefined;
  if (dt == DataType::Undefined)
    return fail("its element type is unknown (infer shapes first)");
  return std::make_pair(v, dt);
}

Error Exporter::prepareGates() {
  if (opts.gates.empty())
    return Error::success();
  gates = gateNames(model, opts.gates);
  for (unsigned i = 0; i < opts.gates.size(); ++i) {
    auto out = rewiredOutput("gate", opts.gates[i]);
    if (!out)
      return out.takeError();
    auto [v, dt] = *out;
    auto fail = [&](const Twine &why) {
      return makeError("cannot gate '" + opts.gates[i] + "': " + why);
    };
    // The gate input gets V's element type: Mul wants both alike.
    if (!isFloatingPoint(dt))
      return fail("its element type is " + dataTypeName(dt) +
                  ", not floating-point");
    if (!gateIndex.try_emplace(v, i).second)
      return fail("it is gated twice");
  }
  return Error::success();
}

Error Exporter::prepareTaps() {
  if (opts.taps.empty())
    return Error::success();
  taps = tapNames(model, opts.taps);
  for (unsigned i = 0; i < opts.taps.size(); ++i) {
    auto out = rewiredOutput("tap", opts.taps[i]);
    if (!out)
      return out.takeError();
    auto [v, dt] = *out;
    auto fail = [&](const Twine &why) {
      return makeError("cannot tap '" + opts.taps[i] + "': " + why);
    };
    if (gateIndex.count(v))
      return fail("it is gated");
    if (dt != DataType::Float)
      return fail("its element type is " + dataTypeName(dt) + ", not float");
    if (!tapIndex.try_emplace(v, i).second)
      return fail("it is tapped twice");
  }
  return Error::success();
}

void Exporter::emitTaps(const Node &n, onnx::NodeProto &np,
                        onnx::GraphProto &gp) {
  for (unsigned i = 0, e = n.getNumOutputs(); i < e; ++i) {
    const Value *v = n.getOutput(i);
    auto it = v ? tapIndex.find(v) : tapIndex.end();
    if (it == tapIndex.end())
      continue;
    const std::string &untapped = taps[it->second];
    np.set_output(i, untapped);
    onnx::NodeProto &tap = *gp.add_node();
    tap.set_name(untapped);
    tap.set_op_type(kTapOp);
    tap.set_domain(kTapDomain);
    tap.add_input(untapped);
    tap.add_output(v->getName());
    onnx::AttributeProto &index = *tap.add_attribute();
    index.set_name("index");
    index.set_type(onnx::AttributeProto::INT);
    index.set_i(it->second);
  }
}

void Exporter::emitGates(const Node &n, onnx::NodeProto &np,
                         onnx::GraphProto &gp) {
  for (unsigned i = 0, e = n.getNumOutputs(); i < e; ++i) {
    const Value *v = n.getOutput(i);
    auto it = v ? gateIndex.find(v) : gateIndex.end();
    if (it == gateIndex.end())
      continue;
    const GateNames &names = gates[it->second];
    np.set_output(i, names.ungated);
    onnx::NodeProto &mul = *gp.add_node();
    mul.set_name(names.input);
    mul.set_op_type("Mul");
    mul.add_input(names.ungated);
    mul.add_input(names.input);
    mul.add_output(v->getName());
  }
}

Error Exporter::exportLifted(const Tensor &t, onnx::AttributeProto &ap) {
  StringRef attr = t.liftedFromAttr;
  DataType dt = t.getDataType();
  size_t rank = t.getDims().size();
  if (!t.attrDocString.empty())
    ap.set_doc_string(t.attrDocString);
  // The scalar/list forms only fit if a pass kept type and rank.
  bool isF = dt == DataType::Float, isI = dt == DataType::Int64;
  if ((attr == "value_float" && isF && rank == 0) ||
      (attr == "value_floats" && isF && rank == 1) ||
      (attr == "value_int" && isI && rank == 0) ||
      (attr == "value_ints" && isI && rank == 1)) {
    auto bytes = t.getBytes();
    if (!bytes)
      return bytes.takeError();
    ap.set_name(attr.str());
    const char *p = bytes->data();
    uint64_t n = t.getNumElements();
    if (attr == "value_float") {
      ap.set_type(onnx::AttributeProto::FLOAT);
      ap.set_f(loadLE<float>(p));
    } else if (attr == "value_int") {
      ap.set_type(onnx::AttributeProto::INT);
      ap.set_i(loadLE<int64_t>(p));
    } else if (attr == "value_floats") {
      ap.set_type(onnx::AttributeProto::FLOATS);
      for (uint64_t i = 0; i < n; ++i)
        ap.add_floats(loadLE<float>(p + 4 * i));
    } else {
      ap.set_type(onnx::AttributeProto::INTS);
      for (uint64_t i = 0; i < n; ++i)
        ap.add_ints(loadLE<int64_t>(p + 8 * i));
    }
    return Error::success();
  }
  ap.set_name("value");
  ap.set_type(onnx::AttributeProto::TENSOR);
  return exportTensor(t, t.getName(), *ap.mutable_t());
}

Error Exporter::exportAttribute(const Attribute &a, onnx::AttributeProto &ap) {
  ap.set_name(a.name);
  if (!a.docString.empty())
    ap.set_doc_string(a.docString);
  if (!a.refAttrName.empty())
    ap.set_ref_attr_name(a.refAttrName);
  ap.set_type((onnx::AttributeProto::AttributeType)a.kind);
  switch (a.kind) {
  case AttrKind::Float:
    ap.set_f(a.f);
    break;
  case AttrKind::Int:
    ap.set_i(a.i);
    break;
  case AttrKind::String:
    ap.set_s(a.s);
    break;
  case AttrKind::Tensor:
    if (!a.tensors.empty())
      return exportTensor(*a.tensors[0], a.tensors[0]->getName(),
                          *ap.mutable_t());
    break;
  case AttrKind::Graph:
    if (!a.graphs.empty())
      return exportGraph(*a.graphs[0], *ap.mutable_g());
    break;
  case AttrKind::Floats:
    for (float f : a.floats)
      ap.add_floats(f);
    break;
  case AttrKind::Ints:
    for (int64_t i : a.ints)
      ap.add_ints(i);
    break;
  case AttrKind::Strings:
    for (const std::string &s : a.strings)
      ap.add_strings(s);
    break;
  case AttrKind::Tensors:
    for (const auto &t : a.tensors)
      if (Error e = exportTensor(*t, t->getName(), *ap.add_tensors()))
        return e;
    break;
  case AttrKind::Graphs:
    for (const auto &g : a.graphs)
      if (Error e = exportGraph(*g, *ap.add_graphs()))
        return e;
    break;
  case AttrKind::SparseTensor:
    if (!a.opaque.empty())
      ap.mutable_sparse_tensor()->ParseFromString(a.opaque[0]);
    break;
  case AttrKind::SparseTensors:
    for (const std::string &s : a.opaque)
      ap.add_sparse_tensors()->ParseFromString(s);
    break;
  case AttrKind::TypeProto:
    if (!a.opaque.empty())
      ap.mutable_tp()->ParseFromString(a.opaque[0]);
    break;
  case AttrKind::TypeProtos:
    for (const std::string &s : a.opaque)
      ap.add_type_protos()->ParseFromString(s);
    break;
  case AttrKind::Undefined:
    break;
  }
  return Error::success();
}

Error Exporter::exportNode(const Node &n, onnx::NodeProto &np) {
  for (Value *v : n.getInputs())
    np.add_input(v ? nameOf(v) : std::string());
  for (Value *v : n.getOutputs())
    np.add_output(v ? v->getName() : std::string());
  if (!n.getName().empty())
    np.set_name(n.getName());
  np.set_op_type(n.getOpType());
  if (!n.getDomain().empty())
    np.set_domain(n.getDomain());
  if (!n.docString.empty())
    np.set_doc_string(n.docString);
  if (n.isLiftedConstant())
    if (Error e =
            exportLifted(*n.getOutput(0)->getWeight(), *np.add_attribute()))
      return e;
  for (const Attribute &a : n.getAttrs())
    if (Error e = exportAttribute(a, *np.add_attribute()))
      return e;
  if (!n.unknownFields.empty())
    np.MergeFromString(n.unknownFields);
  return Error::success();
}

Error Exporter::exportGraph(const Graph &g, onnx::GraphProto &gp) {
  if (!g.name.empty())
    gp.set_name(g.name);
  if (!g.docString.empty())
    gp.set_doc_string(g.docString);
  auto valueInfo = [](const Value *v, onnx::ValueInfoProto &vi) {
    vi.set_name(v->getName());
    if (v->getType().kind != Type::Kind::None)
      exportType(v->getType(), *vi.mutable_type());
    if (!v->docString.empty())
      vi.set_doc_string(v->docString);
  };
  for (const Value *v : g.getInputs())
    valueInfo(v, *gp.add_input());
  bool isMain = &g == &model.getGraph();
  if (isMain)
    for (unsigned i = 0; i < opts.gates.size(); ++i) {
      onnx::ValueInfoProto &vi = *gp.add_input();
      vi.set_name(gates[i].input);
      DataType dt = model.getGraph().lookup(opts.gates[i])->getType().elemType;
      exportType(Type::tensor(dt, Shape()), *vi.mutable_type());
    }
  mergeEqualCopies(g);
  for (const Value *v : g.getInitializers())
    if (!writtenAs.count(v))
      if (Error e = exportTensor(*v->getWeight(), v->getName(),
                                 *gp.add_initializer()))
        return e;
  for (const std::string &s : g.sparseInitializers)
    gp.add_sparse_initializer()->ParseFromString(s);
  for (const Node &n : g.getNodes()) {
    if (!opts.restoreConstants && n.isLiftedConstant()) {
      const Value *v = n.getOutput(0);
      if (Error e = exportTensor(*v->getWeight(), v->getName(),
                                 *gp.add_initializer()))
        return e;
      continue;
    }
    onnx::NodeProto &np = *gp.add_node();
    if (Error e = exportNode(n, np))
      return e;
    if (isMain && !gateIndex.empty())
      emitGates(n, np, gp);
    if (isMain && !tapIndex.empty())
      emitTaps(n, np, gp);
  }
  for (const Value *v : g.getOutputs())
    valueInfo(v, *gp.add_output());
  if (isMain)
    for (const std::string &name : opts.extraOutputs) {
      const Value *v = g.lookup(name);
      if (!v)
        return makeError("cannot add '" + name +
                         "' as an output: the graph has no such value");
      if (!llvm::is_contained(g.getOutputs(), v))
        valueInfo(v, *gp.add_output());
    }
  for (const Value *v : g.valueInfoOrder)
    valueInfo(v, *gp.add_value_info());
  for (const std::string &s : g.quantizationAnnotations)
    gp.add_quantization_annotation()->ParseFromString(s);
  if (!g.unknownFields.empty())
    gp.MergeFromString(g.unknownFields);
  return Error::success();
}

} // namespace

std::vector<GateNames> gateNames(const Model &model,
                                 ArrayRef<std::string> gates) {
  UniqueNames unique(model);
  std::vector<GateNames> out;
  for (const std::string &v : gates)
    out.push_back({unique(v + "__ungated"), unique(v + "__gate")});
  return out;
}

Error exportModel(const Model &model, onnx::ModelProto &proto,
                  const ExportOptions &opts) {
  proto.set_ir_version(model.irVersion);
  for (const OpsetImport &o : model.opsetImports) {
    auto *op = proto.add_opset_import();
    op->set_domain(o.domain);
    op->set_version(o.version);
  }
  if (!model.producerName.empty())
    proto.set_producer_name(model.producerName);
  if (!model.producerVersion.empty())
    proto.set_producer_version(model.producerVersion);
  if (!model.domain.empty())
    proto.set_domain(model.domain);
  if (model.hasModelVersion)
    proto.set_model_version(model.modelVersion);
  if (!model.docString.empty())
    proto.set_doc_string(model.docString);
  for (const auto &kv : model.metadataProps) {
    auto *p = proto.add_metadata_props();
    p->set_key(kv.first);
    p->set_value(kv.second);
  }
  if (!opts.taps.empty()) {
    auto *op = proto.add_opset_import();
    op->set_domain(kTapDomain);
    op->set_version(kTapVersion);
  }
  Exporter ex(model, opts);
  if (Error e = ex.prepareGates())
    return e;
  if (Error e = ex.prepareTaps())
    return e;
  if (Error e = ex.exportGraph(model.getGraph(), *proto.mutable_graph()))
    return e;
  for (const std::string &s : model.trainingInfo)
    proto.add_training_info()->ParseFromString(s);
  for (const FunctionDecl &f : model.functions)
    proto.add_functions()->ParseFromString(f.serialized);
  if (!model.unknownFields.empty())
    proto.MergeFromString(model.unknownFields);
  return Error::success();
}

} // namespace onnxprune
