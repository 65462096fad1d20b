// Plain-loop reference for ReLU/LeakyReLU, templated so gradient checks can run in double.
#pragma once
#include <cstdint>

#include "activation/activation.h"

namespace vigil::ops::ref {

template <typename T>
void activation_forward(const ActivationParams& p, int64_t n, const T* x, T* y);

// dx += f'(x) * dy (ACCUMULATES).
template <typename T>
void activation_backward(const ActivationParams& p, int64_t n, const T* x, const T* dy, T* dx);

}  // namespace vigil::ops::ref
