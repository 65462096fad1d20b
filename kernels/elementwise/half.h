// float32 <-> float16 / bfloat16 bit manipulation shared by host and device code (bit-identical results).
// Round to nearest even, +-Inf on overflow, exact subnormals, NaN kept as NaN (sign and top payload bits
// preserved, quiet bit set if nothing else survives). Written without branches (every case computed, then
// selected) so CPU loops over them vectorise.
#pragma once
#include <cstdint>
#include <cstring>

#include "common/hd.h"

namespace vigil::ops {
namespace half_bits {

VIGIL_HD uint32_t float_bits(float f) {
#if defined(__CUDA_ARCH__)
  return __float_as_uint(f);
#else
  uint32_t u;
  std::memcpy(&u, &f, sizeof(u));
  return u;
#endif
}

VIGIL_HD float bits_to_float(uint32_t u) {
#if defined(__CUDA_ARCH__)
  return __uint_as_float(u);
#else
  float f;
  std::memcpy(&f, &u, sizeof(f));
  return f;
#endif
}

// c ? a : b as bit masks: compilers keep a ternary chain as branches, which blocks vectorising the loops.
VIGIL_HD uint32_t select(bool c, uint32_t a, uint32_t b) { return b ^ ((a ^ b) & (0u - static_cast<uint32_t>(c))); }

}  // namespace half_bits

// IEEE binary16: 1 sign, 5 exponent (bias 15), 10 mantissa bits. Relies only on IEEE float multiplication
// and addition rounding to nearest even (the default mode; flushing subnormal floats to zero does not matter).
VIGIL_HD uint16_t float_to_half_bits(float f) {
  const uint32_t u = half_bits::float_bits(f);
  const uint32_t sign = (u >> 16) & 0x8000u;
  const uint32_t mag = u & 0x7fffffffu;
  // Normal result (2^-14 <= |f| < 65520): rebias the exponent from 127 to 15 and drop 13 mantissa bits,
  // rounding to nearest even by adding just under half of the dropped unit plus the kept lowest bit; a carry
  // out of the mantissa correctly bumps the exponent.
  const uint32_t normal = (mag - (112u << 23) + 0xfffu + ((mag >> 13) & 1u)) >> 13;
  // Subnormal result (|f| < 2^-14): the half is m * 2^-24 with m = |f| * 2^24 (exact, below 1024) rounded to
  // nearest even, which adding 2^23 does (the sum's unit is 1); m = 1024 encodes the smallest normal, as it
  // should.
  const float scaled = half_bits::bits_to_float(mag) * 16777216.0f + 8388608.0f;
  const uint32_t subnormal = half_bits::float_bits(scaled) - 0x4b000000u;
  // NaN keeps its top 10 payload bits; a payload only in the dropped low bits becomes the quiet bit.
  const uint32_t payload = (mag >> 13) & 0x3ffu;
  const uint32_t nan = 0x7c00u | half_bits::select(payload != 0, payload, 0x200u);
  uint32_t h = half_bits::select(mag >= 0x38800000u, normal, subnormal);
  h = half_bits::select(mag >= 0x477ff000u, 0x7c00u, h);  // >= 65520 (midpoint above 65504, ties to even), Inf
  h = half_bits::select(mag > 0x7f800000u, nan, h);
  return static_cast<uint16_t>(sign | h);
}

VIGIL_HD float half_bits_to_float(uint16_t h) {
  const uint32_t sign = (static_cast<uint32_t>(h) & 0x8000u) << 16;
  const uint32_t exp = (h >> 10) & 0x1fu, mant = h & 0x3ffu;
  const uint32_t normal = ((exp + 112u) << 23) | (mant << 13);  // rebias the exponent from 15 to 127
  const uint32_t special = 0x7f800000u | (mant << 13);          // Inf, or NaN with its payload
  // Zero and subnormals: mant * 2^-24, exact in float (a normal float unless zero).
  const uint32_t subnormal = half_bits::float_bits(static_cast<float>(mant) * 5.9604644775390625e-8f);
  const uint32_t bits = half_bits::select(exp == 0x1fu, special, half_bits::select(exp != 0, normal, subnormal));
  return half_bits::bits_to_float(sign | bits);
}

// bfloat16: the top 16 bits of a float32 (1 sign, 8 exponent, 7 mantissa bits).
VIGIL_HD uint16_t float_to_bfloat16_bits(float f) {
  const uint32_t u = half_bits::float_bits(f);
  // Round to nearest even on the low 16 bits; a carry into the exponent is correct, including overflow of the
  // largest finite values to Inf (sign and magnitude are separate, so the carry never reaches the sign).
  const uint32_t rounded = (u + 0x7fffu + ((u >> 16) & 1u)) >> 16;
  // NaN keeps its sign and top payload bits, with the quiet bit set if none survive.
  const uint32_t top = u >> 16;
  const uint32_t nan = half_bits::select((top & 0x7fu) != 0, top, top | 0x40u);
  return static_cast<uint16_t>(half_bits::select((u & 0x7fffffffu) > 0x7f800000u, nan, rounded));
}

VIGIL_HD float bfloat16_bits_to_float(uint16_t b) {
  return half_bits::bits_to_float(static_cast<uint32_t>(b) << 16);
}

}  // namespace vigil::ops
