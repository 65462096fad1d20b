// Per-element SGD and Adam/AdamW updates shared by the reference loops, the CPU path and the CUDA kernels.
#pragma once
#include <cmath>
#include <cstdint>

#include "common/hd.h"
#include "optim/optim.h"

namespace vigil::ops {

VIGIL_HD float optim_sqrt(float x) { return sqrtf(x); }
VIGIL_HD double optim_sqrt(double x) { return sqrt(x); }

template <typename T>
struct SgdScalars {
  T lr, momentum, one_minus_dampening, weight_decay;
  bool has_momentum, nesterov, first_step;
};

template <typename T>
SgdScalars<T> sgd_scalars(const SgdParams& p, bool first_step) {
  return SgdScalars<T>{static_cast<T>(p.lr), static_cast<T>(p.momentum),
                       static_cast<T>(1.0 - static_cast<double>(p.dampening)), static_cast<T>(p.weight_decay),
                       p.momentum != 0.f, p.nesterov, first_step};
}

// One parameter: w, and buf when s.has_momentum (buf is ignored otherwise and may point anywhere).
template <typename T>
VIGIL_HD void sgd_update(const SgdScalars<T>& s, T& w, T g, T* buf) {
  if (s.weight_decay != T(0)) g = g + s.weight_decay * w;
  if (s.has_momentum) {
    const T b = s.first_step ? g : *buf * s.momentum + s.one_minus_dampening * g;
    *buf = b;
    g = s.nesterov ? g + s.momentum * b : b;
  }
  w = w - s.lr * g;
}

template <typename T>
struct AdamScalars {
  T beta1, one_minus_beta1, beta2, one_minus_beta2, eps, weight_decay;
  T decay;                  // AdamW: 1 - lr * weight_decay
  T step_size;              // lr / (1 - beta1^step)
  T bias_correction2_sqrt;  // sqrt(1 - beta2^step)
  bool decoupled;
};

template <typename T>
AdamScalars<T> adam_scalars(const AdamParams& p) {
  const double lr = p.lr, b1 = p.beta1, b2 = p.beta2, wd = p.weight_decay;
  const double step = static_cast<double>(p.step);
  return AdamScalars<T>{static_cast<T>(b1),
                        static_cast<T>(1.0 - b1),
                        static_cast<T>(b2),
                        static_cast<T>(1.0 - b2),
                        static_cast<T>(p.eps),
                        static_cast<T>(wd),
                        static_cast<T>(1.0 - lr * wd),
                        static_cast<T>(lr / (1.0 - std::pow(b1, step))),
                        static_cast<T>(std::sqrt(1.0 - std::pow(b2, step))),
                        p.decoupled};
}

// One parameter, in the order of PyTorch's tensor operations:
//   Adam  grad.add(param, alpha=wd) | AdamW param.mul_(1 - lr*wd); exp_avg.mul_(b1).add_(g, alpha=1-b1);
//   exp_avg_sq.mul_(b2).addcmul_(g, g, value=1-b2); denom = sqrt(v) / sqrt(bc2) + eps;
//   param.addcdiv_(m, denom, value=-step_size), i.e. w + (-step_size * m) / denom.
// Split in two stages around the square root so a CPU loop can vectorise the stages (a sqrt that may set
// errno keeps the compiler from vectorising a loop containing it); adam_update runs both.
template <typename T>
VIGIL_HD void adam_moments(const AdamScalars<T>& s, T& w, T g, T& m, T& v) {
  if (s.decoupled) {
    w = w * s.decay;
  } else if (s.weight_decay != T(0)) {
    g = g + s.weight_decay * w;
  }
  m = m * s.beta1 + s.one_minus_beta1 * g;
  v = v * s.beta2 + s.one_minus_beta2 * g * g;
}

template <typename T>
VIGIL_HD void adam_apply(const AdamScalars<T>& s, T& w, T m, T sqrt_v) {
  const T denom = sqrt_v / s.bias_correction2_sqrt + s.eps;
  w = w - s.step_size * m / denom;
}

template <typename T>
VIGIL_HD void adam_update(const AdamScalars<T>& s, T& w, T g, T& m, T& v) {
  adam_moments(s, w, g, m, v);
  adam_apply(s, w, m, optim_sqrt(v));
}

}  // namespace vigil::ops
