// Fast CPU batch norm: channels spread over OpenMP threads, sums as short vectorised float chunks accumulated
// in double, element-wise passes in float so the compiler can vectorise them.
#include "batchnorm/batchnorm_cpu.h"

#include <algorithm>
#include <cmath>

#include "common/parallel.h"

namespace vigil::ops::cpu {
namespace {

// Below about this many elements per thread a parallel region costs more than it saves.
constexpr int64_t kGrain = int64_t(1) << 15;

// Per-channel gradient sums of the backward passes.
struct GradSums {
  double dy = 0;       // sum(dy)
  double dy_xhat = 0;  // sum(dy * xhat)
};

// Sum of term(j) (float or double) for j in [0, len), accumulated in double: eight independent partial sums,
// which the compiler vectorises (it may not reorder a single floating-point reduction by itself). Accumulating
// in double keeps the error at the terms' own rounding, independent of len.
template <typename Term>
double unrolled_sum(int64_t len, const Term& term) {
  constexpr int kLanes = 8;
  double p[kLanes] = {};
  int64_t j = 0;
  for (; j + kLanes <= len; j += kLanes)
    for (int u = 0; u < kLanes; ++u) p[u] += static_cast<double>(term(j + u));
  for (; j < len; ++j) p[0] += static_cast<double>(term(j));
  return ((p[0] + p[1]) + (p[2] + p[3])) + ((p[4] + p[5]) + (p[6] + p[7]));
}

// Calls fn(base) with the flat offset of each of channel c's n rows (hw contiguous values each).
template <typename Fn>
void for_each_row(const BatchNormShape& s, int64_t c, const Fn& fn) {
  for (int64_t ni = 0; ni < s.n; ++ni) fn((ni * s.c + c) * s.hw);
}

// Runs fn(c) for every channel, over threads when the tensor is big enough to pay for it.
template <typename Fn>
void for_each_channel(const BatchNormShape& s, const Fn& fn) {
  vigil::cpu::parallel_for(s.c, fn, std::max<int64_t>(1, kGrain / (s.n * s.hw)));
}

// y = (x - mean) * scale + beta over one row; y may alias x.
void normalize_row(int64_t len, const float* x, float mean, float scale, float beta, float* y) {
  for (int64_t j = 0; j < len; ++j) y[j] = (x[j] - mean) * scale + beta;
}

float eval_invstd(const BatchNormShape& s, float running_var) {
  return static_cast<float>(1.0 / std::sqrt(static_cast<double>(running_var) + static_cast<double>(s.eps)));
}

// Sums over channel c with xhat = (x - mean) * invstd. Two row passes (the row is still in cache for the
// second) vectorise where one pass carrying both sums does not.
GradSums grad_sums(const BatchNormShape& s, int64_t c, const float* x, const float* dy, float mean, float invstd) {
  const double mu = mean;
  GradSums sums;
  for_each_row(s, c, [&](int64_t base) {
    const float* xr = x + base;
    const float* gr = dy + base;
    sums.dy += unrolled_sum(s.hw, [gr](int64_t j) { return gr[j]; });
    // The products in double too: their float rounding would not cancel out when sum(dy * xhat) is small.
    sums.dy_xhat += unrolled_sum(s.hw, [xr, gr, mu](int64_t j) {
      return static_cast<double>(gr[j]) * (static_cast<double>(xr[j]) - mu);
    });
  });
  sums.dy_xhat *= static_cast<double>(invstd);
  return sums;
}

}  // namespace

void batchnorm_forward_train(const BatchNormShape& s, const float* x, const float* gamma, const float* beta,
                             float* y, float* running_mean, float* running_var, float* save_mean,
                             float* save_invstd) {
  const double m = static_cast<double>(s.n * s.hw);
  const double momentum = static_cast<double>(s.momentum);
  for_each_channel(s, [&](int64_t c) {
    double sum = 0;
    for_each_row(s, c, [&](int64_t base) {
      const float* r = x + base;
      sum += unrolled_sum(s.hw, [r](int64_t j) { return r[j]; });
    });
    const double mean = sum / m;
    const float mean_f = static_cast<float>(mean);
    double sq = 0;  // second pass around the mean: no cancellation as in E[x^2] - E[x]^2
    for_each_row(s, c, [&](int64_t base) {
      const float* r = x + base;
      sq += unrolled_sum(s.hw, [r, mean_f](int64_t j) {
        const float d = r[j] - mean_f;
        return d * d;
      });
    });
    const double var = sq / m;
    const float invstd_f = static_cast<float>(1.0 / std::sqrt(var + static_cast<double>(s.eps)));
    running_mean[c] = static_cast<float>((1 - momentum) * static_cast<double>(running_mean[c]) + momentum * mean);
    running_var[c] = static_cast<float>((1 - momentum) * static_cast<double>(running_var[c]) +
                                        momentum * var * m / (m - 1));
    save_mean[c] = mean_f;
    save_invstd[c] = invstd_f;
    const float scale = gamma[c] * invstd_f, b = beta[c];
    for_each_row(s, c, [&](int64_t base) { normalize_row(s.hw, x + base, mean_f, scale, b, y + base); });
  });
}

void batchnorm_forward_eval(const BatchNormShape& s, const float* x, const float* gamma, const float* beta,
                            const float* running_mean, const float* running_var, float* y) {
  // Purely element-wise: spread the (n, c) planes rather than the channels.
  vigil::cpu::parallel_for(
      s.n * s.c,
      [&](int64_t p) {
        const int64_t c = p % s.c;
        const float scale = gamma[c] * eval_invstd(s, running_var[c]);
        normalize_row(s.hw, x + p * s.hw, running_mean[c], scale, beta[c], y + p * s.hw);
      },
      std::max<int64_t>(1, kGrain / s.hw));
}

void batchnorm_backward(const BatchNormShape& s, const float* x, const float* dy, const float* gamma,
                        const float* save_mean, const float* save_invstd, float* dx, float* dgamma, float* dbeta) {
  const double m = static_cast<double>(s.n * s.hw);
  for_each_channel(s, [&](int64_t c) {
    const float mean = save_mean[c], invstd = save_invstd[c];
    const GradSums sums = grad_sums(s, c, x, dy, mean, invstd);
    // dx += gamma * invstd * (dy - mean(dy) - xhat * mean(dy * xhat))
    const float k = gamma[c] * invstd;
    const float mean_dy = static_cast<float>(sums.dy / m), mean_dy_xhat = static_cast<float>(sums.dy_xhat / m);
    for_each_row(s, c, [&](int64_t base) {
      const float* xr = x + base;
      const float* gr = dy + base;
      float* dr = dx + base;
      for (int64_t j = 0; j < s.hw; ++j) dr[j] += k * (gr[j] - mean_dy - (xr[j] - mean) * invstd * mean_dy_xhat);
    });
    dgamma[c] += static_cast<float>(sums.dy_xhat);
    dbeta[c] += static_cast<float>(sums.dy);
  });
}

void batchnorm_backward_eval(const BatchNormShape& s, const float* x, const float* dy, const float* gamma,
                             const float* running_mean, const float* running_var, float* dx, float* dgamma,
                             float* dbeta) {
  for_each_channel(s, [&](int64_t c) {
    const float invstd = eval_invstd(s, running_var[c]);
    const GradSums sums = grad_sums(s, c, x, dy, running_mean[c], invstd);
    const float k = gamma[c] * invstd;
    for_each_row(s, c, [&](int64_t base) {
      const float* gr = dy + base;
      float* dr = dx + base;
      for (int64_t j = 0; j < s.hw; ++j) dr[j] += k * gr[j];
    });
    dgamma[c] += static_cast<float>(sums.dy_xhat);
    dbeta[c] += static_cast<float>(sums.dy);
  });
}

}  // namespace vigil::ops::cpu
