// Backend dispatch and argument validation for GEMM and the linear layer (no cuDNN path: Cudnn runs the
// hand-written CUDA kernels).
#include <climits>

#include "common/blas.h"
#include "common/error.h"
#include "gemm/gemm.h"
#include "gemm/gemm_cpu.h"
#include "gemm/gemm_ref.h"
#if VIGIL_WITH_CUDA
#include "gemm/gemm_cuda.h"
#endif

namespace vigil::ops {

namespace detail {
void check_gemm_args(const char* who, bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, const float* A,
                     int64_t lda, const float* B, int64_t ldb, const float* C, int64_t ldc) {
  VIGIL_CHECK(M >= 0 && N >= 0 && K >= 0, who, ": negative size M ", M, " N ", N, " K ", K);
  VIGIL_CHECK(lda >= (trans_a ? M : K), who, ": lda ", lda, " is less than ", trans_a ? "M " : "K ",
              trans_a ? M : K);
  VIGIL_CHECK(ldb >= (trans_b ? K : N), who, ": ldb ", ldb, " is less than ", trans_b ? "K " : "N ",
              trans_b ? K : N);
  VIGIL_CHECK(ldc >= N, who, ": ldc ", ldc, " is less than N ", N);
  VIGIL_CHECK(A || M == 0 || K == 0, who, ": A is null");
  VIGIL_CHECK(B || K == 0 || N == 0, who, ": B is null");
  VIGIL_CHECK(C || M == 0 || N == 0, who, ": C is null");
}
}  // namespace detail

namespace {
void check_linear_args(const char* who, int64_t n, int64_t in, int64_t out) {
  VIGIL_CHECK(n >= 0 && in >= 0 && out >= 0, who, ": negative size n ", n, " in ", in, " out ", out);
}
// A tensor of `count` elements needs storage unless it is empty.
void check_ptr(const char* who, const char* name, const float* p, int64_t count) {
  VIGIL_CHECK(p || count == 0, who, ": ", name, " is null");
}
}  // namespace

const char* gemm_impl_name(GemmImpl impl) {
  switch (impl) {
    case GemmImpl::Tiled: return "tiled";
    case GemmImpl::Naive: return "naive";
    case GemmImpl::Cublas: return "cublas";
  }
  return "?";
}

void gemm(Backend backend, bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
          int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  detail::check_gemm_args("gemm", trans_a, trans_b, M, N, K, A, lda, B, ldb, C, ldc);
  switch (backend) {
    case Backend::Reference: return ref::gemm<float>(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    case Backend::Cpu:
      VIGIL_CHECK(M <= INT_MAX && N <= INT_MAX && K <= INT_MAX && lda <= INT_MAX && ldb <= INT_MAX && ldc <= INT_MAX,
                  "gemm: the CPU BLAS takes int sizes and strides, got M ", M, " N ", N, " K ", K);
      return vigil::cpu::sgemm(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    case Backend::Cuda:
    case Backend::Cudnn:
#if VIGIL_WITH_CUDA
      return cuda::sgemm(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
#endif
      break;
  }
  require_backend(backend);
  VIGIL_FAIL("gemm: no implementation for backend ", backend_name(backend));
}

void gemm_cuda(GemmImpl impl, bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha,
               const float* A, int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  detail::check_gemm_args("gemm_cuda", trans_a, trans_b, M, N, K, A, lda, B, ldb, C, ldc);
#if VIGIL_WITH_CUDA
  switch (impl) {
    case GemmImpl::Tiled: return cuda::sgemm(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    case GemmImpl::Naive: return cuda::sgemm_naive(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    case GemmImpl::Cublas: return cuda::sgemm_cublas(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
  }
  VIGIL_FAIL("gemm_cuda: unknown implementation ", static_cast<int>(impl));
#else
  (void)alpha;
  (void)beta;
  require_backend(Backend::Cuda);
  VIGIL_FAIL("gemm_cuda: no implementation for ", gemm_impl_name(impl), " in a build without CUDA");
#endif
}

void linear_forward(Backend backend, int64_t n, int64_t in, int64_t out, const float* x, const float* w,
                    const float* b, float* y) {
  check_linear_args("linear_forward", n, in, out);
  check_ptr("linear_forward", "x", x, n * in);
  check_ptr("linear_forward", "w", w, out * in);
  check_ptr("linear_forward", "y", y, n * out);
  switch (backend) {
    case Backend::Reference: return ref::linear_forward<float>(n, in, out, x, w, b, y);
    case Backend::Cpu: return cpu::linear_forward(n, in, out, x, w, b, y);
    case Backend::Cuda:
    case Backend::Cudnn:
#if VIGIL_WITH_CUDA
      cuda::sgemm(false, true, n, out, in, 1.f, x, in, w, in, 0.f, y, out);
      if (b) cuda::add_row_bias(n, out, b, y);
      return;
#endif
      break;
  }
  require_backend(backend);
  VIGIL_FAIL("linear_forward: no implementation for backend ", backend_name(backend));
}

void linear_backward_data(Backend backend, int64_t n, int64_t in, int64_t out, const float* dy, const float* w,
                          float* dx) {
  check_linear_args("linear_backward_data", n, in, out);
  check_ptr("linear_backward_data", "dy", dy, n * out);
  check_ptr("linear_backward_data", "w", w, out * in);
  check_ptr("linear_backward_data", "dx", dx, n * in);
  switch (backend) {
    case Backend::Reference: return ref::linear_backward_data<float>(n, in, out, dy, w, dx);
    case Backend::Cpu: return cpu::linear_backward_data(n, in, out, dy, w, dx);
    case Backend::Cuda:
    case Backend::Cudnn:
#if VIGIL_WITH_CUDA
      return cuda::sgemm(false, false, n, in, out, 1.f, dy, out, w, in, 1.f, dx, in);
#endif
      break;
  }
  require_backend(backend);
  VIGIL_FAIL("linear_backward_data: no implementation for backend ", backend_name(backend));
}

void linear_backward_weight(Backend backend, int64_t n, int64_t in, int64_t out, const float* x, const float* dy,
                            float* dw) {
  check_linear_args("linear_backward_weight", n, in, out);
  check_ptr("linear_backward_weight", "x", x, n * in);
  check_ptr("linear_backward_weight", "dy", dy, n * out);
  check_ptr("linear_backward_weight", "dw", dw, out * in);
  switch (backend) {
    case Backend::Reference: return ref::linear_backward_weight<float>(n, in, out, x, dy, dw);
    case Backend::Cpu: return cpu::linear_backward_weight(n, in, out, x, dy, dw);
    case Backend::Cuda:
    case Backend::Cudnn:
#if VIGIL_WITH_CUDA
      return cuda::sgemm(true, false, out, in, n, 1.f, dy, out, x, in, 1.f, dw, in);
#endif
      break;
  }
  require_backend(backend);
  VIGIL_FAIL("linear_backward_weight: no implementation for backend ", backend_name(backend));
}

void linear_backward_bias(Backend backend, int64_t n, int64_t out, const float* dy, float* db) {
  VIGIL_CHECK(n >= 0 && out >= 0, "linear_backward_bias: negative size n ", n, " out ", out);
  check_ptr("linear_backward_bias", "dy", dy, n * out);
  check_ptr("linear_backward_bias", "db", db, out);
  switch (backend) {
    case Backend::Reference: return ref::linear_backward_bias<float>(n, out, dy, db);
    case Backend::Cpu: return cpu::linear_backward_bias(n, out, dy, db);
    case Backend::Cuda:
    case Backend::Cudnn:
#if VIGIL_WITH_CUDA
      return cuda::column_sum(n, out, dy, db);
#endif
      break;
  }
  require_backend(backend);
  VIGIL_FAIL("linear_backward_bias: no implementation for backend ", backend_name(backend));
}

}  // namespace vigil::ops
