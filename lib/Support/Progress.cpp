//===- Progress.cpp - One progress line on a terminal ---------------------===//

#include "lib/Support/Progress.h"

#include "llvm/Support/Format.h"
#include "llvm/Support/Process.h"
#include "llvm/Support/raw_ostream.h"

using namespace llvm;

namespace onnxprune {

namespace {
std::mutex enabledMu;
std::optional<bool> forcedEnabled;

/// Redraws at most this often: a terminal line, not a log.
constexpr double kRedrawSeconds = 0.25;

double secondsSince(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t)
      .count();
}
} // namespace

void setProgressEnabled(std::optional<bool> on) {
  std::lock_guard<std::mutex> lock(enabledMu);
  forcedEnabled = on;
}

bool progressEnabled() {
  std::lock_guard<std::mutex> lock(enabledMu);
  return forcedEnabled.value_or(sys::Process::StandardErrIsDisplayed());
}

Progress::Progress(StringRef what, uint64_t total, Unit unit,
                   StringRef itemName, std::optional<bool> on)
    : what(what.str()), itemName(itemName.str()), total(total), unit(unit),
      on(on.value_or(progressEnabled())),
      start(std::chrono::steady_clock::now()), lastDraw(start) {}

Progress::~Progress() {
  if (!on)
    return;
  std::lock_guard<std::mutex> lock(drawMu);
  if (!shown)
    return;
  errs() << '\r' << format(done, secondsSince(start)) << '\n';
  errs().flush();
}

void Progress::add(uint64_t amount) {
  done += amount;
  if (on)
    maybeDraw();
}

void Progress::set(uint64_t value) {
  done = value;
  if (on)
    maybeDraw();
}

void Progress::maybeDraw() {
  // Workers never wait for the terminal: one draws, the others go on.
  std::unique_lock<std::mutex> lock(drawMu, std::try_to_lock);
  if (!lock.owns_lock())
    return;
  double secs = secondsSince(start);
  if (secs < kDelaySeconds || secondsSince(lastDraw) < kRedrawSeconds)
    return;
  lastDraw = std::chrono::steady_clock::now();
  // Trailing spaces wipe the end of a longer previous line.
  errs() << '\r' << format(done, secs) << "   ";
  errs().flush();
  shown = true;
}

std::string Progress::format(uint64_t d, double secs) const {
  std::string out;
  raw_string_ostream os(out);
  double rate = secs > 0 ? d / secs : 0;
  double eta = rate > 0 && total > d ? (total - d) / rate : 0;
  os << what << ": ";
  if (unit == Unit::Bytes) {
    // GB for totals of a GB or more, else MB: 3 significant digits or so.
    bool gb = total >= 1000000000;
    double scale = gb ? 1e9 : 1e6;
    const char *name = gb ? "GB" : "MB";
    os << llvm::format("%.1f/%.1f %s, %.2f %s/s", d / scale, total / scale,
                       name, rate / scale, name);
  } else {
    os << d << "/" << total << " " << itemName << ", "
       << llvm::format("%.1f", rate) << " " << itemName << "/s";
  }
  if (d < total)
    os << ", ETA " << llvm::format("%.0f", eta) << " s";
  else
    os << ", " << llvm::format("%.1f", secs) << " s";
  return os.str();
}

} // namespace onnxprune
