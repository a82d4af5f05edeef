//===- SliceNorms.h - Lp norms of every slice of a weight -------*- C++ -*-===//
///
/// \file
/// The inner loop of the `magnitude` criterion: the Lp norm of every slice
/// t[.., i, ..] of a weight along one axis, for all i at once, in one pass
/// over the bytes in storage order.
///
/// A MatMul weight `[K, N]` scored along N (a unit is a column) is read row
/// by row: each row adds to all N partial norms at once, which vectorises,
/// instead of walking each column with an N-element stride. Scored along
/// K (a unit is a row) it is read row by row too, eight rows side by side,
/// each the running sum of its own unit: eight independent chains instead
/// of one. Either way every unit adds its elements in the same order as a
/// plain element-by-element loop, so the norms are bit-identical to that
/// loop's (SliceNormsTest checks it) on every machine and thread count.
/// float16 and bfloat16 are converted in bulk (FloatConvert.h). An
/// external weight is read with large sequential preads into a window of
/// a few MB (nothing mapped); other weights' mapped pages are released as
/// the pass moves on. Memory stays flat however big the weight.
///
//===----------------------------------------------------------------------===//
#ifndef ONNXPRUNE_PASSES_CRITERIA_SLICENORMS_H
#define ONNXPRUNE_PASSES_CRITERIA_SLICENORMS_H

#include "lib/IR/Tensor.h"

#include "llvm/Support/Error.h"

#include <vector>

namespace onnxprune {

class Progress;

/// The Lp norm of every slice of \p t along \p axis: out[i] =
/// ||t[.., i, ..]||_p, for p >= 1 or infinity (max |w|). \p progress, when
/// given, counts the bytes read.
llvm::Expected<std::vector<double>> sliceNorms(const Tensor &t, unsigned axis,
                                               double p,
                                               Progress *progress = nullptr);

/// The norms of \p values, a weight of \p dims read as doubles (quantized
/// weights dequantized), element by element in index order; \p axis must
/// be one of \p dims.
std::vector<double> sliceNormsOfValues(llvm::ArrayRef<double> values,
                                       llvm::ArrayRef<int64_t> dims,
                                       unsigned axis, double p);

/// The same computed element by element in index order: the definition
/// sliceNorms must match bit for bit (for tests).
llvm::Expected<std::vector<double>>
sliceNormsReference(const Tensor &t, unsigned axis, double p);

} // namespace onnxprune

#endif // ONNXPRUNE_PASSES_CRITERIA_SLICENORMS_H
