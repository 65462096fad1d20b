// Fast CPU convolution (im2col/col2im + cpu::sgemm per image and group; depthwise row kernels; OpenMP), host pointers.
#pragma once
#include "conv2d/conv2d.h"

namespace vigil::ops::cpu {

// Same contracts as the public functions in conv2d.h; `algo` is Direct, Im2col or Depthwise (already resolved).
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

// Depthwise convolution (conv2d_depthwise_cpu.cpp), s.groups == s.c_in == s.c_out: w is (C, 1, KH, KW). Forward and
// the input gradient are computed per (image, channel) plane, the weight gradient per channel summed over the batch
// in a fixed order (bit-identical at any thread count). Dilated shapes and kernels taller than 16 take the
// reference loops.
void depthwise_forward(const Conv2dShape& s, const float* x /* (N, C, H, W) */, const float* w /* (C, 1, KH, KW) */,
                       const float* bias /* (C) or nullptr */, float* y /* (N, C, OH, OW) */);  // OVERWRITES y
void depthwise_backward_data(const Conv2dShape& s, const float* dy /* (N, C, OH, OW) */,
                             const float* w /* (C, 1, KH, KW) */, float* dx /* (N, C, H, W) */);  // dx += ...
void depthwise_backward_weight(const Conv2dShape& s, const float* x /* (N, C, H, W) */,
                               const float* dy /* (N, C, OH, OW) */, float* dw /* (C, 1, KH, KW) */);  // dw += ...

// The im2col matrix of one image for output rows [oh0, oh1): col[(c * KH + kh) * KW + kw][(oh - oh0) * OW + ow]
// = x[c][ih][iw], 0 in the padding.
void im2col(const Conv2dShape& s, const float* x /* (Cin, H, W) */, int oh0, int oh1,
            float* col /* (Cin*KH*KW, (oh1-oh0)*OW) */);
// The adjoint of im2col: x[c][ih][iw] += every col entry im2col would have read from it (ACCUMULATES).
void col2im(const Conv2dShape& s, const float* col /* (Cin*KH*KW, (oh1-oh0)*OW) */, int oh0, int oh1,
            float* x /* (Cin, H, W) */);

}  // namespace vigil::ops::cpu
