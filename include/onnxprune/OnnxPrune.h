//===- onnxprune/OnnxPrune.h - The onnx-prune C++ library --------*- C++
//-*-===//
///
/// \file
/// The library face of onnx-prune for build pipelines: read a model from a
/// path or from bytes, run a pipeline (the tool's -passes text), with
/// calibration data from a file or from arrays in memory, and get the model
/// back as bytes or a file together with a report (what was removed,
/// parameters and FLOPs before and after, the width of every prunable
/// group). This header needs only the C++17 standard library: no LLVM,
/// protobuf or ONNX type crosses it, and nothing here throws; failures come
/// back as a Status holding the tool's one-line message.
///
/// \code
///   #include <onnxprune/OnnxPrune.h>
///   onnxprune::api::Model m;
///   onnxprune::api::Status s = onnxprune::api::Model::load("in.onnx", m);
///   onnxprune::api::Report r;
///   if (s) s = m.run("prune-width<criterion=magnitude;ratio=0.3>,dce", {},
///   &r); if (s) s = m.save("out.onnx"); if (!s) std::cerr << s.message() <<
///   '\n';
/// \endcode
///
/// Link it with find_package(OnnxPrune) and OnnxPrune::onnxprune, or with
/// `pkg-config --cflags --libs onnxprune` (docs/library.md).
///
//===----------------------------------------------------------------------===//
#ifndef ONNXPRUNE_PUBLIC_ONNXPRUNE_H
#define ONNXPRUNE_PUBLIC_ONNXPRUNE_H

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace onnxprune {

class Model; // The IR (lib/IR/Model.h), for code that links the internals.

namespace api {

/// The version of the library ("0.1.0").
const char *version();

/// Version of the report's JSON schema (Report::toJson, docs/library.md).
/// Raised on any change that could break a reader.
constexpr int kReportSchemaVersion = 1;

/// Success, or a one-line message. Converts to true on success.
class Status {
public:
  Status() = default;
  static Status error(std::string message) {
    Status s;
    s.failed = true;
    s.msg = std::move(message);
    return s;
  }
  bool ok() const { return !failed; }
  explicit operator bool() const { return ok(); }
  /// "" on success.
  const std::string &message() const { return msg; }
  /// Whether the error is about the input (a model, options or data the
  /// caller gave) rather than a failure while running; the Python module
  /// raises ValueError for these and RuntimeError otherwise.
  bool isInputError() const { return inputError; }
  static Status inputErrorOf(std::string message) {
    Status s = error(std::move(message));
    s.inputError = true;
    return s;
  }

private:
  bool failed = false;
  bool inputError = false;
  std::string msg;
};

/// Element types, numbered as ONNX's TensorProto.DataType.
enum class ElementType : int32_t {
  Float = 1,
  UInt8 = 2,
  Int8 = 3,
  UInt16 = 4,
  Int16 = 5,
  Int32 = 6,
  Int64 = 7,
  Bool = 9,
  Float16 = 10,
  Double = 11,
  UInt32 = 12,
  UInt64 = 13,
  BFloat16 = 16,
};

/// A dense row-major array held in memory: one calibration input.
struct Array {
  std::string name; ///< The graph input it feeds.
  ElementType type = ElementType::Float;
  std::vector<int64_t> shape; ///< Axis 0 counts samples.
  std::string data;           ///< Exactly the bytes the shape needs.
};

/// A graph input or output as the model declares it.
struct TensorDesc {
  std::string name;
  ElementType type = ElementType::Float;
  /// -1 for a dim that is not static (a symbol such as "batch").
  std::vector<int64_t> shape;
};

/// What the tool takes as flags. Keys of set() are the tool's long flag
/// names without dashes; the C ABI's options JSON and the Python module's
/// keyword arguments use the same keys.
struct Options {
  /// --calibration: a .npz, a .npy or an ONNX test-data folder.
  std::string calibration;
  /// Calibration data in memory (instead of a path): one array per graph
  /// input, named after it, axis 0 = samples.
  std::vector<Array> calibrationArrays;
  /// --calibration-samples: use only the first N samples (0: all).
  int64_t calibrationSamples = 0;
  /// --calibration-batch: samples per calibration run.
  int64_t calibrationBatch = 32;
  /// --threads (the tool's -j): threads for scoring and slicing weights,
  /// and for ONNX Runtime's calibration runs unless calibrationThreads is
  /// set; 0 (the default): every core. Process-wide while a run lasts, as
  /// in the tool. The output is the same for any number.
  int64_t threads = 0;
  /// --calibration-threads: ONNX Runtime intra-op threads of calibration
  /// runs; 0 (the default): those of `threads`.
  int64_t calibrationThreads = 0;
  /// --report: after a run, write the HTML report here (the per-layer
  /// width chart alone for a name ending in .svg), atomically; "": none.
  std::string report;
  /// --verify-each: IR checks and ONNX's checker after every pass.
  bool verifyEach = false;
  /// --external-data: on save, tensors of at least this size go to an
  /// external data file ("1024", "1MB"); "" keeps each where it was.
  std::string externalData;
  /// --external-data-file: its name, relative to the output.
  std::string externalDataFile;
  /// Write the ONNX text format on save (the tool's -S).
  bool text = false;
  /// Folder that external data of a model read from bytes resolves
  /// against (a model in memory has no folder of its own).
  std::string baseDir;

  /// Sets one option from its text form ("calibration-batch", "16").
  /// Booleans take true/false/1/0. Unknown keys and bad values fail,
  /// naming the key and listing the known ones.
  Status set(const std::string &key, const std::string &value);
  /// The keys set() knows, in order.
  static std::vector<std::string> keys();
};

/// Size figures of a model (as `print<stats>` counts them).
struct Counts {
  uint64_t nodes = 0;
  uint64_t params = 0; ///< As torch's parameters() counts them.
  uint64_t flops = 0;  ///< One inference; multiply-add = 2.
  bool flopsExact = true;
  uint64_t weightBytes = 0;
};

/// One prunable dependency group of the model as it was before the
/// pipeline: its root (the first weight axis of its first space) and the
/// width of that space before and after.
struct GroupWidth {
  unsigned group = 0;
  std::string tensor; ///< The root weight.
  unsigned axis = 0;
  int64_t unitWidth = 1; ///< Elements per unit (a head: its dim).
  int64_t before = 0;
  /// Width after the pipeline; 0 when the tensor is gone (dropped layer).
  int64_t after = 0;
};

/// A tensor whose shape the pipeline changed (a weight sliced).
struct ShapeChange {
  std::string tensor;
  std::vector<int64_t> before, after;
};

/// What a run did.
struct Report {
  /// The pipeline in canonical form (-print-pipeline-passes).
  std::string pipeline;
  Counts before, after;
  /// Nodes of the main graph that are gone, in their original order.
  std::vector<std::string> removedNodes;
  /// Weights of the main graph that are gone, and those sliced.
  std::vector<std::string> removedWeights;
  std::vector<ShapeChange> slicedWeights;
  /// Every group with prunable units, in group order.
  std::vector<GroupWidth> groups;
  /// What the passes printed (print<...>, check-numerics' summary).
  std::string log;

  /// The report as JSON, schema kReportSchemaVersion (docs/library.md).
  std::string toJson() const;
};

/// The groups summary of `--coverage`.
struct Coverage {
  unsigned groups = 0;
  unsigned prunableGroups = 0;
  uint64_t prunableUnits = 0;
  uint64_t params = 0;
  uint64_t prunableParams = 0;
  /// Frozen spaces with weights, by cause ("op: rule"), with counts.
  std::vector<std::pair<std::string, unsigned>> frozen;
  /// Ops without a handler, with node counts.
  std::vector<std::pair<std::string, unsigned>> unhandledOps;

  /// As JSON: {"groups", "prunable_groups", "prunable_units", "params",
  /// "prunable_params", "frozen": {cause: count}, "unhandled_ops": {op:
  /// count}}.
  std::string toJson() const;
};

/// One pass of a pipeline built in code: a registry name and its
/// parameters, in the order set. It renders as the -passes text does
/// (`name<k=v;flag>`), so a Pipeline and the same text run the same passes
/// and give the same bytes.
///
/// \code
///   Pipeline p;
///   p.add(Pass("prune-width").set("criterion", "obs").flag("compensate")
///             .set("per-group", 0.3))
///    .add(Pass("dce"));
///   m.run(p, opts, &report);   // as m.run("prune-width<criterion=obs;
///                              //   compensate;per-group=0.3>,dce", ...)
/// \endcode
class Pass {
public:
  explicit Pass(std::string name) : passName(std::move(name)) {}
  /// `print<NAME>`, `require<NAME>`: an analysis printed or computed.
  static Pass print(const std::string &analysis);
  static Pass require(const std::string &analysis);

  /// `key=value`. Doubles print in the shortest form that reads back to
  /// the same value, as the canonical pipeline does.
  Pass &set(const std::string &key, const std::string &value);
  Pass &set(const std::string &key, const char *value) {
    return set(key, std::string(value));
  }
  Pass &set(const std::string &key, int64_t value);
  Pass &set(const std::string &key, int value) {
    return set(key, int64_t(value));
  }
  Pass &set(const std::string &key, double value);
  /// A flag parameter, `key` alone (compensate, global, uniform...).
  Pass &flag(const std::string &key);

  const std::string &name() const { return passName; }
  /// The pass as pipeline text: `name` or `name<k=v;flag>`.
  std::string text() const;

private:
  friend class Pipeline;
  std::string passName;
  /// (key, value) in order; a flag has no value.
  std::vector<std::pair<std::string, std::string>> params;
  std::vector<bool> isFlag;
};

/// A pass or analysis of the library's registry (PassRegistry.def), for
/// code that builds pipelines; passes that plugins add parse in pipelines
/// but are not listed.
struct PassDesc {
  bool isAnalysis = false; ///< Used as print<NAME> / require<NAME>.
  std::string name;
  std::string params; ///< The parameter grammar ("per-group=R;..."), or "".
  std::string description;
};

/// A pipeline built in code (see Pass).
class Pipeline {
public:
  Pipeline &add(Pass pass) {
    passes.push_back(std::move(pass));
    return *this;
  }
  const std::vector<Pass> &getPasses() const { return passes; }
  /// The -passes text, passes joined by ','.
  std::string text() const;
  /// Parses text() with the registry: an unknown pass or parameter, or a
  /// value that the pipeline text cannot hold (one with ';', ',', '<' or
  /// '>' where the grammar ends there), fails with the tool's message.
  /// \p canonical gets -print-pipeline-passes' form.
  Status validate(std::string *canonical = nullptr) const;
  /// Every registered pass and analysis, passes first, each sorted by name.
  static std::vector<PassDesc> registered();

private:
  std::vector<Pass> passes;
};

/// A model in memory. Movable, not copyable.
class Model {
public:
  Model();
  ~Model();
  Model(Model &&) noexcept;
  Model &operator=(Model &&) noexcept;
  Model(const Model &) = delete;
  Model &operator=(const Model &) = delete;

  /// Reads a binary `.onnx` (external data beside it) or text model.
  static Status load(const std::string &path, Model &out);
  /// Reads a model (binary or text format) held in memory; external data
  /// resolves against \p baseDir ("": a model with external data fails).
  static Status fromBytes(std::string bytes, Model &out,
                          const std::string &baseDir = "");

  /// The graph inputs that have no initializer, and the graph outputs.
  std::vector<TensorDesc> inputs() const;
  std::vector<TensorDesc> outputs() const;

  /// Whether a model was read.
  bool valid() const { return impl != nullptr; }

  /// Runs \p pipeline (the tool's -passes text) with \p opts; fills
  /// \p report when not null. On failure the model may hold part of the
  /// pipeline's changes: keep a copy (toBytes) if that matters.
  Status run(const std::string &pipeline, const Options &opts = {},
             Report *report = nullptr);
  /// Runs a pipeline built in code: the same as running its text().
  Status run(const Pipeline &pipeline, const Options &opts = {},
             Report *report = nullptr);

  /// Writes the model: atomically, nothing left behind on failure.
  Status save(const std::string &path, const Options &opts = {}) const;
  /// The binary model with every weight inline (fails past 2 GB).
  Status toBytes(std::string &out) const;

  /// Runs the model once in ONNX Runtime (the runtime calibration uses):
  /// \p inputs by graph input name; \p outputs gets every graph output in
  /// order. For checking a pruned model where no ORT binding is at hand.
  Status infer(const std::vector<Array> &inputs,
               std::vector<Array> &outputs) const;

  /// The groups summary (the tool's --coverage).
  Status coverage(Coverage &out);
  /// Current size figures.
  Counts counts() const;

  /// The IR, for code that links the internals (plugins, passes built in
  /// code); null when !valid().
  onnxprune::Model *ir();

  struct Impl;

private:
  std::unique_ptr<Impl> impl;
};

/// Loads a plugin (a shared library exporting onnxprunePluginInfo, see
/// onnxprune/Plugin.h) into this process: its criteria, op handlers and
/// passes join the registries, for every model. Fails on a missing entry
/// point or another plugin API version.
Status loadPlugin(const std::string &path);

} // namespace api
} // namespace onnxprune

#endif // ONNXPRUNE_PUBLIC_ONNXPRUNE_H
