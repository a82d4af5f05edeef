//===- Parallel.cpp - How many threads, and a deterministic parallel loop -===//

#include "lib/Support/Parallel.h"

#include "llvm/Support/ThreadPool.h"
#include "llvm/Support/Threading.h"

#include <atomic>
#include <mutex>
#include <vector>

using namespace llvm;

namespace onnxprune {

namespace {
std::atomic<unsigned> requestedThreads{0};
} // namespace

void setThreadCount(unsigned n) { requestedThreads = n; }

unsigned getThreadCount() {
  unsigned n = requestedThreads;
  if (n)
    return n;
  // The cores of this process's affinity mask, not of the machine.
  return std::max(1u, hardware_concurrency().compute_thread_count());
}

Error parallelForEach(size_t n, function_ref<Error(size_t)> fn) {
  unsigned threads = std::min<size_t>(getThreadCount(), n);
  if (threads <= 1) {
    for (size_t i = 0; i < n; ++i)
      if (Error e = fn(i))
        return e;
    return Error::success();
  }
  // Workers take the next index from a shared counter: long tasks do not
  // hold up a fixed share of short ones. Indices are taken in order, so
  // every index below the first failing one runs, and the error returned
  // is the one a sequential loop would return.
  std::mutex mu;
  std::vector<std::pair<size_t, Error>> errors;
  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  {
    ThreadPool pool(hardware_concurrency(threads));
    for (unsigned t = 0; t < threads; ++t)
      pool.async([&] {
        for (size_t i; !failed && (i = next++) < n;)
          if (Error e = fn(i)) {
            std::lock_guard<std::mutex> lock(mu);
            errors.emplace_back(i, std::move(e));
            failed = true;
          }
      });
    pool.wait();
  }
  if (errors.empty())
    return Error::success();
  size_t first = 0;
  for (size_t k = 1; k < errors.size(); ++k)
    if (errors[k].first < errors[first].first)
      first = k;
  for (size_t k = 0; k < errors.size(); ++k)
    if (k != first)
      consumeError(std::move(errors[k].second));
  return std::move(errors[first].second);
}

} // namespace onnxprune
