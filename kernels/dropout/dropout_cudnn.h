// cuDNN inverted dropout (device pointers, current stream): cuDNN's own RNG and reserve-space mask.
#pragma once
#include <cstddef>
#include <cstdint>

#include "dropout/dropout.h"

namespace vigil::ops::cudnn {

// cudnnDropoutGetReserveSpaceSize for n elements (0 < n <= INT32_MAX; 0 for n == 0).
size_t dropout_reserve_bytes(int64_t n);

// y = mask * x / (1-p) with cuDNN's generator; the mask goes into `reserve` (dropout_reserve_bytes(n) bytes).
// The RNG states live per thread and device and are re-initialised only when p.seed changes.
void dropout_forward(const DropoutParams& p, int64_t n, const float* x /* (n) */, float* y /* (n) */,
                     void* reserve /* (dropout_reserve_bytes(n)) */);

// dx += mask * dy / (1-p) (ACCUMULATES): cudnnDropoutBackward into a temporary, then an add.
void dropout_backward(const DropoutParams& p, int64_t n, const float* dy /* (n) */,
                      const void* reserve /* (dropout_reserve_bytes(n)) */, float* dx /* (n) */);

}  // namespace vigil::ops::cudnn
