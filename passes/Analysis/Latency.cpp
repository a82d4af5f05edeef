//===- Latency.cpp - Measured inference latency ---------------------------===//
///
/// \file
/// The latency analysis and its printer; the measuring lives in lib/Runtime.
///
//===----------------------------------------------------------------------===//

#include "passes/Analysis/Latency.h"

#include "lib/Support/Error.h"

#include "llvm/Support/Format.h"

#include <algorithm>

using namespace llvm;

namespace onnxprune {

LatencyProvider::~LatencyProvider() = default;
LatencySnapshot::~LatencySnapshot() = default;

double medianOf(std::vector<double> xs) {
  if (xs.empty())
    return 0;
  size_t mid = xs.size() / 2;
  std::nth_element(xs.begin(), xs.begin() + mid, xs.end());
  double hi = xs[mid];
  if (xs.size() % 2)
    return hi;
  return (*std::max_element(xs.begin(), xs.begin() + mid) + hi) / 2;
}

LatencyMeasurement summarize(std::vector<double> samples) {
  LatencyMeasurement out;
  if (!samples.empty()) {
    out.median = medianOf(samples);
    out.min = *std::min_element(samples.begin(), samples.end());
    out.max = *std::max_element(samples.begin(), samples.end());
  }
  out.samples = std::move(samples);
  return out;
}

Expected<LatencyProviderAnalysis::Result>
getLatencyProvider(const Model &m, ModelAnalysisManager &am, StringRef who) {
  auto r = am.getResult<LatencyProviderAnalysis>(m);
  if (!r)
    return r.takeError();
  if (!r->provider)
    return makeError(who +
                     " needs a runtime to time the model, and none was "
                     "given (a build without ONNX Runtime, or a library "
                     "caller that registered no LatencyProviderAnalysis)");
  return *r;
}

Expected<LatencyReport> LatencyAnalysis::run(const Model &m,
                                             ModelAnalysisManager &am) {
  auto p = getLatencyProvider(m, am, "print<latency>");
  if (!p)
    return p.takeError();
  LatencyReport report;
  report.options = p->options;
  report.runtime = p->provider->describe(p->options);
  LatencySubject one[] = {LatencySubject(&m)};
  auto timed = p->provider->measure(one, p->options);
  if (!timed)
    return timed.takeError();
  report.model = std::move(timed->front());
  auto ops = p->provider->profile(m, p->options);
  if (!ops)
    return ops.takeError();
  report.ops = std::move(*ops);
  return report;
}

void LatencyReport::print(raw_ostream &os, const Model &) const {
  os << "runtime: " << runtime << "; median of " << options.runs
     << " runs after " << options.warmup << " warm-up\n";
  os << format("model: %.3f ms (min %.3f, max %.3f)\n", model.median, model.min,
               model.max);
  double total = 0;
  for (const OpLatency &op : ops)
    total += op.median;
  const size_t shown = std::min<size_t>(ops.size(), 10);
  os << "costliest ops (profiled, per run): " << shown << " of " << ops.size()
     << format(", %.3f ms in all\n", total);
  for (size_t i = 0; i < shown; ++i)
    os << format("  %8.3f ms %5.1f%%  ", ops[i].median,
                 total > 0 ? 100 * ops[i].median / total : 0.0)
       << ops[i].opType << " " << ops[i].node << "\n";
}

} // namespace onnxprune
