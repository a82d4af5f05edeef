//===- TextFormat.cpp - The ONNX text format ------------------------------===//

#include "frontends/onnx/TextFormat.h"

#include "onnx/defs/printer.h"

#include <cctype>
#include <cinttypes>
#include <cstring>
#include <map>
#include <set>
#include <sstream>

namespace onnxprune {

static void quoted(std::ostream &os, const std::string &s) {
  os << '"';
  for (char c : s) {
    if (c == '"' || c == '\\')
      os << '\\';
    os << c;
  }
  os << '"';
}

static const char *typeName(int32_t dt) {
  switch (dt) {
  case onnx::TensorProto::FLOAT:
    return "float";
  case onnx::TensorProto::DOUBLE:
    return "double";
  case onnx::TensorProto::INT64:
    return "int64";
  case onnx::TensorProto::INT32:
    return "int32";
  case onnx::TensorProto::INT16:
    return "int16";
  case onnx::TensorProto::INT8:
    return "int8";
  case onnx::TensorProto::UINT8:
    return "uint8";
  case onnx::TensorProto::UINT16:
    return "uint16";
  case onnx::TensorProto::UINT32:
    return "uint32";
  case onnx::TensorProto::UINT64:
    return "uint64";
  case onnx::TensorProto::BOOL:
    return "bool";
  case onnx::TensorProto::STRING:
    return "string";
  default:
    return nullptr;
  }
}

/// Prints "float[2,3] name = {...}" with values exact (9 significant
/// digits for float, 17 for double), which OnnxParser reads back.
static llvm::Error printTensor(std::ostream &os, const onnx::TensorProto &t) {
  const char *tn = typeName(t.data_type());
  if (!tn)
    return llvm::createStringError(
        llvm::inconvertibleErrorCode(),
        "tensor '%s': its element type has no text form; write binary",
        t.name().c_str());
  if (t.data_location() == onnx::TensorProto::EXTERNAL)
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   "tensor '%s' is external data; the text "
                                   "format holds values inline only",
                                   t.name().c_str());
  // A scalar is written without brackets: "float name = {1}".
  os << tn;
  int64_t n = 1;
  if (t.dims_size()) {
    os << "[";
    for (int i = 0; i < t.dims_size(); ++i) {
      os << (i ? "," : "") << t.dims(i);
      n *= t.dims(i);
    }
    os << "]";
  }
  os << " " << t.name() << " = {";
  const std::string &raw = t.raw_data();
  bool hasRaw = t.has_raw_data();
  char buf[64];
  for (int64_t i = 0; i < n; ++i) {
    if (i)
      os << ", ";
    switch (t.data_type()) {
    case onnx::TensorProto::FLOAT: {
      float v;
      if (hasRaw)
        std::memcpy(&v, raw.data() + 4 * i, 4);
      else
        v = t.float_data(i);
      snprintf(buf, sizeof buf, "%.9g", v);
      os << buf;
      break;
    }
    case onnx::TensorProto::DOUBLE: {
      double v;
      if (hasRaw)
        std::memcpy(&v, raw.data() + 8 * i, 8);
      else
        v = t.double_data(i);
      snprintf(buf, sizeof buf, "%.17g", v);
      os << buf;
      break;
    }
    case onnx::TensorProto::STRING:
      quoted(os, t.string_data(i));
      break;
    default: {
      // Integer types (and bool): raw little-endian or the typed field.
      int64_t v = 0;
      if (hasRaw) {
        size_t es = raw.size() / (n ? n : 1);
        uint64_t u = 0;
        std::memcpy(&u, raw.data() + es * i, es);
        bool isSigned = t.data_type() == onnx::TensorProto::INT8 ||
                        t.data_type() == onnx::TensorProto::INT16 ||
                        t.data_type() == onnx::TensorProto::INT32 ||
                        t.data_type() == onnx::TensorProto::INT64;
        if (isSigned && es < 8 && (u >> (8 * es - 1)) & 1)
          u |= ~0ull << (8 * es);
        v = (int64_t)u;
      } else if (t.data_type() == onnx::TensorProto::INT64) {
        v = t.int64_data(i);
      } else if (t.data_type() == onnx::TensorProto::UINT32 ||
                 t.data_type() == onnx::TensorProto::UINT64) {
        v = (int64_t)t.uint64_data(i);
      } else {
        v = t.int32_data(i);
      }
      os << v;
    }
    }
  }
  os << "}";
  return llvm::Error::success();
}

static void printValueInfos(
    std::ostream &os,
    const google::protobuf::RepeatedPtrField<onnx::ValueInfoProto> &list) {
  os << "(";
  for (int i = 0; i < list.size(); ++i)
    os << (i ? ", " : "") << list.Get(i);
  os << ")";
}

static void printFloat(std::ostream &os, float f) {
  char buf[32];
  snprintf(buf, sizeof buf, "%.9g", f);
  os << buf;
  // The parser reads "1" as an int; keep floats floats.
  if (!strpbrk(buf, ".eEn"))
    os << ".0";
}

static llvm::Error printGraph(std::ostream &os, const onnx::GraphProto &g,
                              const std::string &indent);

static llvm::Error printAttribute(std::ostream &os,
                                  const onnx::AttributeProto &a,
                                  const std::string &indent) {
  os << a.name() << " = ";
  switch (a.type()) {
  case onnx::AttributeProto::FLOAT:
    printFloat(os, a.f());
    break;
  case onnx::AttributeProto::INT:
    os << a.i();
    break;
  case onnx::AttributeProto::STRING:
    quoted(os, a.s());
    break;
  case onnx::AttributeProto::FLOATS:
    os << "[";
    for (int i = 0; i < a.floats_size(); ++i) {
      os << (i ? ", " : "");
      printFloat(os, a.floats(i));
    }
    os << "]";
    break;
  case onnx::AttributeProto::INTS:
    os << "[";
    for (int i = 0; i < a.ints_size(); ++i)
      os << (i ? ", " : "") << a.ints(i);
    os << "]";
    break;
  case onnx::AttributeProto::STRINGS:
    os << "[";
    for (int i = 0; i < a.strings_size(); ++i) {
      os << (i ? ", " : "");
      quoted(os, a.strings(i));
    }
    os << "]";
    break;
  case onnx::AttributeProto::TENSOR: {
    // An attribute tensor is anonymous in the text format.
    onnx::TensorProto t = a.t();
    t.clear_name();
    std::ostringstream ts;
    if (llvm::Error e = printTensor(ts, t))
      return e;
    std::string text = ts.str();
    // printTensor writes "type[dims]  = {..}" for an unnamed tensor.
    size_t eq = text.find(" = ");
    os << text.substr(0, text.find(' ')) << " " << text.substr(eq + 3);
    break;
  }
  case onnx::AttributeProto::GRAPH:
    if (llvm::Error e = printGraph(os, a.g(), indent + "  "))
      return e;
    break;
  default:
    return llvm::createStringError(
        llvm::inconvertibleErrorCode(),
        "attribute '%s' has a kind the text format cannot hold; write binary",
        a.name().c_str());
  }
  return llvm::Error::success();
}

static llvm::Error printNode(std::ostream &os, const onnx::NodeProto &n,
                             const std::string &indent) {
  os << indent;
  for (int i = 0; i < n.output_size(); ++i)
    os << (i ? ", " : "") << n.output(i);
  os << " = ";
  if (!n.domain().empty() && n.domain() != "ai.onnx")
    os << n.domain() << ".";
  os << n.op_type();
  if (n.attribute_size()) {
    os << "<";
    for (int i = 0; i < n.attribute_size(); ++i) {
      os << (i ? ", " : "");
      if (llvm::Error e = printAttribute(os, n.attribute(i), indent))
        return e;
    }
    os << ">";
  }
  os << "(";
  for (int i = 0; i < n.input_size(); ++i)
    os << (i ? ", " : "") << n.input(i);
  os << ")\n";
  return llvm::Error::success();
}

static llvm::Error printGraph(std::ostream &os, const onnx::GraphProto &g,
                              const std::string &indent) {
  os << (g.name().empty() ? std::string("graph") : g.name()) << " ";
  printValueInfos(os, g.input());
  os << " => ";
  printValueInfos(os, g.output());
  os << "\n";
  if (g.initializer_size()) {
    os << indent << "<";
    for (int i = 0; i < g.initializer_size(); ++i) {
      os << (i ? ",\n " + indent : "");
      if (llvm::Error e = printTensor(os, g.initializer(i)))
        return e;
    }
    os << ">\n";
  }
  os << indent << "{\n";
  for (const auto &n : g.node())
    if (llvm::Error e = printNode(os, n, indent + "  "))
      return e;
  os << indent << "}";
  return llvm::Error::success();
}

/// The text format's identifiers are [A-Za-z_][A-Za-z0-9_]*; exporters use
/// names like "onnx::Conv_539" or "classifier.1.weight".
static bool isIdentifier(const std::string &s) {
  if (s.empty() || !(isalpha((unsigned char)s[0]) || s[0] == '_'))
    return false;
  for (char c : s)
    if (!(isalnum((unsigned char)c) || c == '_'))
      return false;
  return true;
}

namespace {
/// Renames every value name that is not an identifier, the same way
/// everywhere, to a fresh identifier (deterministic: first-seen order).
class Renamer {
public:
  explicit Renamer(const onnx::GraphProto &g) { collect(g); }
  unsigned count() const { return renamed; }
  void apply(onnx::GraphProto &g) {
    for (auto &vi : *g.mutable_input())
      fix(*vi.mutable_name());
    for (auto &vi : *g.mutable_output())
      fix(*vi.mutable_name());
    for (auto &vi : *g.mutable_value_info())
      fix(*vi.mutable_name());
    for (auto &t : *g.mutable_initializer())
      fix(*t.mutable_name());
    for (auto &n : *g.mutable_node()) {
      for (auto &in : *n.mutable_input())
        fix(in);
      for (auto &out : *n.mutable_output())
        fix(out);
      for (auto &a : *n.mutable_attribute()) {
        if (a.has_g())
          apply(*a.mutable_g());
        for (auto &sg : *a.mutable_graphs())
          apply(sg);
      }
    }
  }

private:
  void note(const std::string &n) { used.insert(n); }
  void collect(const onnx::GraphProto &g) {
    for (const auto &vi : g.input())
      note(vi.name());
    for (const auto &vi : g.output())
      note(vi.name());
    for (const auto &t : g.initializer())
      note(t.name());
    for (const auto &n : g.node()) {
      for (const auto &o : n.output())
        note(o);
      for (const auto &a : n.attribute()) {
        if (a.has_g())
          collect(a.g());
        for (const auto &sg : a.graphs())
          collect(sg);
      }
    }
  }
  void fix(std::string &name) {
    if (name.empty() || isIdentifier(name))
      return;
    auto it = map.find(name);
    if (it == map.end()) {
      std::string base;
      for (char c : name)
        base += isalnum((unsigned char)c) ? c : '_';
      if (!isalpha((unsigned char)base[0]) && base[0] != '_')
        base = "_" + base;
      std::string fresh = base;
      for (unsigned i = 1; used.count(fresh); ++i)
        fresh = base + "_" + std::to_string(i);
      used.insert(fresh);
      it = map.emplace(name, fresh).first;
      ++renamed;
    }
    name = it->second;
  }
  std::set<std::string> used;
  std::map<std::string, std::string> map;
  unsigned renamed = 0;
};
} // namespace

llvm::Expected<std::string> printModelText(const onnx::ModelProto &original,
                                           unsigned *numRenamed) {
  // Names the text format cannot spell are renamed in a copy.
  onnx::ModelProto model = original;
  Renamer renamer(model.graph());
  renamer.apply(*model.mutable_graph());
  if (numRenamed)
    *numRenamed = renamer.count();
  std::ostringstream os;
  os << "<\n  ir_version: " << model.ir_version() << ",\n  opset_import: [";
  for (int i = 0; i < model.opset_import_size(); ++i) {
    if (i)
      os << ", ";
    quoted(os, model.opset_import(i).domain());
    os << " : " << model.opset_import(i).version();
  }
  os << "]";
  if (model.has_producer_name()) {
    os << ",\n  producer_name: ";
    quoted(os, model.producer_name());
  }
  if (model.has_producer_version()) {
    os << ",\n  producer_version: ";
    quoted(os, model.producer_version());
  }
  if (model.has_domain()) {
    os << ",\n  domain: ";
    quoted(os, model.domain());
  }
  if (model.has_model_version())
    os << ",\n  model_version: " << model.model_version();
  if (model.has_doc_string()) {
    os << ",\n  doc_string: ";
    quoted(os, model.doc_string());
  }
  if (model.metadata_props_size()) {
    os << ",\n  metadata_props: [";
    for (int i = 0; i < model.metadata_props_size(); ++i) {
      if (i)
        os << ", ";
      quoted(os, model.metadata_props(i).key());
      os << ": ";
      quoted(os, model.metadata_props(i).value());
    }
    os << "]";
  }
  os << "\n>\n";
  // onnx 1.12's printer leaves out initializers and node domains and rounds
  // tensor values to 6 digits, so graphs and nodes are printed here.
  if (llvm::Error e = printGraph(os, model.graph(), ""))
    return std::move(e);
  os << "\n";
  for (const auto &fn : model.functions())
    os << "\n" << fn << "\n";
  return os.str();
}

} // namespace onnxprune
