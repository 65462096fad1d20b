// Inverted dropout, forward and backward, on every backend; the mask comes from the shared Philox stream.
#pragma once
#include <cstddef>
#include <cstdint>

#include "common/backend.h"

namespace vigil::ops {

// Element i is KEPT iff philox_uniform(seed, stream, i) >= p (common/rng.h), identically on Reference, Cpu and
// Cuda; kept values are scaled by 1/(1-p) (computed in float: 1.0f / (1.0f - p)). 0 <= p < 1; p == 0 is the
// identity. The Cudnn backend uses cuDNN's own generator instead: its mask depends on `seed` (its RNG states
// are initialised per thread and device whenever the seed changes) and on how many cuDNN dropout calls came
// before, not on `stream`, and it is not bit-identical to the Philox mask.
struct DropoutParams {
  float p = 0.5f;
  uint64_t seed = 0;
  uint64_t stream = 0;
};

// Bytes of `reserve` the backend needs for n elements: n (one uint8 keep-flag per element, 1 = kept) for
// Reference/Cpu/Cuda; cudnnDropoutGetReserveSpaceSize for Cudnn (whose layout is cuDNN's own).
size_t dropout_reserve_bytes(Backend backend, int64_t n);

// y = mask * x / (1-p); writes the mask into `reserve` (host memory for Reference/Cpu, device memory for
// Cuda/Cudnn, dropout_reserve_bytes(backend, n) bytes). y may alias x.
void dropout_forward(Backend backend, const DropoutParams& p, int64_t n, const float* x /* (n) */,
                     float* y /* (n) */, void* reserve /* (dropout_reserve_bytes(backend, n)) */);

// dx += mask * dy / (1-p)  (ACCUMULATES into dx), reusing the forward's `reserve` (same backend, p and n).
void dropout_backward(Backend backend, const DropoutParams& p, int64_t n, const float* dy /* (n) */,
                      const void* reserve /* (dropout_reserve_bytes(backend, n)) */, float* dx /* (n) */);

}  // namespace vigil::ops
