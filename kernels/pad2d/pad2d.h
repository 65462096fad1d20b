// Zero padding of the last two dimensions of an NCHW tensor, each side separately, forward and backward, on every
// backend. TensorFlow's "SAME" convolutions need it: with stride 2 the extra row/column goes to the bottom/right,
// which a convolution's symmetric padding cannot express (EfficientNet-Lite's TF weights were trained that way).
#pragma once
#include <cstdint>
#include <string>

#include "common/backend.h"

namespace vigil::ops {

// x (n, c, h, w) -> y (n, c, top + h + bottom, left + w + right). Pads are >= 0.
struct Pad2dShape {
  int n = 0, c = 0, h = 0, w = 0;
  int top = 0, bottom = 0, left = 0, right = 0;

  int out_h() const { return top + h + bottom; }
  int out_w() const { return left + w + right; }
  int64_t x_numel() const { return int64_t(n) * c * h * w; }
  int64_t y_numel() const { return int64_t(n) * c * out_h() * out_w(); }
  // Throws vigil::Error unless n, c, h, w are positive and every pad is non-negative.
  void validate() const;
  std::string str() const;  // "2x3x7x7 pad t0 b1 l0 r1"
};

// y = x placed at (top, left), zeros around it (OVERWRITES all of y).
void pad2d_forward(Backend backend, const Pad2dShape& s, const float* x /* (N, C, H, W) */,
                   float* y /* (N, C, top+H+bottom, left+W+right) */);

// dx += dy[:, :, top:top+H, left:left+W] (ACCUMULATES into dx; the padding's gradient is dropped).
void pad2d_backward(Backend backend, const Pad2dShape& s, const float* dy /* (N, C, top+H+bottom, left+W+right) */,
                    float* dx /* (N, C, H, W) */);

}  // namespace vigil::ops
