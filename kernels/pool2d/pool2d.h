// Max / average 2-D pooling and global average pooling, forward and backward, on every backend.
#pragma once
#include <cstdint>

#include "common/backend.h"

namespace vigil::ops {

enum class PoolKind { Max, Avg };

// NCHW pooling geometry with PyTorch floor-mode semantics: out = (in + 2 * pad - kernel) / stride + 1.
// Max pools over the window's real elements (padding acts as -inf). Avg divides the window sum by kh * kw
// (clipped at in + pad, as PyTorch does) when count_include_pad, else by the number of real elements.
struct Pool2dShape {
  int n, c, h, w, kh, kw;
  int stride_h, stride_w, pad_h = 0, pad_w = 0;
  PoolKind kind = PoolKind::Max;
  bool count_include_pad = true;

  int out_h() const;
  int out_w() const;
  // Throws vigil::Error unless all sizes are positive, 0 <= pad <= kernel / 2 (PyTorch's rule) and the output
  // is at least 1x1. With these rules every window holds at least one real element.
  void validate() const;
};

// y = pool(x). x: (N, C, H, W), y: (N, C, OH, OW), on the backend's device.
void pool2d_forward(Backend backend, const Pool2dShape& s, const float* x /* (N, C, H, W) */,
                    float* y /* (N, C, OH, OW) */);

// dx += d(pool)/dx * dy (ACCUMULATES into dx). Max: each output's gradient goes to the FIRST maximum of its
// window in row-major order, recomputed from x (y is the forward output; only the cuDNN path reads it).
void pool2d_backward(Backend backend, const Pool2dShape& s, const float* x /* (N, C, H, W) */,
                     const float* y /* (N, C, OH, OW) */, const float* dy /* (N, C, OH, OW) */,
                     float* dx /* (N, C, H, W) */);

// Global average pooling: y[n, c] = mean of x[n, c, :] over its hw = H * W elements.
void global_avg_pool_forward(Backend backend, int64_t n, int64_t c, int64_t hw, const float* x /* (N, C, HW) */,
                             float* y /* (N, C) */);

// dx[n, c, i] += dy[n, c] / hw (ACCUMULATES into dx).
void global_avg_pool_backward(Backend backend, int64_t n, int64_t c, int64_t hw, const float* dy /* (N, C) */,
                              float* dx /* (N, C, HW) */);

}  // namespace vigil::ops
