//===- Node.h - Operator nodes ----------------------------------*- C++ -*-===//
///
/// \file
/// A Node is one operator application. Inputs may be null (an omitted
/// optional input, "" in ONNX), outputs likewise. Attributes keep their
/// order. Nodes live in an intrusive list owned by their Graph, in
/// topological order.
///
//===----------------------------------------------------------------------===//
#ifndef ONNXPRUNE_IR_NODE_H
#define ONNXPRUNE_IR_NODE_H

#include "lib/IR/Attribute.h"
#include "lib/IR/Value.h"

#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/ADT/ilist_node.h"

#include <optional>
#include <string>
#include <vector>

namespace onnxprune {

class Node : public llvm::ilist_node<Node> {
public:
  ~Node();

  const std::string &getName() const { return name; }
  const std::string &getOpType() const { return opType; }
  /// "" for the default ai.onnx domain.
  const std::string &getDomain() const { return domain; }
  Graph *getGraph() const { return graph; }

  unsigned getNumInputs() const { return inputs.size(); }
  unsigned getNumOutputs() const { return outputs.size(); }
  /// Null for an omitted optional input.
  Value *getInput(unsigned i) const {
    return i < inputs.size() ? inputs[i] : nullptr;
  }
  Value *getOutput(unsigned i) const {
    return i < outputs.size() ? outputs[i] : nullptr;
  }
  llvm::ArrayRef<Value *> getInputs() const { return inputs; }
  llvm::ArrayRef<Value *> getOutputs() const { return outputs; }

  const std::vector<Attribute> &getAttrs() const { return attrs; }
  std::vector<Attribute> &getAttrs() { return attrs; }
  const Attribute *getAttr(llvm::StringRef attrName) const;
  Attribute *getAttr(llvm::StringRef attrName);
  bool hasAttr(llvm::StringRef attrName) const {
    return getAttr(attrName) != nullptr;
  }
  int64_t getIntAttr(llvm::StringRef attrName, int64_t dflt) const;
  float getFloatAttr(llvm::StringRef attrName, float dflt) const;
  std::string getStringAttr(llvm::StringRef attrName,
                            llvm::StringRef dflt) const;
  std::optional<std::vector<int64_t>>
  getIntsAttr(llvm::StringRef attrName) const;
  /// Adds or replaces an attribute.
  void setAttr(Attribute attr);
  bool removeAttr(llvm::StringRef attrName);

  /// True when some attribute holds a subgraph.
  bool hasSubgraphs() const;
  /// Calls \p fn on every subgraph (If branches, Loop/Scan bodies).
  template <typename Fn> void forEachSubgraph(Fn fn) const {
    for (const Attribute &a : attrs)
      for (const auto &g : a.graphs)
        fn(*g);
  }

  /// True for a `Constant` node whose value the frontend lifted into the
  /// WeightStore: its output is a weight.
  bool isLiftedConstant() const;

  /// "name (Op)" or "<unnamed Op #N>" for messages.
  std::string describe() const;

  std::string docString;
  /// Serialized protobuf fields this IR does not model (metadata_props of
  /// newer ONNX versions), merged back by the writer.
  std::string unknownFields;

private:
  friend class Graph;
  friend class Rewriter;
  Node(Graph *g, std::string opType, std::string domain, std::string name)
      : name(std::move(name)), opType(std::move(opType)),
        domain(std::move(domain)), graph(g) {}

  std::string name;
  std::string opType;
  std::string domain;
  Graph *graph;
  llvm::SmallVector<Value *, 4> inputs;
  llvm::SmallVector<Value *, 2> outputs;
  std::vector<Attribute> attrs;
};

} // namespace onnxprune

#endif // ONNXPRUNE_IR_NODE_H
