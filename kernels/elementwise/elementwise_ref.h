// Plain-loop reference for the element-wise ops and reductions, templated so tests can run them in double.
#pragma once
#include <cstdint>

#include "elementwise/elementwise.h"

namespace vigil::ops::ref {

template <typename T>
void fill(int64_t n, T value, T* y /* (n) */);
template <typename T>
void copy(int64_t n, const T* x /* (n) */, T* y /* (n) */);
template <typename T>
void add(int64_t n, const T* a /* (n) */, const T* b /* (n) */, T* y /* (n) */);
template <typename T>
void mul(int64_t n, const T* a /* (n) */, const T* b /* (n) */, T* y /* (n) */);
template <typename T>
void scale(int64_t n, T alpha, const T* x /* (n) */, T* y /* (n) */);
// y += alpha * x (ACCUMULATES).
template <typename T>
void axpy(int64_t n, T alpha, const T* x /* (n) */, T* y /* (n) */);
// da += dy * b, db += dy * a (ACCUMULATES); either may be nullptr.
template <typename T>
void mul_backward(int64_t n, const T* a /* (n) */, const T* b /* (n) */, const T* dy /* (n) */,
                  T* da /* (n) or nullptr */, T* db /* (n) or nullptr */);

// *out = sum (OVERWRITES), accumulated sequentially in double.
template <typename T>
void sum(int64_t n, const T* x /* (n) */, T* out /* (1) */);
template <typename T>
void sum_squares(int64_t n, const T* x /* (n) */, T* out /* (1) */);

// x[n, c, k] += bias[c].
template <typename T>
void add_channel_bias(int64_t n, int64_t c, int64_t hw, const T* bias /* (C) */, T* x /* (N, C, HW) */);
// out[c] += sum over n, k of x[n, c, k] (ACCUMULATES), accumulated sequentially in double.
template <typename T>
void channel_sum(int64_t n, int64_t c, int64_t hw, const T* x /* (N, C, HW) */, T* out /* (C) */);

void float_to_half(int64_t n, const float* x /* (n) */, uint16_t* y /* (n) */);
void half_to_float(int64_t n, const uint16_t* x /* (n) */, float* y /* (n) */);
void float_to_bfloat16(int64_t n, const float* x /* (n) */, uint16_t* y /* (n) */);
void bfloat16_to_float(int64_t n, const uint16_t* x /* (n) */, float* y /* (n) */);

}  // namespace vigil::ops::ref
