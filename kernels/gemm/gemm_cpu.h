// The fast CPU linear layer (BLAS GEMM plus OpenMP loops); the CPU GEMM itself is vigil::cpu::sgemm.
#pragma once
#include <cstdint>

namespace vigil::ops::cpu {

// y = x * W^T + b (b may be nullptr). OVERWRITES y.
void linear_forward(int64_t n, int64_t in, int64_t out, const float* x /* (n, in) */, const float* w /* (out, in) */,
                    const float* b /* (out) or nullptr */, float* y /* (n, out) */);

// dx += dy * W (ACCUMULATES).
void linear_backward_data(int64_t n, int64_t in, int64_t out, const float* dy /* (n, out) */,
                          const float* w /* (out, in) */, float* dx /* (n, in) */);

// dw += dy^T * x (ACCUMULATES).
void linear_backward_weight(int64_t n, int64_t in, int64_t out, const float* x /* (n, in) */,
                            const float* dy /* (n, out) */, float* dw /* (out, in) */);

// db += sum over rows of dy (ACCUMULATES); each column sums its rows in order.
void linear_backward_bias(int64_t n, int64_t out, const float* dy /* (n, out) */, float* db /* (out) */);

}  // namespace vigil::ops::cpu
