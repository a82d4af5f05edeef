//===- Parallel.h - How many threads, and a deterministic parallel loop -*-===//
///
/// \file
/// The tool's one knob for parallel work (`onnx-prune -j N`): weight
/// scoring, weight slicing and ONNX Runtime's calibration sessions all use
/// getThreadCount() threads. It is process-wide, as LLVM's
/// `parallel::strategy` is for lld: the driver sets it once before any pass
/// runs; a library that never sets it gets every core.
///
/// parallelForEach() runs independent tasks on an llvm::ThreadPool. Each
/// task must write only its own results (its index's slot, or its own
/// bytes at its own offset), so that what the tool outputs never depends
/// on the number of threads or on which thread ran what.
///
//===----------------------------------------------------------------------===//
#ifndef ONNXPRUNE_SUPPORT_PARALLEL_H
#define ONNXPRUNE_SUPPORT_PARALLEL_H

#include "llvm/ADT/STLFunctionalExtras.h"
#include "llvm/Support/Error.h"

#include <cstddef>

namespace onnxprune {

/// Sets the number of threads for parallel work; 0 means every core this
/// process may run on.
void setThreadCount(unsigned n);
/// The number of threads for parallel work (at least 1).
unsigned getThreadCount();

/// Runs \p fn(i) for every i in [0, \p n) on up to getThreadCount()
/// threads, larger tasks first if the caller lists them first (tasks start
/// in index order). Returns the error of the lowest failing index, or
/// success; after a failure, tasks not yet started are skipped. With one
/// thread (or one task) everything runs in the calling thread.
llvm::Error parallelForEach(size_t n,
                            llvm::function_ref<llvm::Error(size_t)> fn);

} // namespace onnxprune

#endif // ONNXPRUNE_SUPPORT_PARALLEL_H
