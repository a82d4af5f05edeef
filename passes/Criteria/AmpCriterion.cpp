//===- AmpCriterion.cpp - Activation-magnitude pruning --------------------===//
///
/// \file
/// `amp`: scores what a unit contributes where it is consumed (AMP, Mugnaini
/// et al. 2024), measured on calibration data at the consumer's input:
///
///   a head (a unit with d > 1 elements at a MatMul's input, the output
///   projection W_o [h * d, N]): the mean over vectors x of ||x_h W_o,h||_1,
///   the head's projected contribution;
///   a neuron or channel (one element): the mean over vectors of |a_j| at
///   the consumer's input (the down projection's, or the next Conv's).
///
/// Summed over every consumer of the unit (LinearUses.h); stems add nothing.
/// A one-element unit scores its activation alone, as AMP's MLP neurons
/// do, whatever weights read it: on the Fashion-MNIST ResNet's last
/// residual group, read only by the classifier, that keeps channels the
/// classifier hardly uses (docs/quality.md, "Where wanda and amp lose to
/// random").
/// GQA needs nothing special: a KV group's unit holds the columns of all of
/// its query heads at W_o, so it scores their sum.
///
/// \code
///   x = [[1, -1, 2, 0]], W_o[4, 1] = [[1], [1], [1], [2]], heads of d = 2
///   head 0: |1*1 + -1*1| = 0; head 1: |2*1 + 0*2| = 2
/// \endcode
///
/// Parameters: normalize (as magnitude).
///
//===----------------------------------------------------------------------===//

#include "passes/Criteria/Criterion.h"
#include "passes/Criteria/LinearUses.h"

using namespace llvm;

namespace onnxprune {

namespace {

class AmpCriterion final : public ConsumerStatsCriterion {
public:
  StringRef name() const override { return "amp"; }

protected:
  Expected<std::vector<double>>
  computeScores(const DepGraph &dg, unsigned group,
                const CriterionOptions &) const override {
    // Each consumer's statistic, found once for all units.
    struct Consumer {
      unsigned space;
      StatRequest request;
      const ActivationStats *stats;
    };
    std::vector<Consumer> consumers;
    for (const LinearUse &u : linearUsesOf(dg, group)) {
      if (!u.consumer)
        continue;
      StatRequest r = requestFor(dg, group, u);
      const ActivationStats &st = table.get(r);
      if (st.count)
        consumers.push_back({u.space, std::move(r), &st});
    }
    std::vector<double> scores;
    for (unsigned unit : prunableUnitsOf(dg, group)) {
      double s = 0;
      for (const Consumer &c : consumers) {
        const ActivationStats &st = *c.stats;
        std::vector<int64_t> idx = elementsIn(dg, unit, c.space);
        if (idx.empty())
          continue;
        if (c.request.kind == StatRequest::Kind::BlockProjL1) {
          int64_t b = idx.front() / c.request.block;
          if (b < (int64_t)st.blockL1.size())
            s += st.blockL1[b] / st.count;
        } else {
          for (int64_t i : idx)
            if (i < (int64_t)st.sumAbs.size())
              s += st.sumAbs[i] / st.count;
        }
      }
      scores.push_back(s);
    }
    return scores;
  }

  /// A head's projected L1 at a MatMul whose units are aligned blocks of
  /// d > 1 consecutive rows; mean |a_j| otherwise.
  StatRequest requestFor(const DepGraph &dg, unsigned group,
                         const LinearUse &u) const override {
    StatRequest r = inputRequest(u, /*gram=*/false);
    if (u.node->getOpType() != "MatMul")
      return r;
    int64_t block = 0;
    for (unsigned unit : prunableUnitsOf(dg, group)) {
      std::vector<int64_t> idx = elementsIn(dg, unit, u.space);
      int64_t n = idx.size();
      bool aligned =
          n > 1 && idx.front() % n == 0 && idx.back() - idx.front() == n - 1;
      if (!aligned || (block && block != n))
        return r;
      block = n;
    }
    if (block <= 1 || u.depth % block)
      return r;
    r.kind = StatRequest::Kind::BlockProjL1;
    r.axis = -1;
    r.weight = u.weight->getName();
    r.block = block;
    return r;
  }
};

} // namespace

std::unique_ptr<Criterion> createAmpCriterion() {
  return std::make_unique<AmpCriterion>();
}

} // namespace onnxprune
