//===- FloatConvert.h - Weight bytes to floats, in bulk ---------*- C++ -*-===//
///
/// \file
/// Converting a run of float16 / bfloat16 / float weight bytes to floats at
/// memory speed: scoring an 8 G-parameter fp16 model converts 16 GB. Float16
/// uses the CPU's F16C instructions (`vcvtph2ps`, eight at a time) when it
/// has them, chosen at run time, and an exact bit trick otherwise; bfloat16
/// is a shift. Every path gives the same floats as halfToFloat() and
/// bfloat16ToFloat() element by element (the conversions are exact), so
/// results never depend on the machine.
///
//===----------------------------------------------------------------------===//
#ifndef ONNXPRUNE_IR_FLOATCONVERT_H
#define ONNXPRUNE_IR_FLOATCONVERT_H

#include "lib/IR/Type.h"

#include <cstddef>

namespace onnxprune {

/// True for the types toFloats() converts: Float, Float16, BFloat16.
bool convertsToFloats(DataType type);

/// Converts \p n elements of \p type stored little-endian at \p src (any
/// alignment) to floats at \p dst. \p type must satisfy convertsToFloats.
void toFloats(DataType type, const char *src, float *dst, size_t n);

/// The portable float16 path (no F16C), for tests that compare the two.
void halfToFloatsPortable(const char *src, float *dst, size_t n);

/// True when toFloats() uses F16C for float16 on this CPU.
bool hasF16C();

} // namespace onnxprune

#endif // ONNXPRUNE_IR_FLOATCONVERT_H
