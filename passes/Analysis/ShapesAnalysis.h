//===- ShapesAnalysis.h - Every value with its type -------------*- C++ -*-===//
///
/// \file
/// Lists every value of every graph with its type, in a deterministic order:
/// per graph (main graph first, then subgraphs depth-first), the graph
/// inputs, then the weights (initializers in file order, then lifted
/// Constant outputs in node order), then the other node outputs in
/// topological order. `print<shapes>` is how tests look at shapes.
///
/// \code
///   graph 'main':
///     input x: float[N,3,8,8]
///     weight W: float[4,3,3,3]
///     value y: float[N,4,6,6]
/// \endcode
///
//===----------------------------------------------------------------------===//
#ifndef ONNXPRUNE_PASSES_OPHANDLERS_SHAPESANALYSIS_H
#define ONNXPRUNE_PASSES_OPHANDLERS_SHAPESANALYSIS_H

#include "passes/PassManager.h"

#include <string>
#include <vector>

namespace onnxprune {

/// The values of a model and their types, in print order.
struct ShapesInfo {
  enum class Kind { Input, Weight, Value };
  struct Entry {
    Kind kind;
    std::string name;
    Type type;
  };
  struct GraphEntry {
    /// "graph 'main'" or "graph 'body' (attribute 'body' of node 'l' (Loop))".
    std::string title;
    std::vector<Entry> values;
  };
  std::vector<GraphEntry> graphs;

  /// Prints one line per value (see the file comment).
  void print(llvm::raw_ostream &os, const Model &m) const;
};

/// Collects the ShapesInfo of \p m.
ShapesInfo computeShapes(const Model &m);

/// The `shapes` analysis.
class ShapesAnalysis {
public:
  using Result = ShapesInfo;
  static inline AnalysisKey Key;
  static llvm::StringRef name() { return "shapes"; }
  Result run(const Model &m, ModelAnalysisManager &) {
    return computeShapes(m);
  }
};

} // namespace onnxprune

#endif // ONNXPRUNE_PASSES_OPHANDLERS_SHAPESANALYSIS_H
