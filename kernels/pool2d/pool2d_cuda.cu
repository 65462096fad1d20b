// Hand-written CUDA pooling: forward one thread per output, backward one thread per input (gather, no atomics),
// global average pooling one warp or one block per (n, c) plane with a shuffle reduction.
#include "common/cuda_utils.cuh"
#include "pool2d/pool2d_cuda.h"
#include "pool2d/pool2d_ref.h"

namespace vigil::ops::cuda {
namespace {

// Planes at most this large get one warp each in the global average pool; larger ones one block each.
constexpr int64_t kWarpPlaneMax = 1024;

__global__ void pool2d_forward_kernel(Pool2dShape s, int oh_n, int ow_n, int64_t total, const float* __restrict__ x,
                                      float* __restrict__ y) {
  const int64_t in_plane = static_cast<int64_t>(s.h) * s.w;
  VIGIL_GRID_STRIDE_LOOP(i, total) {
    const int ow = static_cast<int>(i % ow_n);
    const int64_t t = i / ow_n;
    const int oh = static_cast<int>(t % oh_n);
    const float* xp = x + (t / oh_n) * in_plane;
    const ref::PoolWindow win = ref::pool_window(s, oh, ow);
    y[i] = s.kind == PoolKind::Max ? xp[ref::window_argmax(xp, s.w, win)]
                                   : ref::window_sum(xp, s.w, win) / static_cast<float>(win.divisor);
  }
}

// Visits the covering outputs in row-major order, the order in which the reference scatters into dx, so the
// sums round identically.
__global__ void pool2d_backward_kernel(Pool2dShape s, int oh_n, int ow_n, int64_t total, const float* __restrict__ x,
                                       const float* __restrict__ dy, float* __restrict__ dx) {
  const int64_t in_plane = static_cast<int64_t>(s.h) * s.w;
  const int64_t out_plane = static_cast<int64_t>(oh_n) * ow_n;
  VIGIL_GRID_STRIDE_LOOP(i, total) {
    const int iw = static_cast<int>(i % s.w);
    const int64_t t = i / s.w;
    const int ih = static_cast<int>(t % s.h);
    const int64_t p = t / s.h;
    const float* xp = x + p * in_plane;
    const float* dyp = dy + p * out_plane;
    const int64_t self = static_cast<int64_t>(ih) * s.w + iw;
    const ref::PoolRange ohs = ref::pool_covering(ih, s.kh, s.stride_h, s.pad_h, oh_n);
    const ref::PoolRange ows = ref::pool_covering(iw, s.kw, s.stride_w, s.pad_w, ow_n);
    float acc = dx[i];
    for (int oh = ohs.lo; oh < ohs.hi; ++oh) {
      for (int ow = ows.lo; ow < ows.hi; ++ow) {
        const ref::PoolWindow win = ref::pool_window(s, oh, ow);
        const float g = dyp[static_cast<int64_t>(oh) * ow_n + ow];
        if (s.kind == PoolKind::Max) {
          if (ref::window_argmax(xp, s.w, win) == self) acc += g;
        } else {
          acc += g / static_cast<float>(win.divisor);
        }
      }
    }
    dx[i] = acc;
  }
}

// kWarpPerPlane: warp w of the grid reduces planes w, w + warps, ...; else block b reduces planes b, b + blocks.
// The plane loops are uniform per warp (per block), as the shuffles and __syncthreads in the reductions need;
// blockDim.x is a multiple of 32 (launch::block_size guarantees it).
template <bool kWarpPerPlane>
__global__ void global_avg_pool_forward_kernel(int64_t planes, int64_t hw, const float* __restrict__ x,
                                               float* __restrict__ y) {
  const float count = static_cast<float>(hw);
  if constexpr (kWarpPerPlane) {
    const int lane = threadIdx.x & 31;
    const int64_t warps = (static_cast<int64_t>(gridDim.x) * blockDim.x) >> 5;
    for (int64_t p = (static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x) >> 5; p < planes; p += warps) {
      const float* xp = x + p * hw;
      float sum = 0.f;
      for (int64_t i = lane; i < hw; i += 32) sum += xp[i];
      sum = gpu::warp_sum(sum);
      if (lane == 0) y[p] = sum / count;
    }
  } else {
    __shared__ float scratch[32];
    for (int64_t p = blockIdx.x; p < planes; p += gridDim.x) {
      const float* xp = x + p * hw;
      float sum = 0.f;
      for (int64_t i = threadIdx.x; i < hw; i += blockDim.x) sum += xp[i];
      sum = gpu::block_sum(sum, scratch);
      if (threadIdx.x == 0) y[p] = sum / count;
    }
  }
}

__global__ void global_avg_pool_backward_kernel(int64_t total, int64_t hw, const float* __restrict__ dy,
                                                float* __restrict__ dx) {
  const float count = static_cast<float>(hw);
  VIGIL_GRID_STRIDE_LOOP(i, total) { dx[i] += dy[i / hw] / count; }
}

}  // namespace

void pool2d_forward(const Pool2dShape& s, const float* x, float* y) {
  const int oh_n = s.out_h(), ow_n = s.out_w();
  const int64_t total = static_cast<int64_t>(s.n) * s.c * oh_n * ow_n;
  const int block = launch::block_size(256);
  VIGIL_LAUNCH(launch::grid_size(total, block), block, 0, gpu::stream(), pool2d_forward_kernel)(
      s, oh_n, ow_n, total, x, y);
  VIGIL_CUDA_CHECK_LAUNCH("pool2d_forward_kernel");
}

void pool2d_backward(const Pool2dShape& s, const float* x, const float* dy, float* dx) {
  const int64_t total = static_cast<int64_t>(s.n) * s.c * s.h * s.w;
  const int block = launch::block_size(256);
  VIGIL_LAUNCH(launch::grid_size(total, block), block, 0, gpu::stream(), pool2d_backward_kernel)(
      s, s.out_h(), s.out_w(), total, x, dy, dx);
  VIGIL_CUDA_CHECK_LAUNCH("pool2d_backward_kernel");
}

void global_avg_pool_forward(int64_t n, int64_t c, int64_t hw, const float* x, float* y) {
  const int64_t planes = n * c;
  const int block = launch::block_size(256);
  if (hw <= kWarpPlaneMax) {
    VIGIL_LAUNCH(launch::grid_size(planes * 32, block), block, 0, gpu::stream(), global_avg_pool_forward_kernel<true>)(
        planes, hw, x, y);
    VIGIL_CUDA_CHECK_LAUNCH("global_avg_pool_forward_kernel<warp>");
  } else {
    VIGIL_LAUNCH(launch::grid_size(planes * block, block), block, 0, gpu::stream(),
                 global_avg_pool_forward_kernel<false>)(planes, hw, x, y);
    VIGIL_CUDA_CHECK_LAUNCH("global_avg_pool_forward_kernel<block>");
  }
}

void global_avg_pool_backward(int64_t n, int64_t c, int64_t hw, const float* dy, float* dx) {
  const int64_t total = n * c * hw;
  const int block = launch::block_size(256);
  VIGIL_LAUNCH(launch::grid_size(total, block), block, 0, gpu::stream(), global_avg_pool_backward_kernel)(
      total, hw, dy, dx);
  VIGIL_CUDA_CHECK_LAUNCH("global_avg_pool_backward_kernel");
}

}  // namespace vigil::ops::cuda
