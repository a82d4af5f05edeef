//===- FloatConvert.cpp - Weight bytes to floats, in bulk -----------------===//

#include "lib/IR/FloatConvert.h"

#include <cassert>
#include <cstdint>
#include <cstring>

#if (defined(__x86_64__) || defined(__i386__)) &&                              \
    (defined(__GNUC__) || defined(__clang__))
#define ONNXPRUNE_X86_DISPATCH 1
#include <cpuid.h>
#include <immintrin.h>
#endif

namespace onnxprune {

namespace {

/// float16 bits -> float bits, exactly, without branches the compiler
/// cannot turn into selects: the exponent is rebased by a shift and an add;
/// Inf/NaN get the rest of float's exponent range; zeros and subnormals
/// are renormalised by one float subtraction (F. Giesen's method).
inline float halfBitsToFloat(uint16_t h) {
  const uint32_t shiftedExp = 0x7c00u << 13;
  uint32_t o = uint32_t(h & 0x7fff) << 13;
  uint32_t exp = shiftedExp & o;
  o += (127 - 15) << 23;
  float f;
  if (exp == shiftedExp) {
    o += (128 - 16) << 23; // Inf/NaN
    std::memcpy(&f, &o, 4);
  } else if (exp == 0) {
    o += 1u << 23; // zero or subnormal: subtract the implicit one
    std::memcpy(&f, &o, 4);
    const uint32_t magicBits = 113u << 23;
    float magic;
    std::memcpy(&magic, &magicBits, 4);
    f -= magic;
  } else {
    std::memcpy(&f, &o, 4);
  }
  uint32_t bits;
  std::memcpy(&bits, &f, 4);
  bits |= uint32_t(h & 0x8000) << 16;
  std::memcpy(&f, &bits, 4);
  return f;
}

void bfloat16ToFloats(const char *src, float *dst, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    uint16_t h;
    std::memcpy(&h, src + 2 * i, 2);
    uint32_t bits = uint32_t(h) << 16;
    std::memcpy(dst + i, &bits, 4);
  }
}

#ifdef ONNXPRUNE_X86_DISPATCH
__attribute__((target("avx,f16c"))) void
halfToFloatsF16C(const char *src, float *dst, size_t n) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i *>(src + 2 * i));
    _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(h));
  }
  if (i < n)
    halfToFloatsPortable(src + 2 * i, dst + i, n - i);
}
#endif

} // namespace

bool hasF16C() {
#ifdef ONNXPRUNE_X86_DISPATCH
  // CPUID leaf 1, ECX: AVX (bit 28), F16C (bit 29), and OSXSAVE (bit 27)
  // with XCR0 saying the OS saves the YMM registers. Read by hand: clang 14's
  // __builtin_cpu_supports does not know "f16c".
  static const bool has = [] {
    unsigned eax, ebx, ecx, edx;
    if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx))
      return false;
    const unsigned need = (1u << 27) | (1u << 28) | (1u << 29);
    if ((ecx & need) != need)
      return false;
    unsigned xcr0lo, xcr0hi;
    __asm__("xgetbv" : "=a"(xcr0lo), "=d"(xcr0hi) : "c"(0));
    return (xcr0lo & 6u) == 6u; // SSE and AVX state enabled
  }();
  return has;
#else
  return false;
#endif
}

void halfToFloatsPortable(const char *src, float *dst, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    uint16_t h;
    std::memcpy(&h, src + 2 * i, 2);
    dst[i] = halfBitsToFloat(h);
  }
}

bool convertsToFloats(DataType type) {
  return type == DataType::Float || type == DataType::Float16 ||
         type == DataType::BFloat16;
}

void toFloats(DataType type, const char *src, float *dst, size_t n) {
  switch (type) {
  case DataType::Float:
    std::memcpy(dst, src, n * sizeof(float));
    return;
  case DataType::Float16:
#ifdef ONNXPRUNE_X86_DISPATCH
    if (hasF16C())
      return halfToFloatsF16C(src, dst, n);
#endif
    return halfToFloatsPortable(src, dst, n);
  case DataType::BFloat16:
    return bfloat16ToFloats(src, dst, n);
  default:
    break;
  }
  assert(false && "toFloats: not a float, float16 or bfloat16 type");
}

} // namespace onnxprune
