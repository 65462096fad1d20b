// CPU SGEMM: OpenBLAS's cblas_sgemm when available, else a cache-blocked, OpenMP-parallel kernel.
#include "common/blas.h"

#include <algorithm>
#include <vector>

#include "common/parallel.h"
#if VIGIL_WITH_OPENBLAS
#include <cblas.h>
#endif

namespace vigil::cpu {
namespace {

constexpr int64_t kBlockM = 64, kBlockN = 256, kBlockK = 256;

// Packs op(B)[k0:k1, n0:n1] row-major into `dst` (kb x nb) so the inner loop reads contiguously.
void pack_b(bool trans_b, const float* B, int64_t ldb, int64_t k0, int64_t kb, int64_t n0, int64_t nb, float* dst) {
  for (int64_t k = 0; k < kb; ++k)
    for (int64_t n = 0; n < nb; ++n)
      dst[k * nb + n] = trans_b ? B[(n0 + n) * ldb + (k0 + k)] : B[(k0 + k) * ldb + (n0 + n)];
}

}  // namespace

void sgemm_builtin(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
                   int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  // Scale C by beta first (beta == 0 overwrites, so NaNs in C do not leak through).
  parallel_for(M, [&](int64_t m) {
    float* c = C + m * ldc;
    if (beta == 0.f)
      std::fill(c, c + N, 0.f);
    else if (beta != 1.f)
      for (int64_t n = 0; n < N; ++n) c[n] *= beta;
  }, 16);
  if (K == 0 || alpha == 0.f) return;
  const int64_t n_blocks = (N + kBlockN - 1) / kBlockN;
  const int64_t m_blocks = (M + kBlockM - 1) / kBlockM;
  for (int64_t k0 = 0; k0 < K; k0 += kBlockK) {
    const int64_t kb = std::min(kBlockK, K - k0);
    parallel_for(n_blocks * m_blocks, [&](int64_t blk) {
      const int64_t nbi = blk / m_blocks, mbi = blk % m_blocks;
      const int64_t n0 = nbi * kBlockN, nb = std::min(kBlockN, N - n0);
      const int64_t m0 = mbi * kBlockM, mb = std::min(kBlockM, M - m0);
      thread_local std::vector<float> packed;
      packed.resize(static_cast<size_t>(kb * nb));
      pack_b(trans_b, B, ldb, k0, kb, n0, nb, packed.data());
      for (int64_t m = m0; m < m0 + mb; ++m) {
        float* c = C + m * ldc + n0;
        for (int64_t k = 0; k < kb; ++k) {
          const float a = alpha * (trans_a ? A[(k0 + k) * lda + m] : A[m * lda + k0 + k]);
          if (a == 0.f) continue;
          const float* b = packed.data() + k * nb;
          for (int64_t n = 0; n < nb; ++n) c[n] += a * b[n];
        }
      }
    });
  }
}

void sgemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
           const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  if (M == 0 || N == 0) return;
#if VIGIL_WITH_OPENBLAS
  if (K == 0) {  // BLAS treats K == 0 as C = beta*C; keep our beta==0 semantics
    sgemm_builtin(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    return;
  }
  cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans,
              static_cast<int>(M), static_cast<int>(N), static_cast<int>(K), alpha, A, static_cast<int>(lda), B,
              static_cast<int>(ldb), beta, C, static_cast<int>(ldc));
#else
  sgemm_builtin(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
#endif
}

std::string blas_name() {
#if VIGIL_WITH_OPENBLAS
  return std::string("OpenBLAS (") + openblas_get_config() + ")";
#else
  return "builtin blocked GEMM";
#endif
}

}  // namespace vigil::cpu
