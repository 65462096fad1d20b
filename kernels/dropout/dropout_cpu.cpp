// Fast CPU inverted dropout: each Philox4x32 call yields the draws of 4 consecutive elements (exactly the
// philox_uniform indexing), and chunks of elements are spread over OpenMP threads.
#include "dropout/dropout_cpu.h"

#include <algorithm>
#include <cstring>

#include "common/parallel.h"
#include "common/rng.h"
#include "dropout/dropout_ref.h"

namespace vigil::ops::cpu {
namespace {

// Elements per parallel task: a multiple of 4 so every task starts on a Philox group boundary.
constexpr int64_t kChunk = 1 << 14;

// The chunk loops take every scalar by value: read through a reference, the compiler would have to reload them
// after each store to y/dx (a float store may alias p.p or scale), which blocks unrolling and vectorisation.

// keep ? a : b through bit masks: branch-free (a random mask defeats branch prediction, and compilers turn a
// plain ?: back into a branch or a conditional store), bit-exact, and vectorisable.
inline float select(bool keep, float a, float b) {
  uint32_t ua, ub;
  std::memcpy(&ua, &a, sizeof ua);
  std::memcpy(&ub, &b, sizeof ub);
  const uint32_t m = 0u - static_cast<uint32_t>(keep);
  const uint32_t r = (ua & m) | (ub & ~m);
  float out;
  std::memcpy(&out, &r, sizeof out);
  return out;
}

// Elements [base, base + count) of one Philox group (count <= 4; base is a multiple of 4).
inline void forward_group(uint64_t seed, uint64_t stream, float p, float scale, int64_t base, int count,
                          const float* x, float* y, uint8_t* mask) {
  const Philox4 r = philox4x32(seed, stream, static_cast<uint64_t>(base >> 2));
  for (int k = 0; k < count; ++k) {
    const bool keep = uint_to_unit_float(r.v[k]) >= p;
    mask[base + k] = static_cast<uint8_t>(keep);
    y[base + k] = select(keep, x[base + k] * scale, 0.f);
  }
}

void forward_range(uint64_t seed, uint64_t stream, float p, float scale, int64_t begin, int64_t end,
                   const float* x, float* y, uint8_t* mask) {
  int64_t base = begin;
  for (; base + 4 <= end; base += 4) forward_group(seed, stream, p, scale, base, 4, x, y, mask);
  if (base < end) forward_group(seed, stream, p, scale, base, static_cast<int>(end - base), x, y, mask);
}

void backward_range(float scale, int64_t begin, int64_t end, const float* dy, const uint8_t* mask, float* dx) {
  for (int64_t i = begin; i < end; ++i) {
    dx[i] = select(mask[i] != 0, dx[i] + dy[i] * scale, dx[i]);  // dx unchanged where dropped
  }
}

}  // namespace

void dropout_forward(const DropoutParams& p, int64_t n, const float* x, float* y, uint8_t* mask) {
  const float scale = ref::dropout_scale(p.p);
  const DropoutParams q = p;
  vigil::cpu::parallel_for((n + kChunk - 1) / kChunk, [=](int64_t c) {
    forward_range(q.seed, q.stream, q.p, scale, c * kChunk, std::min(n, (c + 1) * kChunk), x, y, mask);
  });
}

void dropout_backward(const DropoutParams& p, int64_t n, const float* dy, const uint8_t* mask, float* dx) {
  const float scale = ref::dropout_scale(p.p);
  vigil::cpu::parallel_for((n + kChunk - 1) / kChunk, [=](int64_t c) {
    backward_range(scale, c * kChunk, std::min(n, (c + 1) * kChunk), dy, mask, dx);
  });
}

}  // namespace vigil::ops::cpu
