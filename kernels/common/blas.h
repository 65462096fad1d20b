// CPU GEMM for the fast CPU paths: OpenBLAS when the build found it, otherwise vigil's own blocked,
// OpenMP-parallel GEMM. Row-major throughout.
#pragma once
#include <cstdint>
#include <string>

namespace vigil::cpu {

// C(M,N) = alpha * op(A) * op(B) + beta * C, row-major; op(A) is (M,K), op(B) is (K,N).
// lda/ldb/ldc are the row strides of A, B, C as stored (A is (K,M) in memory when trans_a).
void sgemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
           const float* B, int64_t ldb, float beta, float* C, int64_t ldc);

// The same, always with vigil's blocked GEMM (used to test it when OpenBLAS is present).
void sgemm_builtin(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
                   int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc);

std::string blas_name();  // "OpenBLAS 0.3.21 (openmp)" or "builtin blocked GEMM"

}  // namespace vigil::cpu
