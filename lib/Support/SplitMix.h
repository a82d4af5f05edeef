//===- SplitMix.h - A small, portable random number generator ---*- C++ -*-===//
///
/// \file
/// splitmix64 (Steele, Lea, Flood 2014): a 64-bit state advanced by a
/// constant, output through a bijective mixer. The same seed gives the same
/// numbers on every platform and standard library, which <random>'s
/// distributions do not promise: the random criterion and the synthetic
/// calibration inputs draw from it.
///
//===----------------------------------------------------------------------===//
#ifndef ONNXPRUNE_SUPPORT_SPLITMIX_H
#define ONNXPRUNE_SUPPORT_SPLITMIX_H

#include <cstdint>

namespace onnxprune {

/// Advances \p state and returns the next 64 random bits.
inline uint64_t splitmix64(uint64_t &state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

/// A double uniform in [0, 1): the top 53 bits, exactly representable.
inline double splitmixUnit(uint64_t &state) {
  return (splitmix64(state) >> 11) * 0x1.0p-53;
}

} // namespace onnxprune

#endif // ONNXPRUNE_SUPPORT_SPLITMIX_H
