//===- IndexingHandlers.cpp - Ops that pick elements by index -------------===//
///
/// \file
/// Handlers of the ops that select elements of a tensor by index and are
/// not plain reshapes: GatherND (how the dynamo exporter picks an expert's
/// weights in a Mixture-of-Experts block) and TopK (the MoE router's expert
/// choice). Gather lives with the shape ops (ShapeHandlers.cpp); these
/// follow its rules: an axis indexed by values computed at run time is
/// frozen (each output position reads some element of it, so none may go),
/// constant indices are an index map, and every other axis passes through.
///
//===----------------------------------------------------------------------===//

#include "passes/OpHandlers/OpHandler.h"

#include "lib/Support/Error.h"

#include <algorithm>

using namespace llvm;

namespace onnxprune {

namespace {

// ---- GatherND
// ----------------------------------------------------------------

/// GatherND<batch_dims=b>(X[r], I[q]) -> Y, with m = I.shape[-1] (static):
/// Y = I.shape[:-1] ++ X.shape[b+m:]. The b batch axes of X, I and Y join;
/// I's other index axes join Y's next axes; X's axes past the m indexed
/// ones join Y's tail. The m indexed axes of X are frozen when the indices
/// are computed at run time. With b = 0 and m = 1 this is Gather(axis=0) on
/// X with I squeezed, so constant indices I[n,1] are an index map, as for
/// Gather. The dynamo export of an MoE expert pick:
///
/// \code
///   W[E,2I,H], idx[N,1] -> GatherND -> Y[N,2I,H]    W.1 ~ Y.1, W.2 ~ Y.2,
///                                                   W.0 frozen (run time)
///   W[E,C], [[2],[0]]   -> GatherND -> Y[2,C]       Y.0[t] ~ W.0[I[t]]
/// \endcode
///
/// so the expert intermediate 2I (and I of the down projection) is one
/// width group jointly across experts, and the expert axis E is left to
/// prune-experts. Rewrite: constant indices renumbered into the pruned axis.
class GatherNDHandler final : public OpHandler {
public:
  void build(const Node &n, CouplingBuilder &b) const override {
    Value *x = n.getInput(0), *idx = n.getInput(1), *y = n.getOutput(0);
    int64_t r = b.rank(x), q = b.rank(idx);
    if (!x || !idx || !y || r < 0 || q < 1) {
      b.freezeNode(n, "rank unknown");
      return;
    }
    if (isShapeData(x)) {
      b.freezeNode(n, "shape arithmetic, not channels");
      return;
    }
    int64_t bd = n.getIntAttr("batch_dims", 0);
    int64_t m = b.size({idx, (unsigned)(q - 1)});
    if (m < 1 || bd < 0 || bd >= q || bd + m > r ||
        b.rank(y) != q - 1 + r - bd - m) {
      b.freezeNode(n, m < 1 ? "index depth (last dim of the indices) unknown"
                            : "invalid batch_dims or index depth");
      return;
    }
    for (int64_t a = 0; a < bd; ++a) {
      b.join({x, (unsigned)a}, {y, (unsigned)a}, n);
      b.join({idx, (unsigned)a}, {y, (unsigned)a}, n);
    }
    for (int64_t a = bd; a < q - 1; ++a)
      b.join({idx, (unsigned)a}, {y, (unsigned)a}, n);
    for (int64_t a = bd + m; a < r; ++a)
      b.join({x, (unsigned)a}, {y, (unsigned)(q - 1 + a - bd - m)}, n);

    std::optional<std::vector<int64_t>> ids = constantInts(idx);
    if (!ids) {
      for (int64_t a = bd; a < bd + m; ++a)
        b.freeze({x, (unsigned)a}, &n,
                 "indexed by values computed at run time");
      return;
    }
    AxisRef ax{x, 0};
    int64_t dim = b.size(ax);
    // Only the Gather(axis=0)-like form maps positions one to one.
    if (bd != 0 || m != 1 || q != 2 || dim < 0) {
      for (int64_t a = bd; a < bd + m; ++a)
        b.freeze({x, (unsigned)a}, &n, "gathers single elements of this axis");
      return;
    }
    std::optional<std::vector<int64_t>> map = indexMap(*ids, dim);
    if (!map) {
      b.freezeNode(n, "index out of range");
      return;
    }
    b.joinMap({y, 0}, ax, *map, n);
  }

  Error rewrite(Node &n, PruneContext &ctx) const override {
    Value *x = n.getInput(0), *idx = n.getInput(1);
    const std::vector<int64_t> *keptIn = ctx.kept({x, 0});
    if (!keptIn)
      return Error::success();
    // build() froze axis 0 unless the indices are constant [n, 1].
    std::optional<std::vector<int64_t>> ids = constantInts(idx);
    if (!ids)
      return makeError("node " + n.describe() +
                       ": indexed axis changed but the indices are unknown");
    int64_t oldDim = ctx.oldSize({x, 0});
    std::vector<int64_t> out = renumberIndices(*ids, oldDim, *keptIn);
    replaceConstantInts(n, 1, out, {(int64_t)out.size(), 1}, ctx.rewriter());
    return Error::success();
  }
};

// ---- TopK ------------------------------------------------------------------

/// TopK<axis>(X, K) -> (Values, Indices): the k largest along `axis`. That
/// axis is read whole (which elements win depends on all of them) and the
/// outputs' axis holds k picks, not channels: both are frozen. Every other
/// axis passes through to both outputs:
///
/// \code
///   P[T,E] -> TopK<axis=-1>(k) -> V[T,k], I[T,k]    P.0 ~ V.0 ~ I.0,
///                                                   P.1, V.1, I.1 frozen
/// \endcode
class TopKHandler final : public OpHandler {
public:
  void build(const Node &n, CouplingBuilder &b) const override {
    Value *x = n.getInput(0);
    int64_t r = b.rank(x);
    int64_t axis = normalizeAxis(n.getIntAttr("axis", -1), r);
    if (!x || axis < 0) {
      b.freezeNode(n, r < 0 ? "rank unknown" : "invalid axis");
      return;
    }
    b.freeze({x, (unsigned)axis}, &n, "top-k selection reads this axis whole");
    for (Value *out : n.getOutputs()) {
      if (!out)
        continue;
      if (b.rank(out) != r) {
        b.freezeNode(n, "output rank differs from the input's");
        return;
      }
      b.freeze({out, (unsigned)axis}, &n, "top-k picks, not channels");
      for (int64_t a = 0; a < r; ++a)
        if (a != axis)
          b.join({x, (unsigned)a}, {out, (unsigned)a}, n);
    }
  }
};

} // namespace

std::shared_ptr<const OpHandler> createGatherNDHandler() {
  return std::make_shared<GatherNDHandler>();
}
std::shared_ptr<const OpHandler> createTopKHandler() {
  return std::make_shared<TopKHandler>();
}

} // namespace onnxprune
