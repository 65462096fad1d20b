// Launchers for the hand-written inverted-dropout CUDA kernels (device pointers, current stream).
#pragma once
#include <cstdint>

#include "dropout/dropout.h"

namespace vigil::ops::cuda {

// y = keep ? x * scale : 0 with the Philox mask; mask[i] = keep (1 or 0). Bit-identical to ref/cpu. y may alias x.
void dropout_forward(const DropoutParams& p, int64_t n, const float* x /* (n) */, float* y /* (n) */,
                     uint8_t* mask /* (n) */);

// dx += mask * dy * scale (ACCUMULATES).
void dropout_backward(const DropoutParams& p, int64_t n, const float* dy /* (n) */, const uint8_t* mask /* (n) */,
                      float* dx /* (n) */);

// dx += src (ACCUMULATES): the cuDNN path's add of cudnnDropoutBackward's (overwriting) result.
void dropout_accumulate(int64_t n, const float* src /* (n) */, float* dx /* (n) */);

}  // namespace vigil::ops::cuda
