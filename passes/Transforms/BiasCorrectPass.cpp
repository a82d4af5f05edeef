//===- BiasCorrectPass.cpp - Correct biases after a prune -----------------===//
///
/// \file
/// bias-correct: the mean-only repair of StatisticsRepair over the layers
/// downstream of pruned activations.
///
//===----------------------------------------------------------------------===//

#include "passes/Transforms/BiasCorrectPass.h"

#include "lib/Support/Error.h"
#include "passes/Analysis/Calibration.h"
#include "passes/Transforms/StatisticsRepair.h"

using namespace llvm;

namespace onnxprune {

Expected<PreservedAnalyses> BiasCorrectPass::run(Model &m,
                                                 ModelAnalysisManager &am) {
  raw_ostream &out = log ? *log : errs();
  if (m.channelOrigins.empty()) {
    out << "bias-correct: remark: nothing was pruned before it in this run; "
           "nothing to correct\n";
    return PreservedAnalyses::all();
  }
  auto cal = getCalibration(m, am, "pass 'bias-correct'");
  if (!cal)
    return cal.takeError();
  auto s = repairStatistics(m, *cal, /*matchVariance=*/false);
  if (!s)
    return addContext(s.takeError(), "pass 'bias-correct'");
  out << "bias-correct: corrected the biases of " << s->layers << " layers in "
      << s->levels << " levels on " << cal->describe({}) << "\n";
  return s->layers ? PreservedAnalyses::none() : PreservedAnalyses::all();
}

} // namespace onnxprune
