//===- Model.cpp - A whole ONNX model -------------------------------------===//

#include "lib/IR/Model.h"

namespace onnxprune {

Model::Model() : graph(std::make_unique<Graph>(*this, nullptr)) {}

Model::~Model() {
  // Nodes and values reference tensors in the store; drop the graph first.
  graph.reset();
}

int64_t Model::getOpsetVersion(llvm::StringRef d) const {
  bool isDefault = d.empty() || d == "ai.onnx";
  for (const OpsetImport &o : opsetImports) {
    bool oDefault = o.domain.empty() || o.domain == "ai.onnx";
    if ((isDefault && oDefault) || (!isDefault && o.domain == d))
      return o.version;
  }
  return 0;
}

static void visitGraph(Graph &g, llvm::function_ref<void(Graph &)> fn) {
  fn(g);
  for (Node &n : g.getNodes())
    for (Attribute &a : n.getAttrs())
      for (auto &sub : a.graphs)
        visitGraph(*sub, fn);
}

void Model::forEachGraph(llvm::function_ref<void(Graph &)> fn) {
  visitGraph(*graph, fn);
}

void Model::forEachGraph(llvm::function_ref<void(const Graph &)> fn) const {
  visitGraph(*graph, [&](Graph &g) { fn(g); });
}

void Model::recordKeptChannels(llvm::StringRef name, unsigned axis,
                               llvm::ArrayRef<int64_t> kept) {
  auto key = std::make_pair(name.str(), axis);
  auto it = channelOrigins.find(key);
  std::vector<int64_t> origins;
  for (int64_t k : kept)
    origins.push_back(it == channelOrigins.end() ? k : it->second[k]);
  channelOrigins[key] = std::move(origins);
}

const std::vector<int64_t> *Model::getChannelOrigins(llvm::StringRef name,
                                                     unsigned axis) const {
  auto it = channelOrigins.find(std::make_pair(name.str(), axis));
  return it == channelOrigins.end() ? nullptr : &it->second;
}

} // namespace onnxprune
