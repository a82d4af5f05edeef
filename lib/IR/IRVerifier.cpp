//===- IRVerifier.cpp - Structural checks of the IR -----------------------===//
///
/// \file
/// verifyModelStructure(): use lists, topological order, unique names,
/// defined outputs, weight dims.
///
//===----------------------------------------------------------------------===//

#include "lib/IR/IRVerifier.h"

#include "lib/Support/Error.h"

#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringMap.h"

using namespace llvm;

namespace onnxprune {

namespace {

std::string dimsToString(ArrayRef<int64_t> dims) {
  std::string s = "[";
  for (size_t i = 0; i < dims.size(); ++i) {
    if (i)
      s += ",";
    s += std::to_string(dims[i]);
  }
  return s + "]";
}

class Verifier {
public:
  explicit Verifier(const Model &m) : model(m) {}

  Error run() {
    collect(model.getGraph());
    SmallVector<const DenseSet<const Value *> *, 4> scopes;
    return verifyGraph(model.getGraph(), nullptr, scopes);
  }

private:
  static Error nodeError(const Node &n, const Twine &msg) {
    return makeError("node " + n.describe() + ": " + msg);
  }
  static std::string graphName(const Graph &g) {
    return "graph '" + g.name + "'";
  }

  void collect(const Graph &g) {
    graphs.insert(&g);
    for (const Node &n : g.getNodes()) {
      nodes.insert(&n);
      n.forEachSubgraph([&](const Graph &sub) { collect(sub); });
    }
  }

  Error checkWeight(const Value *v) {
    const Tensor *t = v->getWeight();
    const Type &ty = v->getType();
    if (ty.kind == Type::Kind::None)
      return Error::success();
    if (!ty.isTensor())
      return makeError("weight '" + v->getName() + "' has a non-tensor type " +
                       typeToString(ty));
    if (ty.elemType != DataType::Undefined && ty.elemType != t->getDataType())
      return makeError("weight '" + v->getName() + "': tensor type " +
                       dataTypeName(t->getDataType()) +
                       " does not match its type " + typeToString(ty));
    if (!ty.hasRank())
      return Error::success();
    ArrayRef<int64_t> dims = t->getDims();
    bool same = ty.shape->size() == dims.size();
    for (size_t i = 0; same && i < dims.size(); ++i)
      same = (*ty.shape)[i].isStatic() && (*ty.shape)[i].value == dims[i];
    if (!same)
      return makeError("weight '" + v->getName() + "': tensor dims " +
                       dimsToString(dims) + " do not match its type " +
                       typeToString(ty));
    return Error::success();
  }

  static bool inScope(const Value *v, const DenseSet<const Value *> &local,
                      ArrayRef<const DenseSet<const Value *> *> scopes) {
    if (local.count(v))
      return true;
    return any_of(scopes, [&](const DenseSet<const Value *> *s) {
      return s->count(v) != 0;
    });
  }

  Error verifyGraph(const Graph &g, const Node *owner,
                    SmallVectorImpl<const DenseSet<const Value *> *> &scopes) {
    if (g.getOwnerNode() != owner)
      return makeError(graphName(g) + " has the wrong owner node");

    // Names and registration.
    std::vector<Value *> values = g.getValues();
    for (const Value *v : values) {
      if (v->getGraph() != &g || g.lookup(v->getName()) != v)
        return makeError("value '" + v->getName() + "' is not registered in " +
                         graphName(g));
      auto ins = names.try_emplace(v->getName(), &g);
      if (!ins.second)
        return makeError("value name '" + v->getName() + "' is used in " +
                         graphName(*ins.first->second) + " and in " +
                         graphName(g));
      bool listedOut = is_contained(g.getOutputs(), v);
      if (listedOut != v->isGraphOutput())
        return makeError("value '" + v->getName() +
                         "': graph output flag out of sync");
      bool listedIn = is_contained(g.getInputs(), v);
      if (listedIn != v->isGraphInput())
        return makeError("value '" + v->getName() +
                         "': graph input flag out of sync");
      for (const Use &u : v->getUses()) {
        if (!nodes.count(u.user))
          return makeError("value '" + v->getName() +
                           "' has a use by a node that is not in the model");
        if (u.user->getInput(u.operandIndex) != v)
          return nodeError(*u.user, "use list of '" + v->getName() +
                                        "' names input " +
                                        Twine(u.operandIndex) +
                                        ", which reads another value");
      }
    }

    DenseSet<const Value *> defined;
    for (const Value *v : g.getInputs()) {
      if (v->getGraph() != &g)
        return makeError("input '" + v->getName() + "' of " + graphName(g) +
                         " belongs to another graph");
      if (v->getProducer())
        return nodeError(*v->getProducer(),
                         "produces graph input '" + v->getName() + "'");
      defined.insert(v);
    }
    for (const Value *v : g.getInitializers()) {
      if (v->getGraph() != &g)
        return makeError("initializer '" + v->getName() + "' of " +
                         graphName(g) + " belongs to another graph");
      if (!v->isInitializer())
        return makeError("initializer '" + v->getName() +
                         "' has no tensor or has a producer");
      if (Error err = checkWeight(v))
        return err;
      defined.insert(v);
    }

    for (const Node &n : g.getNodes()) {
      if (n.getGraph() != &g)
        return nodeError(n, "is listed in " + graphName(g) +
                                " but belongs to another graph");
      for (unsigned i = 0, e = n.getNumInputs(); i < e; ++i) {
        const Value *v = n.getInput(i);
        if (!v)
          continue;
        if (!is_contained(v->getUses(), Use{const_cast<Node *>(&n), i}))
          return nodeError(n, "input " + Twine(i) + " '" + v->getName() +
                                  "' is missing from its use list");
        if (inScope(v, defined, scopes))
          continue;
        if (!graphs.count(v->getGraph()))
          return nodeError(n, "input " + Twine(i) + " '" + v->getName() +
                                  "' belongs to no graph of the model");
        bool enclosing = false;
        for (const Graph *p = &g; p; p = p->getParentGraph())
          enclosing |= p == v->getGraph();
        if (!enclosing)
          return nodeError(n, "input " + Twine(i) + " '" + v->getName() +
                                  "' belongs to a graph that does not "
                                  "enclose the node");
        return nodeError(n, "input " + Twine(i) + " '" + v->getName() +
                                "' is used before it is defined");
      }

      scopes.push_back(&defined);
      for (const Attribute &a : n.getAttrs())
        for (const auto &sub : a.graphs)
          if (Error err = verifyGraph(*sub, &n, scopes)) {
            scopes.pop_back();
            return err;
          }
      scopes.pop_back();

      for (unsigned i = 0, e = n.getNumOutputs(); i < e; ++i) {
        const Value *v = n.getOutput(i);
        if (!v)
          continue;
        if (v->getProducer() != &n || v->getOutputIndex() != i)
          return nodeError(n, "output " + Twine(i) + " '" + v->getName() +
                                  "' does not name the node as producer");
        if (v->getGraph() != &g)
          return nodeError(n, "output " + Twine(i) + " '" + v->getName() +
                                  "' belongs to another graph");
        if (v->isGraphInput())
          return nodeError(n, "output " + Twine(i) + " '" + v->getName() +
                                  "' is also a graph input");
        if (v->isWeight()) {
          if (!n.isLiftedConstant() || i != 0)
            return nodeError(n, "output '" + v->getName() +
                                    "' is a weight but the node is not a "
                                    "lifted Constant");
          if (Error err = checkWeight(v))
            return nodeError(n, toString(std::move(err)));
        }
        if (!defined.insert(v).second)
          return nodeError(n, "output '" + v->getName() + "' is defined twice");
      }
    }

    for (unsigned i = 0, e = g.getOutputs().size(); i < e; ++i) {
      const Value *v = g.getOutputs()[i];
      if (!v)
        return makeError(graphName(g) + ": output " + Twine(i) + " is null");
      if (!inScope(v, defined, scopes))
        return makeError(graphName(g) + ": output " + Twine(i) + " '" +
                         v->getName() + "' is not defined");
    }
    return Error::success();
  }

  const Model &model;
  DenseSet<const Node *> nodes;
  DenseSet<const Graph *> graphs;
  StringMap<const Graph *> names;
};

} // namespace

Error verifyModelStructure(const Model &m) { return Verifier(m).run(); }

} // namespace onnxprune
