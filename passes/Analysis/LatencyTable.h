//===- LatencyTable.h - Per-layer latency as a function of width -*- C++
//-*-===//
///
/// \file
/// What prune-width's latency budget predicts with (NetAdapt's and HALP's
/// lookup table): the measured time of every Conv, MatMul and Gemm layer at
/// the widths pruning considers, keyed by the layer's shape, so that layers
/// of the same shape share their entries.
///
/// A layer is timed alone: a model with the one node (a Conv, or a MatMul
/// of [rows, K] x [K, N]) on the layer's input dims, built here in the IR
/// and timed by the injected LatencyProvider, many shapes interleaved in
/// one call. The table is kept in memory for a run; save() writes it as
/// JSON with sorted keys and exact doubles, load() reads it back, so a
/// pipeline that pins a table gets the same predictions (and the same
/// pruned model) every time:
///
///   {"runtime": "ONNX Runtime 1.23.0, CPU, 1 thread",
///    "layers": {"Conv x=1x64x56x56 w=64x64x3x3 g=1 b=1 s=1,1 p=1,1,1,1
///               d=1,1": 0.61, ...},
///    "models": {"<model key>": 12.5}}
///
/// "models" holds whole-model latencies (the originals budgets are
/// relative to), keyed by graph name, node count and parameter count;
/// "rounds" (when there were any) the targets of each pruning round of a
/// latency budget, so a pinned table replays them.
///
//===----------------------------------------------------------------------===//
#ifndef ONNXPRUNE_PASSES_ANALYSIS_LATENCYTABLE_H
#define ONNXPRUNE_PASSES_ANALYSIS_LATENCYTABLE_H

#include "lib/IR/Model.h"
#include "passes/Analysis/DepGraph.h"
#include "passes/Analysis/Latency.h"

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace onnxprune {

/// The shape of one timed layer at some widths.
struct LayerShape {
  std::string op; ///< "Conv" or "MatMul" (Gemm is timed as a MatMul).
  /// Conv: [N, C, spatial...]; MatMul: [rows, K].
  std::vector<int64_t> input;
  /// Conv: [M, C/group, k...]; MatMul: [K, N].
  std::vector<int64_t> weight;
  int64_t group = 1;
  bool bias = false;
  /// Conv: strides, pads, dilations as the node has them (unset ones
  /// take ONNX's defaults), and auto_pad when not NOTSET.
  std::vector<std::pair<std::string, std::vector<int64_t>>> intsAttrs;
  std::string autoPad;

  /// The table key: "Conv x=1x64x56x56 w=64x64x3x3 g=1 b=1 strides=1,1 ...".
  std::string key() const;
};

/// A layer of a model and the channel spaces its widths follow.
struct Layer {
  const Node *node = nullptr;
  LayerShape shape;
  /// Spaces (DepGraph) of the input channel axis and the output channel
  /// axis, or -1 when the axis is in none.
  int inSpace = -1, outSpace = -1;
  /// A depthwise conv (group == input channels): group follows the input
  /// channels.
  bool depthwise = false;

  /// The shape with \p in input and \p out output channels.
  LayerShape at(int64_t in, int64_t out) const;
  int64_t inChannels() const;
  int64_t outChannels() const;
};

/// The Conv (2-D or 1-D), MatMul and Gemm nodes of \p m's main graph with a
/// constant weight and static dims (dynamic ones take opts.batch on axis 0
/// and opts.otherDim elsewhere), with their spaces in \p dg.
std::vector<Layer> findLayers(const Model &m, const DepGraph &dg,
                              const LatencyOptions &opts);

/// A model that runs the layer \p s alone (float32, weights of a fixed
/// pattern: only the time matters).
std::unique_ptr<Model> makeLayerModel(const LayerShape &s);

/// A key for a whole model: graph name, nodes, parameters.
std::string modelKey(const Model &m);

class LatencyTable {
public:
  std::string runtime;
  /// key -> ms: the fastest timed run, the one least disturbed by other
  /// work on the machine (a median on a busy machine drifts with the load
  /// between calls; the fastest run does not).
  std::map<std::string, double> layers;
  std::map<std::string, double> models; ///< modelKey -> ms, as layers.
  /// One attempt of a latency budget: the latency it started from (the
  /// original's), the predicted latency it aimed at, and a scale of the
  /// predicted savings (1; tables before the two-sided search kept the
  /// share that measurements confirmed). The last one is the attempt
  /// chosen, which a pinned table replays.
  struct Round {
    double current = 0, target = 0, efficiency = 1;
  };
  /// "<modelKey> latency=R" -> the attempts the measuring run made, the
  /// chosen one last, so that a pinned table replays it without timing
  /// anything (written when not empty).
  std::map<std::string, std::vector<Round>> rounds;

  /// Reads a table saved by save(); fails naming the file.
  static llvm::Expected<LatencyTable> load(llvm::StringRef path);
  /// Writes the table (atomically: a temporary file renamed).
  llvm::Error save(llvm::StringRef path) const;
  /// The JSON text save() writes.
  std::string toJSON() const;

  /// Times the shapes of \p shapes that have no entry yet (each once, all
  /// interleaved in one provider call). With \p provider null (a pinned
  /// table), a missing entry is an error naming the shape.
  llvm::Error ensure(llvm::ArrayRef<LayerShape> shapes,
                     LatencyProvider *provider, const LatencyOptions &opts,
                     llvm::StringRef tablePath);
  /// Times \p m together with the shapes of \p shapes that have no entry
  /// (one interleaved provider call, so that the model and its layers see
  /// the same load) and returns the model's time, recorded in models.
  llvm::Expected<double> measureModel(const Model &m,
                                      llvm::ArrayRef<LayerShape> shapes,
                                      LatencyProvider &provider,
                                      const LatencyOptions &opts);
  /// The entry of \p s (ensure() must have added it).
  double lookup(const LayerShape &s) const;
  /// How many layer timings were measured in this run (not loaded).
  unsigned measured = 0;

private:
  /// The shapes of \p shapes without an entry, each once.
  std::vector<const LayerShape *>
  missing(llvm::ArrayRef<LayerShape> shapes) const;
  /// Times \p shapes (and \p m first, when set) in one provider call and
  /// records them; returns \p m's time (0 without one).
  llvm::Expected<double> timeWith(const Model *m,
                                  llvm::ArrayRef<const LayerShape *> shapes,
                                  LatencyProvider &provider,
                                  const LatencyOptions &opts);
};

} // namespace onnxprune

#endif // ONNXPRUNE_PASSES_ANALYSIS_LATENCYTABLE_H
