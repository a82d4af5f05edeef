//===- StandardInstrumentations.h - Timing and progress output --*- C++ -*-===//
///
/// \file
/// Instrumentation the tool attaches to a pipeline through
/// PassInstrumentationCallbacks (LLVM's StandardInstrumentations):
///
///   * TimePassesHandler (-time-passes): wall time and peak resident memory
///     of every pass and every analysis, printed as an LLVM-like table. The
///     time of an analysis that a pass requests is counted for the analysis,
///     not for the pass (exclusive times), so the column adds up.
///   * PrintPassesHandler (-debug-pass-manager): one line per pass and per
///     analysis run.
///
//===----------------------------------------------------------------------===//
#ifndef ONNXPRUNE_PASSES_STANDARDINSTRUMENTATIONS_H
#define ONNXPRUNE_PASSES_STANDARDINSTRUMENTATIONS_H

#include "passes/PassManager.h"

#include "llvm/ADT/StringMap.h"

#include <chrono>
#include <string>
#include <vector>

namespace onnxprune {

/// Peak resident set size of this process so far, in bytes (VmHWM from
/// /proc/self/status, else getrusage); 0 when unknown.
uint64_t getPeakRSSBytes();

/// Collects per-pass and per-analysis wall time and peak memory.
class TimePassesHandler {
public:
  /// One row of the report.
  struct Record {
    std::string name;
    bool isAnalysis = false;
    unsigned runs = 0;
    double seconds = 0;     ///< Exclusive wall time, all runs.
    uint64_t peakRSS = 0;   ///< Peak RSS of the process after the last run.
    uint64_t rssGrowth = 0; ///< How much the peak grew during the runs.
  };

  TimePassesHandler() = default;
  TimePassesHandler(const TimePassesHandler &) = delete;
  TimePassesHandler &operator=(const TimePassesHandler &) = delete;

  /// Hooks this handler into \p pic; the handler must outlive the runs.
  void registerCallbacks(PassInstrumentationCallbacks &pic);

  /// The rows in first-run order. A pass that runs several times in a
  /// pipeline gets one row per occurrence ("dce", "dce #2"); an analysis
  /// gets one row with its run count.
  const std::vector<Record> &getRecords() const { return records; }

  /// Prints the table (to stderr in the tool).
  void print(llvm::raw_ostream &os) const;

private:
  using Clock = std::chrono::steady_clock;
  struct Active {
    unsigned record;
    Clock::time_point segmentStart;
    uint64_t peakAtStart;
  };
  void start(unsigned record);
  void stop();

  std::vector<Record> records;
  llvm::StringMap<unsigned> passOccurrences;
  llvm::StringMap<unsigned> analysisRecords;
  std::vector<Active> stack;
};

/// Prints "Running pass: NAME" / "Running analysis: NAME" lines.
class PrintPassesHandler {
public:
  explicit PrintPassesHandler(llvm::raw_ostream &os) : os(os) {}
  void registerCallbacks(PassInstrumentationCallbacks &pic);

private:
  llvm::raw_ostream &os;
};

} // namespace onnxprune

#endif // ONNXPRUNE_PASSES_STANDARDINSTRUMENTATIONS_H
