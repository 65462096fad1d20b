// cuDNN convolution (legacy API, float32 NCHW, CUDNN_FMA_MATH so no TF32): device pointers, current stream.
// Same contracts as conv2d.h, so a graph-API implementation can replace these functions later.
#pragma once
#include "conv2d/conv2d.h"

namespace vigil::ops::cudnn {

// y = conv(x, w) + bias (OVERWRITES y); bias may be nullptr.
void conv2d_forward(const Conv2dShape& s, const float* x /* (N, Cin, H, W) */,
                    const float* w /* (Cout, Cin/groups, KH, KW) */, const float* bias /* (Cout) or nullptr */,
                    float* y /* (N, Cout, OH, OW) */);
// dx += ... (ACCUMULATES, beta = 1).
void conv2d_backward_data(const Conv2dShape& s, const float* dy /* (N, Cout, OH, OW) */,
                          const float* w /* (Cout, Cin/groups, KH, KW) */, float* dx /* (N, Cin, H, W) */);
// dw += ... (ACCUMULATES, beta = 1).
void conv2d_backward_weight(const Conv2dShape& s, const float* x /* (N, Cin, H, W) */,
                            const float* dy /* (N, Cout, OH, OW) */, float* dw /* (Cout, Cin/groups, KH, KW) */);
// db += per-channel sums of dy (ACCUMULATES, beta = 1).
void conv2d_backward_bias(const Conv2dShape& s, const float* dy /* (N, Cout, OH, OW) */, float* db /* (Cout) */);

}  // namespace vigil::ops::cudnn
