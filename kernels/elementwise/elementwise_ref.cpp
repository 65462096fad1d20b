// Reference element-wise loops and sequential double-accumulated reductions (float and double).
#include "elementwise/elementwise_ref.h"

#include "elementwise/half.h"

namespace vigil::ops::ref {

template <typename T>
void fill(int64_t n, T value, T* y) {
  for (int64_t i = 0; i < n; ++i) y[i] = value;
}

template <typename T>
void copy(int64_t n, const T* x, T* y) {
  for (int64_t i = 0; i < n; ++i) y[i] = x[i];
}

template <typename T>
void add(int64_t n, const T* a, const T* b, T* y) {
  for (int64_t i = 0; i < n; ++i) y[i] = a[i] + b[i];
}

template <typename T>
void mul(int64_t n, const T* a, const T* b, T* y) {
  for (int64_t i = 0; i < n; ++i) y[i] = a[i] * b[i];
}

template <typename T>
void scale(int64_t n, T alpha, const T* x, T* y) {
  for (int64_t i = 0; i < n; ++i) y[i] = alpha * x[i];
}

template <typename T>
void axpy(int64_t n, T alpha, const T* x, T* y) {
  for (int64_t i = 0; i < n; ++i) y[i] += alpha * x[i];
}

template <typename T>
void mul_backward(int64_t n, const T* a, const T* b, const T* dy, T* da, T* db) {
  // a is read only for db and b only for da (the other may be nullptr); both are read before either write.
  for (int64_t i = 0; i < n; ++i) {
    const T g = dy[i], av = db ? a[i] : T(0), bv = da ? b[i] : T(0);
    if (da) da[i] += g * bv;
    if (db) db[i] += g * av;
  }
}

template <typename T>
void sum(int64_t n, const T* x, T* out) {
  double s = 0;
  for (int64_t i = 0; i < n; ++i) s += static_cast<double>(x[i]);
  *out = static_cast<T>(s);
}

template <typename T>
void sum_squares(int64_t n, const T* x, T* out) {
  double s = 0;
  for (int64_t i = 0; i < n; ++i) s += static_cast<double>(x[i]) * static_cast<double>(x[i]);
  *out = static_cast<T>(s);
}

template <typename T>
void add_channel_bias(int64_t n, int64_t c, int64_t hw, const T* bias, T* x) {
  for (int64_t in = 0; in < n; ++in)
    for (int64_t ic = 0; ic < c; ++ic) {
      T* row = x + (in * c + ic) * hw;
      for (int64_t k = 0; k < hw; ++k) row[k] += bias[ic];
    }
}

template <typename T>
void channel_sum(int64_t n, int64_t c, int64_t hw, const T* x, T* out) {
  for (int64_t ic = 0; ic < c; ++ic) {
    double s = 0;
    for (int64_t in = 0; in < n; ++in) {
      const T* row = x + (in * c + ic) * hw;
      for (int64_t k = 0; k < hw; ++k) s += static_cast<double>(row[k]);
    }
    out[ic] = static_cast<T>(static_cast<double>(out[ic]) + s);
  }
}

void float_to_half(int64_t n, const float* x, uint16_t* y) {
  for (int64_t i = 0; i < n; ++i) y[i] = float_to_half_bits(x[i]);
}

void half_to_float(int64_t n, const uint16_t* x, float* y) {
  for (int64_t i = 0; i < n; ++i) y[i] = half_bits_to_float(x[i]);
}

void float_to_bfloat16(int64_t n, const float* x, uint16_t* y) {
  for (int64_t i = 0; i < n; ++i) y[i] = float_to_bfloat16_bits(x[i]);
}

void bfloat16_to_float(int64_t n, const uint16_t* x, float* y) {
  for (int64_t i = 0; i < n; ++i) y[i] = bfloat16_bits_to_float(x[i]);
}

#define VIGIL_INSTANTIATE_ELEMENTWISE_REF(T)                                                  \
  template void fill<T>(int64_t, T, T*);                                                      \
  template void copy<T>(int64_t, const T*, T*);                                               \
  template void add<T>(int64_t, const T*, const T*, T*);                                      \
  template void mul<T>(int64_t, const T*, const T*, T*);                                      \
  template void scale<T>(int64_t, T, const T*, T*);                                           \
  template void axpy<T>(int64_t, T, const T*, T*);                                            \
  template void mul_backward<T>(int64_t, const T*, const T*, const T*, T*, T*);               \
  template void sum<T>(int64_t, const T*, T*);                                                \
  template void sum_squares<T>(int64_t, const T*, T*);                                        \
  template void add_channel_bias<T>(int64_t, int64_t, int64_t, const T*, T*);                 \
  template void channel_sum<T>(int64_t, int64_t, int64_t, const T*, T*);

VIGIL_INSTANTIATE_ELEMENTWISE_REF(float)
VIGIL_INSTANTIATE_ELEMENTWISE_REF(double)
#undef VIGIL_INSTANTIATE_ELEMENTWISE_REF

}  // namespace vigil::ops::ref
