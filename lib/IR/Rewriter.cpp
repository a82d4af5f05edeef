//===- Rewriter.cpp - The one way passes change a model -------------------===//

#include "lib/IR/Rewriter.h"

namespace onnxprune {

void Rewriter::collectNames() {
  if (namesCollected)
    return;
  namesCollected = true;
  model.forEachGraph([&](Graph &g) {
    for (Value *v : g.getValues())
      usedNames.insert(v->getName());
    for (Node &n : g.getNodes())
      if (!n.getName().empty())
        usedNames.insert(n.getName());
  });
}

std::string Rewriter::uniqueName(llvm::StringRef base) {
  collectNames();
  std::string b = base.empty() ? std::string("v") : base.str();
  std::string name = b;
  for (unsigned i = 1; usedNames.count(name); ++i)
    name = b + "_" + std::to_string(i);
  usedNames.insert(name);
  return name;
}

Node *Rewriter::createNode(Graph &g, llvm::StringRef opType,
                           llvm::ArrayRef<Value *> inputs, unsigned numOutputs,
                           Node *before, llvm::StringRef domain,
                           llvm::StringRef nameHint) {
  std::string name = uniqueName(nameHint.empty() ? opType : nameHint);
  Node *n = g.createNode(opType, domain, name, before);
  for (Value *v : inputs)
    g.addNodeInput(n, v);
  for (unsigned i = 0; i < numOutputs; ++i)
    g.addNodeOutput(n, g.createValue(uniqueName(name + "_out")));
  bump("nodes-created");
  return n;
}

Value *Rewriter::createWeight(Graph &g, std::unique_ptr<Tensor> t) {
  std::string name = uniqueName(t->getName());
  t->setName(name);
  Value *v = g.createValue(name);
  Tensor *raw = model.getWeights().add(std::move(t));
  g.setInitializer(v, raw);
  v->setType(Type::tensor(raw->getDataType(), [&] {
    Shape s;
    for (int64_t d : raw->getDims())
      s.push_back(Dim::of(d));
    return s;
  }()));
  bump("weights-created");
  return v;
}

void Rewriter::updateWeight(Value *v, llvm::ArrayRef<int64_t> dims,
                            std::string bytes) {
  assert(v->isWeight() && "not a weight");
  v->getWeight()->setData(dims, std::move(bytes));
  Shape s;
  for (int64_t d : dims)
    s.push_back(Dim::of(d));
  v->setType(Type::tensor(v->getWeight()->getDataType(), s));
  bump("weights-updated");
}

void Rewriter::sliceWeightLazily(Value *v, llvm::ArrayRef<int64_t> dims,
                                 std::vector<Tensor::SliceAxis> axes) {
  assert(v->isWeight() && v->getWeight()->hasExternalData());
  v->getWeight()->setLazySlice(dims, std::move(axes));
  Shape s;
  for (int64_t d : dims)
    s.push_back(Dim::of(d));
  v->setType(Type::tensor(v->getWeight()->getDataType(), s));
  bump("weights-updated");
}

void Rewriter::setInput(Node *n, unsigned i, Value *v) {
  n->getGraph()->setNodeInput(n, i, v);
  bump("operands-set");
}

void Rewriter::replaceAllUsesWith(Value *from, Value *to) {
  llvm::SmallVector<Use, 4> uses(from->getUses().begin(),
                                 from->getUses().end());
  for (const Use &u : uses)
    u.user->getGraph()->setNodeInput(u.user, u.operandIndex, to);
  bump("values-replaced");
}

void Rewriter::replaceGraphOutput(Graph &g, unsigned i, Value *v) {
  g.setOutput(i, v);
  bump("outputs-replaced");
}

void Rewriter::setAttr(Node *n, Attribute a) {
  n->setAttr(std::move(a));
  bump("attrs-set");
}

void Rewriter::setType(Value *v, Type t) {
  if (v->getType() == t)
    return;
  v->setType(std::move(t));
  bump("types-set");
}

void Rewriter::replaceWithIdentity(Node *n, unsigned i) {
  assert(n->getNumOutputs() == 1 && "Identity has one output");
  Graph *g = n->getGraph();
  g->setNodeInput(n, 0, n->getInput(i));
  g->truncateNodeInputs(n, 1);
  n->opType = "Identity";
  n->domain.clear();
  n->attrs.clear();
  bump("nodes-rewritten");
}

void Rewriter::eraseNode(Node *n) {
  n->getGraph()->eraseNode(n);
  bump("nodes-erased");
}

void Rewriter::eraseInitializer(Value *v) {
  assert(v->isInitializer() && !v->hasUses() && !v->isGraphOutput() &&
         "initializer still used");
  Graph *g = v->getGraph();
  Tensor *t = v->getWeight();
  g->removeInitializer(v);
  if (v->isGraphInput()) {
    auto ins = g->getInputs();
    for (unsigned i = 0; i < ins.size(); ++i)
      if (ins[i] == v) {
        g->removeInput(i);
        break;
      }
  }
  g->eraseValue(v);
  model.getWeights().erase(t);
  bump("weights-erased");
}

} // namespace onnxprune
