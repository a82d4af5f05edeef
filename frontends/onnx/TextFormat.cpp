//===- TextFormat.cpp - The ONNX text format ------------------------------===//

#include "frontends/onnx/TextFormat.h"

#include "onnx/defs/printer.h"

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

std::string printModelText(const onnx::ModelProto &model) {
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
  os << model.graph() << "\n";
  for (const auto &fn : model.functions())
    os << "\n" << fn << "\n";
  return os.str();
}

} // namespace onnxprune
