// Counter-based Philox4x32-10 RNG shared by host and device: (seed, stream, counter) -> 4 random uint32.
// A dropout mask or augmentation draw depends only on these numbers, so CPU and GPU agree bit for bit.
#pragma once
#include <cstdint>

#include "common/hd.h"

namespace vigil {

struct Philox4 {
  uint32_t v[4];
};

VIGIL_HD uint32_t philox_mulhilo(uint32_t a, uint32_t b, uint32_t* hi) {
  uint64_t p = static_cast<uint64_t>(a) * static_cast<uint64_t>(b);
  *hi = static_cast<uint32_t>(p >> 32);
  return static_cast<uint32_t>(p);
}

// Philox4x32 with 10 rounds (Salmon et al., SC'11). key = seed, counter = (index, stream).
VIGIL_HD Philox4 philox4x32(uint64_t seed, uint64_t stream, uint64_t index) {
  uint32_t c0 = static_cast<uint32_t>(index), c1 = static_cast<uint32_t>(index >> 32);
  uint32_t c2 = static_cast<uint32_t>(stream), c3 = static_cast<uint32_t>(stream >> 32);
  uint32_t k0 = static_cast<uint32_t>(seed), k1 = static_cast<uint32_t>(seed >> 32);
  for (int r = 0; r < 10; ++r) {
    uint32_t hi0, hi1;
    uint32_t lo0 = philox_mulhilo(0xD2511F53u, c0, &hi0);
    uint32_t lo1 = philox_mulhilo(0xCD9E8D57u, c2, &hi1);
    uint32_t n0 = hi1 ^ c1 ^ k0, n1 = lo1, n2 = hi0 ^ c3 ^ k1, n3 = lo0;
    c0 = n0; c1 = n1; c2 = n2; c3 = n3;
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
  Philox4 out;
  out.v[0] = c0; out.v[1] = c1; out.v[2] = c2; out.v[3] = c3;
  return out;
}

// Maps a uint32 to a float in [0, 1) using the top 24 bits (exact in float, identical on host and device).
VIGIL_HD float uint_to_unit_float(uint32_t x) { return static_cast<float>(x >> 8) * (1.0f / 16777216.0f); }

// The i-th uniform [0,1) float of stream `stream` under `seed`: one Philox call yields 4 consecutive values.
VIGIL_HD float philox_uniform(uint64_t seed, uint64_t stream, uint64_t i) {
  Philox4 r = philox4x32(seed, stream, i >> 2);
  return uint_to_unit_float(r.v[i & 3]);
}

}  // namespace vigil
