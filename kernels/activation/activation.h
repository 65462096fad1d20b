// ReLU and LeakyReLU, forward and backward, on every backend (the pattern every op folder follows).
#pragma once
#include <cstdint>

#include "common/backend.h"

namespace vigil::ops {

enum class ActivationKind { Relu, LeakyRelu };

struct ActivationParams {
  ActivationKind kind = ActivationKind::Relu;
  float negative_slope = 0.01f;  // LeakyRelu: y = slope * x for x < 0
};

// y = f(x). x, y: (n) on the backend's device; y may alias x.
void activation_forward(Backend backend, const ActivationParams& p, int64_t n, const float* x, float* y);

// dx += f'(x) * dy  (ACCUMULATES into dx). x, dy, dx: (n). f'(0) is taken as the slope for x <= 0.
void activation_backward(Backend backend, const ActivationParams& p, int64_t n, const float* x, const float* dy,
                         float* dx);

}  // namespace vigil::ops
