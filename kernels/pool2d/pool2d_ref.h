// Plain-loop pooling reference (float and double) and the window arithmetic that every backend shares.
#pragma once
#include <cstdint>

#include "common/hd.h"
#include "pool2d/pool2d.h"

namespace vigil::ops::ref {

// One output's extent along one axis, clipped to the input: [lo, hi) (never empty for a validated shape);
// `count` is what Avg counts along this axis: the window clipped at size + pad (PyTorch's count_include_pad
// rule) or only the real elements.
struct PoolRange {
  int lo, hi, count;
};

// One output's window: rows [h0, h1), columns [w0, w1); `divisor` is what Avg divides the window sum by.
struct PoolWindow {
  int h0, h1, w0, w1, divisor;
};

VIGIL_HD int pool_imin(int a, int b) { return a < b ? a : b; }
VIGIL_HD int pool_imax(int a, int b) { return a > b ? a : b; }

// Output o of an axis with kernel k, stride, padding pad over `size` inputs.
VIGIL_HD PoolRange pool_range(int o, int k, int stride, int pad, int size, bool count_include_pad) {
  const int start = o * stride - pad;
  const int end = pool_imin(start + k, size + pad);
  PoolRange r;
  r.lo = pool_imax(start, 0);
  r.hi = pool_imin(end, size);
  r.count = count_include_pad ? end - start : r.hi - r.lo;
  return r;
}

// The outputs of an axis whose windows contain input index i: [lo, hi), empty when i lies in no window (stride
// larger than the kernel, or rows dropped by floor mode). Output o covers i when o * stride <= i + pad <
// o * stride + k. `count` is unused (0).
VIGIL_HD PoolRange pool_covering(int i, int k, int stride, int pad, int out_size) {
  const int a = i + pad;
  PoolRange r;
  r.lo = a < k ? 0 : (a - k) / stride + 1;
  r.hi = pool_imin(a / stride + 1, out_size);
  r.count = 0;
  return r;
}

// The window of output (oh, ow); both Avg divisors are products of the per-axis counts.
VIGIL_HD PoolWindow pool_window(const Pool2dShape& s, int oh, int ow) {
  const PoolRange rh = pool_range(oh, s.kh, s.stride_h, s.pad_h, s.h, s.count_include_pad);
  const PoolRange rw = pool_range(ow, s.kw, s.stride_w, s.pad_w, s.w, s.count_include_pad);
  PoolWindow win;
  win.h0 = rh.lo;
  win.h1 = rh.hi;
  win.w0 = rw.lo;
  win.w1 = rw.hi;
  win.divisor = rh.count * rw.count;
  return win;
}

// Offset (ih * w + iw) in the (H, W) plane of the window's FIRST maximum in row-major order; a NaN counts as
// larger than any number (the first NaN wins), so NaNs propagate as in PyTorch.
template <typename T>
VIGIL_HD int64_t window_argmax(const T* plane /* (H, W) */, int w, const PoolWindow& win) {
  int64_t best = static_cast<int64_t>(win.h0) * w + win.w0;
  T best_v = plane[best];
  for (int ih = win.h0; ih < win.h1; ++ih) {
    for (int iw = win.w0; iw < win.w1; ++iw) {
      const int64_t i = static_cast<int64_t>(ih) * w + iw;
      const T v = plane[i];
      if (v > best_v || (v != v && best_v == best_v)) {
        best_v = v;
        best = i;
      }
    }
  }
  return best;
}

// Sum of the window's real elements in row-major order.
template <typename T>
VIGIL_HD T window_sum(const T* plane /* (H, W) */, int w, const PoolWindow& win) {
  T sum = T(0);
  for (int ih = win.h0; ih < win.h1; ++ih)
    for (int iw = win.w0; iw < win.w1; ++iw) sum += plane[static_cast<int64_t>(ih) * w + iw];
  return sum;
}

// One (n, c) plane: yp = pool(xp). Max: the first maximum's value; Avg: window_sum / divisor.
template <typename T>
void pool2d_forward_plane(const Pool2dShape& s, const T* xp /* (H, W) */, T* yp /* (OH, OW) */);

// One (n, c) plane: dxp += d(pool)/dxp * dyp (ACCUMULATES), scattering outputs in row-major order.
template <typename T>
void pool2d_backward_plane(const Pool2dShape& s, const T* xp /* (H, W) */, const T* dyp /* (OH, OW) */,
                           T* dxp /* (H, W) */);

// y = pool(x) over all N * C planes (serial loops).
template <typename T>
void pool2d_forward(const Pool2dShape& s, const T* x /* (N, C, H, W) */, T* y /* (N, C, OH, OW) */);

// dx += d(pool)/dx * dy (ACCUMULATES). Max recomputes each window's first maximum from x.
template <typename T>
void pool2d_backward(const Pool2dShape& s, const T* x /* (N, C, H, W) */, const T* dy /* (N, C, OH, OW) */,
                     T* dx /* (N, C, H, W) */);

// y[p] = (sum of x[p, :] in double) / hw for each of the n * c planes p.
template <typename T>
void global_avg_pool_forward(int64_t n, int64_t c, int64_t hw, const T* x /* (N, C, HW) */, T* y /* (N, C) */);

// dx[p, i] += dy[p] / hw (ACCUMULATES).
template <typename T>
void global_avg_pool_backward(int64_t n, int64_t c, int64_t hw, const T* dy /* (N, C) */, T* dx /* (N, C, HW) */);

}  // namespace vigil::ops::ref
