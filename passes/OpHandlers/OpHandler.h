//===- OpHandler.h - Per-op pruning knowledge -------------------*- C++ -*-===//
///
/// \file
/// An OpHandler knows one op family (Torch-Pruning's per-layer pruners, in
/// C++): how the channel axes of its inputs and outputs are coupled
/// (build), and how to fix the node's attributes and shape constants after
/// some of those axes shrank (rewrite). Weights and value shapes are sliced
/// generically by prune-width; a handler only touches what is specific to
/// its op (Conv `group`, Reshape targets, Split sizes, head counts...).
///
/// Handlers are looked up by (domain, op type, opset range). An op without
/// one freezes every axis it touches: an unknown op is never assumed
/// elementwise. In-tree handlers are listed in OpHandlers.def; out-of-tree
/// ones register with registerOpHandler() (no static constructors).
///
//===----------------------------------------------------------------------===//
#ifndef ONNXPRUNE_PASSES_OPHANDLERS_OPHANDLER_H
#define ONNXPRUNE_PASSES_OPHANDLERS_OPHANDLER_H

#include "passes/OpHandlers/CouplingBuilder.h"

#include "lib/IR/Rewriter.h"

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace onnxprune {

/// What a handler's rewrite sees: which elements of each axis survive.
class PruneContext {
public:
  virtual ~PruneContext() = default;
  /// Kept indices of axis \p a in increasing order, or null when the axis
  /// did not change.
  virtual const std::vector<int64_t> *kept(AxisRef a) const = 0;
  /// The size of \p a before pruning (static), or -1.
  virtual int64_t oldSize(AxisRef a) const = 0;
  virtual Rewriter &rewriter() = 0;
  /// Size after pruning (old size when unchanged, -1 when unknown).
  int64_t newSize(AxisRef a) const {
    const std::vector<int64_t> *k = kept(a);
    return k ? (int64_t)k->size() : oldSize(a);
  }
};

class OpHandler {
public:
  virtual ~OpHandler();
  /// States the couplings of \p n's axes.
  virtual void build(const Node &n, CouplingBuilder &b) const = 0;
  /// Fixes \p n after pruning (its weights and value types are already
  /// sliced). Called only for nodes with an input or output axis that
  /// changed.
  virtual llvm::Error rewrite(Node &n, PruneContext &ctx) const;
  /// True when input \p i of \p n holds statistics of the data the model
  /// was trained on (BatchNormalization's running mean and variance), not
  /// learned weights. They are sliced with their channel like any member,
  /// but criteria do not score them (a channel whose weights are all zero
  /// is dead whatever its statistics) and they are buffers, not parameters
  /// (torch keeps them in buffers()).
  virtual bool isStatisticsInput(const Node &n, unsigned i) const;

  /// How masking (applyMasking) writes "removed" into operand \p i.
  enum class MaskMode {
    Zero,    ///< The caller writes zero bytes (float weights, biases).
    Keep,    ///< Left as it is: scales and zero points, whose zero would
             ///< divide by zero or no longer match the integer weight.
    Written, ///< The handler wrote the stored value meaning 0 (a
             ///< quantized weight's zero point).
  };
  /// Masks elements \p removed of axis \p axis of operand \p i, a weight
  /// of dims \p dims whose bytes are \p data, or says how the caller
  /// should. The default: Zero.
  virtual llvm::Expected<MaskMode> maskOperand(const Node &n, unsigned i,
                                               unsigned axis,
                                               llvm::ArrayRef<int64_t> removed,
                                               llvm::ArrayRef<int64_t> dims,
                                               std::string &data) const;
  /// For an operand this op reads as quantized integers: the values they
  /// stand for, one per stored element ((q - zero point) * scale, or
  /// unscaled where the scale is applied after the op), so that magnitude
  /// criteria see weights, not codes. std::nullopt for other operands
  /// (the default).
  virtual llvm::Expected<std::optional<std::vector<double>>>
  dequantizeOperand(const Node &n, unsigned i) const;
};

/// The handler for an op at an opset version, or null.
const OpHandler *lookupOpHandler(llvm::StringRef domain, llvm::StringRef op,
                                 int64_t opsetVersion);
/// Adds a handler (out-of-tree plugins). Later registrations win.
void registerOpHandler(llvm::StringRef domain, llvm::StringRef op,
                       int64_t minOpset, int64_t maxOpset,
                       std::shared_ptr<const OpHandler> handler);

/// isStatisticsInput() of the handler of \p n at its model's opset (false
/// for an op without a handler).
bool isStatisticsOperand(const Node &n, unsigned i);
/// True when weight \p w is read, and only read, as statistics (directly or
/// through Identity, as exporters that merge equal tensors do).
bool isStatisticsWeight(const Value &w);
/// OpHandler::dequantizeOperand of the first reader of weight \p w that
/// reads it as quantized integers (std::nullopt when none does).
llvm::Expected<std::optional<std::vector<double>>>
dequantizedWeight(const Value &w);
/// OpHandler::maskOperand of the first reader of weight \p w whose handler
/// does not answer Zero (Zero when none does).
llvm::Expected<OpHandler::MaskMode> maskWeight(const Value &w, unsigned axis,
                                               llvm::ArrayRef<int64_t> removed,
                                               llvm::ArrayRef<int64_t> dims,
                                               std::string &data);

// ---- Helpers shared by handlers ---------------------------------------

/// Reads a constant int64 (or int32) input: a weight or lifted Constant.
std::optional<std::vector<int64_t>> constantInts(const Value *v);
/// Normalises a possibly negative axis against \p rank; -1 when invalid.
int64_t normalizeAxis(int64_t axis, int64_t rank);
/// Constant gather indices as positions of an axis of \p dim elements
/// (negative ones counted from the end); std::nullopt when one is out of
/// range.
std::optional<std::vector<int64_t>> indexMap(llvm::ArrayRef<int64_t> ids,
                                             int64_t dim);
/// Gather indices \p ids into an axis of \p oldDim elements, renumbered
/// after the axis kept only \p kept (sorted): indices of removed elements
/// are dropped (the unit structure removes their output positions too).
std::vector<int64_t> renumberIndices(llvm::ArrayRef<int64_t> ids,
                                     int64_t oldDim,
                                     llvm::ArrayRef<int64_t> kept);
/// Joins the axes of \p a and \p b aligned from the right (numpy
/// broadcasting): axes of equal static size join; size-1 axes broadcast and
/// are left alone; mismatches freeze.
void joinBroadcast(CouplingBuilder &b, Value *x, Value *y, const Node &n);
/// Joins every axis of \p in with the same axis of \p out (same rank).
void joinAllAxes(CouplingBuilder &b, Value *in, Value *out, const Node &n);
/// Replaces input \p idx of \p n (a constant int64 tensor) by a new
/// initializer holding \p values (never edits a constant others share).
void replaceConstantInts(Node &n, unsigned idx, llvm::ArrayRef<int64_t> values,
                         Rewriter &rw);
/// The same with the new constant's dims given (a scalar: {}; GatherND
/// indices: {n, 1}); their product must be values.size().
void replaceConstantInts(Node &n, unsigned idx, llvm::ArrayRef<int64_t> values,
                         llvm::ArrayRef<int64_t> dims, Rewriter &rw);

/// The couplings of a convolution X * W (+ B) -> Y (ConvHandlers.cpp),
/// for the quantized forms whose operands sit at other positions
/// (ConvInteger, QLinearConv); \p bias may be null.
void buildConvCoupling(const Node &n, CouplingBuilder &b, Value *x, Value *w,
                       Value *bias, Value *y);
/// Sets `group` after a depthwise conv with weight \p w lost channels.
llvm::Error rewriteConvGroup(Node &n, PruneContext &ctx, const Value *w);
/// The numpy matmul couplings of y = op(a) @ op(bm) (LinearHandlers.cpp),
/// op a transpose of the last two axes when \p transA / \p transB.
void buildMatMulCoupling(CouplingBuilder &b, const Node &n, Value *a, Value *bm,
                         Value *y, bool transA, bool transB);
/// The couplings of a concatenation of \p inputs along \p axis into \p y
/// (ShapeHandlers.cpp), for QLinearConcat whose data inputs come in
/// (x, scale, zero point) triples; freezes the node when an input's rank
/// differs from y's.
void buildConcatCoupling(const Node &n, CouplingBuilder &b,
                         llvm::ArrayRef<Value *> inputs, Value *y,
                         int64_t axis);

} // namespace onnxprune

#endif // ONNXPRUNE_PASSES_OPHANDLERS_OPHANDLER_H
