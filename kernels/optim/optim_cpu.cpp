// Fast CPU optimizer steps: OpenMP over chunks, vectorised inner loops (Adam in three passes per chunk).
#include "optim/optim_cpu.h"

#include <algorithm>
#if defined(__SSE__)
#include <xmmintrin.h>
#endif

#include "common/parallel.h"
#include "optim/optim_update.h"

namespace vigil::ops::cpu {
namespace {

// Parameters per task; also the length of Adam's per-chunk square-root buffer (on the stack, L1-resident).
constexpr int64_t kChunk = 2048;

// fn(begin, end) over [0, n) in chunks of kChunk, spread over threads when there are several chunks.
template <typename Fn>
void for_chunks(int64_t n, Fn&& fn) {
  const int64_t chunks = (n + kChunk - 1) / kChunk;
  vigil::cpu::parallel_for(
      chunks,
      [&](int64_t t) {
        const int64_t begin = t * kChunk;
        fn(begin, std::min(n, begin + kChunk));
      },
      8);
}

void sgd_chunk(const SgdScalars<float> s, int64_t len, float* __restrict__ w, const float* __restrict__ g,
               float* __restrict__ buf) {
  if (s.has_momentum) {
    for (int64_t i = 0; i < len; ++i) sgd_update(s, w[i], g[i], buf + i);
  } else {
    for (int64_t i = 0; i < len; ++i) sgd_update(s, w[i], g[i], static_cast<float*>(nullptr));
  }
}

// out[i] = sqrtf(x[i]). The compiler does not vectorise sqrtf itself (it may set errno), so with SSE the
// square roots are taken four at a time by _mm_sqrt_ps, the same correctly rounded IEEE operation.
void sqrt_all(int64_t len, const float* __restrict__ x, float* __restrict__ out) {
  int64_t i = 0;
#if defined(__SSE__)
  for (; i + 4 <= len; i += 4) _mm_storeu_ps(out + i, _mm_sqrt_ps(_mm_loadu_ps(x + i)));
#endif
  for (; i < len; ++i) out[i] = optim_sqrt(x[i]);
}

void adam_chunk(const AdamScalars<float> s, int64_t len, float* __restrict__ w, const float* __restrict__ g,
                float* __restrict__ m, float* __restrict__ v) {
  float sqrt_v[kChunk];
  for (int64_t i = 0; i < len; ++i) adam_moments(s, w[i], g[i], m[i], v[i]);
  sqrt_all(len, v, sqrt_v);
  for (int64_t i = 0; i < len; ++i) adam_apply(s, w[i], m[i], sqrt_v[i]);
}

}  // namespace

void sgd_step(const SgdParams& p, int64_t n, float* w, const float* g, float* momentum_buf, bool first_step) {
  const SgdScalars<float> s = sgd_scalars<float>(p, first_step);
  for_chunks(n, [&](int64_t begin, int64_t end) {
    sgd_chunk(s, end - begin, w + begin, g + begin, s.has_momentum ? momentum_buf + begin : nullptr);
  });
}

void adam_step(const AdamParams& p, int64_t n, float* w, const float* g, float* m, float* v) {
  const AdamScalars<float> s = adam_scalars<float>(p);
  for_chunks(n, [&](int64_t begin, int64_t end) {
    adam_chunk(s, end - begin, w + begin, g + begin, m + begin, v + begin);
  });
}

}  // namespace vigil::ops::cpu
