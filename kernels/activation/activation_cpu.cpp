// Fast CPU activations: the shared functors (activation_functors.h), mapped over fixed chunks with loops GCC
// vectorises.
#include "activation/activation_cpu.h"

#include <cmath>
#include <cstring>

#include "activation/activation_functors.h"
#include "common/error.h"
#include "common/parallel.h"

namespace vigil::ops::cpu {
namespace {

using namespace activation_functors;

// Elements per parallel task: enough to amortise scheduling, few enough to balance the threads. Each element is
// independent, so the split cannot change any result.
constexpr int64_t kChunk = 1 << 14;

// 2^k as a float for k in [-126, 127], assembled from its exponent bits (vectorises, unlike std::ldexp).
inline float pow2(int32_t k) {
  const uint32_t bits = static_cast<uint32_t>(k + 127) << 23;
  float out;
  std::memcpy(&out, &bits, sizeof out);
  return out;
}

// exp(a) for a <= 0 (NaN propagates) without a libm call, so loops over it vectorise. a = k ln2 + r with
// |r| <= ln2 / 2 (ln2 split in two so k * kLn2Hi is exact), exp(r) by its degree-7 Taylor polynomial (truncation
// below 1e-8 relative), times 2^k in two halves so subnormal results round once. Below -104 exp(a) rounds to 0.
inline float exp_nonpositive(float a) {
  constexpr float kLog2e = 1.44269504f, kLn2Hi = 0.693359375f, kLn2Lo = -2.12194440e-4f;
  constexpr float kRound = 12582912.f;  // 1.5 * 2^23: adding and subtracting it rounds to the nearest integer
  const float ac = a < -104.f ? -104.f : a;
  float kf = (ac * kLog2e + kRound) - kRound;
  kf = kf > -151.f ? kf : -151.f;  // NaN -> -151, so the conversion below stays defined
  const float r = (ac - kf * kLn2Hi) - kf * kLn2Lo;
  float q = 1.f / 5040.f;
  q = q * r + 1.f / 720.f;
  q = q * r + 1.f / 120.f;
  q = q * r + 1.f / 24.f;
  q = q * r + 1.f / 6.f;
  q = q * r + 0.5f;
  q = q * r + 1.f;
  q = q * r + 1.f;
  const int32_t k = static_cast<int32_t>(kf);  // in [-151, 0]
  const int32_t k_half = k / 2;
  return q * pow2(k_half) * pow2(k - k_half);
}

// sigmoid(x) = (x >= 0 ? 1 : e) / (1 + e) with e = exp(-|x|): no overflow for any x.
struct CpuMath {
  static float sigmoid(float x) {
    const float e = exp_nonpositive(-std::fabs(x));
    return (x >= 0.f ? 1.f : e) / (1.f + e);
  }
};

// The chunk lambdas copy the functor into a local first: read through the lambda object, a parameter such as
// the slope could alias the stores to y/dx, so it would be reloaded per element and the loop would not vectorise.
template <typename Op>
void map_forward(Op op, int64_t n, const float* x, float* y) {
  vigil::cpu::parallel_for_ranges(n, kChunk, [op, x, y](int64_t begin, int64_t end) {
    const Op f = op;
    for (int64_t i = begin; i < end; ++i) y[i] = f.value(x[i]);
  });
}

template <typename Op>
void map_backward(Op op, int64_t n, const float* x, const float* dy, float* dx) {
  vigil::cpu::parallel_for_ranges(n, kChunk, [op, x, dy, dx](int64_t begin, int64_t end) {
    const Op f = op;
    for (int64_t i = begin; i < end; ++i) dx[i] += f.grad(x[i], dy[i]);
  });
}

}  // namespace

void activation_forward(const ActivationParams& p, int64_t n, const float* x, float* y) {
  with_op<CpuMath>(p, [&](auto op) { map_forward(op, n, x, y); });
}

void activation_backward(const ActivationParams& p, int64_t n, const float* x, const float* dy, float* dx) {
  with_op<CpuMath>(p, [&](auto op) { map_backward(op, n, x, dy, dx); });
}

}  // namespace vigil::ops::cpu
