// Plain-loop reference for inverted dropout (one Philox draw per element), templated so gradient checks can
// run in double.
#pragma once
#include <cstdint>

#include "dropout/dropout.h"

namespace vigil::ops::ref {

// The scale kept values are multiplied by: 1/(1-p) in float, converted to T (the value every backend uses).
float dropout_scale(float p);

// y = keep ? x * scale : 0, keep[i] = philox_uniform(seed, stream, i) >= p; mask[i] = keep (1 or 0).
template <typename T>
void dropout_forward(const DropoutParams& p, int64_t n, const T* x /* (n) */, T* y /* (n) */,
                     uint8_t* mask /* (n) */);

// dx += mask * dy * scale (ACCUMULATES).
template <typename T>
void dropout_backward(const DropoutParams& p, int64_t n, const T* dy /* (n) */, const uint8_t* mask /* (n) */,
                      T* dx /* (n) */);

}  // namespace vigil::ops::ref
