//===- CalibrationBench.cpp - Calibration overhead against plain ORT ------===//
///
/// \file
/// What gathering statistics costs over running the model: for a model and
/// its calibration data, times (best of REPEAT, taken in rotating order;
/// same batches, same session options; each opens its session inside the
/// timed region and reads the outputs in place) plain ONNX Runtime
/// inference, then the calibration provider gathering
///
///   moments  per-channel sums at every Conv/MatMul/Gemm input (what wanda,
///            amp and recalibrate-bn ask for; target <= 1.25x inference),
///   gram     X^T X at the same inputs (what obs asks for; reported),
///
/// and OBS's solve time (H^-1) per layer. Prints ratios measured in one run.
///
///   build/test/bench/CalibrationBench MODEL.onnx DATA.npz [REPEAT=4]
///   (e.g. test/models/trained/byte_llama.onnx with llama_calib.npz)
///
//===----------------------------------------------------------------------===//

#include "frontends/onnx/ModelReader.h"
#include "lib/IR/Graph.h"
#include "lib/Runtime/ModelSession.h"
#include "lib/Runtime/OrtCalibration.h"
#include "passes/Analysis/Calibration.h"
#include "passes/Analysis/DepGraph.h"
#include "passes/Criteria/LinearUses.h"
#include "passes/OpHandlers/ShapeInference.h"

#include "llvm/Support/Format.h"
#include "llvm/Support/raw_ostream.h"

#include <Eigen/Dense>

#include <chrono>
#include <functional>
#include <set>

using namespace onnxprune;

namespace {

double seconds(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
      .count();
}

int fail(llvm::Error e) {
  llvm::errs() << "CalibrationBench: " << llvm::toString(std::move(e)) << "\n";
  return 1;
}

} // namespace

int main(int argc, char **argv) {
  if (argc < 3) {
    llvm::errs() << "usage: CalibrationBench MODEL DATA [repeat=4]\n";
    return 2;
  }
  int repeat = argc > 3 ? std::atoi(argv[3]) : 4;
  auto model = readModelFile(argv[1]);
  if (!model)
    return fail(model.takeError());
  Model &m = **model;
  fillTypes(m);
  OrtCalibrationOptions opts;
  opts.progress = false;
  auto provider = OrtCalibrationProvider::create(m, argv[2], opts);
  if (!provider)
    return fail(provider.takeError());
  auto data = CalibrationData::open(argv[2], describeModelInputs(m));
  if (!data)
    return fail(data.takeError());

  // The requests data criteria make: one per Conv/MatMul/Gemm consumer.
  auto dg = buildDepGraph(m);
  if (!dg)
    return fail(dg.takeError());
  std::vector<StatRequest> moments, grams;
  std::set<std::string> seen;
  std::vector<LinearUse> uses;
  for (unsigned g = 0; g < dg->getGroups().size(); ++g)
    for (const LinearUse &u : linearUsesOf(*dg, g))
      if (u.consumer && seen.insert(inputRequest(u, true).key()).second) {
        moments.push_back(inputRequest(u, false));
        grams.push_back(inputRequest(u, true));
        uses.push_back(u);
      }

  // Plain inference over the same batches, same session options. Like
  // collect(), it opens its session inside the timed region and reads the
  // outputs in ORT's buffers (runView, no copy).
  int64_t n = data->getNumSamples();
  int64_t b = data->getFixedBatch() ? data->getFixedBatch() : opts.batch;
  double open = 1e30;
  auto ignore = [](llvm::ArrayRef<OrtSession::TensorView>) {
    return llvm::Error::success();
  };
  auto plainRun = [&]() -> llvm::Error {
    auto t0 = std::chrono::steady_clock::now();
    auto session = openModelSession(m, opts.runtime);
    if (!session)
      return session.takeError();
    open = std::min(open, seconds(t0));
    for (int64_t begin = 0; begin < n; begin += b) {
      auto batch = data->getBatch(begin, std::min(n, begin + b));
      if (!batch)
        return batch.takeError();
      if (llvm::Error e = (*session)->runView(*batch, {}, ignore))
        return e;
    }
    return llvm::Error::success(); // collect() closes its session too.
  };
  auto collectRun = [&](const std::vector<StatRequest> *requests) {
    return [&m, &provider, requests]() -> llvm::Error {
      return (*provider)->collect(m, *requests, {}).takeError();
    };
  };
  std::vector<StatRequest> none;
  std::function<llvm::Error()> runs[] = {
      plainRun, collectRun(&none), collectRun(&moments), collectRun(&grams)};
  double best[] = {1e30, 1e30, 1e30, 1e30};
  // Each repeat starts one later in the list, so that no measurement always
  // follows the same one (the gram's big collect, say).
  for (int r = 0; r < repeat; ++r)
    for (int k = 0; k < 4; ++k) {
      int i = (r + k) % 4;
      auto t0 = std::chrono::steady_clock::now();
      if (llvm::Error e = runs[i]())
        return fail(std::move(e));
      best[i] = std::min(best[i], seconds(t0));
    }
  double plain = best[0], empty = best[1], mom = best[2], gram = best[3];
  llvm::outs() << argv[1] << ": " << n << " samples, batch " << b << ", "
               << moments.size() << " distinct consumer inputs\n"
               << llvm::format("  plain ORT inference   %8.3f s  (opening the "
                               "session: %.3f s)\n",
                               plain, open)
               << llvm::format("  calibration, no probe %8.3f s  %.2fx "
                               "inference (session, feeding, outputs)\n",
                               empty, empty / plain)
               << llvm::format("  moments (wanda, amp)  %8.3f s  %.2fx "
                               "inference\n",
                               mom, mom / plain)
               << llvm::format("  X^T X (obs)           %8.3f s  %.2fx "
                               "inference\n",
                               gram, gram / plain);

  // OBS's solves: H^-1 of every consumer input.
  auto stats = (*provider)->collect(m, grams, {});
  if (!stats)
    return fail(stats.takeError());
  double total = 0;
  for (size_t i = 0; i < stats->size(); ++i) {
    const ActivationStats &st = (*stats)[i];
    int64_t d = st.channels;
    Eigen::MatrixXd h(d, d);
    for (int64_t r = 0; r < d; ++r)
      for (int64_t c = 0; c < d; ++c)
        h(r, c) = st.gram[r * d + c] / std::max<int64_t>(1, st.count);
    h.diagonal().array() += 0.01 * h.trace() / d + 1e-8;
    auto t0 = std::chrono::steady_clock::now();
    Eigen::LLT<Eigen::MatrixXd> llt(h);
    Eigen::MatrixXd inv = llt.solve(Eigen::MatrixXd::Identity(d, d));
    double s = seconds(t0);
    total += s;
    llvm::outs() << llvm::format("  H^-1 D=%-5lld %8.2f ms  ", (long long)d,
                                 s * 1e3)
                 << uses[i].node->getName() << "\n";
  }
  llvm::outs() << llvm::format("  H^-1 total %.3f s over %zu layers\n", total,
                               stats->size());
  return 0;
}
