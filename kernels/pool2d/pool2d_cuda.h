// Launchers for the hand-written pooling CUDA kernels (device pointers, current stream).
#pragma once
#include <cstdint>

#include "pool2d/pool2d.h"

namespace vigil::ops::cuda {

// One thread per output.
void pool2d_forward(const Pool2dShape& s, const float* x /* (N, C, H, W) */, float* y /* (N, C, OH, OW) */);

// dx += d(pool)/dx * dy (ACCUMULATES). One thread per input element gathers from the outputs whose windows
// cover it (no atomics); Max recomputes each window's first maximum from x.
void pool2d_backward(const Pool2dShape& s, const float* x /* (N, C, H, W) */, const float* dy /* (N, C, OH, OW) */,
                     float* dx /* (N, C, H, W) */);

// One warp per plane for small planes, one block per plane for large ones.
void global_avg_pool_forward(int64_t n, int64_t c, int64_t hw, const float* x /* (N, C, HW) */,
                             float* y /* (N, C) */);

// dx[p, i] += dy[p] / hw (ACCUMULATES).
void global_avg_pool_backward(int64_t n, int64_t c, int64_t hw, const float* dy /* (N, C) */,
                              float* dx /* (N, C, HW) */);

}  // namespace vigil::ops::cuda
