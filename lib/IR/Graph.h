//===- Graph.h - Graphs: nodes, values, inputs and outputs ------*- C++ -*-===//
///
/// \file
/// A Graph owns its values and its nodes (kept in topological order). The
/// main graph belongs to a Model; subgraphs belong to a node attribute and
/// can read values of enclosing graphs. Value names are unique within a
/// model, as ONNX requires across nested scopes.
///
//===----------------------------------------------------------------------===//
#ifndef ONNXPRUNE_IR_GRAPH_H
#define ONNXPRUNE_IR_GRAPH_H

#include "lib/IR/Node.h"
#include "lib/IR/Value.h"

#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/ilist.h"

#include <memory>
#include <string>
#include <vector>

namespace onnxprune {

class Model;

class Graph {
public:
  using NodeList = llvm::iplist<Node>;

  Graph(Model &model, Node *ownerNode) : model(model), ownerNode(ownerNode) {}
  ~Graph();
  Graph(const Graph &) = delete;
  Graph &operator=(const Graph &) = delete;

  Model &getModel() const { return model; }
  /// The node whose attribute holds this subgraph; null for the main graph.
  Node *getOwnerNode() const { return ownerNode; }
  Graph *getParentGraph() const;

  std::string name;
  std::string docString;
  /// Serialized sparse_initializer and quantization_annotation entries and
  /// unknown fields, kept as the model had them.
  std::vector<std::string> sparseInitializers;
  std::vector<std::string> quantizationAnnotations;
  std::string unknownFields;

  // ---- Values --------------------------------------------------------------
  /// Creates a value named \p name; the name must be unused in this graph.
  Value *createValue(llvm::StringRef name);
  /// The value named \p name in this graph, or null.
  Value *lookup(llvm::StringRef name) const;
  /// Looks in this graph, then in the enclosing graphs.
  Value *lookupInScope(llvm::StringRef name) const;
  /// Renames a value (keeps the lookup table in step).
  void renameValue(Value *v, llvm::StringRef newName);
  /// Deletes a value that has no producer, no uses and is no input/output.
  void eraseValue(Value *v);
  /// All live values, in creation order.
  std::vector<Value *> getValues() const;

  // ---- Inputs, outputs, initializers --------------------------------------
  llvm::ArrayRef<Value *> getInputs() const { return inputs; }
  llvm::ArrayRef<Value *> getOutputs() const { return outputs; }
  void addInput(Value *v);
  void addOutput(Value *v);
  void setOutput(unsigned i, Value *v);
  void removeInput(unsigned i);
  /// Initializers in file order. A value becomes one with setInitializer.
  llvm::ArrayRef<Value *> getInitializers() const { return initializers; }
  void setInitializer(Value *v, Tensor *t);
  /// Drops the initializer role of \p v (its tensor is not freed).
  void removeInitializer(Value *v);
  /// Values listed in value_info, in file order.
  std::vector<Value *> valueInfoOrder;

  // ---- Nodes ---------------------------------------------------------------
  NodeList &getNodes() { return nodes; }
  const NodeList &getNodes() const { return nodes; }
  /// Creates a node before \p insertBefore (at the end when null).
  Node *createNode(llvm::StringRef opType, llvm::StringRef domain,
                   llvm::StringRef name, Node *insertBefore = nullptr);
  /// Appends an input operand (null for an omitted optional input).
  void addNodeInput(Node *n, Value *v);
  void setNodeInput(Node *n, unsigned i, Value *v);
  /// Appends an output (null for an omitted optional output).
  void addNodeOutput(Node *n, Value *v);
  /// Removes trailing operands after index \p newSize.
  void truncateNodeInputs(Node *n, unsigned newSize);
  /// Unlinks and deletes \p n and its output values. Its outputs must be
  /// unused and not graph outputs.
  void eraseNode(Node *n);
  /// Marks the value produced by a Constant node as a weight (lifting).
  void setLiftedWeight(Value *v, Tensor *t);
  /// Moves \p n to just before \p before (null: the end).
  void moveNode(Node *n, Node *before);

private:
  static void dropUse(Value *v, Node *user, unsigned idx);

  Model &model;
  Node *ownerNode;
  NodeList nodes;
  std::vector<std::unique_ptr<Value>> values; ///< Null slots are erased.
  llvm::StringMap<Value *> byName;
  std::vector<Value *> inputs;
  std::vector<Value *> outputs;
  std::vector<Value *> initializers;
};

} // namespace onnxprune

#endif // ONNXPRUNE_IR_GRAPH_H
