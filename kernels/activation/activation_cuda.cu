// Hand-written CUDA ReLU/LeakyReLU kernels (grid-stride, one element per thread per step).
#include "activation/activation_cuda.h"
#include "common/cuda_utils.cuh"

namespace vigil::ops::cuda {
namespace {

__global__ void activation_forward_kernel(int64_t n, float slope, const float* __restrict__ x, float* y) {
  VIGIL_GRID_STRIDE_LOOP(i, n) {
    const float v = x[i];
    y[i] = v > 0.f ? v : slope * v;
  }
}

__global__ void activation_backward_kernel(int64_t n, float slope, const float* __restrict__ x,
                                           const float* __restrict__ dy, float* __restrict__ dx) {
  VIGIL_GRID_STRIDE_LOOP(i, n) { dx[i] += x[i] > 0.f ? dy[i] : slope * dy[i]; }
}

float slope_of(const ActivationParams& p) { return p.kind == ActivationKind::Relu ? 0.f : p.negative_slope; }

}  // namespace

void activation_forward(const ActivationParams& p, int64_t n, const float* x, float* y) {
  if (n == 0) return;
  const int block = launch::block_size(256);
  activation_forward_kernel<<<launch::grid_size(n, block), block, 0, gpu::stream()>>>(n, slope_of(p), x, y);
  VIGIL_CUDA_CHECK_LAUNCH("activation_forward_kernel");
}

void activation_backward(const ActivationParams& p, int64_t n, const float* x, const float* dy, float* dx) {
  if (n == 0) return;
  const int block = launch::block_size(256);
  activation_backward_kernel<<<launch::grid_size(n, block), block, 0, gpu::stream()>>>(n, slope_of(p), x, dy, dx);
  VIGIL_CUDA_CHECK_LAUNCH("activation_backward_kernel");
}

}  // namespace vigil::ops::cuda
