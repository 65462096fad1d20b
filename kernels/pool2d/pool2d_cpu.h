// The fast CPU pooling path (host pointers, float): separable window reductions, OpenMP-parallel.
#pragma once
#include <cstdint>

#include "pool2d/pool2d.h"

namespace vigil::ops::cpu {

void pool2d_forward(const Pool2dShape& s, const float* x /* (N, C, H, W) */, float* y /* (N, C, OH, OW) */);

// dx += d(pool)/dx * dy (ACCUMULATES).
void pool2d_backward(const Pool2dShape& s, const float* x /* (N, C, H, W) */, const float* dy /* (N, C, OH, OW) */,
                     float* dx /* (N, C, H, W) */);

void global_avg_pool_forward(int64_t n, int64_t c, int64_t hw, const float* x /* (N, C, HW) */,
                             float* y /* (N, C) */);

// dx[p, i] += dy[p] / hw (ACCUMULATES).
void global_avg_pool_backward(int64_t n, int64_t c, int64_t hw, const float* dy /* (N, C) */,
                              float* dx /* (N, C, HW) */);

}  // namespace vigil::ops::cpu
