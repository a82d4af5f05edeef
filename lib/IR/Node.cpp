//===- Node.cpp - Operator nodes ------------------------------------------===//

#include "lib/IR/Node.h"
#include "lib/IR/Graph.h"

namespace onnxprune {

Node::~Node() = default;

const Attribute *Node::getAttr(llvm::StringRef attrName) const {
  for (const Attribute &a : attrs)
    if (a.name == attrName)
      return &a;
  return nullptr;
}

Attribute *Node::getAttr(llvm::StringRef attrName) {
  for (Attribute &a : attrs)
    if (a.name == attrName)
      return &a;
  return nullptr;
}

int64_t Node::getIntAttr(llvm::StringRef attrName, int64_t dflt) const {
  const Attribute *a = getAttr(attrName);
  return a && a->kind == AttrKind::Int ? a->i : dflt;
}

float Node::getFloatAttr(llvm::StringRef attrName, float dflt) const {
  const Attribute *a = getAttr(attrName);
  return a && a->kind == AttrKind::Float ? a->f : dflt;
}

std::string Node::getStringAttr(llvm::StringRef attrName,
                                llvm::StringRef dflt) const {
  const Attribute *a = getAttr(attrName);
  return a && a->kind == AttrKind::String ? a->s : dflt.str();
}

std::optional<std::vector<int64_t>>
Node::getIntsAttr(llvm::StringRef attrName) const {
  const Attribute *a = getAttr(attrName);
  if (!a || a->kind != AttrKind::Ints)
    return std::nullopt;
  return a->ints;
}

void Node::setAttr(Attribute attr) {
  if (Attribute *old = getAttr(attr.name)) {
    *old = std::move(attr);
    return;
  }
  attrs.push_back(std::move(attr));
}

bool Node::removeAttr(llvm::StringRef attrName) {
  for (auto it = attrs.begin(); it != attrs.end(); ++it)
    if (it->name == attrName) {
      attrs.erase(it);
      return true;
    }
  return false;
}

bool Node::hasSubgraphs() const {
  for (const Attribute &a : attrs)
    if (!a.graphs.empty())
      return true;
  return false;
}

bool Node::isLiftedConstant() const {
  return opType == "Constant" && (domain.empty() || domain == "ai.onnx") &&
         !outputs.empty() && outputs[0] && outputs[0]->isWeight();
}

std::string Node::describe() const {
  if (!name.empty())
    return "'" + name + "' (" + opType + ")";
  std::string out =
      outputs.empty() || !outputs[0] ? std::string("?") : outputs[0]->getName();
  return "producing '" + out + "' (" + opType + ")";
}

} // namespace onnxprune
