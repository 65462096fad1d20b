// Fast CPU activations: one small functor per kind, mapped over fixed chunks with loops GCC vectorises.
#include "activation/activation_cpu.h"

#include <cmath>
#include <cstring>

#include "common/error.h"
#include "common/parallel.h"

namespace vigil::ops::cpu {
namespace {

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
inline float sigmoid(float x) {
  const float e = exp_nonpositive(-std::fabs(x));
  return (x >= 0.f ? 1.f : e) / (1.f + e);
}

inline float relu6(float x) { return x < 0.f ? 0.f : (x > 6.f ? 6.f : x); }

// Each functor: value(x) = f(x) and grad(x, dy) = f'(x) * dy, written as selects so the loops stay branch-free.
struct LeakyOp {  // Relu uses slope 0
  float slope;
  float value(float x) const { return x > 0.f ? x : slope * x; }
  float grad(float x, float dy) const { return x > 0.f ? dy : slope * dy; }
};
struct Relu6Op {
  float value(float x) const { return relu6(x); }
  float grad(float x, float dy) const { return x > 0.f && x < 6.f ? dy : 0.f; }
};
struct HardSwishOp {
  float value(float x) const { return x * relu6(x + 3.f) / 6.f; }
  float grad(float x, float dy) const {
    const float inner = dy * (x / 3.f + 0.5f);
    return x < -3.f ? 0.f : (x <= 3.f ? inner : dy);
  }
};
struct HardSigmoidOp {
  float value(float x) const { return relu6(x + 3.f) / 6.f; }
  float grad(float x, float dy) const { return x > -3.f && x < 3.f ? dy / 6.f : 0.f; }
};
struct SigmoidOp {
  float value(float x) const { return sigmoid(x); }
  float grad(float x, float dy) const {
    const float s = sigmoid(x);
    return dy * (s * (1.f - s));
  }
};
struct SiluOp {
  float value(float x) const { return x * sigmoid(x); }
  float grad(float x, float dy) const {
    const float s = sigmoid(x);
    return dy * (s * (1.f + x * (1.f - s)));
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

// Calls fn(op) with the functor for p.kind.
template <typename Fn>
void with_op(const ActivationParams& p, Fn&& fn) {
  switch (p.kind) {
    case ActivationKind::Relu: return fn(LeakyOp{0.f});
    case ActivationKind::LeakyRelu: return fn(LeakyOp{p.negative_slope});
    case ActivationKind::Relu6: return fn(Relu6Op{});
    case ActivationKind::HardSwish: return fn(HardSwishOp{});
    case ActivationKind::Silu: return fn(SiluOp{});
    case ActivationKind::Sigmoid: return fn(SigmoidOp{});
    case ActivationKind::HardSigmoid: return fn(HardSigmoidOp{});
  }
  VIGIL_FAIL("activation: unknown kind ", static_cast<int>(p.kind));
}

}  // namespace

void activation_forward(const ActivationParams& p, int64_t n, const float* x, float* y) {
  with_op(p, [&](auto op) { map_forward(op, n, x, y); });
}

void activation_backward(const ActivationParams& p, int64_t n, const float* x, const float* dy, float* dx) {
  with_op(p, [&](auto op) { map_backward(op, n, x, dy, dx); });
}

}  // namespace vigil::ops::cpu
