// Element-wise maths, deterministic reductions, channel broadcasts and float16/bfloat16 conversions.
#pragma once
#include <cstdint>

#include "common/backend.h"

namespace vigil::ops {

// Pointers are host memory for Reference/Cpu and device memory for Cuda/Cudnn (Cudnn runs the Cuda kernels).
// n >= 0; pointers may be nullptr when n == 0. An output may be the same array as an input (y == a), but not
// partially overlap one.

// y = value.
void fill(Backend backend, int64_t n, float value, float* y /* (n) */);
// y = x.
void copy(Backend backend, int64_t n, const float* x /* (n) */, float* y /* (n) */);
// y = a + b.
void add(Backend backend, int64_t n, const float* a /* (n) */, const float* b /* (n) */, float* y /* (n) */);
// y = a * b.
void mul(Backend backend, int64_t n, const float* a /* (n) */, const float* b /* (n) */, float* y /* (n) */);
// y = alpha * x.
void scale(Backend backend, int64_t n, float alpha, const float* x /* (n) */, float* y /* (n) */);
// y += alpha * x (ACCUMULATES into y: gradient accumulation).
void axpy(Backend backend, int64_t n, float alpha, const float* x /* (n) */, float* y /* (n) */);
// Backward of y = a * b: da += dy * b, db += dy * a (ACCUMULATES into da and db); either may be nullptr, and
// then the input only it needs (b for da, a for db) may be nullptr too.
void mul_backward(Backend backend, int64_t n, const float* a /* (n) */, const float* b /* (n) */,
                  const float* dy /* (n) */, float* da /* (n) or nullptr */, float* db /* (n) or nullptr */);

// Reductions: *out = sum (OVERWRITES out, one float on the backend's device; 0 for n == 0). Deterministic:
// repeated calls with the same n, data and launch configuration give the same bits. Reference/Cpu accumulate
// in double (Cpu over fixed-size chunks, so the result does not depend on the thread count); Cuda/Cudnn use a
// fixed-order two-pass tree (double per thread, float across threads), no atomics.
void sum(Backend backend, int64_t n, const float* x /* (n) */, float* out /* (1) */);
// *out = sum of x[i]^2 (for gradient-norm clipping); same contract as sum.
void sum_squares(Backend backend, int64_t n, const float* x /* (n) */, float* out /* (1) */);

// Per-channel broadcasts for layers; x is (N, C, HW) contiguous, i.e. x[(n * C + c) * HW + k].
// x[n, c, k] += bias[c].
void add_channel_bias(Backend backend, int64_t n, int64_t c, int64_t hw, const float* bias /* (C) */,
                      float* x /* (N, C, HW) */);
// out[c] += sum over n, k of x[n, c, k] (ACCUMULATES into out: the bias gradient); deterministic as sum.
void channel_sum(Backend backend, int64_t n, int64_t c, int64_t hw, const float* x /* (N, C, HW) */,
                 float* out /* (C) */);

// Storage-type conversions (float32 compute, float16 / bfloat16 storage as raw uint16 bits). float -> 16 bit
// rounds to nearest even; overflow gives +-Inf; subnormals are produced and read exactly; NaN stays NaN with
// its sign and the top payload bits kept (so every 16-bit pattern survives 16 -> 32 -> 16 unchanged). All
// backends share one implementation (elementwise/half.h) and agree bit for bit.
void float_to_half(Backend backend, int64_t n, const float* x /* (n) */, uint16_t* y /* (n) */);
void half_to_float(Backend backend, int64_t n, const uint16_t* x /* (n) */, float* y /* (n) */);
void float_to_bfloat16(Backend backend, int64_t n, const float* x /* (n) */, uint16_t* y /* (n) */);
void bfloat16_to_float(Backend backend, int64_t n, const uint16_t* x /* (n) */, float* y /* (n) */);

}  // namespace vigil::ops
