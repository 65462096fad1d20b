// Plain-loop reference convolution (direct loop nests), templated so gradient checks can run in double.
#pragma once
#include <algorithm>

#include "conv2d/conv2d.h"

namespace vigil::ops::ref {

// y = conv(x, w) + bias (OVERWRITES y); bias may be nullptr.
template <typename T>
void conv2d_forward(const Conv2dShape& s, const T* x /* (N, Cin, H, W) */, const T* w /* (Cout, Cin/groups, KH, KW) */,
                    const T* bias /* (Cout) or nullptr */, T* y /* (N, Cout, OH, OW) */);

// dx += conv_transpose(dy, w) (ACCUMULATES).
template <typename T>
void conv2d_backward_data(const Conv2dShape& s, const T* dy /* (N, Cout, OH, OW) */,
                          const T* w /* (Cout, Cin/groups, KH, KW) */, T* dx /* (N, Cin, H, W) */);

// dw += correlation of x with dy (ACCUMULATES).
template <typename T>
void conv2d_backward_weight(const Conv2dShape& s, const T* x /* (N, Cin, H, W) */, const T* dy /* (N, Cout, OH, OW) */,
                            T* dw /* (Cout, Cin/groups, KH, KW) */);

// db[c] += sum over n, oh, ow of dy (ACCUMULATES).
template <typename T>
void conv2d_backward_bias(const Conv2dShape& s, const T* dy /* (N, Cout, OH, OW) */, T* db /* (Cout) */);

// Along one axis, the outputs o in [lo, hi) whose input index o * stride + offset lies in [0, len), where
// offset = k * dilation - pad for kernel tap k and `out` is the output length. Shared with the CPU path.
struct OutputRange {
  int lo, hi;
};
inline OutputRange valid_outputs(int len, int out, int stride, int offset) {
  const int lo = offset >= 0 ? 0 : (-offset + stride - 1) / stride;
  const int hi = len - 1 - offset < 0 ? 0 : std::min(out, (len - 1 - offset) / stride + 1);
  return OutputRange{std::min(lo, out), std::max(hi, std::min(lo, out))};
}

}  // namespace vigil::ops::ref
