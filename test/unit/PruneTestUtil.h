//===- PruneTestUtil.h - Masked == pruned checks for tests ------*- C++ -*-===//
///
/// \file
/// Shared test helpers for op handlers and the model zoo: read a model,
/// build its dependency groups, look up groups / units / frozen reasons by
/// value name, and run THE property every handler must satisfy:
///
///   load the model twice -> build the dep graph of each copy
///     copy A: applyMasking(units)            (zero the MAC slices)
///     copy B: applyPruning(units) + dce      (remove them)
///   -> B passes the IR verifier and onnx's checker
///   -> run A and B in ONNX Runtime on the same seeded random inputs
///   -> outputs agree to rtol/atol.
///
/// Units are chosen by a selector run on each copy's own analysis (dep
/// graphs are deterministic, so both copies pick the same units; the check
/// also fails when the two analyses differ in shape). Nothing here uses
/// GoogleTest: every failure is an llvm::Error whose text says what went
/// wrong, so tests write
///
/// \code
///   auto r = checkMaskedEqualsPruned(kText, unitsOf("W", 0, {1, 3}));
///   ASSERT_TRUE(!!r) << llvm::toString(r.takeError());
///   EXPECT_EQ(r->pruned.weightDims("W"), (std::vector<int64_t>{6, 4}));
/// \endcode
///
//===----------------------------------------------------------------------===//
#ifndef ONNXPRUNE_TEST_UNIT_PRUNETESTUTIL_H
#define ONNXPRUNE_TEST_UNIT_PRUNETESTUTIL_H

#include "frontends/onnx/OnnxChecks.h"
#include "lib/IR/Model.h"
#include "lib/Runtime/OrtSession.h"
#include "passes/Analysis/DepGraph.h"

#include "llvm/Support/Error.h"

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace onnxprune {
namespace test {

/// Reads an ONNX text model (liftConstants and shape inference on).
llvm::Expected<std::unique_ptr<Model>> parseTextModel(llvm::StringRef text);

/// A model with its dependency groups and lookups by value name. Lookups
/// of a name that does not exist assert in debug builds and return -1 /
/// empty in release builds.
struct AnalyzedModel {
  std::unique_ptr<Model> model;
  DepGraph dg;

  /// The value named \p name in the main graph, or null.
  Value *value(llvm::StringRef name) const;
  /// Space of axis \p axis of value \p name, or -1 (unknown size, never
  /// coupled).
  int space(llvm::StringRef name, unsigned axis) const;
  /// Group of that axis, or -1 (its space belongs to no group).
  int group(llvm::StringRef name, unsigned axis) const;
  /// The unit holding element \p index of that axis; -1 when none.
  int unit(llvm::StringRef name, unsigned axis, int64_t index) const;
  /// True when the axis' space is frozen directly (not via a coupling).
  bool frozen(llvm::StringRef name, unsigned axis) const;
  /// The rule its space was frozen with ("" when not frozen).
  std::string frozenRule(llvm::StringRef name, unsigned axis) const;
  /// Number of prunable units of the axis' group (0 when in no group).
  unsigned numPrunable(llvm::StringRef name, unsigned axis) const;
  /// Elements per unit of the axis' group (DepGraph::Group::unitWidth).
  int64_t unitWidth(llvm::StringRef name, unsigned axis) const;
  /// Prunable unit ids of group \p g in group order.
  std::vector<unsigned> prunableUnits(unsigned g) const;
  /// The members "weight W[0]" / "Y[1]" of the axis' space, in print order.
  std::vector<std::string> spaceMembers(llvm::StringRef name,
                                        unsigned axis) const;
  /// The elements (indices) of \p name's axis \p axis that belong to \p u.
  std::vector<int64_t> elementsOf(unsigned u, llvm::StringRef name,
                                  unsigned axis) const;
  /// print<dep-groups> output.
  std::string print() const;

  /// Dims and float values of a weight (reads any floating type as
  /// double -> float); empty when \p name is not a weight.
  std::vector<int64_t> weightDims(llvm::StringRef name) const;
  std::vector<float> weightFloats(llvm::StringRef name) const;
  /// Dims of an activation's static shape (-1 for non-static dims).
  std::vector<int64_t> valueDims(llvm::StringRef name) const;
  /// An integer attribute of the first node with op \p opType (\p dflt when
  /// the node or attribute is missing).
  int64_t nodeIntAttr(llvm::StringRef opType, llvm::StringRef attr,
                      int64_t dflt) const;
};

/// Loads a fresh copy of the model under test each time it is called.
using ModelLoader = std::function<llvm::Expected<std::unique_ptr<Model>>()>;
ModelLoader textLoader(std::string text);
ModelLoader fileLoader(std::string path);

llvm::Expected<AnalyzedModel> analyze(const ModelLoader &load,
                                      const DepGraphOptions &graph = {});
llvm::Expected<AnalyzedModel> analyzeText(llvm::StringRef text);

/// Picks the units to remove from an analysed copy.
using UnitSelector =
    std::function<llvm::Expected<std::vector<unsigned>>(const AnalyzedModel &)>;
/// The units holding elements \p indices of axis \p axis of \p name.
UnitSelector unitsOf(std::string name, unsigned axis,
                     std::vector<int64_t> indices);
/// Units by id (for units found with an AnalyzedModel of the same model).
UnitSelector unitIds(std::vector<unsigned> ids);
/// Every \p stride-th prunable unit of every group (from \p offset),
/// never all of a group. The zoo's default sweep.
UnitSelector everyNthPrunable(unsigned stride, unsigned offset = 0);

struct PruneCheckOptions {
  double rtol = 1e-4;
  double atol = 1e-5;
  /// Inputs are drawn with seeds seed, seed+1, ... (numInputSets runs).
  RandomInputOptions inputs;
  unsigned numInputSets = 2;
  bool runDce = true;
  /// onnx::checker (full) on the pruned copy. Skipped past the opsets the
  /// linked ONNX knows (reported in PruneCheckResult::checker.skipped).
  bool runChecker = true;
  /// How both copies are analysed (hidden-size mode).
  DepGraphOptions graph;
};

/// Both copies are re-analysed after their transform, so every lookup of
/// AnalyzedModel works on them (the pruned copy's groups are those of the
/// smaller model).
struct PruneCheckResult {
  AnalyzedModel masked; ///< After applyMasking.
  AnalyzedModel pruned; ///< After applyPruning + dce.
  std::vector<unsigned> units;
  CompareResult compare; ///< Worst over all input sets.
  CheckReport checker;
  /// Floating-point parameters before and after pruning.
  uint64_t paramsBefore = 0, paramsAfter = 0;
};

/// THE property: masked == pruned in ONNX Runtime, pruned passes checks.
/// Fails (llvm::Error) on any step, including an output mismatch (the
/// message names output, element and both values).
llvm::Expected<PruneCheckResult>
checkMaskedEqualsPruned(const ModelLoader &load, const UnitSelector &select,
                        const PruneCheckOptions &opts = {});
llvm::Expected<PruneCheckResult>
checkMaskedEqualsPruned(llvm::StringRef text, const UnitSelector &select,
                        const PruneCheckOptions &opts = {});

/// Runs \p expected and \p actual in ONNX Runtime on the same seeded random
/// inputs (opts.numInputSets sets drawn from \p expected's interface with
/// opts.inputs) and compares their outputs to opts.rtol/atol: the worst
/// result over all sets. Fails when a model does not load or run, or on
/// the first mismatch (the message names the two models as given).
llvm::Expected<CompareResult>
compareInOrt(const Model &expected, const Model &actual,
             const PruneCheckOptions &opts,
             llvm::StringRef expectedName = "expected",
             llvm::StringRef actualName = "actual");

/// "name: dtype 1 [batch,3,64,64]" for each graph input or output: what
/// must not change when a model is pruned.
std::vector<std::string> describeIO(llvm::ArrayRef<Value *> values);

/// Counts floating-point weight elements of every graph (subgraphs too).
uint64_t countParams(const Model &m);

/// "float[d0,d1] name = {...}" for text-format test models, with
/// deterministic values in [lo, hi) seeded by the name (so a tensor keeps
/// its values when other tensors are added).
std::string textTensor(const std::string &name,
                       const std::vector<int64_t> &dims, float lo = -0.5f,
                       float hi = 0.5f);

/// "int64[n] name = {...}".
std::string textInts(const std::string &name,
                     const std::vector<int64_t> &values);

/// A text-format model: a header importing \p opsets (e.g. `"" : 17`), the
/// graph signature \p sig, its initializers and its node lines.
std::string textModel(const std::string &opsets, const std::string &sig,
                      const std::vector<std::string> &inits,
                      const std::string &body);

} // namespace test
} // namespace onnxprune

#endif // ONNXPRUNE_TEST_UNIT_PRUNETESTUTIL_H
