//===- StatsAnalysis.h - Size and cost of a model ---------------*- C++ -*-===//
///
/// \file
/// Counts what pruning is meant to shrink: nodes (by op type), weights,
/// parameters, buffers, weight bytes and FLOPs. computeStats() is a plain
/// function so the tool's --stats can print before/after figures;
/// StatsAnalysis wraps it for the pass manager (`print<stats>`).
/// originalCounts() records, once, the counts of the model a pipeline
/// started from: what every relative budget is measured against.
///
/// Conventions:
///   * Nodes and weights of all graphs are counted, subgraphs included (a
///     Loop body counts once, not once per iteration).
///   * A weight is an initializer or a tensor lifted from a Constant node.
///
/// Parameters are what the framework counts: the figure matches
/// `sum(p.numel() for p in model.parameters())` of the module the model
/// was exported from. Exports also hold buffers as constants (a causal mask
/// of 1024x1024 can outweigh a small model), and the graph cannot say for
/// certain which is which, so the rule reads how each weight is used
/// (findParameters). A read is followed through data movement (Identity,
/// Cast, Transpose, Reshape, (Un)Squeeze, Flatten, Expand, Tile, Slice,
/// Gather*, Split, Dropout, QuantizeLinear, DequantizeLinear) to the op
/// that computes with it; the other operands of those ops (shapes, indices,
/// axes, scales, zero points) are buffers. A weight is a *parameter* when a
/// read is:
///   - a weight operand: Conv/ConvTranspose W and B, any constant operand of
///     Gemm, MatMul and Einsum, the scale and shift of BatchNormalization,
///     LayerNormalization, InstanceNormalization, GroupNormalization,
///     RMSNormalization (and the com.microsoft layer norms), PRelu's slope,
///     LSTM/GRU/RNN W, R, B and P, com.microsoft Attention weights and
///     bias, MultiHeadAttention's bias, FusedConv/FusedGemm/FusedMatMul/
///     BiasGelu/FastGelu operands;
///   - quantized integer weights (which count, unlike other integer data),
///     one parameter per quantized value (the weight of the float model it
///     stands for), however packed: int8/uint8/int4 read through
///     DequantizeLinear and then used as any parameter here, and the weight
///     operands of ConvInteger, MatMulInteger, QLinearConv (w and its int32
///     bias), QLinearMatMul, com.microsoft QGemm (B and its int32 bias),
///     DynamicQuantizeMatMul, MatMulIntegerToFloat, QAttention, MatMulNBits
///     and MatMulBnb4 (N x K values in packed bytes, block padding not
///     counted), GatherBlockQuantized (8 / bits values a byte);
///   - elementwise arithmetic learned weights do: a Mul by a constant (a
///     norm's scale in a decomposed LayerNorm/RMSNorm, a layer scale), an
///     Add of a constant (a bias after a linear op, a norm's shift, a
///     learned position table added to the stream), a constant
///     concatenated to a computed stream (ViT's class token);
///   - a lookup table: gathered with indices computed at run time (token
///     and position embeddings, T5's relative-attention bias, MoE experts
///     picked per token), unless every use of its rows is a buffer use.
/// A weight is a *buffer* (not counted as a parameter) when every read is:
///   - a mask: Where's condition and values; an Add whose sum reaches a
///     Softmax through Add/Sub/Reshape/Cast/Where/Expand/Slice, unless the
///     other operand is the output of a linear op (that is a bias) or the
///     constant was gathered by computed indices (a learned bias table);
///   - a RoPE table: a Mul whose other operand is rotate_half (a Concat
///     with a Neg half), or whose product is added to such a product
///     (cos/sin caches); a Mul/MatMul of a constant with positions (integer
///     data, Range) whose product reaches Cos/Sin (inv_freq);
///   - shape, index and size data: integer or bool weights (position ids,
///     token-type ids, axes, shapes), Range, ConstantOfShape, Resize
///     scales, Pad, Clip bounds, TopK/CumSum/OneHot/Trilu/Scatter*/Reduce*
///     operands other than the data, Pow's exponent;
///   - Sub or Div operands (input normalisation `(x - mean) / std`);
///   - quantization metadata: scales and zero points (of DequantizeLinear,
///     QLinear*, MatMulNBits, ...; a per-column w_scale[N] is no more a
///     parameter than a per-tensor one), including the w_scale of ORT's
///     dynamic chain, read by a Mul with the activation's scale from
///     DynamicQuantizeLinear or with the integer op's Cast result. So a
///     quantized model has exactly the parameters of its float model;
///   - statistics: BatchNormalization's running mean and variance
///     (OpHandler::isStatisticsInput), buffers in torch too;
///   - a scalar (rank 0 or one element: eps, 1/sqrt(d)) anywhere but a
///     weight operand or a bias after a linear op (a single PRelu slope,
///     the bias of a Linear with one output still count).
/// Other floating-point weights (read only by ops the rule does not know,
/// or not read) count as parameters, as they did before the rule.
///
/// Exporters merge bit-identical tensors (Hugging Face starts every bias at
/// 0 and every norm weight at 1): one tensor can be the weight of seven
/// RMSNorms, read directly (dynamo) or through one Identity per merged
/// parameter (TorchScript). A parameter whose elements are all equal (a
/// *splat*, Tensor::isSplat) read by several readers is such an accidental
/// merge: each reader (each Identity output, or each node input reading it
/// directly) that uses it as a parameter is its own logical parameter. A
/// non-splat tensor read several times (a tied embedding and LM head) is a
/// real tie and counts once, as torch counts a tied parameter once; so is a
/// weight that is also a graph input. Parameters = sum over parameter
/// tensors of numel x (parameter readers if splat, else 1).
///
/// Buffers are the elements of the other weights, each tensor once.
///
/// FLOP conventions:
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
  /// Parameters as the framework counts them (see the file comment).
  uint64_t numParams = 0;
  /// Elements of weights that are not parameters: masks, RoPE tables,
  /// statistics, position ids, shape and index data, scalars.
  uint64_t numBufferElements = 0;
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

/// Which weights of a model are parameters, and how many logical copies of
/// each the framework holds (the rule in the file comment).
class ParameterCounts {
public:
  /// Logical parameters \p t stands for: 0 for a buffer, 1 for a
  /// parameter, the number of parameter readers for a shared splat.
  unsigned copiesOf(const Tensor *t) const {
    auto it = copies.find(t);
    return it == copies.end() ? 0 : it->second;
  }
  /// Parameters \p t counts for: its values (its elements, or the values
  /// packed in them: MatMulNBits' N x K) times copiesOf(t).
  uint64_t paramsOf(const Tensor *t) const;

private:
  friend ParameterCounts findParameters(const Model &m);
  llvm::DenseMap<const Tensor *, unsigned> copies;
  /// Values of packed quantized weights (several to a byte), when not
  /// their element count.
  llvm::DenseMap<const Tensor *, uint64_t> packedValues;
};

/// Classifies every weight of every graph of \p m (see the file comment).
/// Reads the bytes of weights read more than once (the splat test).
ParameterCounts findParameters(const Model &m);

/// Computes the statistics of \p m. Never fails: what cannot be counted is
/// reported as such.
ModelStats computeStats(const Model &m);
/// The same with parameters already found.
ModelStats computeStats(const Model &m, const ParameterCounts &params);

/// The counts budgets are relative to: those of the model a pipeline
/// started from (Model::original). Returns m.original when it is set;
/// otherwise records the counts of \p m as it is now (\p current when the
/// caller has computed them already, so nothing is counted twice) and
/// returns them. The tool calls it right after reading the model, so the
/// budgets of any pipeline are relative to the file as read; a library user
/// who runs passes directly gets the counts at the first budgeted pass.
/// Every pass with a relative budget (prune-width<ratio=R>, <flops=R>,
/// drop-layers) asks here and aims at "(1 - R) x the original remains".
OriginalCounts originalCounts(Model &m, const ModelStats *current = nullptr);

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
  Result run(const Model &m, ModelAnalysisManager &) { return computeStats(m); }
};

} // namespace onnxprune

#endif // ONNXPRUNE_PASSES_ANALYSIS_STATSANALYSIS_H
