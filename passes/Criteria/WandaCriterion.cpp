//===- WandaCriterion.cpp - Structured Wanda ------------------------------===//
///
/// \file
/// `wanda`: structured Wanda (Sun et al. 2023, pruning by weights and
/// activations; the structured form of Wanda-sp / FLAP's baseline). A unit
/// is the input channel j of the layers that consume it, and every weight
/// element that multiplies it scores its magnitude times the channel's
/// norm:
///
///   score(j) = sum over consumers, sum_r |W[r, j]| * ||X_j||
///
/// with W the [outputs, D] view of a Conv / MatMul / Gemm weight
/// (LinearUses.h; a Conv's column block j holds its kh * kw taps) and
/// ||X_j|| the root mean square of channel j over the calibration vectors
/// (the L2 norm divided by sqrt of their count, so layers at different
/// resolutions compare). The producing layer's row j is not scored: its
/// weights multiply other channels, and a BatchNorm after it rescales them
/// anyway (on the Fashion-MNIST ResNet and ViT, adding them made the
/// choice worse than random).
///
/// \code
///   W[2 out, 2 in] = [[1, -2], [3, 4]], rms(X) = (0.5, 2)
///   j0 = (1 + 3) * 0.5 = 2, j1 = (2 + 4) * 2 = 12
/// \endcode
///
/// A head (d channels at the output projection) scores the sum of its
/// columns, as Wanda-sp does (FLAP's reference code). A sum of magnitudes
/// cannot see how a head's dims cancel in x_h W_o,h: on the Fashion-MNIST
/// ViT it ranks last the head whose removal costs most (docs/quality.md,
/// "Where wanda and amp lose to random"), where amp's projected score
/// does not.
///
/// Parameters: normalize (as magnitude).
///
//===----------------------------------------------------------------------===//

#include "passes/Criteria/Criterion.h"
#include "passes/Criteria/LinearUses.h"

#include "lib/IR/Tensor.h"

#include <cmath>

using namespace llvm;

namespace onnxprune {

namespace {

class WandaCriterion final : public ConsumerStatsCriterion {
public:
  StringRef name() const override { return "wanda"; }

protected:
  Expected<std::vector<double>>
  computeScores(const DepGraph &dg, unsigned group,
                const CriterionOptions &) const override {
    std::vector<LinearUse> uses = linearUsesOf(dg, group);
    // Per use: the value of every index of its space.
    std::vector<std::vector<double>> values;
    for (const LinearUse &u : uses) {
      if (!u.consumer) {
        values.emplace_back();
        continue;
      }
      const ActivationStats &st = table.get(requestFor(dg, group, u));
      auto w = readRowMatrix(u);
      if (!w)
        return w.takeError();
      std::vector<double> rms(st.channels);
      for (int64_t c = 0; c < st.channels; ++c)
        rms[c] = st.count ? std::sqrt(st.sumSq[c] / st.count) : 0.0;
      auto norm = [&](int64_t c) {
        return c < (int64_t)rms.size() ? rms[c] : 0.0;
      };
      std::vector<double> v(u.depth / u.taps, 0.0);
      for (int64_t r = 0; r < u.outputs; ++r)
        for (int64_t col = 0; col < u.depth; ++col)
          v[col / u.taps] +=
              std::fabs((*w)[r * u.depth + col]) * norm(col / u.taps);
      values.push_back(std::move(v));
    }
    std::vector<double> scores;
    for (unsigned unit : prunableUnitsOf(dg, group)) {
      double s = 0;
      for (auto &[space, i] : dg.getUnit(unit).elements)
        for (size_t k = 0; k < uses.size(); ++k)
          if (uses[k].space == space && i < (int64_t)values[k].size())
            s += values[k][i];
      scores.push_back(s);
    }
    return scores;
  }

  StatRequest requestFor(const DepGraph &, unsigned,
                         const LinearUse &u) const override {
    return inputRequest(u, /*gram=*/false);
  }
};

} // namespace

std::unique_ptr<Criterion> createWandaCriterion() {
  return std::make_unique<WandaCriterion>();
}

} // namespace onnxprune
