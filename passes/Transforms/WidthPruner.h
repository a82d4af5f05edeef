//===- WidthPruner.h - Remove units of dependency groups --------*- C++ -*-===//
///
/// \file
/// The mechanics under prune-width: given the dependency groups and the
/// units to remove, slice every weight on every member axis (each weight
/// once, even when shared), shrink the shapes of the activations, and let
/// each affected node's op handler fix what is specific to it (Conv group,
/// Reshape targets, Split sizes, head counts). Dead nodes are left for dce.
///
///   before: W1[64,3,3,3] -> Conv -> Relu -> Conv <- W2[32,64,3,3]
///   remove units {5, 9} of the group of W1's output axis:
///   after:  W1[62,3,3,3] -> Conv -> Relu -> Conv <- W2[32,62,3,3]
///
//===----------------------------------------------------------------------===//
#ifndef ONNXPRUNE_PASSES_TRANSFORMS_WIDTHPRUNER_H
#define ONNXPRUNE_PASSES_TRANSFORMS_WIDTHPRUNER_H

#include "lib/IR/Rewriter.h"
#include "passes/Analysis/DepGraph.h"

namespace onnxprune {

/// Removes \p units (ids below dg.getNumUnits(), all prunable) from \p m.
/// Fails, changing nothing, when a unit is not prunable or the removal
/// would leave some axis empty.
llvm::Error applyPruning(Model &m, const DepGraph &dg,
                         llvm::ArrayRef<unsigned> units, Rewriter &rw);

/// Zeroes, in place, the weight slices that removing \p units would cut
/// away (all weight members, biases included, except divisors and
/// exponents where zero would mean inf/NaN), leaving every shape as it is.
/// Masking and pruning the same units must give the same outputs (to float
/// tolerance): the core property test.
llvm::Error applyMasking(Model &m, const DepGraph &dg,
                         llvm::ArrayRef<unsigned> units, Rewriter &rw);

} // namespace onnxprune

#endif // ONNXPRUNE_PASSES_TRANSFORMS_WIDTHPRUNER_H
