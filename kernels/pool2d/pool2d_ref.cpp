// Reference pooling loops (float and double): one plane at a time, serial, in the most obvious order.
#include "pool2d/pool2d_ref.h"

namespace vigil::ops::ref {

template <typename T>
void pool2d_forward_plane(const Pool2dShape& s, const T* xp, T* yp) {
  const int oh_n = s.out_h(), ow_n = s.out_w();
  for (int oh = 0; oh < oh_n; ++oh) {
    for (int ow = 0; ow < ow_n; ++ow) {
      const PoolWindow win = pool_window(s, oh, ow);
      yp[static_cast<int64_t>(oh) * ow_n + ow] =
          s.kind == PoolKind::Max ? xp[window_argmax(xp, s.w, win)] : window_sum(xp, s.w, win) / T(win.divisor);
    }
  }
}

template <typename T>
void pool2d_backward_plane(const Pool2dShape& s, const T* xp, const T* dyp, T* dxp) {
  const int oh_n = s.out_h(), ow_n = s.out_w();
  for (int oh = 0; oh < oh_n; ++oh) {
    for (int ow = 0; ow < ow_n; ++ow) {
      const PoolWindow win = pool_window(s, oh, ow);
      const T g = dyp[static_cast<int64_t>(oh) * ow_n + ow];
      if (s.kind == PoolKind::Max) {
        dxp[window_argmax(xp, s.w, win)] += g;
      } else {
        const T share = g / T(win.divisor);
        for (int ih = win.h0; ih < win.h1; ++ih)
          for (int iw = win.w0; iw < win.w1; ++iw) dxp[static_cast<int64_t>(ih) * s.w + iw] += share;
      }
    }
  }
}

template <typename T>
void pool2d_forward(const Pool2dShape& s, const T* x, T* y) {
  const int64_t planes = static_cast<int64_t>(s.n) * s.c;
  const int64_t in_plane = static_cast<int64_t>(s.h) * s.w;
  const int64_t out_plane = static_cast<int64_t>(s.out_h()) * s.out_w();
  for (int64_t p = 0; p < planes; ++p) pool2d_forward_plane(s, x + p * in_plane, y + p * out_plane);
}

template <typename T>
void pool2d_backward(const Pool2dShape& s, const T* x, const T* dy, T* dx) {
  const int64_t planes = static_cast<int64_t>(s.n) * s.c;
  const int64_t in_plane = static_cast<int64_t>(s.h) * s.w;
  const int64_t out_plane = static_cast<int64_t>(s.out_h()) * s.out_w();
  for (int64_t p = 0; p < planes; ++p)
    pool2d_backward_plane(s, x + p * in_plane, dy + p * out_plane, dx + p * in_plane);
}

template <typename T>
void global_avg_pool_forward(int64_t n, int64_t c, int64_t hw, const T* x, T* y) {
  for (int64_t p = 0; p < n * c; ++p) {
    double sum = 0;
    for (int64_t i = 0; i < hw; ++i) sum += static_cast<double>(x[p * hw + i]);
    y[p] = static_cast<T>(sum / static_cast<double>(hw));
  }
}

template <typename T>
void global_avg_pool_backward(int64_t n, int64_t c, int64_t hw, const T* dy, T* dx) {
  for (int64_t p = 0; p < n * c; ++p) {
    const T share = dy[p] / static_cast<T>(hw);
    for (int64_t i = 0; i < hw; ++i) dx[p * hw + i] += share;
  }
}

#define VIGIL_POOL2D_REF_INSTANTIATE(T)                                                                     \
  template void pool2d_forward_plane<T>(const Pool2dShape&, const T*, T*);                                  \
  template void pool2d_backward_plane<T>(const Pool2dShape&, const T*, const T*, T*);                       \
  template void pool2d_forward<T>(const Pool2dShape&, const T*, T*);                                        \
  template void pool2d_backward<T>(const Pool2dShape&, const T*, const T*, T*);                             \
  template void global_avg_pool_forward<T>(int64_t, int64_t, int64_t, const T*, T*);                        \
  template void global_avg_pool_backward<T>(int64_t, int64_t, int64_t, const T*, T*);
VIGIL_POOL2D_REF_INSTANTIATE(float)
VIGIL_POOL2D_REF_INSTANTIATE(double)
#undef VIGIL_POOL2D_REF_INSTANTIATE

}  // namespace vigil::ops::ref
