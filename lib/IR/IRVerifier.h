//===- IRVerifier.h - Structural checks of the IR ---------------*- C++ -*-===//
///
/// \file
/// Checks the invariants every pass must keep, without ONNX's checker (which
/// knows ops and types; this knows the IR): use lists match operands, nodes
/// are in topological order (every operand is a graph input, a weight, an
/// earlier node's output or a value of an enclosing graph defined before
/// the subgraph's owner node), value names are unique across the model,
/// every graph output is defined, and weights' dims agree with their value
/// types. -verify-each runs it after every pass that changed the model.
///
//===----------------------------------------------------------------------===//
#ifndef ONNXPRUNE_LIB_IR_IRVERIFIER_H
#define ONNXPRUNE_LIB_IR_IRVERIFIER_H

#include "lib/IR/Model.h"

#include "llvm/Support/Error.h"

namespace onnxprune {

/// Returns the first broken invariant of \p m as a one-line error naming
/// the node and op ("node 'add_1' (Add): input 0 'x' is used before it is
/// defined"), or success.
llvm::Error verifyModelStructure(const Model &m);

} // namespace onnxprune

#endif // ONNXPRUNE_LIB_IR_IRVERIFIER_H
