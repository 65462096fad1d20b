// Launchers for the hand-written 2-D zero-padding CUDA kernels (device pointers, current stream).
#pragma once
#include "pad2d/pad2d.h"

namespace vigil::ops::cuda {

// y = zeros with x at (top, left) (OVERWRITES all of y); one thread per output element.
void pad2d_forward(const Pad2dShape& s, const float* x /* (N, C, H, W) */,
                   float* y /* (N, C, top+H+bottom, left+W+right) */);

// dx += dy[:, :, top:top+H, left:left+W] (ACCUMULATES); one thread per input element.
void pad2d_backward(const Pad2dShape& s, const float* dy /* (N, C, top+H+bottom, left+W+right) */,
                    float* dx /* (N, C, H, W) */);

}  // namespace vigil::ops::cuda
