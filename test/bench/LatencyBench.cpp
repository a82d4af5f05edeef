//===- LatencyBench.cpp - Time ONNX models side by side in ONNX Runtime ---===//
///
/// \file
/// Times several model files in one process, interleaved (A B C A B C ...,
/// the first of each round rotating) after a warm-up, with the provider
/// print<latency> and prune-width's latency budget use
/// (OrtLatencyProvider), and prints one line per model:
///
///   MEDIAN_MS MIN_MS MAX_MS PATH
///
/// Models compared in one call see the same background load, which is what
/// makes ratios on a shared machine meaningful. test/bench/latency.py runs
/// it on the zoo (docs/latency.md).
///
///   LatencyBench [--threads N] [--runs N] [--warmup N] MODEL.onnx...
///
//===----------------------------------------------------------------------===//

#include "frontends/onnx/ModelReader.h"
#include "lib/Runtime/OrtLatency.h"
#include "passes/OpHandlers/ShapeInference.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/raw_ostream.h"

#include <memory>
#include <string>
#include <vector>

using namespace onnxprune;

int main(int argc, char **argv) {
  LatencyOptions opts;
  std::vector<std::string> paths;
  for (int i = 1; i < argc; ++i) {
    llvm::StringRef a = argv[i];
    int *target = a == "--threads"  ? &opts.threads
                  : a == "--runs"   ? &opts.runs
                  : a == "--warmup" ? &opts.warmup
                                    : nullptr;
    if (target) {
      if (i + 1 == argc ||
          llvm::StringRef(argv[i + 1]).getAsInteger(10, *target)) {
        llvm::errs() << "LatencyBench: error: " << a << " needs a number\n";
        return 1;
      }
      ++i;
      continue;
    }
    paths.push_back(a.str());
  }
  if (paths.empty()) {
    llvm::errs() << "usage: LatencyBench [--threads N] [--runs N] "
                    "[--warmup N] MODEL.onnx...\n";
    return 1;
  }
  std::vector<std::unique_ptr<Model>> models;
  std::vector<LatencySubject> ptrs;
  for (const std::string &p : paths) {
    auto m = readModelFile(p);
    if (!m) {
      llvm::errs() << "LatencyBench: error: " << llvm::toString(m.takeError())
                   << "\n";
      return 1;
    }
    fillTypes(**m);
    ptrs.push_back(m->get());
    models.push_back(std::move(*m));
  }
  OrtLatencyProvider provider;
  auto timed = provider.measure(ptrs, opts);
  if (!timed) {
    llvm::errs() << "LatencyBench: error: " << llvm::toString(timed.takeError())
                 << "\n";
    return 1;
  }
  llvm::outs() << "# " << provider.describe(opts) << "; median of " << opts.runs
               << " runs after " << opts.warmup << " warm-up\n";
  for (size_t i = 0; i < paths.size(); ++i)
    llvm::outs() << llvm::format("%.4f %.4f %.4f ", (*timed)[i].median,
                                 (*timed)[i].min, (*timed)[i].max)
                 << paths[i] << "\n";
  return 0;
}
