// cuDNN pooling (device pointers, current stream), behind the same contracts as the public API.
#pragma once
#include <cstdint>

#include "pool2d/pool2d.h"

namespace vigil::ops::cudnn {

void pool2d_forward(const Pool2dShape& s, const float* x /* (N, C, H, W) */, float* y /* (N, C, OH, OW) */);

// dx += d(pool)/dx * dy (ACCUMULATES, cuDNN beta = 1). Max uses CUDNN_POOLING_MAX_DETERMINISTIC, which routes
// each gradient to the window element equal to y; with tie-free x that is the first maximum.
void pool2d_backward(const Pool2dShape& s, const float* x /* (N, C, H, W) */, const float* y /* (N, C, OH, OW) */,
                     const float* dy /* (N, C, OH, OW) */, float* dx /* (N, C, H, W) */);

// Average pooling with one window over the whole (1, HW) plane.
void global_avg_pool_forward(int64_t n, int64_t c, int64_t hw, const float* x /* (N, C, HW) */,
                             float* y /* (N, C) */);

// dx[p, i] += dy[p] / hw (ACCUMULATES, cuDNN beta = 1).
void global_avg_pool_backward(int64_t n, int64_t c, int64_t hw, const float* dy /* (N, C) */,
                              float* dx /* (N, C, HW) */);

}  // namespace vigil::ops::cudnn
