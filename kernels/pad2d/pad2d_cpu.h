// Fast CPU 2-D zero padding (host pointers, float): memset/memcpy rows per (n, c) plane, planes over threads.
#pragma once
#include "pad2d/pad2d.h"

namespace vigil::ops::cpu {

// y = zeros with x at (top, left) (OVERWRITES all of y); bit-identical to ref::pad2d_forward<float>.
void pad2d_forward(const Pad2dShape& s, const float* x /* (N, C, H, W) */,
                   float* y /* (N, C, top+H+bottom, left+W+right) */);

// dx += dy[:, :, top:top+H, left:left+W] (ACCUMULATES); bit-identical to ref::pad2d_backward<float>.
void pad2d_backward(const Pad2dShape& s, const float* dy /* (N, C, top+H+bottom, left+W+right) */,
                    float* dx /* (N, C, H, W) */);

}  // namespace vigil::ops::cpu
