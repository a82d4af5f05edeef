//===- StandardInstrumentations.cpp - Timing and progress output ----------===//
///
/// \file
/// -time-passes and -debug-pass-manager.
///
//===----------------------------------------------------------------------===//

#include "passes/StandardInstrumentations.h"

#include "llvm/Support/Format.h"

#include <fstream>
#include <string>
#include <sys/resource.h>

using namespace llvm;

namespace onnxprune {

uint64_t getPeakRSSBytes() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    StringRef l(line);
    if (!l.consume_front("VmHWM:"))
      continue;
    l = l.trim();
    l.consume_back("kB");
    uint64_t kb;
    if (!l.trim().getAsInteger(10, kb))
      return kb * 1024;
  }
  struct rusage ru;
  if (getrusage(RUSAGE_SELF, &ru) == 0)
    return static_cast<uint64_t>(ru.ru_maxrss) * 1024; // kB on Linux.
  return 0;
}

//===----------------------------------------------------------------------===//
// TimePassesHandler
//===----------------------------------------------------------------------===//

void TimePassesHandler::start(unsigned record) {
  Clock::time_point now = Clock::now();
  // Pause the enclosing timer: nested time belongs to the nested record.
  if (!stack.empty()) {
    Active &outer = stack.back();
    records[outer.record].seconds +=
        std::chrono::duration<double>(now - outer.segmentStart).count();
  }
  stack.push_back({record, now, getPeakRSSBytes()});
}

void TimePassesHandler::stop() {
  if (stack.empty())
    return;
  Clock::time_point now = Clock::now();
  Active top = stack.back();
  stack.pop_back();
  Record &r = records[top.record];
  r.seconds += std::chrono::duration<double>(now - top.segmentStart).count();
  ++r.runs;
  r.peakRSS = getPeakRSSBytes();
  if (r.peakRSS > top.peakAtStart)
    r.rssGrowth += r.peakRSS - top.peakAtStart;
  if (!stack.empty())
    stack.back().segmentStart = now;
}

void TimePassesHandler::registerCallbacks(PassInstrumentationCallbacks &pic) {
  pic.registerBeforePassCallback([this](StringRef name, const Model &) {
    unsigned n = ++passOccurrences[name];
    Record r;
    r.name = name.str();
    if (n > 1)
      r.name += " #" + std::to_string(n);
    records.push_back(std::move(r));
    start(records.size() - 1);
  });
  pic.registerAfterPassCallback(
      [this](StringRef, const Model &, const PreservedAnalyses &) { stop(); });
  pic.registerAfterPassFailedCallback([this](StringRef) { stop(); });
  pic.registerBeforeAnalysisCallback([this](StringRef name, const Model &) {
    auto it = analysisRecords.find(name);
    unsigned idx;
    if (it != analysisRecords.end()) {
      idx = it->second;
    } else {
      Record r;
      r.name = name.str();
      r.isAnalysis = true;
      records.push_back(std::move(r));
      idx = records.size() - 1;
      analysisRecords[name] = idx;
    }
    start(idx);
  });
  pic.registerAfterAnalysisCallback(
      [this](StringRef, const Model &) { stop(); });
}

void TimePassesHandler::print(raw_ostream &os) const {
  double total = 0;
  for (const Record &r : records)
    total += r.seconds;
  auto mb = [](uint64_t bytes) { return bytes / (1024.0 * 1024.0); };

  os << "===" << std::string(73, '-') << "===\n";
  os << "                      ... Pass execution timing report ...\n";
  os << "===" << std::string(73, '-') << "===\n";
  os << format("  Total Execution Time: %.4f seconds (%.4f wall clock)\n\n",
               total, total);
  os << "   ---Wall Time---  --Peak RSS--  --RSS Growth--  --- Name ---\n";
  for (const Record &r : records) {
    double pct = total > 0 ? 100.0 * r.seconds / total : 0.0;
    os << format("   %7.4f (%5.1f%%)  %9.1f MB  %+11.1f MB  ", r.seconds, pct,
                 mb(r.peakRSS), mb(r.rssGrowth));
    os << r.name;
    if (r.isAnalysis) {
      os << " (analysis";
      if (r.runs != 1)
        os << ", " << r.runs << " runs";
      os << ')';
    }
    os << '\n';
  }
  os << format("   %7.4f (100.0%%)  %9.1f MB", total, mb(getPeakRSSBytes()))
     << std::string(16, ' ') << "  Total\n";
  os << '\n';
}

//===----------------------------------------------------------------------===//
// PrintPassesHandler
//===----------------------------------------------------------------------===//

void PrintPassesHandler::registerCallbacks(PassInstrumentationCallbacks &pic) {
  pic.registerBeforePassCallback([this](StringRef name, const Model &) {
    os << "Running pass: " << name << '\n';
  });
  pic.registerAfterPassCallback(
      [this](StringRef name, const Model &, const PreservedAnalyses &pa) {
        if (pa.areAllPreserved())
          os << "  (no change)\n";
      });
  pic.registerAfterPassFailedCallback(
      [this](StringRef name) { os << "  (failed)\n"; });
  pic.registerBeforeAnalysisCallback([this](StringRef name, const Model &) {
    os << "Running analysis: " << name << '\n';
  });
}

} // namespace onnxprune
