// 2-D convolution (cross-correlation, PyTorch semantics: stride, padding, dilation, groups), forward and the
// three backward passes, on every backend.
#pragma once
#include <cstdint>
#include <string>

#include "common/backend.h"

namespace vigil::ops {

// Geometry of one convolution. x (n, c_in, h, w), w (c_out, c_in / groups, kh, kw), y (n, c_out, out_h, out_w).
// c_in and c_out must be divisible by groups; depthwise is groups == c_in.
struct Conv2dShape {
  int n = 0, c_in = 0, h = 0, w = 0, c_out = 0, kh = 0, kw = 0;
  int stride_h = 1, stride_w = 1, pad_h = 0, pad_w = 0, dil_h = 1, dil_w = 1, groups = 1;

  // floor((h + 2 * pad_h - dil_h * (kh - 1) - 1) / stride_h) + 1, as in PyTorch.
  int out_h() const;
  int out_w() const;
  // Throws vigil::Error unless every size is positive, padding is non-negative, groups divides c_in and c_out
  // and the output is at least 1x1.
  void validate() const;

  int c_in_per_group() const { return c_in / groups; }
  int c_out_per_group() const { return c_out / groups; }
  int64_t x_numel() const { return int64_t(n) * c_in * h * w; }
  int64_t w_numel() const { return int64_t(c_out) * c_in_per_group() * kh * kw; }
  int64_t y_numel() const { return int64_t(n) * c_out * out_h() * out_w(); }
  // True for 1x1, stride 1, no padding: x already is the im2col matrix.
  bool is_pointwise() const { return kh == 1 && kw == 1 && stride_h == 1 && stride_w == 1 && pad_h == 0 && pad_w == 0; }
  std::string str() const;  // "2x3x8x8 -> 4 k3x3 s1x1 p1x1 d1x1 g1"
};

// Algorithm for the hand-written paths. Direct: one loop nest / kernel per pass. Im2col: im2col (col2im for
// backward data) plus a GEMM per image and group (cpu::sgemm on the CPU, cuda::sgemm on the GPU).
// Depthwise: only for groups == c_in == c_out (one filter per channel); per (image, channel) plane, row kernels
// vectorised along the output row on the CPU, one thread per output / input element and one block per channel
// (weight gradient) in CUDA; dilated or unusually large kernels take the Direct loops inside it.
// Auto: Depthwise when groups == c_in == c_out, else Im2col, except Direct when a group's GEMM would be tiny
// (c_in/g * c_out/g < 16, e.g. depthwise with a channel multiplier).
// Used by Backend::Cpu and Backend::Cuda; Reference is always direct, Cudnn lets cuDNN choose.
enum class Conv2dAlgo { Auto, Direct, Im2col, Depthwise };
const char* conv2d_algo_name(Conv2dAlgo a);
// The algorithm Auto stands for on this shape (Depthwise, Direct or Im2col; other values are returned unchanged).
// Throws vigil::Error for Depthwise on a shape that is not depthwise (groups == c_in == c_out).
Conv2dAlgo conv2d_resolve_algo(const Conv2dShape& s, Conv2dAlgo a);

// y = conv(x, w) + bias (OVERWRITES y). bias may be nullptr (no bias).
void conv2d_forward(Backend backend, const Conv2dShape& s, const float* x /* (N, Cin, H, W) */,
                    const float* w /* (Cout, Cin/groups, KH, KW) */, const float* bias /* (Cout) or nullptr */,
                    float* y /* (N, Cout, OH, OW) */, Conv2dAlgo algo = Conv2dAlgo::Auto);

// dx += conv_transpose(dy, w) (ACCUMULATES into dx).
void conv2d_backward_data(Backend backend, const Conv2dShape& s, const float* dy /* (N, Cout, OH, OW) */,
                          const float* w /* (Cout, Cin/groups, KH, KW) */, float* dx /* (N, Cin, H, W) */,
                          Conv2dAlgo algo = Conv2dAlgo::Auto);

// dw += d(sum(y * dy)) / dw, the correlation of x with dy (ACCUMULATES into dw).
void conv2d_backward_weight(Backend backend, const Conv2dShape& s, const float* x /* (N, Cin, H, W) */,
                            const float* dy /* (N, Cout, OH, OW) */, float* dw /* (Cout, Cin/groups, KH, KW) */,
                            Conv2dAlgo algo = Conv2dAlgo::Auto);

// db[c] += sum over n, oh, ow of dy[n, c, oh, ow] (ACCUMULATES into db).
void conv2d_backward_bias(Backend backend, const Conv2dShape& s, const float* dy /* (N, Cout, OH, OW) */,
                          float* db /* (Cout) */);

}  // namespace vigil::ops
