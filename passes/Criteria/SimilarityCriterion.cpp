//===- SimilarityCriterion.cpp - Drop the layers that change least --------===//
///
/// \file
/// `similarity` (depth units): the mean cosine between the residual stream
/// before and after a unit over the calibration data, as LLM-Drop scores
/// attention and MLP sub-layers and ShortGPT's Block Influence (1 - cos)
/// scores whole layers. The score is 1 - mean cos: the most similar, whose
/// output is nearly its input, go first.
///
/// \code
///   x = [1, 0], y = x + f(x) = [1, 1]:  cos = 0.7071, score 0.2929
/// \endcode
///
/// One calibration run reads every stream the candidates touch. Streams
/// are vectors per token (last axis) or, for 4-D activations, per position
/// along the channel axis (DepthCriteria.h).
///
//===----------------------------------------------------------------------===//

#include "passes/Criteria/Criterion.h"
#include "passes/Criteria/DepthCriteria.h"

#include "lib/Support/Error.h"
#include "passes/Analysis/Calibration.h"

#include "llvm/ADT/StringMap.h"

#include <cmath>

using namespace llvm;

namespace onnxprune {

namespace {

class SimilarityCriterion final : public Criterion {
public:
  StringRef name() const override { return "similarity"; }
  bool needsData() const override { return true; }
  bool scoresKind(UnitKind k) const override { return k == UnitKind::Depth; }
  Error configure(PassParams &params, CriterionOptions &opts) override {
    return readNormalizeParam(params, opts);
  }
  void printParams(PassParamsPrinter &pp,
                   const CriterionOptions &opts) const override {
    pp.add("normalize", normalizeName(opts.normalize));
  }
  std::string source() const override { return dataSource; }

protected:
  Expected<std::vector<double>>
  computeDepthScores(const DepthContext &ctx, ArrayRef<unsigned> candidates,
                     const CriterionOptions &) override {
    if (Error e = requireCalibration(ctx.calibration, "criterion 'similarity'",
                                     /*needData=*/true))
      return std::move(e);
    // Every stream once: one unit's output is often the next one's input.
    std::vector<std::string> streams;
    StringMap<unsigned> index;
    auto slot = [&](const std::string &name) {
      auto [it, inserted] = index.try_emplace(name, streams.size());
      if (inserted)
        streams.push_back(name);
      return it->second;
    };
    std::vector<std::pair<unsigned, unsigned>> pairs;
    for (unsigned c : candidates) {
      const ResidualUnit &u = ctx.units->units[c];
      unsigned in = slot(u.streamIn);
      pairs.push_back({in, slot(u.streamOut)});
    }
    std::vector<MeanSum> sums(candidates.size());
    CalibrationSource source;
    Error err = ctx.calibration->forEachBatch(
        *ctx.model, streams, source,
        [&](ArrayRef<std::vector<float>> values,
            ArrayRef<std::vector<int64_t>> shapes) -> Error {
          for (size_t k = 0; k < pairs.size(); ++k) {
            auto [in, out] = pairs[k];
            if (shapes[in] != shapes[out])
              return makeError("similarity: streams '" + streams[in] +
                               "' and '" + streams[out] + "' differ in shape");
            addCosines(values[in].data(), values[out].data(), shapes[in],
                       sums[k]);
          }
          return Error::success();
        });
    if (err)
      return std::move(err);
    dataSource = ctx.calibration->describe(source);
    std::vector<double> scores;
    for (const MeanSum &s : sums)
      scores.push_back(1.0 - (s.count ? s.mean() : 1.0));
    return scores;
  }

private:
  std::string dataSource;
};

} // namespace

std::unique_ptr<Criterion> createSimilarityCriterion() {
  return std::make_unique<SimilarityCriterion>();
}

} // namespace onnxprune
