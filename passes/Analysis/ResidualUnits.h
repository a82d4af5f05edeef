//===- ResidualUnits.h - Residual branches x + f(x) as depth units -*- C++ -*-//
///
/// \file
/// The depth units of a model: residual branches `y = x + f(x)` found
/// structurally, never by names. An Add is residual when one input, the
/// stream x, is an ancestor of the other, the branch output b = f(x), and
/// the branch (the nodes on a path from x to b) holds a parameter of rank
/// >= 2 (a linear layer, a conv, fused attention weights: `x + 0.04 x^3`
/// inside a decomposed GELU is not a layer). Dropping a unit rewires the
/// Add to x, and dce then deletes what only the branch used:
///
/// \code
///   before:                           after drop-layers:
///     n = RMSNorm(x)                    y = x   (uses of y read x)
///     b = MLP(n)
///     y = Add(x, b)
/// \endcode
///
/// Kinds (by what the branch holds):
///   attention  a Softmax or a fused attention op (com.microsoft Attention,
///              MultiHeadAttention, GroupQueryAttention; ai.onnx Attention),
///              and no TopK;
///   mlp        linear layers only, SwiGLU/GeGLU included; an MoE block
///              (a TopK router) is an mlp unit marked "moe";
///   block      a conv block with an identity shortcut (ResNet, MobileNetV2,
///              ConvNeXt), or an attention sub-layer followed by an mlp
///              sub-layer whose stream is the first one's output and nothing
///              else reads it (a transformer layer): the block's parts are
///              those two sub-layers, dropped together.
///
/// Layouts: pre-norm (`x + f(norm(x))`: Llama, GPT-2, ViT, Whisper) drops
/// exactly. Post-norm (`norm(x + f(x))`: BERT) drops to `norm(x)`: the norm
/// stays and sees x instead of x + f(x), which equals zeroing f's output
/// but renormalises an already normalised stream; the unit says so.
///
/// A unit cannot be dropped, with the reason printed, when a branch value
/// is a graph output (a cache output: the layer would stay), when outside
/// readers (a shape chain reading the branch output) would keep every
/// parameter of the branch alive, or for a
/// block whose shortcut is a projection (Add(f(x), g(x)) with a conv or
/// linear g that changes the width: dropping would change the stream's
/// shape). Branch values also read outside the branch (a position bias
/// computed in the first layer, a shape chain) keep their nodes: the drop
/// stays exact, and the unit notes it.
///
/// Not residual: an Add whose sum differs in shape from the earlier input
/// (an attention mask descends from the stream of layer 0 and is added,
/// broadcast, to later layers' scores), and an Add whose path from the
/// earlier input runs through another unit's Add.
///
/// Parameters of a unit count as StatsAnalysis counts them: the weights
/// only its deleted nodes read (a splat shared by several readers counts
/// once per reader deleted).
///
//===----------------------------------------------------------------------===//
#ifndef ONNXPRUNE_PASSES_ANALYSIS_RESIDUALUNITS_H
#define ONNXPRUNE_PASSES_ANALYSIS_RESIDUALUNITS_H

#include "passes/PassManager.h"

#include <cstdint>
#include <string>
#include <vector>

namespace onnxprune {

enum class DepthKind : uint8_t { Attention, Mlp, Block };
/// "attn", "mlp", "block".
llvm::StringRef depthKindName(DepthKind k);

/// One operand set to zero to silence a unit's branch in the original
/// model (what dropping it equals): input \p input of node \p node (by
/// name; "" when unnamed), which reads weight \p weight. A weight read
/// elsewhere too must be zeroed for this reader only.
struct ZeroOperand {
  std::string node;
  unsigned input = 0;
  std::string weight;
};

/// One residual unit (see the file comment).
struct ResidualUnit {
  DepthKind kind = DepthKind::Mlp;
  /// The Add's output value: the unit's name in plans and reports (values
  /// always have names; nodes may not). A two-part block: the second
  /// sub-layer's.
  std::string id;
  /// The residual stream into the unit (x) and out of it (the Add's output,
  /// or the post-norm's output).
  std::string streamIn, streamOut;
  /// The branch output b (sub-layers only).
  std::string branchOut;
  /// The Add node, by name (sub-layers only).
  std::string addNode;
  /// Nodes dropping deletes, in graph order (blocks: both parts').
  std::vector<std::string> nodes;
  /// Parameters dropping removes (framework count), and the weights that
  /// hold them, by name.
  uint64_t params = 0;
  std::vector<std::string> weights;
  /// Sub-layers of a two-part block (indices into ResidualUnits::units).
  std::vector<unsigned> parts;
  /// An MoE block (mlp kind).
  bool moe = false;
  /// The norm after the Add in a post-norm layout, described ("'ln'
  /// (LayerNormalization)"; "" when pre-norm).
  std::string postNorm;
  /// Why the unit cannot be dropped; "" when it can.
  std::string blocker;
  /// What else a reader should know (branch nodes other layers read stay).
  std::string note;
  /// Operands whose zeroing silences the branch (its last projection's
  /// weight and bias, a BatchNorm's scale and shift, a layer scale).
  std::vector<ZeroOperand> zeroOperands;

  bool droppable() const { return blocker.empty(); }
  /// True for units drop-layers removes as one (sub-layers and conv
  /// blocks); a two-part block is its parts.
  bool isSubLayer() const { return parts.empty(); }
};

/// Every residual unit of the main graph, sub-layers in graph order of
/// their Add, then two-part blocks.
struct ResidualUnits {
  std::vector<ResidualUnit> units;

  /// The unit with this id, or null.
  const ResidualUnit *find(llvm::StringRef id) const;
  /// Prints one line per unit and its nodes (docs/user-guide.md, "Depth
  /// pruning").
  void print(llvm::raw_ostream &os, const Model &m) const;
};

/// Finds the residual units of \p m's main graph.
ResidualUnits findResidualUnits(const Model &m);

class ResidualUnitsAnalysis {
public:
  using Result = ResidualUnits;
  static inline AnalysisKey Key;
  static llvm::StringRef name() { return "residual-units"; }
  Result run(const Model &m, ModelAnalysisManager &) {
    return findResidualUnits(m);
  }
};

} // namespace onnxprune

#endif // ONNXPRUNE_PASSES_ANALYSIS_RESIDUALUNITS_H
