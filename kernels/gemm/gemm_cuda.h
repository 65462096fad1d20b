// Launchers for vigil's hand-written tiled SGEMM (device pointers, current stream) and the cuBLAS baseline.
#pragma once
#include <cstdint>

namespace vigil::ops::cuda {

// C(M,N) = alpha * op(A) * op(B) + beta * C, row-major; op(A) is (M,K), op(B) is (K,N); lda/ldb/ldc are the
// row strides as stored (A is stored (K,M) when trans_a). beta == 0 overwrites C (NaNs in C do not propagate).
void sgemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha,
           const float* A /* (M, K) or (K, M) */, int64_t lda, const float* B /* (K, N) or (N, K) */, int64_t ldb,
           float beta, float* C /* (M, N) */, int64_t ldc);

// The same contract through cuBLAS (pedantic FP32 math, no TF32): the baseline for tests and benchmarks.
void sgemm_cublas(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha,
                  const float* A /* (M, K) or (K, M) */, int64_t lda, const float* B /* (K, N) or (N, K) */,
                  int64_t ldb, float beta, float* C /* (M, N) */, int64_t ldc);

// The same contract with the naive one-thread-per-output kernel (v1): a simple baseline for tests.
void sgemm_naive(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha,
                 const float* A /* (M, K) or (K, M) */, int64_t lda, const float* B /* (K, N) or (N, K) */,
                 int64_t ldb, float beta, float* C /* (M, N) */, int64_t ldc);

// y[r, c] += b[c] for every row r (the linear layer's bias).
void add_row_bias(int64_t rows, int64_t cols, const float* b /* (cols) */, float* y /* (rows, cols) */);

// db[c] += sum over r of dy[r, c], in a fixed order (deterministic, no atomics).  ACCUMULATES into db.
void column_sum(int64_t rows, int64_t cols, const float* dy /* (rows, cols) */, float* db /* (cols) */);

}  // namespace vigil::ops::cuda
