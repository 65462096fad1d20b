// Reference activation loops (float and double): one scalar function per kind and direction, applied serially.
#include "activation/activation_ref.h"

#include <cmath>

#include "common/error.h"

namespace vigil::ops::ref {
namespace {

// 1 / (1 + exp(-x)) without overflow: exp only ever sees -|x| (for x < 0 it is exp(x) / (1 + exp(x))).
template <typename T>
T sigmoid(T x) {
  if (x >= T(0)) return T(1) / (T(1) + std::exp(-x));
  const T e = std::exp(x);
  return e / (T(1) + e);
}

// min(max(x, 0), 6); NaN passes through.
template <typename T>
T relu6(T x) {
  return x < T(0) ? T(0) : (x > T(6) ? T(6) : x);
}

template <typename T>
T forward_one(ActivationKind kind, T slope, T x) {
  switch (kind) {
    case ActivationKind::Relu:
    case ActivationKind::LeakyRelu: return x > T(0) ? x : slope * x;
    case ActivationKind::Relu6: return relu6(x);
    case ActivationKind::HardSwish: return x * relu6(x + T(3)) / T(6);
    case ActivationKind::Silu: return x * sigmoid(x);
    case ActivationKind::Sigmoid: return sigmoid(x);
    case ActivationKind::HardSigmoid: return relu6(x + T(3)) / T(6);
  }
  VIGIL_FAIL("activation: unknown kind ", static_cast<int>(kind));
}

// f'(x) * dy, with PyTorch's choices at the kinks (activation.h).
template <typename T>
T backward_one(ActivationKind kind, T slope, T x, T dy) {
  switch (kind) {
    case ActivationKind::Relu:
    case ActivationKind::LeakyRelu: return x > T(0) ? dy : slope * dy;
    case ActivationKind::Relu6: return x > T(0) && x < T(6) ? dy : T(0);
    case ActivationKind::HardSwish: return x < T(-3) ? T(0) : (x <= T(3) ? dy * (x / T(3) + T(0.5)) : dy);
    case ActivationKind::Silu: {
      const T s = sigmoid(x);
      return dy * (s * (T(1) + x * (T(1) - s)));
    }
    case ActivationKind::Sigmoid: {
      const T s = sigmoid(x);
      return dy * (s * (T(1) - s));
    }
    case ActivationKind::HardSigmoid: return x > T(-3) && x < T(3) ? dy / T(6) : T(0);
  }
  VIGIL_FAIL("activation: unknown kind ", static_cast<int>(kind));
}

template <typename T>
T slope_of(const ActivationParams& p) {
  return p.kind == ActivationKind::LeakyRelu ? static_cast<T>(p.negative_slope) : T(0);
}

}  // namespace

template <typename T>
void activation_forward(const ActivationParams& p, int64_t n, const T* x, T* y) {
  const T slope = slope_of<T>(p);
  for (int64_t i = 0; i < n; ++i) y[i] = forward_one(p.kind, slope, x[i]);
}

template <typename T>
void activation_backward(const ActivationParams& p, int64_t n, const T* x, const T* dy, T* dx) {
  const T slope = slope_of<T>(p);
  for (int64_t i = 0; i < n; ++i) dx[i] += backward_one(p.kind, slope, x[i], dy[i]);
}

template void activation_forward<float>(const ActivationParams&, int64_t, const float*, float*);
template void activation_forward<double>(const ActivationParams&, int64_t, const double*, double*);
template void activation_backward<float>(const ActivationParams&, int64_t, const float*, const float*, float*);
template void activation_backward<double>(const ActivationParams&, int64_t, const double*, const double*, double*);

}  // namespace vigil::ops::ref
