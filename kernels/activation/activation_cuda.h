// Launchers for the hand-written activation CUDA kernels, every ActivationKind (device pointers, current stream).
#pragma once
#include <cstdint>

#include "activation/activation.h"

namespace vigil::ops::cuda {
// y = f(x) (OVERWRITES y). x, y: (n) device; y may alias x.
void activation_forward(const ActivationParams& p, int64_t n, const float* x, float* y);
// dx += f'(x) * dy (ACCUMULATES). x (the forward input), dy, dx: (n) device. Kink conventions as in activation.h.
void activation_backward(const ActivationParams& p, int64_t n, const float* x, const float* dy, float* dx);
}  // namespace vigil::ops::cuda
