// Reference batch-norm loops (float and double): serial, one channel at a time, statistics in double.
#include "batchnorm/batchnorm_ref.h"

#include <cmath>

namespace vigil::ops::ref {
namespace {

// Calls fn(i) for the flat index i of every element of channel c, in memory order.
template <typename Fn>
void for_each_in_channel(const BatchNormShape& s, int64_t c, Fn&& fn) {
  for (int64_t ni = 0; ni < s.n; ++ni) {
    const int64_t base = (ni * s.c + c) * s.hw;
    for (int64_t j = 0; j < s.hw; ++j) fn(base + j);
  }
}

double eval_invstd(const BatchNormShape& s, double running_var) {
  return 1.0 / std::sqrt(running_var + static_cast<double>(s.eps));
}

// Per-channel sums of dy and dy * xhat with xhat = (x - mean) * invstd, in double.
template <typename T>
void grad_sums(const BatchNormShape& s, int64_t c, const T* x, const T* dy, double mean, double invstd,
               double* sum_dy, double* sum_dy_xhat) {
  double sdy = 0, sdyx = 0;
  for_each_in_channel(s, c, [&](int64_t i) {
    const double g = static_cast<double>(dy[i]);
    sdy += g;
    sdyx += g * (static_cast<double>(x[i]) - mean);
  });
  *sum_dy = sdy;
  *sum_dy_xhat = sdyx * invstd;
}

}  // namespace

template <typename T>
void batchnorm_forward_train(const BatchNormShape& s, const T* x, const T* gamma, const T* beta, T* y,
                             T* running_mean, T* running_var, T* save_mean, T* save_invstd) {
  const double m = static_cast<double>(s.n * s.hw);
  const double momentum = static_cast<double>(s.momentum);
  for (int64_t c = 0; c < s.c; ++c) {
    double sum = 0;
    for_each_in_channel(s, c, [&](int64_t i) { sum += static_cast<double>(x[i]); });
    const double mean = sum / m;
    double sq = 0;
    for_each_in_channel(s, c, [&](int64_t i) {
      const double d = static_cast<double>(x[i]) - mean;
      sq += d * d;
    });
    const double var = sq / m;
    const double invstd = 1.0 / std::sqrt(var + static_cast<double>(s.eps));
    const double g = static_cast<double>(gamma[c]), b = static_cast<double>(beta[c]);
    for_each_in_channel(s, c, [&](int64_t i) {
      y[i] = static_cast<T>(g * (static_cast<double>(x[i]) - mean) * invstd + b);
    });
    running_mean[c] = static_cast<T>((1 - momentum) * static_cast<double>(running_mean[c]) + momentum * mean);
    running_var[c] =
        static_cast<T>((1 - momentum) * static_cast<double>(running_var[c]) + momentum * var * m / (m - 1));
    save_mean[c] = static_cast<T>(mean);
    save_invstd[c] = static_cast<T>(invstd);
  }
}

template <typename T>
void batchnorm_forward_eval(const BatchNormShape& s, const T* x, const T* gamma, const T* beta,
                            const T* running_mean, const T* running_var, T* y) {
  for (int64_t c = 0; c < s.c; ++c) {
    const double mean = static_cast<double>(running_mean[c]);
    const double invstd = eval_invstd(s, static_cast<double>(running_var[c]));
    const double g = static_cast<double>(gamma[c]), b = static_cast<double>(beta[c]);
    for_each_in_channel(s, c, [&](int64_t i) {
      y[i] = static_cast<T>(g * (static_cast<double>(x[i]) - mean) * invstd + b);
    });
  }
}

template <typename T>
void batchnorm_backward(const BatchNormShape& s, const T* x, const T* dy, const T* gamma, const T* save_mean,
                        const T* save_invstd, T* dx, T* dgamma, T* dbeta) {
  const double m = static_cast<double>(s.n * s.hw);
  for (int64_t c = 0; c < s.c; ++c) {
    const double mean = static_cast<double>(save_mean[c]), invstd = static_cast<double>(save_invstd[c]);
    double sdy = 0, sdyx = 0;
    grad_sums(s, c, x, dy, mean, invstd, &sdy, &sdyx);
    // dx = gamma * invstd * (dy - mean(dy) - xhat * mean(dy * xhat))
    const double k = static_cast<double>(gamma[c]) * invstd, mdy = sdy / m, mdyx = sdyx / m;
    for_each_in_channel(s, c, [&](int64_t i) {
      const double xhat = (static_cast<double>(x[i]) - mean) * invstd;
      dx[i] = static_cast<T>(static_cast<double>(dx[i]) + k * (static_cast<double>(dy[i]) - mdy - xhat * mdyx));
    });
    dgamma[c] = static_cast<T>(static_cast<double>(dgamma[c]) + sdyx);
    dbeta[c] = static_cast<T>(static_cast<double>(dbeta[c]) + sdy);
  }
}

template <typename T>
void batchnorm_backward_eval(const BatchNormShape& s, const T* x, const T* dy, const T* gamma,
                             const T* running_mean, const T* running_var, T* dx, T* dgamma, T* dbeta) {
  for (int64_t c = 0; c < s.c; ++c) {
    const double mean = static_cast<double>(running_mean[c]);
    const double invstd = eval_invstd(s, static_cast<double>(running_var[c]));
    double sdy = 0, sdyx = 0;
    grad_sums(s, c, x, dy, mean, invstd, &sdy, &sdyx);
    const double k = static_cast<double>(gamma[c]) * invstd;
    for_each_in_channel(s, c, [&](int64_t i) {
      dx[i] = static_cast<T>(static_cast<double>(dx[i]) + k * static_cast<double>(dy[i]));
    });
    dgamma[c] = static_cast<T>(static_cast<double>(dgamma[c]) + sdyx);
    dbeta[c] = static_cast<T>(static_cast<double>(dbeta[c]) + sdy);
  }
}

#define VIGIL_BATCHNORM_INSTANTIATE(T)                                                                         \
  template void batchnorm_forward_train<T>(const BatchNormShape&, const T*, const T*, const T*, T*, T*, T*, T*, \
                                           T*);                                                                \
  template void batchnorm_forward_eval<T>(const BatchNormShape&, const T*, const T*, const T*, const T*,       \
                                          const T*, T*);                                                       \
  template void batchnorm_backward<T>(const BatchNormShape&, const T*, const T*, const T*, const T*, const T*, \
                                      T*, T*, T*);                                                             \
  template void batchnorm_backward_eval<T>(const BatchNormShape&, const T*, const T*, const T*, const T*,      \
                                           const T*, T*, T*, T*);
VIGIL_BATCHNORM_INSTANTIATE(float)
VIGIL_BATCHNORM_INSTANTIATE(double)
#undef VIGIL_BATCHNORM_INSTANTIATE

}  // namespace vigil::ops::ref
