// Fast CPU element-wise ops (host pointers); reductions do not depend on the thread count.
#pragma once
#include <cstdint>

#include "elementwise/elementwise.h"

namespace vigil::ops::cpu {

void fill(int64_t n, float value, float* y /* (n) */);
void copy(int64_t n, const float* x /* (n) */, float* y /* (n) */);
void add(int64_t n, const float* a /* (n) */, const float* b /* (n) */, float* y /* (n) */);
void mul(int64_t n, const float* a /* (n) */, const float* b /* (n) */, float* y /* (n) */);
void scale(int64_t n, float alpha, const float* x /* (n) */, float* y /* (n) */);
// y += alpha * x (ACCUMULATES).
void axpy(int64_t n, float alpha, const float* x /* (n) */, float* y /* (n) */);
// da += dy * b, db += dy * a (ACCUMULATES); either may be nullptr.
void mul_backward(int64_t n, const float* a /* (n) */, const float* b /* (n) */, const float* dy /* (n) */,
                  float* da /* (n) or nullptr */, float* db /* (n) or nullptr */);

// *out = sum (OVERWRITES), double accumulation in a fixed order.
void sum(int64_t n, const float* x /* (n) */, float* out /* (1) */);
void sum_squares(int64_t n, const float* x /* (n) */, float* out /* (1) */);

// x[n, c, k] += bias[c].
void add_channel_bias(int64_t n, int64_t c, int64_t hw, const float* bias /* (C) */, float* x /* (N, C, HW) */);
// out[c] += sum over n, k of x[n, c, k] (ACCUMULATES), double accumulation in a fixed order.
void channel_sum(int64_t n, int64_t c, int64_t hw, const float* x /* (N, C, HW) */, float* out /* (C) */);

// Same bits as the ref:: conversions (both use elementwise/half.h).
void float_to_half(int64_t n, const float* x /* (n) */, uint16_t* y /* (n) */);
void half_to_float(int64_t n, const uint16_t* x /* (n) */, float* y /* (n) */);
void float_to_bfloat16(int64_t n, const float* x /* (n) */, uint16_t* y /* (n) */);
void bfloat16_to_float(int64_t n, const uint16_t* x /* (n) */, float* y /* (n) */);

}  // namespace vigil::ops::cpu
