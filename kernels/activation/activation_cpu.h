// Fast CPU activations (host pointers): vectorisable branch-free loops over fixed chunks spread over threads.
#pragma once
#include <cstdint>

#include "activation/activation.h"

namespace vigil::ops::cpu {

// y = f(x) (OVERWRITES y). x, y: (n); y may alias x. Piecewise-linear kinds give the reference's bits; sigmoid
// and SiLU use a vectorisable exp within a few ulp of libm's. Results do not depend on the thread count.
void activation_forward(const ActivationParams& p, int64_t n, const float* x /* (n) */, float* y /* (n) */);

// dx += f'(x) * dy (ACCUMULATES). x (the forward input), dy, dx: (n). Kink conventions as in activation.h.
void activation_backward(const ActivationParams& p, int64_t n, const float* x /* (n) */, const float* dy /* (n) */,
                         float* dx /* (n) */);

}  // namespace vigil::ops::cpu
