//===- StatsAnalysis.h - Size and cost of a model ---------------*- C++ -*-===//
///
/// \file
/// Counts what pruning is meant to shrink: nodes (by op type), weights,
/// parameters, weight bytes and FLOPs. computeStats() is a plain function so
/// the tool's --stats can print before/after figures; StatsAnalysis wraps it
/// for the pass manager (`print<stats>`).
///
/// Conventions:
///   * Nodes and weights of all graphs are counted, subgraphs included (a
///     Loop body counts once, not once per iteration).
///   * A weight is an initializer or a tensor lifted from a Constant node,
///     counted once however many values share it. Parameters are the
///     elements of floating-point weights; elements of integer/bool weights
///     (shapes, indices, axes) are reported separately.
///   * FLOPs are for one inference, from the value shapes the model carries.
///     A multiply-add counts as 2 FLOPs. Dims that are not static count as
///     1 and the figure is labelled "static dims only". Per op:
///       - Conv: 2 * N * M * prod(out spatial) * C/group * prod(kernel),
///         plus one add per output element with a bias.
///       - ConvTranspose: 2 * N * C * prod(in spatial) * M/group *
///         prod(kernel), plus one add per output element with a bias.
///       - Gemm: 2 * M * K * N, plus M * N with C (alpha/beta scaling is not
///         counted). MatMul: 2 * prod(output) * K.
///       - Elementwise (Add, Sub, Mul, Div, Pow, Max, Min, Sum, Mean, Relu,
///         Sigmoid, Tanh, Exp, Erf, Gelu, Clip, ...): 1 per output element
///         per extra input for n-ary ops, 1 per output element for unary.
///       - BatchNormalization (inference): 2 per output element.
///       - MaxPool/AveragePool/LpPool: prod(output) * prod(kernel);
///         GlobalAveragePool/GlobalMaxPool: prod(input).
///       - Softmax/LogSoftmax: 3 per element; LayerNormalization: 5 per
///         element; ReduceSum/ReduceMean/ReduceMax/ReduceMin: 1 per input
///         element.
///       - Data movement (Reshape, Transpose, Concat, Gather, ...): 0.
///       - Anything else counts 0 and is listed under "ops without a FLOP
///         estimate", as are ops whose shapes are not known (unknown rank).
///     An output without a typed shape gets the dims derived from its
///     inputs (Conv with strides/pads/dilations, Gemm, MatMul, broadcast of
///     elementwise inputs, shape-preserving ops), and nodes after it use
///     them.
///
//===----------------------------------------------------------------------===//
#ifndef ONNXPRUNE_PASSES_ANALYSIS_STATSANALYSIS_H
#define ONNXPRUNE_PASSES_ANALYSIS_STATSANALYSIS_H

#include "passes/PassManager.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/SmallVector.h"

#include <cstdint>
#include <map>
#include <optional>
#include <string>

namespace onnxprune {

/// Size and cost figures of a model.
struct ModelStats {
  uint64_t numNodes = 0;
  /// Node count per op type ("Conv", or "domain.Op" outside ai.onnx),
  /// sorted by name.
  std::map<std::string, uint64_t> nodesByOp;
  /// Distinct weight tensors.
  uint64_t numWeights = 0;
  /// Elements of floating-point weights.
  uint64_t numParams = 0;
  /// Elements of non-floating-point weights (shapes, indices...).
  uint64_t numIntWeightElements = 0;
  /// Bytes of all weights (raw layout).
  uint64_t weightBytes = 0;
  /// Estimated FLOPs of one inference (see the file comment).
  uint64_t flops = 0;
  /// True when every dim used in the FLOP estimate was static.
  bool flopsExact = true;
  /// Nodes with a shape-dependent op whose FLOPs could not be estimated
  /// (unknown op or unknown rank), by op type.
  std::map<std::string, uint64_t> opsWithoutFlops;

  /// "FLOPs" or "FLOPs (static dims only)".
  llvm::StringRef flopsLabel() const {
    return flopsExact ? "FLOPs" : "FLOPs (static dims only)";
  }
  /// Prints the figures, one per line, ops sorted by name.
  void print(llvm::raw_ostream &os, const Model &m) const;
};

/// Computes the statistics of \p m. Never fails: what cannot be counted is
/// reported as such.
ModelStats computeStats(const Model &m);

/// Prints a before/after comparison ("nodes  120  96  -24 (-20.0%)").
void printStatsDelta(llvm::raw_ostream &os, const ModelStats &before,
                     const ModelStats &after);

/// Dims the FLOP estimate derived for values without a typed shape (from
/// their inputs: Conv, Gemm, MatMul, elementwise ops), with whether they
/// were exact, so later nodes can use them.
using DerivedDims =
    llvm::DenseMap<const Value *,
                   std::pair<llvm::SmallVector<int64_t, 6>, bool>>;

/// FLOPs of one node by the conventions above; std::nullopt when the op has
/// no estimate. \p allStatic is cleared when an unknown dim was counted as 1.
/// With \p derived, output dims derived for untyped outputs are recorded
/// there and used for untyped inputs (visit nodes in topological order).
std::optional<uint64_t> estimateNodeFlops(const Node &n, bool &allStatic,
                                          DerivedDims *derived = nullptr);

/// The `stats` analysis.
class StatsAnalysis {
public:
  using Result = ModelStats;
  static inline AnalysisKey Key;
  static llvm::StringRef name() { return "stats"; }
  Result run(Model &m, ModelAnalysisManager &) { return computeStats(m); }
};

} // namespace onnxprune

#endif // ONNXPRUNE_PASSES_ANALYSIS_STATSANALYSIS_H
