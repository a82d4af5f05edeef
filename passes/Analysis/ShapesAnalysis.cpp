//===- ShapesAnalysis.cpp - Every value with its type ---------------------===//
///
/// \file
/// Builds and prints the `shapes` listing.
///
//===----------------------------------------------------------------------===//

#include "passes/Analysis/ShapesAnalysis.h"

using namespace llvm;

namespace onnxprune {

static void collect(const Graph &g, std::string title, ShapesInfo &info) {
  ShapesInfo::GraphEntry ge;
  ge.title = std::move(title);
  for (const Value *v : g.getInputs())
    ge.values.push_back({ShapesInfo::Kind::Input, v->getName(), v->getType()});
  for (const Value *v : g.getInitializers())
    if (!v->isGraphInput())
      ge.values.push_back(
          {ShapesInfo::Kind::Weight, v->getName(), v->getType()});
  for (const Node &n : g.getNodes())
    if (n.isLiftedConstant())
      ge.values.push_back({ShapesInfo::Kind::Weight, n.getOutput(0)->getName(),
                           n.getOutput(0)->getType()});
  for (const Node &n : g.getNodes()) {
    if (n.isLiftedConstant())
      continue;
    for (const Value *v : n.getOutputs())
      if (v)
        ge.values.push_back(
            {ShapesInfo::Kind::Value, v->getName(), v->getType()});
  }
  info.graphs.push_back(std::move(ge));

  for (const Node &n : g.getNodes())
    for (const Attribute &a : n.getAttrs())
      for (const auto &sub : a.graphs)
        collect(*sub,
                "graph '" + sub->name + "' (attribute '" + a.name +
                    "' of node " + n.describe() + ")",
                info);
}

ShapesInfo computeShapes(const Model &m) {
  ShapesInfo info;
  collect(m.getGraph(), "graph '" + m.getGraph().name + "'", info);
  return info;
}

void ShapesInfo::print(raw_ostream &os, const Model &) const {
  for (const GraphEntry &g : graphs) {
    os << g.title << ":\n";
    for (const Entry &e : g.values) {
      switch (e.kind) {
      case Kind::Input:
        os << "  input ";
        break;
      case Kind::Weight:
        os << "  weight ";
        break;
      case Kind::Value:
        os << "  value ";
        break;
      }
      os << e.name << ": ";
      printType(os, e.type);
      os << '\n';
    }
  }
}

} // namespace onnxprune
