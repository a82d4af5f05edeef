//===- RandomCriterion.cpp - Seeded random scores -------------------------===//
///
/// \file
/// `random`: every prunable unit scores a uniform number in [0, 1) from a
/// splitmix64 stream, so a seed gives the same scores on every platform and
/// standard library (std::uniform_real_distribution does not promise that).
/// The stream of group g starts from mix(seed, g): scores of one group do
/// not depend on how many other groups were scored before it. Units given
/// as weight slices (experts) draw stream s of their caller (an MoE
/// block's index) the same way.
///
//===----------------------------------------------------------------------===//

#include "passes/Criteria/Criterion.h"

#include "lib/Support/SplitMix.h"

using namespace llvm;

namespace onnxprune {

namespace {

/// \p count uniform scores of stream \p stream under \p seed.
std::vector<double> drawScores(uint64_t seed, uint64_t stream, size_t count) {
  uint64_t mix = seed ^ (0xd1b54a32d192ed03ULL * (stream + 1));
  uint64_t state = splitmix64(mix);
  std::vector<double> scores;
  for (size_t i = 0; i < count; ++i)
    // The top 53 bits, scaled: exactly representable, in [0, 1).
    scores.push_back(splitmixUnit(state));
  return scores;
}

class RandomCriterion final : public Criterion {
public:
  StringRef name() const override { return "random"; }
  bool scoresKind(UnitKind) const override { return true; }

  Error configure(PassParams &params, CriterionOptions &opts) override {
    return params.getUnsigned("seed", opts.seed);
  }
  void printParams(PassParamsPrinter &pp,
                   const CriterionOptions &opts) const override {
    pp.add("seed", opts.seed);
  }

protected:
  Expected<std::vector<double>>
  computeScores(const DepGraph &dg, unsigned group,
                const CriterionOptions &opts) const override {
    return drawScores(opts.seed, group, dg.getGroups()[group].numPrunable);
  }
  Expected<std::vector<double>>
  computeSliceScores(ArrayRef<SliceUnit> units, uint64_t stream,
                     const CriterionOptions &opts) const override {
    return drawScores(opts.seed, stream, units.size());
  }
  /// Depth units draw from their own stream (after every group index a
  /// model can have), so depth and width scores of one seed are unrelated.
  Expected<std::vector<double>>
  computeDepthScores(const DepthContext &, ArrayRef<unsigned> candidates,
                     const CriterionOptions &opts) override {
    return drawScores(opts.seed, ~uint64_t(0) >> 1, candidates.size());
  }
};

} // namespace

std::unique_ptr<Criterion> createRandomCriterion() {
  return std::make_unique<RandomCriterion>();
}

} // namespace onnxprune
