//===- DepthCriteria.h - What the depth criteria share ----------*- C++ -*-===//
///
/// \file
/// The per-vector math of the depth criteria. similarity compares the
/// residual stream before and after a unit: a transformer's stream
/// [.., T, H] is a vector per token along the last axis, a CNN's
/// [N, C, H, W] a vector per position along the channel axis (1).
/// finercut compares the model's outputs with and without units: vectors
/// along the last axis (logits per token, a hidden state per token).
///
//===----------------------------------------------------------------------===//
#ifndef ONNXPRUNE_PASSES_CRITERIA_DEPTHCRITERIA_H
#define ONNXPRUNE_PASSES_CRITERIA_DEPTHCRITERIA_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"

#include <cstdint>

namespace onnxprune {

/// A running mean over vectors.
struct MeanSum {
  double sum = 0;
  int64_t count = 0;
  double mean() const { return count ? sum / count : 0.0; }
};

/// Adds the cosine of every pair of matching stream vectors of \p a and
/// \p b (same \p shape, row-major). Two zero vectors are equal (1), one
/// zero vector is orthogonal (0).
void addCosines(const float *a, const float *b, llvm::ArrayRef<int64_t> shape,
                MeanSum &acc);

/// How finercut measures a change of the outputs, per vector.
enum class OutputDistance : uint8_t {
  JS,     ///< Jensen-Shannon divergence of the softmaxes (nats): logits.
  Angular ///< arccos(cos) / pi, in [0, 1]: hidden states, embeddings.
};
/// "js", "angular".
llvm::StringRef outputDistanceName(OutputDistance d);

/// Adds the distance of every pair of matching output vectors (last axis).
void addDistances(const float *ref, const float *out,
                  llvm::ArrayRef<int64_t> shape, OutputDistance how,
                  MeanSum &acc);

} // namespace onnxprune

#endif // ONNXPRUNE_PASSES_CRITERIA_DEPTHCRITERIA_H
