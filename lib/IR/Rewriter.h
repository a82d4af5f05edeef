//===- Rewriter.h - The one way passes change a model -----------*- C++ -*-===//
///
/// \file
/// Every mutation a pass makes goes through a Rewriter (MLIR's
/// PatternRewriter idea): it keeps value and node names unique across the
/// whole model (ONNX forbids shadowing in subgraphs), counts what changed so
/// "nothing changed" is reliable, and keeps use lists consistent.
///
//===----------------------------------------------------------------------===//
#ifndef ONNXPRUNE_IR_REWRITER_H
#define ONNXPRUNE_IR_REWRITER_H

#include "lib/IR/Model.h"

#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSet.h"

namespace onnxprune {

class Rewriter {
public:
  explicit Rewriter(Model &model) : model(model) {}

  Model &getModel() const { return model; }

  /// A value/node name based on \p base that no graph of the model uses.
  std::string uniqueName(llvm::StringRef base);

  /// Creates `opType(inputs) -> numOutputs fresh values` before \p before
  /// (at the end of \p g when null). Output names derive from the node name.
  Node *createNode(Graph &g, llvm::StringRef opType,
                   llvm::ArrayRef<Value *> inputs, unsigned numOutputs,
                   Node *before, llvm::StringRef domain = "",
                   llvm::StringRef nameHint = "");
  /// Adds an initializer to \p g holding \p t (renamed to be unique).
  Value *createWeight(Graph &g, std::unique_ptr<Tensor> t);
  /// Replaces a weight's tensor contents (a slice, a rewrite).
  void updateWeight(Value *v, llvm::ArrayRef<int64_t> dims, std::string bytes);
  /// Slices an unchanged external weight without reading it: the writer
  /// streams the kept rows from the source file (Tensor::setLazySlice).
  void sliceWeightLazily(Value *v, llvm::ArrayRef<int64_t> dims,
                         std::vector<Tensor::SliceAxis> axes);

  void setInput(Node *n, unsigned i, Value *v);
  /// Points every use of \p from at \p to (graph outputs are left alone:
  /// outputs keep their names, see replaceGraphOutput).
  void replaceAllUsesWith(Value *from, Value *to);
  void replaceGraphOutput(Graph &g, unsigned i, Value *v);
  void setAttr(Node *n, Attribute a);
  void setType(Value *v, Type t);

  /// Turns \p n into `Identity(input i)`, keeping its output value (a
  /// graph output keeps its name): how a rewrite bypasses a node whose
  /// output cannot be renamed.
  void replaceWithIdentity(Node *n, unsigned i);
  /// Deletes a node whose outputs are unused.
  void eraseNode(Node *n);
  /// Deletes an unused initializer value and frees its tensor.
  void eraseInitializer(Value *v);

  /// Number of changes made so far; 0 means the model is untouched.
  unsigned getNumChanges() const { return numChanges; }
  /// Named counters ("nodes-erased", "weights-erased"...), for --stats.
  const llvm::StringMap<unsigned> &getStats() const { return stats; }

private:
  void bump(llvm::StringRef stat) {
    ++numChanges;
    ++stats[stat];
  }
  void collectNames();

  Model &model;
  llvm::StringSet<> usedNames;
  bool namesCollected = false;
  unsigned numChanges = 0;
  llvm::StringMap<unsigned> stats;
};

} // namespace onnxprune

#endif // ONNXPRUNE_IR_REWRITER_H
