//===- ObsCriterion.cpp - Structured Optimal Brain Surgeon ----------------===//
///
/// \file
/// `obs` and `obspa`: structured Optimal Brain Surgeon (Hassibi & Stork;
/// OBC, Frantar & Alistarh 2022, in its structured form). For every
/// consumer of a group (a Conv / MatMul / Gemm reading the group's channels,
/// LinearUses.h) with W its [outputs, D] view and X its input vectors (Conv:
/// im2col patches):
///
///   H = X^T X / n + lambda * mean(diag) * I
///   dE(Q) = 1/2 * sum_r W[r, Q] ([H^-1]_QQ)^-1 W[r, Q]^T
///
/// where Q are the columns a unit removes (a channel: its kh * kw taps; a
/// head: its d columns). A unit scores the sum over its consumers of the
/// increase of their mean squared output error. With `compensate` that is
/// dE(Q) above (the kept columns absorb the removal), and once the units
/// are chosen the kept columns of each consumer are updated, jointly for
/// the removed set R:
///
///   dW = - W[:, R] ([H^-1]_RR)^-1 [H^-1]_R:
///
/// (exact least squares on the calibration data), returned as a weight
/// update for the plan. Float32 weights with one reader only; others are
/// scored and left as they are. Without `compensate` nothing absorbs the
/// removal, and the error is what it costs alone (OBD's saliency, exact for
/// one unit): dE(Q) = 1/2 * sum_r W[r, Q] H_QQ W[r, Q]^T. Ranking by the
/// compensated error and then not compensating removes the wrong units.
///
/// `obspa` is the same without user data: X comes from a synthetic source,
/// recorded in the plan's source: `source=gaussian` (default) pushes
/// Gaussian inputs (float inputs N(0, 1), integer inputs small uniform ints)
/// through the model; `source=bn` takes H of every layer that reads a
/// BatchNormalization from the BN's scale and shift (prepareFromBN).
///
/// \code
///   W[1, 2] = [[2, 1]], H = [[2, 1], [1, 1]] (lambda = 0):
///   plain:      dE({0}) = 1/2 * 2^2 * 2 = 4, dE({1}) = 1/2 * 1^2 * 1 = 0.5
///   compensate: H^-1 = [[1, -1], [-1, 2]],
///               dE({0}) = 1/2 * 2^2 / 1 = 2, dE({1}) = 1/2 * 1^2 / 2 = 0.25
///   remove 1 with compensate: dW = -[1] * 1/2 * [-1, 2] = [0.5, -1]
///                             W' = [[2.5, 0]]
/// \endcode
///
/// With `select=greedy` (and compensate) the criterion chooses the order
/// itself (chooseOrder): the cheapest unit given those already removed and
/// absorbed, one at a time.
///
/// Parameters: lambda=0.01 (dampening), compensate, select=score|greedy,
/// normalize; obspa also
/// source=gaussian|bn, and samples=64 and seed=0 of its Gaussian inputs.
///
//===----------------------------------------------------------------------===//

#include "passes/Criteria/Criterion.h"
#include "passes/Criteria/LinearUses.h"

#include "lib/IR/Tensor.h"
#include "lib/Support/Error.h"

#include "llvm/ADT/StringMap.h"
#include "llvm/Support/Format.h"

#include <Eigen/Dense>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <memory>

using namespace llvm;

namespace onnxprune {

namespace {

using Matrix = Eigen::MatrixXd;

/// Columns of W removed by a unit's indices \p idx in a use's space.
std::vector<int64_t> columnsOf(const LinearUse &u, ArrayRef<int64_t> idx) {
  std::vector<int64_t> cols;
  for (int64_t i : idx)
    for (int64_t t = 0; t < u.taps; ++t)
      if (i * u.taps + t < u.depth)
        cols.push_back(i * u.taps + t);
  return cols;
}

Matrix submatrix(const Matrix &m, ArrayRef<int64_t> rows,
                 ArrayRef<int64_t> cols) {
  Matrix out(rows.size(), cols.size());
  for (size_t i = 0; i < rows.size(); ++i)
    for (size_t j = 0; j < cols.size(); ++j)
      out(i, j) = m(rows[i], cols[j]);
  return out;
}

class ObsCriterion final : public Criterion {
public:
  explicit ObsCriterion(bool dataFree) : dataFree(dataFree) {}

  StringRef name() const override { return dataFree ? "obspa" : "obs"; }
  bool needsData() const override { return !dataFree; }
  std::string source() const override { return table.getSource(); }

  Error configure(PassParams &params, CriterionOptions &opts) override {
    if (Error e = params.getDouble("lambda", lambda))
      return e;
    if (!(lambda >= 0))
      return params.makeParamError("lambda", "must be >= 0");
    if (Error e = params.getBool("compensate", compensate))
      return e;
    std::string select = "score";
    if (Error e = params.getString("select", select))
      return e;
    if (select != "score" && select != "greedy")
      return params.makeParamError("select", "must be 'score' (rank by each "
                                             "unit's own cost) or 'greedy'");
    greedy = select == "greedy";
    if (greedy && !compensate)
      return params.makeParamError(
          "select", "greedy needs compensate (it re-scores each unit after "
                    "the kept weights absorbed the last removal)");
    if (dataFree) {
      uint64_t samples = synthetic.samples;
      if (Error e = params.getUnsigned("samples", samples))
        return e;
      if (samples == 0)
        return params.makeParamError("samples", "must be at least 1");
      synthetic.samples = samples;
      if (Error e = params.getUnsigned("seed", synthetic.seed))
        return e;
      std::string src = "gaussian";
      if (Error e = params.getString("source", src))
        return e;
      if (src != "gaussian" && src != "bn")
        return params.makeParamError("source", "must be 'gaussian' (inputs "
                                               "pushed through the model) or "
                                               "'bn' (BatchNorm statistics)");
      fromBN = src == "bn";
    }
    return readNormalizeParam(params, opts);
  }
  void printParams(PassParamsPrinter &pp,
                   const CriterionOptions &opts) const override {
    pp.add("lambda", lambda);
    if (compensate)
      pp.addFlag("compensate");
    if (greedy)
      pp.add("select", "greedy");
    if (dataFree) {
      pp.add("source", fromBN ? "bn" : "gaussian");
      pp.add("samples", uint64_t(synthetic.samples));
      pp.add("seed", synthetic.seed);
    }
    pp.add("normalize", normalizeName(opts.normalize));
  }

  Error prepare(const CriterionContext &ctx,
                ArrayRef<unsigned> groups) override {
    log = ctx.log;
    if (fromBN)
      return prepareFromBN(ctx, groups);
    for (unsigned g : groups)
      for (const LinearUse &u : linearUsesOf(*ctx.dg, g))
        if (u.consumer)
          table.request(inputRequest(u, /*gram=*/true));
    CalibrationSource src;
    if (dataFree)
      src = synthetic;
    return table.collect(ctx, src, "criterion '" + name().str() + "'");
  }

  /// select=greedy: remove the unit whose removal costs least given the
  /// ones already removed, then let the kept columns absorb it (W and H^-1
  /// downdated as OBS does), and score the rest again. Sequential OBS with
  /// exact downdates ends at the same weights as the joint update of
  /// updatesFor, so only the choice changes.
  Expected<std::optional<std::vector<std::pair<unsigned, double>>>>
  chooseOrder(const CriterionContext &ctx, unsigned group,
              ArrayRef<unsigned> candidates, int64_t maxCount) override {
    if (!greedy)
      return std::nullopt;
    const DepGraph &dg = *ctx.dg;
    struct Consumer {
      Matrix w, hinv;
      std::vector<std::vector<int64_t>> cols; ///< Per candidate.
    };
    std::vector<Consumer> consumers;
    for (const LinearUse &u : linearUsesOf(dg, group)) {
      if (!u.consumer)
        continue;
      auto hinv = inverseHessian(u);
      if (!hinv)
        return hinv.takeError();
      if (!*hinv)
        continue;
      auto w = readRowMatrix(u);
      if (!w)
        return w.takeError();
      Consumer c;
      c.w = Eigen::Map<Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic,
                                     Eigen::RowMajor>>(w->data(), u.outputs,
                                                       u.depth);
      c.hinv = **hinv;
      for (unsigned unit : candidates)
        c.cols.push_back(columnsOf(u, elementsIn(dg, unit, u.space)));
      consumers.push_back(std::move(c));
    }
    if (consumers.empty())
      return std::nullopt;
    std::vector<std::pair<unsigned, double>> order;
    std::vector<char> gone(candidates.size(), 0);
    for (int64_t step = 0; step < maxCount; ++step) {
      int best = -1;
      double bestCost = INFINITY;
      for (size_t k = 0; k < candidates.size(); ++k) {
        if (gone[k])
          continue;
        double cost = 0;
        for (const Consumer &c : consumers) {
          const std::vector<int64_t> &q = c.cols[k];
          if (q.empty())
            continue;
          Matrix y(q.size(), c.w.rows());
          for (size_t j = 0; j < q.size(); ++j)
            y.row(j) = c.w.col(q[j]).transpose();
          Matrix z = Eigen::LDLT<Matrix>(submatrix(c.hinv, q, q)).solve(y);
          cost += 0.5 * y.cwiseProduct(z).sum();
        }
        if (cost < bestCost)
          bestCost = cost, best = int(k);
      }
      if (best < 0)
        break;
      gone[best] = 1;
      order.push_back({candidates[best], bestCost});
      for (Consumer &c : consumers) {
        const std::vector<int64_t> &q = c.cols[best];
        if (q.empty())
          continue;
        Eigen::LDLT<Matrix> ldlt(submatrix(c.hinv, q, q));
        Matrix hq(q.size(), c.hinv.cols()); // [H^-1]_Q:
        Matrix wq(c.w.rows(), q.size());    // W[:, Q]
        for (size_t j = 0; j < q.size(); ++j)
          hq.row(j) = c.hinv.row(q[j]), wq.col(j) = c.w.col(q[j]);
        Matrix solved = ldlt.solve(hq);
        c.w -= wq * solved;
        c.hinv -= hq.transpose() * solved;
      }
    }
    return order;
  }

  Expected<std::vector<WeightUpdate>>
  updatesFor(const CriterionContext &ctx, ArrayRef<unsigned> removed) override {
    std::vector<WeightUpdate> out;
    if (!compensate || removed.empty())
      return out;
    const DepGraph &dg = *ctx.dg;
    // Removed units by group, groups in order.
    std::map<unsigned, std::vector<unsigned>> byGroup;
    for (unsigned unit : removed) {
      auto els = dg.getUnit(unit).elements;
      if (els.empty())
        continue;
      int g = dg.getSpaces()[els.front().first].group;
      if (g >= 0)
        byGroup[g].push_back(unit);
    }
    for (auto &[group, units] : byGroup)
      for (const LinearUse &u : linearUsesOf(dg, group)) {
        const Tensor &t = *u.weight->getWeight();
        if (!u.consumer || t.getDataType() != DataType::Float ||
            u.weight->getUses().size() != 1)
          continue;
        std::vector<int64_t> r;
        for (unsigned unit : units) {
          auto cols = columnsOf(u, elementsIn(dg, unit, u.space));
          r.insert(r.end(), cols.begin(), cols.end());
        }
        llvm::sort(r);
        r.erase(std::unique(r.begin(), r.end()), r.end());
        if (r.empty())
          continue;
        auto hinv = inverseHessian(u);
        if (!hinv)
          return hinv.takeError();
        if (!*hinv)
          continue; // No statistics for this input: left as it is.
        auto w = readRowMatrix(u);
        if (!w)
          return w.takeError();
        Eigen::Map<Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic,
                                 Eigen::RowMajor>>
            wm(w->data(), u.outputs, u.depth);
        std::vector<int64_t> all(u.depth);
        for (int64_t i = 0; i < u.depth; ++i)
          all[i] = i;
        Matrix hrr = submatrix(**hinv, r, r);
        Matrix hra = submatrix(**hinv, r, all);
        Matrix wr(u.outputs, r.size());
        for (size_t j = 0; j < r.size(); ++j)
          wr.col(j) = wm.col(r[j]);
        Eigen::LDLT<Matrix> ldlt(hrr);
        Matrix delta = -wr * ldlt.solve(hra);
        wm += delta;
        for (int64_t c : r)
          wm.col(c).setZero(); // Removed anyway; exact zeros are cleaner.
        out.push_back(makeRowMatrixUpdate(u, *w));
      }
    return out;
  }

protected:
  Expected<std::vector<double>>
  computeScores(const DepGraph &dg, unsigned group,
                const CriterionOptions &) const override {
    std::vector<unsigned> units = prunableUnitsOf(dg, group);
    std::vector<double> scores(units.size(), 0.0);
    for (const LinearUse &u : linearUsesOf(dg, group)) {
      if (!u.consumer)
        continue;
      // With compensation the kept columns absorb the removal: OBS's
      // ([H^-1]_QQ)^-1. Without, the error is what removal alone costs:
      // H_QQ itself.
      auto h = compensate ? inverseHessian(u) : hessian(u);
      if (!h)
        return h.takeError();
      if (!*h)
        continue;
      auto w = readRowMatrix(u);
      if (!w)
        return w.takeError();
      for (size_t k = 0; k < units.size(); ++k) {
        std::vector<int64_t> q =
            columnsOf(u, elementsIn(dg, units[k], u.space));
        if (q.empty())
          continue;
        Matrix m = submatrix(**h, q, q);
        Matrix y(q.size(), u.outputs); // W[:, Q]^T
        for (size_t j = 0; j < q.size(); ++j)
          for (int64_t r = 0; r < u.outputs; ++r)
            y(j, r) = (*w)[r * u.depth + q[j]];
        Matrix z = compensate ? Matrix(Eigen::LDLT<Matrix>(m).solve(y))
                              : Matrix(m * y);
        scores[k] += 0.5 * y.cwiseProduct(z).sum();
      }
    }
    return scores;
  }

private:
  /// obspa<source=bn>: H of every consumer that reads a BatchNormalization
  /// (through at most one Relu), from the BN's affine parameters: channel c
  /// is N(beta_c, gamma_c^2) before the Relu, channels independent, so
  /// H_ij = E[x_i] E[x_j] off the diagonal and E[x_i^2] on it (conv taps of
  /// one channel alike; padding ignored). Other consumers add nothing.
  Error prepareFromBN(const CriterionContext &ctx, ArrayRef<unsigned> groups) {
    unsigned found = 0, total = 0;
    for (unsigned g : groups)
      for (const LinearUse &u : linearUsesOf(*ctx.dg, g)) {
        if (!u.consumer)
          continue;
        ++total;
        StatRequest req = inputRequest(u, /*gram=*/true);
        ActivationStats st;
        std::vector<double> mean, sq;
        if (bnMoments(u.input, mean, sq) &&
            int64_t(mean.size()) * u.taps == u.depth) {
          int64_t d = u.depth;
          st.count = 1;
          st.channels = d;
          st.gram.resize(d * d);
          for (int64_t i = 0; i < d; ++i)
            for (int64_t j = 0; j < d; ++j)
              st.gram[i * d + j] =
                  i == j ? sq[i / u.taps] : mean[i / u.taps] * mean[j / u.taps];
          ++found;
        }
        table.set(req, std::move(st));
      }
    if (!found && total)
      return makeError("criterion 'obspa' with source=bn: no layer reads a "
                       "BatchNormalization output (folded by the exporter?); "
                       "use source=gaussian");
    table.setSource("BatchNorm statistics (" + std::to_string(found) + " of " +
                    std::to_string(total) + " consumers)");
    return Error::success();
  }

  /// Per-channel E[x] and E[x^2] of \p v when it is BN(z) or Relu(BN(z))
  /// with constant float parameters.
  static bool bnMoments(const Value *v, std::vector<double> &mean,
                        std::vector<double> &sq) {
    const Node *n = v->getProducer();
    bool relu = n && n->getOpType() == "Relu";
    if (relu)
      n = n->getInput(0)->getProducer();
    if (!n || n->getOpType() != "BatchNormalization" || n->getNumInputs() < 3)
      return false;
    const Tensor *gamma = n->getInput(1)->getWeight();
    const Tensor *beta = n->getInput(2)->getWeight();
    if (!gamma || !beta)
      return false;
    auto g = readAsDoubles(*gamma), b = readAsDoubles(*beta);
    if (!g || !b || g->size() != b->size()) {
      if (!g)
        consumeError(g.takeError());
      if (!b)
        consumeError(b.takeError());
      return false;
    }
    for (size_t c = 0; c < g->size(); ++c) {
      double mu = (*b)[c], sigma = std::fabs((*g)[c]);
      if (!relu || sigma == 0) {
        double m = relu ? std::max(mu, 0.0) : mu;
        mean.push_back(m);
        sq.push_back(relu ? m * m : mu * mu + sigma * sigma);
        continue;
      }
      // Rectified Gaussian: with a = mu / sigma, phi and Phi the standard
      // normal density and distribution,
      // E[x] = mu Phi(a) + sigma phi(a), E[x^2] = (mu^2 + sigma^2) Phi(a) +
      // mu sigma phi(a).
      double a = mu / sigma;
      double pdf = std::exp(-0.5 * a * a) / std::sqrt(2 * M_PI);
      double cdf = 0.5 * std::erfc(-a / std::sqrt(2.0));
      mean.push_back(mu * cdf + sigma * pdf);
      sq.push_back((mu * mu + sigma * sigma) * cdf + mu * sigma * pdf);
    }
    return true;
  }

  /// H = X^T X / n of \p u's input (undamped), or null when no vector was
  /// seen (the input never ran).
  Expected<std::shared_ptr<Matrix>> hessian(const LinearUse &u) const {
    const ActivationStats &st = table.get(inputRequest(u, /*gram=*/true));
    if (!st.count || st.channels != u.depth)
      return std::shared_ptr<Matrix>();
    int64_t d = st.channels;
    auto h = std::make_shared<Matrix>(d, d);
    for (int64_t i = 0; i < d; ++i)
      for (int64_t j = 0; j < d; ++j)
        (*h)(i, j) = st.gram[i * d + j] / st.count;
    return h;
  }

  /// [H^-1] of \p u's input, dampened, cached by statistic; null when no
  /// vector was seen.
  Expected<std::shared_ptr<Matrix>> inverseHessian(const LinearUse &u) const {
    StatRequest req = inputRequest(u, /*gram=*/true);
    std::string key = req.key();
    auto it = hinvCache.find(key);
    if (it != hinvCache.end())
      return it->second;
    auto hOr = hessian(u);
    if (!hOr)
      return hOr.takeError();
    std::shared_ptr<Matrix> out;
    if (*hOr) {
      auto start = std::chrono::steady_clock::now();
      Matrix &h = **hOr;
      int64_t d = h.rows();
      double trace = h.trace();
      // Dampening keeps H invertible where channels are dead or collinear.
      double damp = std::max(lambda * trace / d, 1e-8);
      h.diagonal().array() += damp;
      Eigen::LLT<Matrix> llt(h);
      if (llt.info() != Eigen::Success)
        return makeError("criterion '" + name() +
                         "': the Hessian of the input of node '" +
                         u.node->getName() + "' (" + u.node->getOpType() +
                         ") is not positive definite; raise lambda");
      out = std::make_shared<Matrix>(llt.solve(Matrix::Identity(d, d)));
      double ms = std::chrono::duration<double, std::milli>(
                      std::chrono::steady_clock::now() - start)
                      .count();
      if (log)
        *log << name() << ": H^-1 of the input of '" << u.node->getName()
             << "' (D=" << d << ") in " << format("%.1f", ms) << " ms\n";
    }
    hinvCache[key] = out;
    return out;
  }

  bool dataFree;
  double lambda = 0.01;
  bool compensate = false;
  bool greedy = false;
  CalibrationSource synthetic{CalibrationSource::Kind::Gaussian, 0, 64};
  bool fromBN = false;
  StatsTable table;
  raw_ostream *log = nullptr;
  mutable StringMap<std::shared_ptr<Matrix>> hinvCache;
};

} // namespace

std::unique_ptr<Criterion> createObsCriterion() {
  return std::make_unique<ObsCriterion>(false);
}
std::unique_ptr<Criterion> createObspaCriterion() {
  return std::make_unique<ObsCriterion>(true);
}

} // namespace onnxprune
