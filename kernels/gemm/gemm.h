// Single-precision GEMM on every backend, and the fully connected (linear) layer built on it.
#pragma once
#include <cstdint>

#include "common/backend.h"

namespace vigil::ops {

// Which CUDA implementation gemm_cuda runs: vigil's tiled SGEMM (the default for Backend::Cuda/Cudnn), the
// naive one-thread-per-output kernel (v1, kept for tests), or cuBLAS (the baseline).
enum class GemmImpl { Tiled, Naive, Cublas };

const char* gemm_impl_name(GemmImpl impl);  // "tiled" | "naive" | "cublas"

// C = alpha * op(A) * op(B) + beta * C, row-major; op(X) = X^T when trans_x. lda/ldb/ldc are the row strides as
// stored: A is stored (M, K) with lda >= K, or (K, M) with lda >= M when trans_a; B is stored (K, N) with
// ldb >= N, or (N, K) with ldb >= K when trans_b; C is (M, N) with ldc >= N. beta == 0 overwrites C (NaNs in C
// do not propagate); K == 0 gives C = beta * C. C must not overlap A or B.
// Reference: triple loop; Cpu: cpu::sgemm (OpenBLAS, else vigil's blocked GEMM); Cuda and Cudnn: the tiled SGEMM.
void gemm(Backend backend, bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha,
          const float* A /* (M, K) or (K, M) */, int64_t lda, const float* B /* (K, N) or (N, K) */, int64_t ldb,
          float beta, float* C /* (M, N) */, int64_t ldc);

// The same contract on the GPU (device pointers, current stream) with an explicit implementation choice.
void gemm_cuda(GemmImpl impl, bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha,
               const float* A /* (M, K) or (K, M) */, int64_t lda, const float* B /* (K, N) or (N, K) */,
               int64_t ldb, float beta, float* C /* (M, N) */, int64_t ldc);

// Linear layer: y = x * W^T + b. b may be nullptr (no bias). OVERWRITES y.
void linear_forward(Backend backend, int64_t n, int64_t in, int64_t out, const float* x /* (n, in) */,
                    const float* w /* (out, in) */, const float* b /* (out) or nullptr */, float* y /* (n, out) */);

// dx += dy * W  (ACCUMULATES into dx).
void linear_backward_data(Backend backend, int64_t n, int64_t in, int64_t out, const float* dy /* (n, out) */,
                          const float* w /* (out, in) */, float* dx /* (n, in) */);

// dw += dy^T * x  (ACCUMULATES into dw).
void linear_backward_weight(Backend backend, int64_t n, int64_t in, int64_t out, const float* x /* (n, in) */,
                            const float* dy /* (n, out) */, float* dw /* (out, in) */);

// db += sum over rows of dy  (ACCUMULATES into db).
void linear_backward_bias(Backend backend, int64_t n, int64_t out, const float* dy /* (n, out) */,
                          float* db /* (out) */);

namespace detail {
// Throws vigil::Error (prefixed with `who`) unless the sizes, strides and pointers form a valid GEMM.
void check_gemm_args(const char* who, bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, const float* A,
                     int64_t lda, const float* B, int64_t ldb, const float* C, int64_t ldc);
}  // namespace detail

}  // namespace vigil::ops
