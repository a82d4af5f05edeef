//===- Progress.h - One progress line on a terminal -------------*- C++ -*-===//
///
/// \file
/// Long work (scoring the weights of a big model, writing its data,
/// calibration runs) shows how far it got on one stderr line that redraws
/// itself: done / total, rate and ETA.
///
/// \code
///   scoring: 5.1/14.0 GB, 1.9 GB/s, ETA 5 s
///   calibration: 64/512 samples, 21.3 samples/s, ETA 21 s
/// \endcode
///
/// The line appears only when stderr is a terminal (a pipe or a file gets
/// nothing, so logs and tests see no control characters) and only once the
/// work has run for a second: short work prints nothing. `onnx-prune
/// --quiet` turns it off (setProgressEnabled(false)). add() may be called
/// from several threads.
///
//===----------------------------------------------------------------------===//
#ifndef ONNXPRUNE_SUPPORT_PROGRESS_H
#define ONNXPRUNE_SUPPORT_PROGRESS_H

#include "llvm/ADT/StringRef.h"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>

namespace onnxprune {

/// Forces progress lines on or off; unset (the default): on when stderr is
/// a terminal.
void setProgressEnabled(std::optional<bool> on);
/// Whether a Progress made now will show (once its delay has passed).
bool progressEnabled();

class Progress {
public:
  enum class Unit {
    Bytes, ///< Shown as GB (or MB), with a rate in GB/s.
    Items, ///< Shown as counts of \p itemName ("samples").
  };
  /// \p what names the work ("scoring"); \p total is in \p unit. \p on
  /// overrides progressEnabled().
  Progress(llvm::StringRef what, uint64_t total, Unit unit = Unit::Bytes,
           llvm::StringRef itemName = "", std::optional<bool> on = {});
  /// Draws the last state and ends the line, if the line was shown.
  ~Progress();
  Progress(const Progress &) = delete;
  Progress &operator=(const Progress &) = delete;

  /// Counts \p amount more done (thread-safe).
  void add(uint64_t amount);
  /// Sets the amount done (thread-safe; for work counted in one place).
  void set(uint64_t done);
  /// Seconds before the line first shows.
  static constexpr double kDelaySeconds = 1.0;

private:
  void maybeDraw();
  std::string format(uint64_t done, double seconds) const;

  std::string what, itemName;
  uint64_t total;
  Unit unit;
  bool on;
  std::atomic<uint64_t> done{0};
  std::mutex drawMu;
  bool shown = false;
  std::chrono::steady_clock::time_point start, lastDraw;
};

} // namespace onnxprune

#endif // ONNXPRUNE_SUPPORT_PROGRESS_H
