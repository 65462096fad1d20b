// Hand-written CUDA 2-D zero padding: grid-stride loops, one thread per output element (forward) or input
// element (backward). Index arithmetic runs in 32 bits when every index fits, else in 64 bits.
#include <cstdint>
#include <limits>

#include "common/cuda_utils.cuh"
#include "pad2d/pad2d_cuda.h"

namespace vigil::ops::cuda {
namespace {

// Sizes the kernels need, in the index type (int32_t or int64_t) they compute with.
template <typename Index>
struct Geometry {
  Index h, w, oh, ow, top, left;
};

template <typename Index>
Geometry<Index> geometry(const Pad2dShape& s) {
  return Geometry<Index>{s.h, s.w, s.out_h(), s.out_w(), s.top, s.left};
}

// y[p, i, j] = x[p, i - top, j - left] inside the copied window, else 0; p runs over the n * c planes.
template <typename Index>
__global__ void pad2d_forward_kernel(int64_t total, Geometry<Index> g, const float* __restrict__ x,
                                     float* __restrict__ y) {
  VIGIL_GRID_STRIDE_LOOP(k, total) {
    const Index idx = static_cast<Index>(k);
    const Index j = idx % g.ow, rest = idx / g.ow;
    const Index i = rest % g.oh, p = rest / g.oh;
    const Index hi = i - g.top, wi = j - g.left;
    const bool inside = hi >= 0 && hi < g.h && wi >= 0 && wi < g.w;
    y[idx] = inside ? x[(p * g.h + hi) * g.w + wi] : 0.f;
  }
}

// dx[p, i, j] += dy[p, i + top, j + left].
template <typename Index>
__global__ void pad2d_backward_kernel(int64_t total, Geometry<Index> g, const float* __restrict__ dy,
                                      float* __restrict__ dx) {
  VIGIL_GRID_STRIDE_LOOP(k, total) {
    const Index idx = static_cast<Index>(k);
    const Index j = idx % g.w, rest = idx / g.w;
    const Index i = rest % g.h, p = rest / g.h;
    dx[idx] += dy[(p * g.oh + i + g.top) * g.ow + j + g.left];
  }
}

// 32-bit indices are enough when every element of x and y is addressable as an int32_t.
bool fits_int32(const Pad2dShape& s) {
  constexpr int64_t kMax = std::numeric_limits<int32_t>::max();
  return s.x_numel() <= kMax && s.y_numel() <= kMax;
}

}  // namespace

void pad2d_forward(const Pad2dShape& s, const float* x, float* y) {
  const int64_t total = s.y_numel();
  if (total == 0) return;
  const int block = launch::block_size(256);
  const int grid = launch::grid_size(total, block);
  if (fits_int32(s)) {
    VIGIL_LAUNCH(grid, block, 0, gpu::stream(), pad2d_forward_kernel<int32_t>)(total, geometry<int32_t>(s), x, y);
  } else {
    VIGIL_LAUNCH(grid, block, 0, gpu::stream(), pad2d_forward_kernel<int64_t>)(total, geometry<int64_t>(s), x, y);
  }
  VIGIL_CUDA_CHECK_LAUNCH("pad2d_forward_kernel");
}

void pad2d_backward(const Pad2dShape& s, const float* dy, float* dx) {
  const int64_t total = s.x_numel();
  if (total == 0) return;
  const int block = launch::block_size(256);
  const int grid = launch::grid_size(total, block);
  if (fits_int32(s)) {
    VIGIL_LAUNCH(grid, block, 0, gpu::stream(), pad2d_backward_kernel<int32_t>)(total, geometry<int32_t>(s), dy, dx);
  } else {
    VIGIL_LAUNCH(grid, block, 0, gpu::stream(), pad2d_backward_kernel<int64_t>)(total, geometry<int64_t>(s), dy, dx);
  }
  VIGIL_CUDA_CHECK_LAUNCH("pad2d_backward_kernel");
}

}  // namespace vigil::ops::cuda
