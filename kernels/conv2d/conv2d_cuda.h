// Launchers for the hand-written CUDA convolution: direct kernels (v1), im2col/col2im + vigil's tiled SGEMM (v2) and
// depthwise kernels (v3). Device pointers, current stream; same contracts as conv2d.h.
#pragma once
#include "conv2d/conv2d.h"

namespace vigil::ops::cuda {

// y = conv(x, w) + bias (OVERWRITES y). `algo` is Direct, Im2col or Depthwise (already resolved; Depthwise only for
// groups == c_in == c_out).
void conv2d_forward(const Conv2dShape& s, const float* x /* (N, Cin, H, W) */,
                    const float* w /* (Cout, Cin/groups, KH, KW) */, const float* bias /* (Cout) or nullptr */,
                    float* y /* (N, Cout, OH, OW) */, Conv2dAlgo algo);
// dx += ... (ACCUMULATES).
void conv2d_backward_data(const Conv2dShape& s, const float* dy /* (N, Cout, OH, OW) */,
                          const float* w /* (Cout, Cin/groups, KH, KW) */, float* dx /* (N, Cin, H, W) */,
                          Conv2dAlgo algo);
// dw += ... (ACCUMULATES).
void conv2d_backward_weight(const Conv2dShape& s, const float* x /* (N, Cin, H, W) */,
                            const float* dy /* (N, Cout, OH, OW) */, float* dw /* (Cout, Cin/groups, KH, KW) */,
                            Conv2dAlgo algo);
// db += per-channel sums of dy (ACCUMULATES); one block-wide reduction per channel.
void conv2d_backward_bias(const Conv2dShape& s, const float* dy /* (N, Cout, OH, OW) */, float* db /* (Cout) */);

}  // namespace vigil::ops::cuda
