// Reference GEMM (triple loop, float and double) and the linear layer expressed through it.
#include "gemm/gemm_ref.h"

#include <algorithm>
#include <vector>

namespace vigil::ops::ref {

template <typename T>
void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, T alpha, const T* A, int64_t lda, const T* B,
          int64_t ldb, T beta, T* C, int64_t ldc) {
  // Every C element sums its K products in ascending k. The loop order only follows B's memory layout: dot
  // products when B's rows run along k (trans_b), else row updates of a (N) accumulator.
  std::vector<T> acc(static_cast<size_t>(N));
  for (int64_t m = 0; m < M; ++m) {
    std::fill(acc.begin(), acc.end(), T(0));
    if (trans_b) {
      for (int64_t n = 0; n < N; ++n)
        for (int64_t k = 0; k < K; ++k) acc[n] += (trans_a ? A[k * lda + m] : A[m * lda + k]) * B[n * ldb + k];
    } else {
      for (int64_t k = 0; k < K; ++k) {
        const T a = trans_a ? A[k * lda + m] : A[m * lda + k];
        for (int64_t n = 0; n < N; ++n) acc[n] += a * B[k * ldb + n];
      }
    }
    for (int64_t n = 0; n < N; ++n) {
      T& c = C[m * ldc + n];
      c = beta == T(0) ? alpha * acc[n] : alpha * acc[n] + beta * c;
    }
  }
}

template <typename T>
void linear_forward(int64_t n, int64_t in, int64_t out, const T* x, const T* w, const T* b, T* y) {
  gemm<T>(false, true, n, out, in, T(1), x, in, w, in, T(0), y, out);
  if (b)
    for (int64_t i = 0; i < n; ++i)
      for (int64_t o = 0; o < out; ++o) y[i * out + o] += b[o];
}

template <typename T>
void linear_backward_data(int64_t n, int64_t in, int64_t out, const T* dy, const T* w, T* dx) {
  gemm<T>(false, false, n, in, out, T(1), dy, out, w, in, T(1), dx, in);
}

template <typename T>
void linear_backward_weight(int64_t n, int64_t in, int64_t out, const T* x, const T* dy, T* dw) {
  gemm<T>(true, false, out, in, n, T(1), dy, out, x, in, T(1), dw, in);
}

template <typename T>
void linear_backward_bias(int64_t n, int64_t out, const T* dy, T* db) {
  for (int64_t o = 0; o < out; ++o) {
    T s = T(0);
    for (int64_t i = 0; i < n; ++i) s += dy[i * out + o];
    db[o] += s;
  }
}

#define VIGIL_GEMM_REF_INSTANTIATE(T)                                                                           \
  template void gemm<T>(bool, bool, int64_t, int64_t, int64_t, T, const T*, int64_t, const T*, int64_t, T, T*, \
                        int64_t);                                                                              \
  template void linear_forward<T>(int64_t, int64_t, int64_t, const T*, const T*, const T*, T*);               \
  template void linear_backward_data<T>(int64_t, int64_t, int64_t, const T*, const T*, T*);                   \
  template void linear_backward_weight<T>(int64_t, int64_t, int64_t, const T*, const T*, T*);                 \
  template void linear_backward_bias<T>(int64_t, int64_t, const T*, T*);
VIGIL_GEMM_REF_INSTANTIATE(float)
VIGIL_GEMM_REF_INSTANTIATE(double)
#undef VIGIL_GEMM_REF_INSTANTIATE

}  // namespace vigil::ops::ref
