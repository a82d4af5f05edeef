//===- Value.h - SSA values with use lists ----------------------*- C++ -*-===//
///
/// \file
/// A Value is a named tensor edge: a graph input, a weight (initializer or
/// lifted Constant output), or a node output. It knows its producer and every
/// use, including uses by nodes inside subgraphs (If/Loop/Scan bodies that
/// capture an outer value), so "is this dead?" is a local question.
///
//===----------------------------------------------------------------------===//
#ifndef ONNXPRUNE_IR_VALUE_H
#define ONNXPRUNE_IR_VALUE_H

#include "lib/IR/Type.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/SmallVector.h"

#include <string>

namespace onnxprune {

class Graph;
class Node;
class Tensor;

/// One operand slot of a node that reads a value.
struct Use {
  Node *user;
  unsigned operandIndex;
  bool operator==(const Use &o) const {
    return user == o.user && operandIndex == o.operandIndex;
  }
};

class Value {
public:
  const std::string &getName() const { return name; }
  Graph *getGraph() const { return graph; }
  /// A number unique among the values its model ever made, below
  /// Model::getValueIdBound(), and never reused once the value is erased:
  /// analyses that visit most values index plain vectors by it instead of
  /// hashing pointers (a pointer of an erased value can come back).
  unsigned getId() const { return id; }

  /// The producing node, or null for graph inputs and initializers.
  Node *getProducer() const { return producer; }
  unsigned getOutputIndex() const { return outputIndex; }

  llvm::ArrayRef<Use> getUses() const { return uses; }
  bool hasUses() const { return !uses.empty(); }
  /// True when this value is one of its graph's outputs.
  bool isGraphOutput() const { return graphOutputCount != 0; }
  /// True when this value is one of its graph's inputs.
  bool isGraphInput() const { return graphInput; }

  /// The weight behind this value: an initializer, or the tensor lifted from
  /// the `Constant` node that produces it. Null for activations.
  Tensor *getWeight() const { return weight; }
  bool isWeight() const { return weight != nullptr; }
  /// True for an initializer (weight with no producing node).
  bool isInitializer() const { return weight && !producer; }

  const Type &getType() const { return type; }
  void setType(Type t) { type = std::move(t); }

  std::string docString;
  /// Listed in the graph's value_info (kept on write).
  bool inValueInfo = false;
  /// Non-zero for the logical copies that untieSharedSplats() made of one
  /// shared initializer (the original included): the writer writes copies
  /// whose contents are still equal once, under one name.
  unsigned tieGroup = 0;

private:
  friend class Graph;
  friend class Node;
  friend class Rewriter;
  Value(Graph *g, std::string n) : name(std::move(n)), graph(g) {}

  std::string name;
  Graph *graph;
  Node *producer = nullptr;
  unsigned outputIndex = 0;
  unsigned id = 0;
  llvm::SmallVector<Use, 2> uses;
  Tensor *weight = nullptr;
  Type type;
  unsigned graphOutputCount = 0;
  bool graphInput = false;
};

} // namespace onnxprune

#endif // ONNXPRUNE_IR_VALUE_H
