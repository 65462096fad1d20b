// Hand-written CUDA convolution: v1 direct kernels (one output / input element / weight per thread or block),
// v2 im2col + col2im kernels around vigil's tiled SGEMM (one GEMM per image and group), and v3 depthwise kernels
// (groups == c_in == c_out: one output / input element per thread, one block per channel for the weight gradient).
#include "conv2d/conv2d_cuda.h"

#include <algorithm>
#include <cstdint>
#include <type_traits>

#include "common/cuda_utils.cuh"
#include "gemm/gemm_cuda.h"

namespace vigil::ops::cuda {
namespace {

// The shape as plain ints for kernel arguments (Conv2dShape's member functions are host-only).
struct Geom {
  int n, c_in, h, w, c_out, kh, kw;
  int stride_h, stride_w, pad_h, pad_w, dil_h, dil_w;
  int cin_g, cout_g, out_h, out_w;
};

Geom make_geom(const Conv2dShape& s) {
  return Geom{s.n,        s.c_in,     s.h,     s.w,     s.c_out, s.kh,     s.kw,
              s.stride_h, s.stride_w, s.pad_h, s.pad_w, s.dil_h, s.dil_w,  s.c_in_per_group(),
              s.c_out_per_group(),    s.out_h(), s.out_w()};
}

// Device scratch from the caching allocator, returned to it on scope exit (stream-ordered reuse is safe).
class Scratch {
 public:
  explicit Scratch(int64_t floats)
      : p_(floats > 0 ? static_cast<float*>(device::alloc(static_cast<size_t>(floats) * sizeof(float))) : nullptr) {}
  ~Scratch() {
    try {
      device::free(p_);
    } catch (...) {
    }
  }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  float* get() const { return p_; }

 private:
  float* p_;
};

// Kernels index in I: int32_t when every offset of the shape fits comfortably in 32 bits (cheaper division),
// else int64_t.
bool fits_int32(const Conv2dShape& s) {
  const int64_t col = int64_t(s.c_in) * s.kh * s.kw * s.out_h() * s.out_w();
  const int64_t biggest = std::max({s.x_numel(), s.y_numel(), s.w_numel(), col});
  return biggest < (int64_t(1) << 30);  // headroom: i + blockDim / e + gridDim stay below 2^31
}

template <typename Fn>
void with_index_type(const Conv2dShape& s, Fn&& fn) {
  if (fits_int32(s))
    fn(int32_t{});
  else
    fn(int64_t{});
}

// ---- v1: direct kernels -------------------------------------------------------------------------------------

// One thread per output element y[n, oc, oh, ow]: dot product over the group's channels and the kernel window.
template <typename I>
__global__ void direct_forward_kernel(Geom g, const float* __restrict__ x, const float* __restrict__ w,
                                      const float* __restrict__ bias, float* __restrict__ y) {
  const I total = I(g.n) * g.c_out * g.out_h * g.out_w;
  const I hw = I(g.h) * g.w, kk = I(g.kh) * g.kw;
  VIGIL_GRID_STRIDE_LOOP(idx, total) {
    const I i = static_cast<I>(idx);
    const int ow = static_cast<int>(i % g.out_w);
    I t = i / g.out_w;
    const int oh = static_cast<int>(t % g.out_h);
    t /= g.out_h;
    const int oc = static_cast<int>(t % g.c_out);
    const I n = t / g.c_out;
    const int grp = oc / g.cout_g;
    const int ih0 = oh * g.stride_h - g.pad_h, iw0 = ow * g.stride_w - g.pad_w;
    const float* xg = x + (n * g.c_in + I(grp) * g.cin_g) * hw;
    const float* wo = w + I(oc) * g.cin_g * kk;
    float acc = 0.f;
    for (int ic = 0; ic < g.cin_g; ++ic) {
      const float* xc = xg + ic * hw;
      const float* wc = wo + ic * kk;
      for (int r = 0; r < g.kh; ++r) {
        const int ih = ih0 + r * g.dil_h;
        if (ih < 0 || ih >= g.h) continue;
        const float* xr = xc + I(ih) * g.w;
        for (int q = 0; q < g.kw; ++q) {
          const int iw = iw0 + q * g.dil_w;
          if (iw < 0 || iw >= g.w) continue;
          acc = fmaf(xr[iw], wc[r * g.kw + q], acc);
        }
      }
    }
    y[i] = bias ? acc + bias[oc] : acc;
  }
}

// One thread per input element dx[n, c, ih, iw]: gathers every (oc, kh, kw) whose window covers it.
template <typename I>
__global__ void direct_backward_data_kernel(Geom g, const float* __restrict__ dy, const float* __restrict__ w,
                                            float* __restrict__ dx) {
  const I total = I(g.n) * g.c_in * g.h * g.w;
  const I p_n = I(g.out_h) * g.out_w, kk = I(g.kh) * g.kw;
  VIGIL_GRID_STRIDE_LOOP(idx, total) {
    const I i = static_cast<I>(idx);
    const int iw = static_cast<int>(i % g.w);
    I t = i / g.w;
    const int ih = static_cast<int>(t % g.h);
    t /= g.h;
    const int c = static_cast<int>(t % g.c_in);
    const I n = t / g.c_in;
    const int grp = c / g.cin_g, icg = c % g.cin_g;
    float acc = 0.f;
    for (int ocg = 0; ocg < g.cout_g; ++ocg) {
      const int oc = grp * g.cout_g + ocg;
      const float* dyo = dy + (n * g.c_out + oc) * p_n;
      const float* wk = w + (I(oc) * g.cin_g + icg) * kk;
      for (int r = 0; r < g.kh; ++r) {
        const int oh_s = ih + g.pad_h - r * g.dil_h;  // = oh * stride_h when tap r of output row oh reads ih
        if (oh_s < 0 || oh_s % g.stride_h != 0) continue;
        const int oh = oh_s / g.stride_h;
        if (oh >= g.out_h) continue;
        for (int q = 0; q < g.kw; ++q) {
          const int ow_s = iw + g.pad_w - q * g.dil_w;
          if (ow_s < 0 || ow_s % g.stride_w != 0) continue;
          const int ow = ow_s / g.stride_w;
          if (ow >= g.out_w) continue;
          acc = fmaf(dyo[I(oh) * g.out_w + ow], wk[r * g.kw + q], acc);
        }
      }
    }
    dx[i] += acc;
  }
}

// One block per weight element dw[oc, icg, kh, kw] (grid-stride over elements; the element is uniform per block,
// so every thread reaches the barriers inside block_sum): the block reduces x * dy over n, oh, ow.
template <typename I>
__global__ void direct_backward_weight_kernel(Geom g, const float* __restrict__ x, const float* __restrict__ dy,
                                              float* __restrict__ dw) {
  __shared__ float scratch[32];
  const I nw = I(g.c_out) * g.cin_g * g.kh * g.kw;
  const I p_n = I(g.out_h) * g.out_w, hw = I(g.h) * g.w;
  const I total = I(g.n) * p_n;
  for (I e = blockIdx.x; e < nw; e += gridDim.x) {
    const int q = static_cast<int>(e % g.kw);
    I t = e / g.kw;
    const int r = static_cast<int>(t % g.kh);
    t /= g.kh;
    const int icg = static_cast<int>(t % g.cin_g);
    const int oc = static_cast<int>(t / g.cin_g);
    const int c = (oc / g.cout_g) * g.cin_g + icg;
    const int off_h = r * g.dil_h - g.pad_h, off_w = q * g.dil_w - g.pad_w;
    float acc = 0.f;
    for (I j = threadIdx.x; j < total; j += blockDim.x) {
      const I n = j / p_n, p = j % p_n;
      const int oh = static_cast<int>(p / g.out_w), ow = static_cast<int>(p % g.out_w);
      const int ih = oh * g.stride_h + off_h, iw = ow * g.stride_w + off_w;
      if (ih < 0 || ih >= g.h || iw < 0 || iw >= g.w) continue;
      acc = fmaf(x[(n * g.c_in + c) * hw + I(ih) * g.w + iw], dy[(n * g.c_out + oc) * p_n + p], acc);
    }
    const float sum = gpu::block_sum(acc, scratch);
    if (threadIdx.x == 0) dw[e] += sum;
  }
}

// One block per channel (grid-stride over channels, uniform per block): db[oc] += sum of dy[:, oc].
template <typename I>
__global__ void backward_bias_kernel(Geom g, const float* __restrict__ dy, float* __restrict__ db) {
  __shared__ float scratch[32];
  const I p_n = I(g.out_h) * g.out_w, total = I(g.n) * p_n;
  for (int oc = blockIdx.x; oc < g.c_out; oc += gridDim.x) {
    float acc = 0.f;
    for (I j = threadIdx.x; j < total; j += blockDim.x) acc += dy[((j / p_n) * g.c_out + oc) * p_n + j % p_n];
    const float sum = gpu::block_sum(acc, scratch);
    if (threadIdx.x == 0) db[oc] += sum;
  }
}

// ---- v2: im2col / col2im around the SGEMM -------------------------------------------------------------------

// col[(c * KH + kh) * KW + kw][oh * OW + ow] = x[c][ih][iw] for one image, 0 in the padding.
template <typename I>
__global__ void im2col_kernel(Geom g, const float* __restrict__ x, float* __restrict__ col) {
  const I p_n = I(g.out_h) * g.out_w, hw = I(g.h) * g.w;
  const I total = I(g.c_in) * g.kh * g.kw * p_n;
  VIGIL_GRID_STRIDE_LOOP(idx, total) {
    const I i = static_cast<I>(idx);
    const I p = i % p_n, row = i / p_n;
    const int q = static_cast<int>(row % g.kw);
    const int r = static_cast<int>((row / g.kw) % g.kh);
    const I c = row / (I(g.kw) * g.kh);
    const int oh = static_cast<int>(p / g.out_w), ow = static_cast<int>(p % g.out_w);
    const int ih = oh * g.stride_h - g.pad_h + r * g.dil_h, iw = ow * g.stride_w - g.pad_w + q * g.dil_w;
    col[i] = (ih >= 0 && ih < g.h && iw >= 0 && iw < g.w) ? x[c * hw + I(ih) * g.w + iw] : 0.f;
  }
}

// The adjoint of im2col for one image, as a gather (no atomics): x[c][ih][iw] += every col entry read from it.
template <typename I>
__global__ void col2im_kernel(Geom g, const float* __restrict__ col, float* __restrict__ x) {
  const I p_n = I(g.out_h) * g.out_w;
  const I total = I(g.c_in) * g.h * g.w;
  VIGIL_GRID_STRIDE_LOOP(idx, total) {
    const I i = static_cast<I>(idx);
    const int iw = static_cast<int>(i % g.w);
    const I t = i / g.w;
    const int ih = static_cast<int>(t % g.h);
    const I c = t / g.h;
    float acc = 0.f;
    for (int r = 0; r < g.kh; ++r) {
      const int oh_s = ih + g.pad_h - r * g.dil_h;
      if (oh_s < 0 || oh_s % g.stride_h != 0) continue;
      const int oh = oh_s / g.stride_h;
      if (oh >= g.out_h) continue;
      for (int q = 0; q < g.kw; ++q) {
        const int ow_s = iw + g.pad_w - q * g.dil_w;
        if (ow_s < 0 || ow_s % g.stride_w != 0) continue;
        const int ow = ow_s / g.stride_w;
        if (ow >= g.out_w) continue;
        acc += col[((c * g.kh + r) * g.kw + q) * p_n + I(oh) * g.out_w + ow];
      }
    }
    x[i] += acc;
  }
}

// y[n, oc, p] += bias[oc] over the whole output.
template <typename I>
__global__ void add_bias_kernel(Geom g, const float* __restrict__ bias, float* __restrict__ y) {
  const I p_n = I(g.out_h) * g.out_w, total = I(g.n) * g.c_out * p_n;
  VIGIL_GRID_STRIDE_LOOP(idx, total) {
    const I i = static_cast<I>(idx);
    y[i] += bias[(i / p_n) % g.c_out];
  }
}

void launch_im2col(const Conv2dShape& s, const Geom& g, const float* x, float* col) {
  const int64_t total = int64_t(g.c_in) * g.kh * g.kw * g.out_h * g.out_w;
  const int block = launch::block_size(256);
  with_index_type(s, [&](auto index) {
    VIGIL_LAUNCH(launch::grid_size(total, block), block, 0, gpu::stream(), im2col_kernel<decltype(index)>)(g, x, col);
    VIGIL_CUDA_CHECK_LAUNCH("im2col_kernel");
  });
}

// Blocks for kernels that give each block one item (weight element, channel): one per item, capped.
int blocks_per_item(int64_t items) { return launch::grid_size(items, 1); }

// ---- v3: depthwise (groups == c_in == c_out) ------------------------------------------------------------------
// Plane t = n * C + c of x, y, dx and dy belongs to channel c = t % C, whose filter is w[c] (KH, KW). K > 0: a
// K x K kernel known at compile time (taps unrolled, the filter's registers reused); K == 0: g.kh x g.kw at run time.

// One thread per output element y[n, c, oh, ow]: the taps of channel c's window.
template <typename I, int K>
__global__ void depthwise_forward_kernel(Geom g, const float* __restrict__ x, const float* __restrict__ w,
                                         const float* __restrict__ bias, float* __restrict__ y) {
  const int kh_n = K > 0 ? K : g.kh, kw_n = K > 0 ? K : g.kw;
  const I total = I(g.n) * g.c_out * g.out_h * g.out_w, hw = I(g.h) * g.w;
  VIGIL_GRID_STRIDE_LOOP(idx, total) {
    const I i = static_cast<I>(idx);
    const int ow = static_cast<int>(i % g.out_w);
    const I t = i / g.out_w / g.out_h;  // plane
    const int oh = static_cast<int>((i / g.out_w) % g.out_h), c = static_cast<int>(t % g.c_out);
    const float* xp = x + t * hw;
    const float* wc = w + c * kh_n * kw_n;
    const int ih0 = oh * g.stride_h - g.pad_h, iw0 = ow * g.stride_w - g.pad_w;
    float acc = 0.f;
#pragma unroll
    for (int r = 0; r < kh_n; ++r) {
      const int ih = ih0 + r * g.dil_h;
      if (ih < 0 || ih >= g.h) continue;
#pragma unroll
      for (int q = 0; q < kw_n; ++q) {
        const int iw = iw0 + q * g.dil_w;
        if (iw >= 0 && iw < g.w) acc = fmaf(__ldg(xp + I(ih) * g.w + iw), __ldg(wc + r * kw_n + q), acc);
      }
    }
    y[i] = bias ? acc + __ldg(bias + c) : acc;
  }
}

// One thread per input element dx[n, c, ih, iw]: gathers the dy outputs of channel c whose window covers it.
template <typename I, int K>
__global__ void depthwise_backward_data_kernel(Geom g, const float* __restrict__ dy, const float* __restrict__ w,
                                               float* __restrict__ dx) {
  const int kh_n = K > 0 ? K : g.kh, kw_n = K > 0 ? K : g.kw;
  const I total = I(g.n) * g.c_in * g.h * g.w, p_n = I(g.out_h) * g.out_w;
  VIGIL_GRID_STRIDE_LOOP(idx, total) {
    const I i = static_cast<I>(idx);
    const int iw = static_cast<int>(i % g.w);
    const I t = i / g.w / g.h;  // plane
    const int ih = static_cast<int>((i / g.w) % g.h), c = static_cast<int>(t % g.c_in);
    const float* dyp = dy + t * p_n;
    const float* wc = w + c * kh_n * kw_n;
    float acc = 0.f;
#pragma unroll
    for (int r = 0; r < kh_n; ++r) {
      const int oh_s = ih + g.pad_h - r * g.dil_h;  // = oh * stride_h when tap r of output row oh reads ih
      if (oh_s < 0 || oh_s % g.stride_h != 0 || oh_s / g.stride_h >= g.out_h) continue;
      const float* dyr = dyp + I(oh_s / g.stride_h) * g.out_w;
#pragma unroll
      for (int q = 0; q < kw_n; ++q) {
        const int ow_s = iw + g.pad_w - q * g.dil_w;
        if (ow_s < 0 || ow_s % g.stride_w != 0 || ow_s / g.stride_w >= g.out_w) continue;
        acc = fmaf(__ldg(dyr + ow_s / g.stride_w), __ldg(wc + r * kw_n + q), acc);
      }
    }
    dx[i] += acc;
  }
}

// One block per channel c (grid-stride over channels, uniform per block, so every thread reaches the barriers):
// each thread keeps the K x K partial sums of its (n, oh, ow) positions in registers, then the block reduces every
// tap (warp shuffles, then the warps' sums in order). For a given block size the result is the same on every run.
template <typename I, int K>
__global__ void depthwise_backward_weight_kernel(Geom g, const float* __restrict__ x, const float* __restrict__ dy,
                                                 float* __restrict__ dw) {
  __shared__ float warp_part[K * K][32];
  const I p_n = I(g.out_h) * g.out_w, hw = I(g.h) * g.w, total = I(g.n) * p_n;
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = (blockDim.x + 31) >> 5;
  for (int c = blockIdx.x; c < g.c_out; c += gridDim.x) {
    float acc[K * K];
#pragma unroll
    for (int k = 0; k < K * K; ++k) acc[k] = 0.f;
    for (I j = threadIdx.x; j < total; j += blockDim.x) {
      const I n = j / p_n, p = j % p_n;
      const int oh = static_cast<int>(p / g.out_w), ow = static_cast<int>(p % g.out_w);
      const float d = __ldg(dy + (n * g.c_out + c) * p_n + p);
      const float* xp = x + (n * g.c_in + c) * hw;
#pragma unroll
      for (int r = 0; r < K; ++r) {
        const int ih = oh * g.stride_h - g.pad_h + r * g.dil_h;
        if (ih < 0 || ih >= g.h) continue;
#pragma unroll
        for (int q = 0; q < K; ++q) {
          const int iw = ow * g.stride_w - g.pad_w + q * g.dil_w;
          if (iw >= 0 && iw < g.w) acc[r * K + q] = fmaf(__ldg(xp + I(ih) * g.w + iw), d, acc[r * K + q]);
        }
      }
    }
#pragma unroll
    for (int k = 0; k < K * K; ++k) {
      const float v = gpu::warp_sum(acc[k]);
      if (lane == 0) warp_part[k][warp] = v;
    }
    __syncthreads();
    for (int k = threadIdx.x; k < K * K; k += blockDim.x) {
      float sum = 0.f;
      for (int wi = 0; wi < warps; ++wi) sum += warp_part[k][wi];
      dw[c * K * K + k] += sum;
    }
    __syncthreads();  // warp_part is reused for the next channel
  }
}

// The compile-time kernel size for shape s: K for square 3x3, 5x5 and 7x7 filters, else 0 (run-time sizes).
int depthwise_k(const Conv2dShape& s) {
  return s.kh == s.kw && (s.kh == 3 || s.kh == 5 || s.kh == 7) ? s.kh : 0;
}

// Calls fn(std::integral_constant<int, K>) with K = depthwise_k(s).
template <typename Fn>
void with_depthwise_k(const Conv2dShape& s, Fn&& fn) {
  switch (depthwise_k(s)) {
    case 3: return fn(std::integral_constant<int, 3>{});
    case 5: return fn(std::integral_constant<int, 5>{});
    case 7: return fn(std::integral_constant<int, 7>{});
    default: return fn(std::integral_constant<int, 0>{});
  }
}

void depthwise_forward(const Conv2dShape& s, const Geom& g, const float* x, const float* w, const float* bias,
                       float* y) {
  const int block = launch::block_size(256);
  const int grid = launch::grid_size(s.y_numel(), block);
  with_index_type(s, [&](auto index) {
    with_depthwise_k(s, [&](auto k) {
      VIGIL_LAUNCH(grid, block, 0, gpu::stream(), depthwise_forward_kernel<decltype(index), decltype(k)::value>)(
          g, x, w, bias, y);
      VIGIL_CUDA_CHECK_LAUNCH("depthwise_forward_kernel");
    });
  });
}

void depthwise_backward_data(const Conv2dShape& s, const Geom& g, const float* dy, const float* w, float* dx) {
  const int block = launch::block_size(256);
  const int grid = launch::grid_size(s.x_numel(), block);
  with_index_type(s, [&](auto index) {
    with_depthwise_k(s, [&](auto k) {
      VIGIL_LAUNCH(grid, block, 0, gpu::stream(), depthwise_backward_data_kernel<decltype(index), decltype(k)::value>)(
          g, dy, w, dx);
      VIGIL_CUDA_CHECK_LAUNCH("depthwise_backward_data_kernel");
    });
  });
}

// Other filter sizes keep the per-weight-element direct kernel (its registers would not hold the partial sums).
void depthwise_backward_weight(const Conv2dShape& s, const Geom& g, const float* x, const float* dy, float* dw) {
  const int block = launch::block_size(512);
  with_index_type(s, [&](auto index) {
    using I = decltype(index);
    with_depthwise_k(s, [&](auto k) {
      constexpr int K = decltype(k)::value;
      if constexpr (K == 0) {
        VIGIL_LAUNCH(blocks_per_item(s.w_numel()), block, 0, gpu::stream(), direct_backward_weight_kernel<I>)(
            g, x, dy, dw);
        VIGIL_CUDA_CHECK_LAUNCH("direct_backward_weight_kernel");
      } else {
        VIGIL_LAUNCH(blocks_per_item(s.c_out), block, 0, gpu::stream(), depthwise_backward_weight_kernel<I, K>)(
            g, x, dy, dw);
        VIGIL_CUDA_CHECK_LAUNCH("depthwise_backward_weight_kernel");
      }
    });
  });
}

}  // namespace

void conv2d_forward(const Conv2dShape& s, const float* x, const float* w, const float* bias, float* y,
                    Conv2dAlgo algo) {
  const Geom g = make_geom(s);
  if (algo == Conv2dAlgo::Depthwise) return depthwise_forward(s, g, x, w, bias, y);
  const int block = launch::block_size(256);
  const int64_t total = s.y_numel();
  if (algo == Conv2dAlgo::Direct) {
    with_index_type(s, [&](auto index) {
      VIGIL_LAUNCH(launch::grid_size(total, block), block, 0, gpu::stream(), direct_forward_kernel<decltype(index)>)(
          g, x, w, bias, y);
      VIGIL_CUDA_CHECK_LAUNCH("direct_forward_kernel");
    });
    return;
  }
  const int64_t p_n = int64_t(g.out_h) * g.out_w, hw = int64_t(g.h) * g.w, k = int64_t(g.cin_g) * g.kh * g.kw;
  const bool pointwise = s.is_pointwise();
  Scratch col(pointwise ? 0 : int64_t(g.c_in) * g.kh * g.kw * p_n);
  for (int64_t n = 0; n < g.n; ++n) {
    const float* xn = x + n * g.c_in * hw;
    if (!pointwise) launch_im2col(s, g, xn, col.get());
    const float* cn = pointwise ? xn : col.get();  // (Cin*KH*KW, P); group grp owns rows [grp*K, (grp+1)*K)
    // y_g (Cout_g, P) = W_g (Cout_g, K) * col_g (K, P)
    for (int grp = 0; grp < s.groups; ++grp)
      sgemm(false, false, g.cout_g, p_n, k, 1.f, w + grp * g.cout_g * k, k, cn + grp * k * p_n, p_n, 0.f,
            y + (n * g.c_out + int64_t(grp) * g.cout_g) * p_n, p_n);
  }
  if (bias) {
    with_index_type(s, [&](auto index) {
      VIGIL_LAUNCH(launch::grid_size(total, block), block, 0, gpu::stream(), add_bias_kernel<decltype(index)>)(
          g, bias, y);
      VIGIL_CUDA_CHECK_LAUNCH("add_bias_kernel");
    });
  }
}

void conv2d_backward_data(const Conv2dShape& s, const float* dy, const float* w, float* dx, Conv2dAlgo algo) {
  const Geom g = make_geom(s);
  if (algo == Conv2dAlgo::Depthwise) return depthwise_backward_data(s, g, dy, w, dx);
  const int block = launch::block_size(256);
  if (algo == Conv2dAlgo::Direct) {
    with_index_type(s, [&](auto index) {
      VIGIL_LAUNCH(launch::grid_size(s.x_numel(), block), block, 0, gpu::stream(),
                   direct_backward_data_kernel<decltype(index)>)(g, dy, w, dx);
      VIGIL_CUDA_CHECK_LAUNCH("direct_backward_data_kernel");
    });
    return;
  }
  const int64_t p_n = int64_t(g.out_h) * g.out_w, hw = int64_t(g.h) * g.w, k = int64_t(g.cin_g) * g.kh * g.kw;
  const bool pointwise = s.is_pointwise();
  Scratch col(pointwise ? 0 : int64_t(g.c_in) * g.kh * g.kw * p_n);
  for (int64_t n = 0; n < g.n; ++n) {
    float* dxn = dx + n * g.c_in * hw;
    // col_g (K, P) = W_g^T (K, Cout_g) * dy_g (Cout_g, P); for 1x1 convs col is dx itself (beta = 1 accumulates).
    float* cn = pointwise ? dxn : col.get();
    for (int grp = 0; grp < s.groups; ++grp)
      sgemm(true, false, k, p_n, g.cout_g, 1.f, w + grp * g.cout_g * k, k,
            dy + (n * g.c_out + int64_t(grp) * g.cout_g) * p_n, p_n, pointwise ? 1.f : 0.f, cn + grp * k * p_n, p_n);
    if (!pointwise) {
      with_index_type(s, [&](auto index) {
        VIGIL_LAUNCH(launch::grid_size(int64_t(g.c_in) * hw, block), block, 0, gpu::stream(),
                     col2im_kernel<decltype(index)>)(g, col.get(), dxn);
        VIGIL_CUDA_CHECK_LAUNCH("col2im_kernel");
      });
    }
  }
}

void conv2d_backward_weight(const Conv2dShape& s, const float* x, const float* dy, float* dw, Conv2dAlgo algo) {
  const Geom g = make_geom(s);
  if (algo == Conv2dAlgo::Depthwise) return depthwise_backward_weight(s, g, x, dy, dw);
  if (algo == Conv2dAlgo::Direct) {
    const int block = launch::block_size(256);
    with_index_type(s, [&](auto index) {
      VIGIL_LAUNCH(blocks_per_item(s.w_numel()), block, 0, gpu::stream(),
                   direct_backward_weight_kernel<decltype(index)>)(g, x, dy, dw);
      VIGIL_CUDA_CHECK_LAUNCH("direct_backward_weight_kernel");
    });
    return;
  }
  const int64_t p_n = int64_t(g.out_h) * g.out_w, hw = int64_t(g.h) * g.w, k = int64_t(g.cin_g) * g.kh * g.kw;
  const bool pointwise = s.is_pointwise();
  Scratch col(pointwise ? 0 : int64_t(g.c_in) * g.kh * g.kw * p_n);
  for (int64_t n = 0; n < g.n; ++n) {
    const float* xn = x + n * g.c_in * hw;
    if (!pointwise) launch_im2col(s, g, xn, col.get());
    const float* cn = pointwise ? xn : col.get();
    // dw_g (Cout_g, K) += dy_g (Cout_g, P) * col_g^T (P, K)
    for (int grp = 0; grp < s.groups; ++grp)
      sgemm(false, true, g.cout_g, k, p_n, 1.f, dy + (n * g.c_out + int64_t(grp) * g.cout_g) * p_n, p_n,
            cn + grp * k * p_n, p_n, 1.f, dw + grp * g.cout_g * k, k);
  }
}

void conv2d_backward_bias(const Conv2dShape& s, const float* dy, float* db) {
  const Geom g = make_geom(s);
  const int block = launch::block_size(256);
  with_index_type(s, [&](auto index) {
    VIGIL_LAUNCH(blocks_per_item(s.c_out), block, 0, gpu::stream(), backward_bias_kernel<decltype(index)>)(g, dy, db);
    VIGIL_CUDA_CHECK_LAUNCH("backward_bias_kernel");
  });
}

}  // namespace vigil::ops::cuda
