// Plain-loop reference for every ActivationKind, templated so gradient checks can run in double.
#pragma once
#include <cstdint>

#include "activation/activation.h"

namespace vigil::ops::ref {

// y = f(x) (OVERWRITES y). x, y: (n); y may alias x. Single-threaded; sigmoid never overflows (exp of -|x|).
template <typename T>
void activation_forward(const ActivationParams& p, int64_t n, const T* x, T* y);

// dx += f'(x) * dy (ACCUMULATES). x (the forward input), dy, dx: (n). Kink conventions as in activation.h.
template <typename T>
void activation_backward(const ActivationParams& p, int64_t n, const T* x, const T* dy, T* dx);

}  // namespace vigil::ops::ref
