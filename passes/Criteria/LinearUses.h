//===- LinearUses.h - Weights of a group that multiply activations -*- C++
//-*-===//
///
/// \file
/// What the data-driven criteria (wanda, amp, obs, obspa) share: the weight
/// members of a group that a Conv, MatMul or Gemm multiplies with an
/// activation, seen as a dense matrix W[outputs, D] whose column j reads
/// input channel j / taps (taps = kh * kw for a Conv, 1 otherwise):
///
/// \code
///   MatMul(x[.., K], W[K, N])         rows n, columns k      (W transposed)
///   Gemm(x[M, K], W[N, K], transB=1)  rows n, columns k
///   Conv(x[N, C, H, W], W[M, C/g, kh, kw])
///                                     rows m, columns c * kh * kw + t
/// \endcode
///
/// A member is a *consumer* when its axis is the input-channel axis (K, or
/// C of an ungrouped Conv): removing unit j deletes column block j of W and
/// channel j of x. Otherwise it is a *stem* (the output axis): removing j
/// deletes row j. Grouped Convs are stems only (their input axis is read per
/// group); depthwise Convs pass a space through and are left to the next
/// consumer.
///
//===----------------------------------------------------------------------===//
#ifndef ONNXPRUNE_PASSES_CRITERIA_LINEARUSES_H
#define ONNXPRUNE_PASSES_CRITERIA_LINEARUSES_H

#include "passes/Analysis/Calibration.h"
#include "passes/Analysis/DepGraph.h"
#include "passes/Criteria/Criterion.h"

#include "llvm/ADT/StringMap.h"

#include "llvm/Support/Error.h"

#include <optional>
#include <vector>

namespace onnxprune {

struct LinearUse {
  const Node *node = nullptr;
  const Value *weight = nullptr;
  unsigned space = 0; ///< The group space the member lies in.
  bool consumer = false;
  /// The activation W multiplies and its channel axis.
  const Value *input = nullptr;
  int64_t inputAxis = -1;
  int64_t outputs = 0; ///< Rows of the matrix view.
  int64_t depth = 0;   ///< Columns D of the matrix view.
  int64_t taps = 1;    ///< Columns per input channel.
  int64_t groups = 1;  ///< Conv groups (stems of grouped Convs).
  /// W is stored [D, outputs] (MatMul, Gemm without transB): the matrix
  /// view is its transpose.
  bool transposed = false;
  ConvGeometry conv; ///< Conv only (kernel empty otherwise).
  /// False for a Conv whose im2col patches cannot be gathered (3-D and
  /// up, or auto_pad over unknown dims): its X^T X is unknown.
  bool patchesKnown = true;

  /// Input channel read by column \p col of row \p row.
  int64_t channelOf(int64_t row, int64_t col) const {
    int64_t perGroupIn = depth / taps;
    return (row / (outputs / groups)) * perGroupIn + col / taps;
  }
};

/// \p n as a linear layer (Conv, Gemm without transA, MatMul with a 2-D
/// float weight as input 1), without a group role: `space` and `consumer`
/// unset. Repairs use it for the weight layout.
std::optional<LinearUse> linearLayerOf(const Node &n);

/// Every linear use of a weight member of the spaces of group \p group,
/// in space then member order.
std::vector<LinearUse> linearUsesOf(const DepGraph &dg, unsigned group);

/// W of \p use as a row-major [outputs, depth] matrix of doubles.
llvm::Expected<std::vector<double>> readRowMatrix(const LinearUse &use);

/// Writes \p matrix ([outputs, depth], as readRowMatrix gives it) back into
/// the layout and dtype (float32) of the weight: a WeightUpdate.
WeightUpdate makeRowMatrixUpdate(const LinearUse &use,
                                 llvm::ArrayRef<double> matrix);

/// The statistic request for \p use's input: Moments on its channel axis,
/// or (gram) X^T X of its columns (Gram, or ConvGram for a Conv).
StatRequest inputRequest(const LinearUse &use, bool gram);

/// The statistics a data criterion asks for, gathered in one calibration
/// run (requests with equal keys share one entry).
class StatsTable {
public:
  /// Adds \p r; returns its index.
  unsigned request(const StatRequest &r);
  /// Runs the calibration over \p source; \p who names the criterion in
  /// errors ("criterion 'wanda'").
  llvm::Error collect(const CriterionContext &ctx,
                      const CalibrationSource &source, llvm::StringRef who);
  const ActivationStats &get(unsigned i) const { return stats[i]; }
  /// The statistics of a request made before collect().
  const ActivationStats &get(const StatRequest &r) const {
    auto it = byKey.find(r.key());
    assert(it != byKey.end() && "statistic not requested in prepare()");
    return stats[it->second];
  }
  bool empty() const { return requests.empty(); }
  /// The source's description, once collected.
  const std::string &getSource() const { return source; }
  /// Statistics made without running the model (obspa<source=bn>).
  void set(const StatRequest &r, ActivationStats s);
  void setSource(std::string s) { source = std::move(s); }

private:
  std::vector<StatRequest> requests;
  llvm::StringMap<unsigned> byKey;
  std::vector<ActivationStats> stats;
  std::string source;
};

/// The shared part of the criteria that score consumers from activation
/// statistics and take only `normalize` (wanda, amp): registry flags,
/// parameters, and the StatsTable gathered in prepare().
class ConsumerStatsCriterion : public Criterion {
public:
  bool needsData() const override { return true; }
  std::string source() const override { return table.getSource(); }
  llvm::Error configure(PassParams &params, CriterionOptions &opts) override {
    return readNormalizeParam(params, opts);
  }
  void printParams(PassParamsPrinter &pp,
                   const CriterionOptions &opts) const override {
    pp.add("normalize", normalizeName(opts.normalize));
  }
  /// Requests requestFor(use) for every consumer of \p groups and runs the
  /// calibration once.
  llvm::Error prepare(const CriterionContext &ctx,
                      llvm::ArrayRef<unsigned> groups) override;

protected:
  /// The statistic this criterion reads at consumer \p u of \p group.
  virtual StatRequest requestFor(const DepGraph &dg, unsigned group,
                                 const LinearUse &u) const = 0;
  StatsTable table;
};

/// Indices of \p unit's elements in space \p space, ascending.
std::vector<int64_t> elementsIn(const DepGraph &dg, unsigned unit,
                                unsigned space);

} // namespace onnxprune

#endif // ONNXPRUNE_PASSES_CRITERIA_LINEARUSES_H
