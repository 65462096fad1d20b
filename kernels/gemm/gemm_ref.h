// Plain-loop reference GEMM and linear layer, templated so gradient checks can run in double.
#pragma once
#include <cstdint>

namespace vigil::ops::ref {

// C = alpha * op(A) * op(B) + beta * C with the layout contract of ops::gemm; beta == 0 overwrites C.
template <typename T>
void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, T alpha, const T* A /* (M, K) or (K, M) */,
          int64_t lda, const T* B /* (K, N) or (N, K) */, int64_t ldb, T beta, T* C /* (M, N) */, int64_t ldc);

// y = x * W^T + b (b may be nullptr). OVERWRITES y.
template <typename T>
void linear_forward(int64_t n, int64_t in, int64_t out, const T* x /* (n, in) */, const T* w /* (out, in) */,
                    const T* b /* (out) or nullptr */, T* y /* (n, out) */);

// dx += dy * W (ACCUMULATES).
template <typename T>
void linear_backward_data(int64_t n, int64_t in, int64_t out, const T* dy /* (n, out) */, const T* w /* (out, in) */,
                          T* dx /* (n, in) */);

// dw += dy^T * x (ACCUMULATES).
template <typename T>
void linear_backward_weight(int64_t n, int64_t in, int64_t out, const T* x /* (n, in) */, const T* dy /* (n, out) */,
                            T* dw /* (out, in) */);

// db += sum over rows of dy (ACCUMULATES).
template <typename T>
void linear_backward_bias(int64_t n, int64_t out, const T* dy /* (n, out) */, T* db /* (out) */);

}  // namespace vigil::ops::ref
