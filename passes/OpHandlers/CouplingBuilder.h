//===- CouplingBuilder.h - How op handlers state couplings ------*- C++ -*-===//
///
/// \file
/// The interface through which op handlers state which channel axes of a
/// node's inputs and outputs go together. It is declared here, at the
/// handler layer, and implemented by the dependency-graph analysis
/// (passes/Analysis/DepGraph.h, DepGraphBuilder), so that handlers never
/// include the analysis that calls them (no include cycle between the two
/// layers).
///
///   join(a, b)              element i of a is element i of b (Relu, BN,
///                           residual Add, a weight's output axis and the
///                           activation it makes);
///   joinBlocks(c, f, k, o)  element i of c is elements [o+i*k, o+(i+1)*k)
///                           of f (Concat inputs, Flatten of C*H*W, a head
///                           axis after Reshape [h*d] -> [h, d]);
///   joinMap(a, b, map)      element i of a is element map[i] of b (channel
///                           shuffle, Gather with constant indices);
///   tie(a, elems)           these elements of a go together (a conv group
///                           position, a RoPE pair);
///   freeze(a, node, rule)   nothing on this axis may be removed.
///
//===----------------------------------------------------------------------===//
#ifndef ONNXPRUNE_PASSES_OPHANDLERS_COUPLINGBUILDER_H
#define ONNXPRUNE_PASSES_OPHANDLERS_COUPLINGBUILDER_H

#include "lib/IR/Model.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"

#include <cstdint>

namespace onnxprune {

/// Integer (or bool) data of rank <= 1: shape arithmetic (`Shape -> Gather
/// -> Concat -> Reshape`), shape constants, masks; never a channel space
/// of its own.
bool isShapeData(const Value *v);

/// One axis of one value.
struct AxisRef {
  Value *value = nullptr;
  unsigned axis = 0;
  bool operator==(const AxisRef &o) const {
    return value == o.value && axis == o.axis;
  }
};

/// How the groups are built.
struct DepGraphOptions {
  /// Hidden-size pruning (VTrans / Minitron): axes normalised over by
  /// LayerNorm / RMSNorm (fused, or decomposed into ReduceMean chains) are
  /// not frozen even on a residual stream, so the stream becomes a group
  /// with the embeddings, the norms and every projection reading or
  /// writing it. Without it, only a decomposed norm whose axis carries no
  /// skip connection lets its axis go (see freezeIfResidual). Decomposed
  /// norms stay exact for removed channels that are zero (the mean is
  /// rescaled to the original count, a LayerNorm's variance gets the
  /// removed channels' share back); a fused LayerNormalization's
  /// statistics change (approximate: measure it with
  /// check-numerics<report>).
  bool hidden = false;
};

/// What op handlers use to state couplings. See the file comment.
class CouplingBuilder {
public:
  virtual ~CouplingBuilder();

  /// The options the graph is built with.
  virtual const DepGraphOptions &options() const = 0;

  /// Static size of an axis, or -1 when unknown (dynamic or no shape).
  static int64_t size(AxisRef a);
  /// Rank of a value, or -1.
  static int64_t rank(const Value *v);

  virtual void join(AxisRef a, AxisRef b, const Node &why) = 0;
  virtual void joinBlocks(AxisRef coarse, AxisRef fine, int64_t block,
                          int64_t fineOffset, const Node &why) = 0;
  virtual void joinMap(AxisRef a, AxisRef b, llvm::ArrayRef<int64_t> map,
                       const Node &why) = 0;
  virtual void tie(AxisRef a, llvm::ArrayRef<int64_t> elements,
                   const Node &why) = 0;
  virtual void freeze(AxisRef a, const Node *n, llvm::StringRef rule) = 0;
  /// Freezes \p a as freeze() does, but only when the group it ends up in
  /// carries a skip connection: an Add (or Sum) of two activations that both
  /// hold the axis whole, as a transformer's residual stream does. Decided
  /// once every node is built. A normalisation inside an MLP block
  /// (openWakeWord's dense LayerNorms) then leaves its axis prunable, while
  /// the hidden size of a residual stream stays frozen unless the user
  /// opts in (DepGraphOptions::hidden).
  virtual void freezeIfResidual(AxisRef a, const Node *n,
                                llvm::StringRef rule) = 0;
  /// Declares that axis \p a, of dynamic size, is for coupling an axis of
  /// \p size elements: element h stands for all positions {j·size + h}
  /// (the inner factor of a dynamic × size merge, e.g. torch MHA's b·H).
  /// Identity joins carry it to other dynamic axes; WidthPruner never
  /// writes a size into its type. Only a Reshape handler that proved the
  /// factoring may call it. Axes of dynamic size are joined into classes
  /// (so a later virtual size reaches every axis joined before), and a
  /// class with a virtual size that a node outside a small set of ops
  /// touches is frozen (see buildDepGraph).
  virtual void setVirtualSize(AxisRef a, int64_t size) = 0;
  /// The virtual size of a dynamic axis, or -1.
  virtual int64_t virtualSize(AxisRef a) = 0;
  /// Freezes every axis of \p v.
  virtual void freezeValue(Value *v, const Node *n, llvm::StringRef rule) = 0;
  /// Freezes every axis of every input and output of \p n.
  virtual void freezeNode(const Node &n, llvm::StringRef rule) = 0;
};

} // namespace onnxprune

#endif // ONNXPRUNE_PASSES_OPHANDLERS_COUPLINGBUILDER_H
