//===- Graph.cpp - Graphs: nodes, values, inputs and outputs --------------===//

#include "lib/IR/Graph.h"
#include "lib/IR/Model.h"

#include <algorithm>

namespace onnxprune {

void Graph::dropUse(Value *v, Node *user, unsigned idx) {
  auto &uses = v->uses;
  auto it = std::find(uses.begin(), uses.end(), Use{user, idx});
  assert(it != uses.end() && "use list out of sync");
  uses.erase(it);
}

Graph::~Graph() {
  // Nodes of a subgraph may use values of enclosing graphs: drop those uses
  // while the outer values are alive. Then delete nodes before values.
  for (Node &n : nodes)
    for (unsigned i = 0; i < n.inputs.size(); ++i)
      if (Value *v = n.inputs[i]; v && v->getGraph() != this)
        dropUse(v, &n, i);
  nodes.clear();
}

Graph *Graph::getParentGraph() const {
  return ownerNode ? ownerNode->getGraph() : nullptr;
}

Value *Graph::createValue(llvm::StringRef name) {
  assert(!byName.count(name) && "value name already used in this graph");
  values.push_back(std::unique_ptr<Value>(new Value(this, name.str())));
  Value *v = values.back().get();
  v->id = model.nextValueId++;
  byName[name] = v;
  return v;
}

Value *Graph::lookup(llvm::StringRef name) const {
  auto it = byName.find(name);
  return it == byName.end() ? nullptr : it->second;
}

Value *Graph::lookupInScope(llvm::StringRef name) const {
  for (const Graph *g = this; g; g = g->getParentGraph())
    if (Value *v = g->lookup(name))
      return v;
  return nullptr;
}

void Graph::renameValue(Value *v, llvm::StringRef newName) {
  assert(v->graph == this && !byName.count(newName) && "bad rename");
  byName.erase(v->name);
  v->name = newName.str();
  byName[newName] = v;
}

void Graph::eraseValue(Value *v) {
  assert(v->graph == this && !v->producer && v->uses.empty() &&
         !v->isGraphOutput() && !v->graphInput && "value still in use");
  if (v->weight)
    removeInitializer(v);
  valueInfoOrder.erase(
      std::remove(valueInfoOrder.begin(), valueInfoOrder.end(), v),
      valueInfoOrder.end());
  byName.erase(v->name);
  for (auto &slot : values)
    if (slot.get() == v) {
      slot.reset();
      break;
    }
}

std::vector<Value *> Graph::getValues() const {
  std::vector<Value *> out;
  for (const auto &v : values)
    if (v)
      out.push_back(v.get());
  return out;
}

void Graph::addInput(Value *v) {
  v->graphInput = true;
  inputs.push_back(v);
}

void Graph::addOutput(Value *v) {
  ++v->graphOutputCount;
  outputs.push_back(v);
}

void Graph::setOutput(unsigned i, Value *v) {
  --outputs[i]->graphOutputCount;
  ++v->graphOutputCount;
  outputs[i] = v;
}

void Graph::removeInput(unsigned i) {
  inputs[i]->graphInput = false;
  inputs.erase(inputs.begin() + i);
}

void Graph::setInitializer(Value *v, Tensor *t) {
  assert(!v->producer && "an initializer has no producer");
  if (!v->weight)
    initializers.push_back(v);
  v->weight = t;
}

void Graph::removeInitializer(Value *v) {
  initializers.erase(std::remove(initializers.begin(), initializers.end(), v),
                     initializers.end());
  v->weight = nullptr;
}

Node *Graph::createNode(llvm::StringRef opType, llvm::StringRef domain,
                        llvm::StringRef name, Node *insertBefore) {
  Node *n = new Node(this, opType.str(), domain.str(), name.str());
  if (insertBefore)
    nodes.insert(insertBefore->getIterator(), n);
  else
    nodes.push_back(n);
  return n;
}

void Graph::addNodeInput(Node *n, Value *v) {
  n->inputs.push_back(v);
  if (v)
    v->uses.push_back(Use{n, (unsigned)n->inputs.size() - 1});
}

void Graph::setNodeInput(Node *n, unsigned i, Value *v) {
  if (Value *old = n->inputs[i])
    dropUse(old, n, i);
  n->inputs[i] = v;
  if (v)
    v->uses.push_back(Use{n, i});
}

void Graph::truncateNodeInputs(Node *n, unsigned newSize) {
  while (n->inputs.size() > newSize) {
    unsigned i = n->inputs.size() - 1;
    if (Value *v = n->inputs[i])
      dropUse(v, n, i);
    n->inputs.pop_back();
  }
}

void Graph::addNodeOutput(Node *n, Value *v) {
  if (v) {
    assert(!v->producer && !v->weight && "value already defined");
    v->producer = n;
    v->outputIndex = n->outputs.size();
  }
  n->outputs.push_back(v);
}

void Graph::setLiftedWeight(Value *v, Tensor *t) {
  assert(v->producer && v->producer->getOpType() == "Constant");
  v->weight = t;
}

void Graph::eraseNode(Node *n) {
  assert(n->graph == this && "node of another graph");
  truncateNodeInputs(n, 0);
  for (Value *out : n->outputs) {
    if (!out)
      continue;
    assert(out->uses.empty() && !out->isGraphOutput() && "output still used");
    if (out->weight && n->isLiftedConstant())
      model.getWeights().erase(out->weight);
    out->weight = nullptr;
    out->producer = nullptr;
    eraseValue(out);
  }
  nodes.erase(n->getIterator());
}

void Graph::moveNode(Node *n, Node *before) {
  nodes.remove(n->getIterator());
  if (before)
    nodes.insert(before->getIterator(), n);
  else
    nodes.push_back(n);
}

} // namespace onnxprune
