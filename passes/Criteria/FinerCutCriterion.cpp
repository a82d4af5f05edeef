//===- FinerCutCriterion.cpp - Greedy layer removal by output change ------===//
///
/// \file
/// `finercut` (depth units; Zhang et al. 2024, FinerCut): every candidate
/// (attention and MLP sub-layers each their own) is scored by how much
/// removing it, on top of the units already chosen, moves the model's
/// output away from the original's over the calibration data; the unit
/// that moves it least goes, then every remaining one is scored again,
/// until the budget is met. Greedy re-scoring is what lets it find that the
/// second attention layer is cheap only once the first is gone.
///
/// Removing a unit is silencing its branch: the calibration provider runs
/// one session of the model with every candidate's branch output multiplied
/// by a fed gate (1 keeps it; 0 is exactly the dropped model, since
/// x + 0 * f(x) = x), so a step costs batches x (1 + candidates) runs and
/// no new session. Memory: one batch of the output, twice.
///
/// Parameters:
///   distance=js|angular  per output vector (last axis): Jensen-Shannon
///                        divergence of the softmaxes (logits; default) or
///                        the angular distance arccos(cos) / pi (hidden
///                        states of an encoder)
///   output=NAME          the graph output compared (default: the first)
///   normalize            as magnitude (for scoreDepth's one-shot scores)
///
/// chooseDepthOrder is the greedy solver; scoreDepth is its first step
/// alone (each unit removed by itself).
///
//===----------------------------------------------------------------------===//

#include "passes/Criteria/Criterion.h"
#include "passes/Criteria/DepthCriteria.h"

#include "lib/IR/Graph.h"
#include "lib/Support/Error.h"
#include "passes/Analysis/Calibration.h"

#include "llvm/ADT/StringMap.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/raw_ostream.h"

using namespace llvm;

namespace onnxprune {

namespace {

class FinerCutCriterion final : public Criterion {
public:
  StringRef name() const override { return "finercut"; }
  bool needsData() const override { return true; }
  bool scoresKind(UnitKind k) const override { return k == UnitKind::Depth; }

  Error configure(PassParams &params, CriterionOptions &opts) override {
    std::string d = outputDistanceName(distance).str();
    if (Error e = params.getString("distance", d))
      return e;
    if (d == "js")
      distance = OutputDistance::JS;
    else if (d == "angular")
      distance = OutputDistance::Angular;
    else
      return params.makeParamError("distance",
                                   "must be js or angular, not '" + d + "'");
    if (Error e = params.getString("output", output))
      return e;
    return readNormalizeParam(params, opts);
  }
  void printParams(PassParamsPrinter &pp,
                   const CriterionOptions &opts) const override {
    pp.add("distance", outputDistanceName(distance));
    if (!output.empty())
      pp.add("output", output);
    pp.add("normalize", normalizeName(opts.normalize));
  }
  std::string source() const override { return dataSource; }

  Expected<std::optional<std::vector<std::pair<unsigned, double>>>>
  chooseDepthOrder(const DepthContext &ctx, ArrayRef<unsigned> candidates,
                   function_ref<bool(ArrayRef<unsigned>)> enough) override {
    if (Error e = setUp(ctx, candidates))
      return std::move(e);
    std::vector<std::pair<unsigned, double>> order;
    std::vector<unsigned> chosen, chosenPos;
    std::vector<unsigned> remaining(candidates.size());
    for (unsigned i = 0; i < remaining.size(); ++i)
      remaining[i] = i;
    while (!remaining.empty() && !enough(chosen)) {
      auto d = distances(ctx, chosenPos, remaining);
      if (!d)
        return d.takeError();
      size_t best = 0;
      for (size_t k = 1; k < remaining.size(); ++k)
        if ((*d)[k] < (*d)[best])
          best = k;
      unsigned pos = remaining[best];
      const ResidualUnit &u = ctx.units->units[candidates[pos]];
      *ctx.log << "finercut: step " << order.size() + 1 << ": "
               << depthKindName(u.kind) << " '" << u.id << "', "
               << outputDistanceName(distance) << " "
               << format("%.6g", (*d)[best]) << " (of " << remaining.size()
               << " candidates)\n";
      order.push_back({candidates[pos], (*d)[best]});
      chosen.push_back(candidates[pos]);
      chosenPos.push_back(pos);
      remaining.erase(remaining.begin() + best);
    }
    return order;
  }

protected:
  Expected<std::vector<double>>
  computeDepthScores(const DepthContext &ctx, ArrayRef<unsigned> candidates,
                     const CriterionOptions &) override {
    if (Error e = setUp(ctx, candidates))
      return std::move(e);
    std::vector<unsigned> all(candidates.size());
    for (unsigned i = 0; i < all.size(); ++i)
      all[i] = i;
    return distances(ctx, {}, all);
  }

private:
  /// Checks the data and the output; lists the gates of every candidate.
  Error setUp(const DepthContext &ctx, ArrayRef<unsigned> candidates) {
    if (Error e = requireCalibration(ctx.calibration, "criterion 'finercut'",
                                     /*needData=*/true))
      return e;
    const Graph &g = ctx.model->getGraph();
    if (output.empty()) {
      if (g.getOutputs().empty())
        return makeError("finercut: the model has no output to compare");
      outputName = g.getOutputs()[0]->getName();
    } else {
      const Value *v = g.lookup(output);
      if (!v || !v->isGraphOutput())
        return makeError("finercut: output=" + output +
                         " is not an output of the model");
      outputName = output;
    }
    gates.clear();
    gatesOf.assign(candidates.size(), {});
    StringMap<unsigned> gateIndex;
    for (unsigned i = 0; i < candidates.size(); ++i) {
      const ResidualUnit &u = ctx.units->units[candidates[i]];
      std::vector<const ResidualUnit *> subLayers;
      if (u.parts.empty())
        subLayers.push_back(&u);
      for (unsigned p : u.parts)
        subLayers.push_back(&ctx.units->units[p]);
      for (const ResidualUnit *s : subLayers) {
        auto [it, inserted] = gateIndex.try_emplace(s->branchOut, gates.size());
        if (inserted)
          gates.push_back(s->branchOut);
        gatesOf[i].push_back(it->second);
      }
    }
    dataSource = ctx.calibration->describe(CalibrationSource());
    return Error::success();
  }

  /// The mean distance of the output with the candidates at \p removed
  /// (positions) gone and, for each of \p trial, that one gone too.
  Expected<std::vector<double>> distances(const DepthContext &ctx,
                                          ArrayRef<unsigned> removed,
                                          ArrayRef<unsigned> trial) {
    std::vector<MeanSum> sums(trial.size());
    std::vector<float> base(gates.size(), 1.0f);
    std::vector<float> reference;
    std::vector<int64_t> refShape;
    Error err = ctx.calibration->forEachGatedBatch(
        *ctx.model, {outputName}, gates, CalibrationSource(),
        [&](CalibrationProvider::GatedBatch &batch) -> Error {
          // The original model's output for this batch.
          std::vector<float> ones(gates.size(), 1.0f);
          if (Error e =
                  batch.run(ones, [&](ArrayRef<std::vector<float>> values,
                                      ArrayRef<std::vector<int64_t>> shapes) {
                    reference = values[0];
                    refShape = shapes[0];
                    return Error::success();
                  }))
            return e;
          for (size_t k = 0; k < trial.size(); ++k) {
            std::vector<float> g = base;
            for (unsigned r : removed)
              for (unsigned gi : gatesOf[r])
                g[gi] = 0;
            for (unsigned gi : gatesOf[trial[k]])
              g[gi] = 0;
            if (Error e = batch.run(
                    g,
                    [&](ArrayRef<std::vector<float>> values,
                        ArrayRef<std::vector<int64_t>> shapes) -> Error {
                      if (shapes[0] != refShape)
                        return makeError("finercut: output '" + outputName +
                                         "' changed shape when a unit was "
                                         "removed");
                      addDistances(reference.data(), values[0].data(), refShape,
                                   distance, sums[k]);
                      return Error::success();
                    }))
              return e;
          }
          return Error::success();
        });
    if (err)
      return std::move(err);
    std::vector<double> out;
    for (const MeanSum &s : sums)
      out.push_back(s.mean());
    return out;
  }

  OutputDistance distance = OutputDistance::JS;
  std::string output;
  // Per run:
  std::string outputName;
  std::vector<std::string> gates;
  std::vector<std::vector<unsigned>> gatesOf;
  std::string dataSource;
};

} // namespace

std::unique_ptr<Criterion> createFinerCutCriterion() {
  return std::make_unique<FinerCutCriterion>();
}

} // namespace onnxprune
