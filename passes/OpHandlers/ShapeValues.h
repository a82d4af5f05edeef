//===- ShapeValues.h - Known values of shape tensors, on demand -*- C++ -*-===//
///
/// \file
/// Op handlers and fold-shapes need the values of the small integer tensors
/// that feed Reshape, Expand and Slice: `Shape -> Gather -> Unsqueeze ->
/// Concat` chains as PyTorch exports `x.view(b, s, 12, 64)`. This evaluates
/// such a value backwards from its use, running the shape-inference handlers
/// of passes/Analysis on the chain only (never the whole graph), with each
/// element a static int, a symbolic dim or unknown. It reads the types the
/// values have now, so after prune-width shrank some shapes it gives the
/// values the chain will compute at run time.
///
/// \code
///   s = Shape(x)                  # x: float[batch,128,768]
///   b = Gather<axis=0>(s, [0])    # [batch]
///   c = Concat<axis=0>(b, [12], [64])
///   evaluate(c) == [batch, 12, 64]
/// \endcode
///
//===----------------------------------------------------------------------===//
#ifndef ONNXPRUNE_PASSES_OPHANDLERS_SHAPEVALUES_H
#define ONNXPRUNE_PASSES_OPHANDLERS_SHAPEVALUES_H

#include "passes/OpHandlers/ShapeInferenceImpl.h"

#include <memory>

namespace onnxprune {

/// Types read instead of those the IR holds, by value (see
/// ShapeValueEvaluator's constructor).
using TypeOverrides = llvm::DenseMap<const Value *, Type>;

/// Evaluates small integer tensors (scalars and 1-D, at most
/// shapeinf::MaxKnownElements elements) from constants and shapes. Results
/// are cached: make a new evaluator after changing the graph.
class ShapeValueEvaluator {
public:
  ShapeValueEvaluator();
  /// An evaluator that reads the types in \p overrides (owned by the
  /// caller, who may add to it between calls) instead of those the values
  /// have: "what would the chain compute if x had this type", asked of a
  /// model it never changes.
  explicit ShapeValueEvaluator(const TypeOverrides &overrides);
  ~ShapeValueEvaluator();

  /// The elements of \p v, or null when they are not tracked (not a small
  /// integer tensor, or produced by an op shape inference does not know).
  const shapeinf::ValueVec *evaluate(Value *v);
  /// The elements of \p v when every one is a static int.
  std::optional<std::vector<int64_t>> evaluateInts(Value *v);
  /// Runs the shape-inference handler of \p n on the types its inputs have
  /// now and the known values of its small integer inputs (evaluated on
  /// demand): the output types it infers, or std::nullopt when the op is
  /// not known here or inference fails. Nothing in the graph changes.
  std::optional<std::vector<Type>> inferTypes(Node &n);

private:
  shapeinf::InferenceState state;
  llvm::DenseMap<const Value *, bool> visited;
};

} // namespace onnxprune

#endif // ONNXPRUNE_PASSES_OPHANDLERS_SHAPEVALUES_H
