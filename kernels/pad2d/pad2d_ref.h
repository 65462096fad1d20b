// Plain-loop reference for 2-D zero padding (one element at a time), templated so gradient checks can run in
// double.
#pragma once
#include "pad2d/pad2d.h"

namespace vigil::ops::ref {

// y = zeros with x copied to y[:, :, top:top+H, left:left+W] (OVERWRITES all of y).
template <typename T>
void pad2d_forward(const Pad2dShape& s, const T* x /* (N, C, H, W) */,
                   T* y /* (N, C, top+H+bottom, left+W+right) */);

// dx += dy[:, :, top:top+H, left:left+W] (ACCUMULATES; the padding's gradient is dropped).
template <typename T>
void pad2d_backward(const Pad2dShape& s, const T* dy /* (N, C, top+H+bottom, left+W+right) */,
                    T* dx /* (N, C, H, W) */);

}  // namespace vigil::ops::ref
