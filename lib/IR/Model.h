//===- Model.h - A whole ONNX model -----------------------------*- C++ -*-===//
///
/// \file
/// A Model is the envelope (IR version, opset imports, producer, metadata,
/// model-local functions), its main Graph, and the WeightStore. Whatever the
/// IR does not model (functions, training info, unknown fields) is kept as
/// serialized protobuf so the writer puts it back as it was.
///
//===----------------------------------------------------------------------===//
#ifndef ONNXPRUNE_IR_MODEL_H
#define ONNXPRUNE_IR_MODEL_H

#include "lib/IR/Graph.h"
#include "lib/IR/WeightStore.h"

#include "llvm/ADT/STLExtras.h"

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace onnxprune {

struct OpsetImport {
  std::string domain; ///< "" is ai.onnx.
  int64_t version = 0;
};

/// A model-local function, kept serialized; its name is known so that calls
/// to it are recognised (and treated as opaque ops by analyses).
struct FunctionDecl {
  std::string domain;
  std::string name;
  std::string serialized;
};

/// Parameter and FLOP counts of a model as it was before any pass changed
/// it: what budgets are relative to (see Model::original).
struct OriginalCounts {
  uint64_t params = 0;    ///< As ModelStats::numParams counts them.
  uint64_t flops = 0;     ///< As ModelStats::flops estimates them.
  bool flopsExact = true; ///< ModelStats::flopsExact.
};

class Model {
public:
  Model();
  ~Model();
  Model(const Model &) = delete;
  Model &operator=(const Model &) = delete;

  Graph &getGraph() { return *graph; }
  const Graph &getGraph() const { return *graph; }
  WeightStore &getWeights() { return weights; }
  const WeightStore &getWeights() const { return weights; }

  /// Opset version imported for \p domain ("" or "ai.onnx" for the default
  /// domain), or 0 when not imported.
  int64_t getOpsetVersion(llvm::StringRef domain) const;
  /// Calls \p fn on every graph, main graph first, then subgraphs depth-first.
  void forEachGraph(llvm::function_ref<void(Graph &)> fn);
  void forEachGraph(llvm::function_ref<void(const Graph &)> fn) const;
  /// One past the largest Value::getId() of this model's values, in any of
  /// its graphs: the size of a vector indexed by value id.
  unsigned getValueIdBound() const { return nextValueId; }

  int64_t irVersion = 0;
  std::vector<OpsetImport> opsetImports;
  std::string producerName;
  std::string producerVersion;
  std::string domain;
  int64_t modelVersion = 0;
  bool hasModelVersion = false;
  std::string docString;
  std::vector<std::pair<std::string, std::string>> metadataProps;
  std::vector<FunctionDecl> functions;
  std::vector<std::string> trainingInfo;
  std::string unknownFields;

  /// Where the model was read from ("" for stdin/memory) and the folder that
  /// external data locations are relative to.
  std::string sourcePath;
  std::string baseDir;
  /// The bytes of a model read from memory (the library's fromBytes), so
  /// that what compares with the original (check-numerics, reference
  /// calibration runs) has it without a file. Null when read from a file.
  std::shared_ptr<const std::string> sourceBytes;

  /// Where the channels of pruned activations came from: for (value name,
  /// axis), the indices the kept channels had in the model as it was read,
  /// composed over successive prunes. Kept in memory only (never written):
  /// the repair passes (bias-correct, recalibrate-bn without BatchNorm
  /// nodes) compare a pruned channel with its original through it.
  std::map<std::pair<std::string, unsigned>, std::vector<int64_t>>
      channelOrigins;
  /// Records that axis \p axis of value \p name now keeps \p kept (indices
  /// into its current channels), composing with an earlier record.
  void recordKeptChannels(llvm::StringRef name, unsigned axis,
                          llvm::ArrayRef<int64_t> kept);
  /// The original index of every current channel of (\p name, \p axis),
  /// or null when the axis was never pruned (channels are the original's).
  const std::vector<int64_t> *getChannelOrigins(llvm::StringRef name,
                                                unsigned axis) const;

  /// The counts of the model the pipeline started from, so that every
  /// budgeted pass (prune-width<ratio=R>, drop-layers...) aims at "(1 - R)
  /// of the original remains" instead of compounding on what earlier passes
  /// left. Set once, by originalCounts() (passes/Analysis/StatsAnalysis.h):
  /// the tool calls it right after reading the model, a library user's
  /// first budgeted pass otherwise. Kept in memory only (never written).
  /// The IR only stores it: counting is the analyses' business.
  std::optional<OriginalCounts> original;

private:
  friend class Graph; // numbers the values it creates
  WeightStore weights;
  std::unique_ptr<Graph> graph;
  unsigned nextValueId = 0;
};

} // namespace onnxprune

#endif // ONNXPRUNE_IR_MODEL_H
