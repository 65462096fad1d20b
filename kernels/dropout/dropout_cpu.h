// Fast CPU inverted dropout (host pointers): one Philox call per 4 elements, OpenMP over chunks.
#pragma once
#include <cstdint>

#include "dropout/dropout.h"

namespace vigil::ops::cpu {

// Same results as ref::dropout_forward<float>, bit for bit.
void dropout_forward(const DropoutParams& p, int64_t n, const float* x /* (n) */, float* y /* (n) */,
                     uint8_t* mask /* (n) */);

// dx += mask * dy * scale (ACCUMULATES); same results as ref::dropout_backward<float>.
void dropout_backward(const DropoutParams& p, int64_t n, const float* dy /* (n) */, const uint8_t* mask /* (n) */,
                      float* dx /* (n) */);

}  // namespace vigil::ops::cpu
