// Launchers for the hand-written ReLU/LeakyReLU CUDA kernels (device pointers, current stream).
#pragma once
#include <cstdint>

#include "activation/activation.h"

namespace vigil::ops::cuda {
void activation_forward(const ActivationParams& p, int64_t n, const float* x, float* y);
void activation_backward(const ActivationParams& p, int64_t n, const float* x, const float* dy, float* dx);
}  // namespace vigil::ops::cuda
