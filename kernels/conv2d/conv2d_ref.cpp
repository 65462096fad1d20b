// Reference convolution: direct loop nests in float and double, OpenMP-parallel over output planes.
#include "conv2d/conv2d_ref.h"

#include <algorithm>

#include "common/parallel.h"

namespace vigil::ops::ref {
namespace {

// Items per thread below which parallel_for stays serial: tiny convolutions (gradient checks) are not worth a
// parallel region.
int64_t grain(int64_t work_per_item) {
  return std::max<int64_t>(1, (int64_t(1) << 15) / std::max<int64_t>(1, work_per_item));
}

}  // namespace

template <typename T>
void conv2d_forward(const Conv2dShape& s, const T* x, const T* w, const T* bias, T* y) {
  const int oh_n = s.out_h(), ow_n = s.out_w(), cin_g = s.c_in_per_group(), cout_g = s.c_out_per_group();
  const int64_t P = int64_t(oh_n) * ow_n, HW = int64_t(s.h) * s.w, KK = int64_t(s.kh) * s.kw;
  cpu::parallel_for(int64_t(s.n) * s.c_out, [&](int64_t plane) {
    const int64_t n = plane / s.c_out;
    const int oc = static_cast<int>(plane % s.c_out), g = oc / cout_g;
    T* yp = y + plane * P;
    std::fill(yp, yp + P, T(0));
    for (int ic = 0; ic < cin_g; ++ic) {
      const T* xp = x + (n * s.c_in + int64_t(g) * cin_g + ic) * HW;
      const T* wp = w + (int64_t(oc) * cin_g + ic) * KK;
      for (int kh = 0; kh < s.kh; ++kh) {
        const int off_h = kh * s.dil_h - s.pad_h;
        const OutputRange rh = valid_outputs(s.h, oh_n, s.stride_h, off_h);
        for (int kw = 0; kw < s.kw; ++kw) {
          const int off_w = kw * s.dil_w - s.pad_w;
          const OutputRange rw = valid_outputs(s.w, ow_n, s.stride_w, off_w);
          const T wv = wp[kh * s.kw + kw];
          for (int oh = rh.lo; oh < rh.hi; ++oh) {
            const T* xr = xp + int64_t(oh * s.stride_h + off_h) * s.w;
            T* yr = yp + int64_t(oh) * ow_n;
            for (int ow = rw.lo; ow < rw.hi; ++ow) yr[ow] += wv * xr[int64_t(ow) * s.stride_w + off_w];
          }
        }
      }
    }
    if (bias)
      for (int64_t p = 0; p < P; ++p) yp[p] += bias[oc];
  }, grain(P * cin_g * KK));
}

template <typename T>
void conv2d_backward_data(const Conv2dShape& s, const T* dy, const T* w, T* dx) {
  const int oh_n = s.out_h(), ow_n = s.out_w(), cin_g = s.c_in_per_group(), cout_g = s.c_out_per_group();
  const int64_t P = int64_t(oh_n) * ow_n, HW = int64_t(s.h) * s.w, KK = int64_t(s.kh) * s.kw;
  // Each task owns one (n, c) plane of dx, so the scatter below never races.
  cpu::parallel_for(int64_t(s.n) * s.c_in, [&](int64_t plane) {
    const int64_t n = plane / s.c_in;
    const int c = static_cast<int>(plane % s.c_in), g = c / cin_g, icg = c % cin_g;
    T* dxp = dx + plane * HW;
    for (int oc = g * cout_g; oc < (g + 1) * cout_g; ++oc) {
      const T* dyp = dy + (n * s.c_out + oc) * P;
      const T* wp = w + (int64_t(oc) * cin_g + icg) * KK;
      for (int kh = 0; kh < s.kh; ++kh) {
        const int off_h = kh * s.dil_h - s.pad_h;
        const OutputRange rh = valid_outputs(s.h, oh_n, s.stride_h, off_h);
        for (int kw = 0; kw < s.kw; ++kw) {
          const int off_w = kw * s.dil_w - s.pad_w;
          const OutputRange rw = valid_outputs(s.w, ow_n, s.stride_w, off_w);
          const T wv = wp[kh * s.kw + kw];
          for (int oh = rh.lo; oh < rh.hi; ++oh) {
            T* dxr = dxp + int64_t(oh * s.stride_h + off_h) * s.w;
            const T* dyr = dyp + int64_t(oh) * ow_n;
            for (int ow = rw.lo; ow < rw.hi; ++ow) dxr[int64_t(ow) * s.stride_w + off_w] += wv * dyr[ow];
          }
        }
      }
    }
  }, grain(P * cout_g * KK));
}

template <typename T>
void conv2d_backward_weight(const Conv2dShape& s, const T* x, const T* dy, T* dw) {
  const int oh_n = s.out_h(), ow_n = s.out_w(), cin_g = s.c_in_per_group(), cout_g = s.c_out_per_group();
  const int64_t P = int64_t(oh_n) * ow_n, HW = int64_t(s.h) * s.w, KK = int64_t(s.kh) * s.kw;
  cpu::parallel_for(int64_t(s.c_out) * cin_g, [&](int64_t row) {
    const int oc = static_cast<int>(row / cin_g), icg = static_cast<int>(row % cin_g);
    const int c = (oc / cout_g) * cin_g + icg;
    for (int kh = 0; kh < s.kh; ++kh) {
      const int off_h = kh * s.dil_h - s.pad_h;
      const OutputRange rh = valid_outputs(s.h, oh_n, s.stride_h, off_h);
      for (int kw = 0; kw < s.kw; ++kw) {
        const int off_w = kw * s.dil_w - s.pad_w;
        const OutputRange rw = valid_outputs(s.w, ow_n, s.stride_w, off_w);
        T acc = T(0);
        for (int64_t n = 0; n < s.n; ++n) {
          const T* xp = x + (n * s.c_in + c) * HW;
          const T* dyp = dy + (n * s.c_out + oc) * P;
          for (int oh = rh.lo; oh < rh.hi; ++oh) {
            const T* xr = xp + int64_t(oh * s.stride_h + off_h) * s.w;
            const T* dyr = dyp + int64_t(oh) * ow_n;
            for (int ow = rw.lo; ow < rw.hi; ++ow) acc += xr[int64_t(ow) * s.stride_w + off_w] * dyr[ow];
          }
        }
        dw[row * KK + kh * s.kw + kw] += acc;
      }
    }
  }, grain(s.n * P * KK));
}

template <typename T>
void conv2d_backward_bias(const Conv2dShape& s, const T* dy, T* db) {
  const int64_t P = int64_t(s.out_h()) * s.out_w();
  cpu::parallel_for(s.c_out, [&](int64_t oc) {
    T acc = T(0);
    for (int64_t n = 0; n < s.n; ++n) {
      const T* dyp = dy + (n * s.c_out + oc) * P;
      for (int64_t p = 0; p < P; ++p) acc += dyp[p];
    }
    db[oc] += acc;
  }, grain(s.n * P));
}

#define VIGIL_CONV2D_REF_INSTANTIATE(T)                                                                       \
  template void conv2d_forward<T>(const Conv2dShape&, const T*, const T*, const T*, T*);                       \
  template void conv2d_backward_data<T>(const Conv2dShape&, const T*, const T*, T*);                           \
  template void conv2d_backward_weight<T>(const Conv2dShape&, const T*, const T*, T*);                         \
  template void conv2d_backward_bias<T>(const Conv2dShape&, const T*, T*);
VIGIL_CONV2D_REF_INSTANTIATE(float)
VIGIL_CONV2D_REF_INSTANTIATE(double)
#undef VIGIL_CONV2D_REF_INSTANTIATE

}  // namespace vigil::ops::ref
