//===- DCEPassTest.cpp - Tests of the dce pass ----------------------------===//
///
/// \file
/// The dce pass on graphs built by hand with the Graph API: dead chains,
/// unused initializers, lifted Constants, graph inputs and outputs, values
/// captured by subgraphs, and the "nothing changed" report.
///
//===----------------------------------------------------------------------===//

#include "passes/Transforms/DCEPass.h"

#include "lib/IR/IRVerifier.h"
#include "lib/IR/Rewriter.h"

#include "gtest/gtest.h"

using namespace onnxprune;
using llvm::StringRef;

namespace {

Type floatTensor(llvm::ArrayRef<int64_t> dims) {
  Shape s;
  for (int64_t d : dims)
    s.push_back(Dim::of(d));
  return Type::tensor(DataType::Float, s);
}

class DCEPassTest : public ::testing::Test {
protected:
  Graph &g() { return m.getGraph(); }

  Value *input(Graph &graph, StringRef name) {
    Value *v = graph.createValue(name);
    v->setType(floatTensor({2, 3}));
    graph.addInput(v);
    return v;
  }
  Value *weight(Graph &graph, StringRef name) {
    auto t = std::make_unique<Tensor>(name.str(), DataType::Float,
                                      llvm::ArrayRef<int64_t>{2, 3});
    t->setData({2, 3}, std::string(24, '\0'));
    Tensor *raw = m.getWeights().add(std::move(t));
    Value *v = graph.createValue(name);
    graph.setInitializer(v, raw);
    v->setType(floatTensor({2, 3}));
    return v;
  }
  /// A lifted Constant node producing weight \p name.
  Node *constant(Graph &graph, StringRef name) {
    Node *n = graph.createNode("Constant", "", (name + "_node").str());
    Value *v = graph.createValue(name);
    graph.addNodeOutput(n, v);
    auto t = std::make_unique<Tensor>(name.str(), DataType::Float,
                                      llvm::ArrayRef<int64_t>{2, 3});
    t->setData({2, 3}, std::string(24, '\0'));
    t->liftedFromAttr = "value";
    graph.setLiftedWeight(v, m.getWeights().add(std::move(t)));
    v->setType(floatTensor({2, 3}));
    return n;
  }
  Node *node(Graph &graph, StringRef op, llvm::ArrayRef<Value *> ins,
             llvm::ArrayRef<StringRef> outs, StringRef name) {
    Node *n = graph.createNode(op, "", name);
    for (Value *v : ins)
      graph.addNodeInput(n, v);
    for (StringRef o : outs) {
      Value *v = graph.createValue(o);
      v->setType(floatTensor({2, 3}));
      graph.addNodeOutput(n, v);
    }
    return n;
  }
  /// Adds an If node reading \p cond whose then/else branches are created
  /// empty; returns the node.
  Node *ifNode(Graph &graph, Value *cond, StringRef out, StringRef name) {
    Node *n = node(graph, "If", {cond}, {out}, name);
    for (const char *branch : {"then_branch", "else_branch"}) {
      Attribute a(branch, AttrKind::Graph);
      a.graphs.push_back(std::make_unique<Graph>(m, n));
      a.graphs.back()->name = (name + "_" + branch).str();
      n->setAttr(std::move(a));
    }
    return n;
  }
  Graph &branch(Node *n, StringRef attr) {
    return *n->getAttr(attr)->graphs.front();
  }

  /// Runs dce and returns whether it reported a change.
  bool runDCE() {
    ModelAnalysisManager am;
    auto pa = DCEPass().run(m, am);
    EXPECT_TRUE(bool(pa));
    if (!pa) {
      llvm::consumeError(pa.takeError());
      return false;
    }
    return !pa->areAllPreserved();
  }

  std::vector<std::string> nodeNames(const Graph &graph) {
    std::vector<std::string> names;
    for (const Node &n : graph.getNodes())
      names.push_back(n.getName());
    return names;
  }

  void expectValid() {
    llvm::Error err = verifyModelStructure(m);
    EXPECT_FALSE(bool(err)) << llvm::toString(std::move(err));
  }

  Model m;
};

TEST_F(DCEPassTest, RemovesDeadChainAndReportsNoChangeAfterwards) {
  Value *x = input(g(), "x");
  Node *relu = node(g(), "Relu", {x}, {"a"}, "relu");
  node(g(), "Sigmoid", {relu->getOutput(0)}, {"b"}, "sigmoid");
  Node *neg = node(g(), "Neg", {x}, {"y"}, "neg");
  g().addOutput(neg->getOutput(0));

  EXPECT_TRUE(runDCE());
  EXPECT_EQ(nodeNames(g()), std::vector<std::string>{"neg"});
  EXPECT_EQ(g().lookup("a"), nullptr);
  EXPECT_EQ(g().lookup("b"), nullptr);
  expectValid();

  EXPECT_FALSE(runDCE());
  EXPECT_EQ(nodeNames(g()), std::vector<std::string>{"neg"});
}

TEST_F(DCEPassTest, KeepsGraphInputsOutputsAndPartlyUsedNodes) {
  Value *x = input(g(), "x");
  input(g(), "unused_input");
  Node *split = node(g(), "Split", {x}, {"s0", "s1"}, "split");
  // Only the second output is used: the node stays.
  Node *abs = node(g(), "Abs", {split->getOutput(1)}, {"y"}, "abs");
  g().addOutput(abs->getOutput(0));
  // An output read by nobody but listed as a graph output stays too.
  Node *relu = node(g(), "Relu", {x}, {"z"}, "relu");
  g().addOutput(relu->getOutput(0));

  EXPECT_FALSE(runDCE());
  EXPECT_EQ(g().getInputs().size(), 2u);
  EXPECT_EQ(nodeNames(g()), (std::vector<std::string>{"split", "abs", "relu"}));
}

TEST_F(DCEPassTest, RemovesUnusedInitializersButNotGraphInputs) {
  Value *x = input(g(), "x");
  Value *used = weight(g(), "W");
  weight(g(), "unused_W");
  Value *overridable = weight(g(), "B"); // Initializer that is an input.
  g().addInput(overridable);
  Value *onlyDead = weight(g(), "dead_W");
  node(g(), "Add", {x, onlyDead}, {"dead"}, "dead_add");
  Node *mul = node(g(), "Mul", {x, used}, {"y"}, "mul");
  g().addOutput(mul->getOutput(0));
  size_t weightsBefore = m.getWeights().size();

  EXPECT_TRUE(runDCE());
  EXPECT_EQ(nodeNames(g()), std::vector<std::string>{"mul"});
  std::vector<std::string> inits;
  for (Value *v : g().getInitializers())
    inits.push_back(v->getName());
  EXPECT_EQ(inits, (std::vector<std::string>{"W", "B"}));
  EXPECT_EQ(m.getWeights().size(), weightsBefore - 2);
  EXPECT_EQ(g().getInputs().size(), 2u);
  expectValid();
}

TEST_F(DCEPassTest, RemovesUnusedLiftedConstants) {
  Value *x = input(g(), "x");
  constant(g(), "c_dead");
  Node *live = constant(g(), "c_live");
  Node *add = node(g(), "Add", {x, live->getOutput(0)}, {"y"}, "add");
  g().addOutput(add->getOutput(0));
  size_t weightsBefore = m.getWeights().size();

  EXPECT_TRUE(runDCE());
  EXPECT_EQ(nodeNames(g()), (std::vector<std::string>{"c_live_node", "add"}));
  EXPECT_EQ(m.getWeights().size(), weightsBefore - 1);
  expectValid();
}

TEST_F(DCEPassTest, ValuesCapturedBySubgraphsAreLive) {
  Value *x = input(g(), "x");
  Value *cond = input(g(), "cond");
  Node *relu = node(g(), "Relu", {x}, {"t"}, "relu"); // Read by a branch.
  Value *w = weight(g(), "W");                        // Read by a branch.
  Node *iff = ifNode(g(), cond, "y", "if");
  g().addOutput(iff->getOutput(0));

  Graph &thenG = branch(iff, "then_branch");
  Node *inner =
      node(thenG, "Add", {relu->getOutput(0), w}, {"then_out"}, "then_add");
  thenG.addOutput(inner->getOutput(0));
  node(thenG, "Neg", {x}, {"then_dead"}, "then_dead_neg"); // Dead inside.
  Graph &elseG = branch(iff, "else_branch");
  Node *ident = node(elseG, "Identity", {x}, {"else_out"}, "else_id");
  elseG.addOutput(ident->getOutput(0));

  EXPECT_TRUE(runDCE());
  EXPECT_EQ(nodeNames(g()), (std::vector<std::string>{"relu", "if"}));
  EXPECT_EQ(nodeNames(thenG), std::vector<std::string>{"then_add"});
  EXPECT_EQ(g().getInitializers().size(), 1u);
  expectValid();
  EXPECT_FALSE(runDCE());
}

TEST_F(DCEPassTest, DeadSubgraphOwnerReleasesCapturedValues) {
  Value *x = input(g(), "x");
  Value *cond = input(g(), "cond");
  Node *relu = node(g(), "Relu", {x}, {"t"}, "relu");
  Value *w = weight(g(), "W");
  Node *iff = ifNode(g(), cond, "unused", "if");
  Graph &thenG = branch(iff, "then_branch");
  Node *inner =
      node(thenG, "Add", {relu->getOutput(0), w}, {"then_out"}, "then_add");
  thenG.addOutput(inner->getOutput(0));
  Node *neg = node(g(), "Neg", {x}, {"y"}, "neg");
  g().addOutput(neg->getOutput(0));

  EXPECT_TRUE(runDCE());
  // The If is dead; then its captures (relu, W) are dead too.
  EXPECT_EQ(nodeNames(g()), std::vector<std::string>{"neg"});
  EXPECT_TRUE(g().getInitializers().empty());
  EXPECT_EQ(g().lookup("t"), nullptr);
  expectValid();
}

TEST_F(DCEPassTest, NodesWithUnknownDomainsAreRemovedToo) {
  Value *x = input(g(), "x");
  Node *custom = g().createNode("Fancy", "com.example", "custom");
  g().addNodeInput(custom, x);
  g().addNodeOutput(custom, g().createValue("f"));
  Node *neg = node(g(), "Neg", {x}, {"y"}, "neg");
  g().addOutput(neg->getOutput(0));
  EXPECT_TRUE(runDCE());
  EXPECT_EQ(nodeNames(g()), std::vector<std::string>{"neg"});
}

} // namespace
