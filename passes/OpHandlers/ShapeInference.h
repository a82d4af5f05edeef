//===- ShapeInference.h - onnx-prune's own shape inference ------*- C++ -*-===//
///
/// \file
/// Shape and element-type inference over the IR, independent of libonnx. The
/// frontend fills types with libonnx 1.12's inference, which knows opsets up
/// to 17 only; models at opsets 18-21 rely on this one, and the test suite
/// uses it as a cross-check of libonnx on older models.
///
/// Every graph is walked in topological order (subgraph bodies before the
/// node that owns them), one handler per op family, chosen by (domain, op
/// type) and told the model's opset for that domain. Besides types, small
/// integer tensors are tracked element by element ("known values"), each
/// element a static int, a symbolic Dim or unknown, so shape arithmetic
/// keeps symbolic dims:
///
/// \code
///   s = Shape(x)                 # x: float[batch,128,768], s =
///   [batch,128,768] b = Gather<axis=0>(s, 0)     # b = batch (scalar) c =
///   Concat<axis=0>(Unsqueeze(b, [0]), [12], [64]) y = Reshape(z, c) # y:
///   float[batch,12,64]
/// \endcode
///
/// An op without a handler leaves its outputs as they were: this never
/// guesses.
///
//===----------------------------------------------------------------------===//
#ifndef ONNXPRUNE_PASSES_OPHANDLERS_SHAPEINFERENCE_H
#define ONNXPRUNE_PASSES_OPHANDLERS_SHAPEINFERENCE_H

#include "lib/IR/Model.h"

#include "llvm/ADT/StringMap.h"
#include "llvm/Support/Error.h"

namespace onnxprune {

struct ShapeInferenceOptions {
  /// Replace the types values already have with the inferred ones. By
  /// default only values with no type (Kind::None) or no shape are filled,
  /// and unknown dims of known shapes refined; a known static dim is never
  /// changed, and an inferred static dim that contradicts one is an error.
  bool overwrite = false;
};

/// What a run did, for tests and `--stats`-style reports.
struct ShapeInferenceStats {
  /// Values whose type changed (filled or refined).
  unsigned valuesUpdated = 0;
  /// Nodes whose op has no handler, by "domain::OpType" ("" domain: ai.onnx).
  llvm::StringMap<unsigned> unknownOps;
};

/// Infers the types of the values of every graph of \p model. Fails, naming
/// the node, when the model contradicts itself (shapes that do not
/// broadcast, an inferred dim that differs from a declared one).
llvm::Error inferShapes(Model &model, const ShapeInferenceOptions &opts = {},
                        ShapeInferenceStats *stats = nullptr);

/// Fills the types a model read from a file leaves open: what the reader's
/// callers (the tool, the library facade, tests) ask for after reading,
/// since the reader runs no passes. Runs inferShapes(); the types the file
/// declares (graph inputs and outputs, value_info, of every graph) stay as
/// declared, only their open dims filled in. Types are a convenience here:
/// a model inference cannot handle keeps what it has, and this never fails.
void fillTypes(Model &model);

} // namespace onnxprune

#endif // ONNXPRUNE_PASSES_OPHANDLERS_SHAPEINFERENCE_H
