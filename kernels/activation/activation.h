// Pointwise activations (ReLU, LeakyReLU, ReLU6, hard-swish, SiLU, sigmoid, hard-sigmoid), forward and backward,
// on every backend (the pattern every op folder follows).
#pragma once
#include <cstdint>

#include "common/backend.h"

namespace vigil::ops {

// Relu: max(x, 0). LeakyRelu: x < 0 ? slope * x : x. Relu6: min(max(x, 0), 6) (MobileNet, EfficientNet-Lite).
// HardSwish: x * relu6(x + 3) / 6 (MobileNetV3). Silu: x * sigmoid(x) (a.k.a. swish; EfficientNet-B*).
// Sigmoid: 1 / (1 + exp(-x)). HardSigmoid: relu6(x + 3) / 6 (PyTorch's Hardsigmoid; MobileNetV3's SE gate).
enum class ActivationKind { Relu, LeakyRelu, Relu6, HardSwish, Silu, Sigmoid, HardSigmoid };
const char* activation_kind_name(ActivationKind kind);  // "relu", "leaky_relu", "relu6", "hardswish", ...

struct ActivationParams {
  ActivationKind kind = ActivationKind::Relu;
  float negative_slope = 0.01f;  // LeakyRelu: y = slope * x for x < 0
};

// y = f(x). x, y: (n) on the backend's device; y may alias x.
void activation_forward(Backend backend, const ActivationParams& p, int64_t n, const float* x, float* y);

// dx += f'(x) * dy  (ACCUMULATES into dx). x, dy, dx: (n). At the kinks PyTorch's choices hold: ReLU/LeakyReLU
// take the x <= 0 slope at 0; ReLU6 has gradient 0 at x <= 0 and x >= 6; HardSwish 0 for x < -3 and 1 for x > 3
// with (2x + 3) / 6 between (both ends included); HardSigmoid 1/6 strictly inside (-3, 3), else 0.
void activation_backward(Backend backend, const ActivationParams& p, int64_t n, const float* x, const float* dy,
                         float* dx);

}  // namespace vigil::ops
