// Hand-written CUDA activation kernels (grid-stride, one element per thread per step) over the shared functors
// (activation_functors.h).
#include "activation/activation_cuda.h"
#include "activation/activation_functors.h"
#include "common/cuda_utils.cuh"
#include "common/error.h"

namespace vigil::ops::cuda {
namespace {

using namespace activation_functors;

// IEEE expf and division (no fast-math intrinsics): within a few ulp of the CPU reference.
struct DeviceMath {
  VIGIL_HD static float sigmoid(float x) {
    const float e = expf(-fabsf(x));  // exp of -|x| only: no overflow for any x
    return (x >= 0.f ? 1.f : e) / (1.f + e);
  }
};

// x is not __restrict__: y may alias it.
template <typename Op>
__global__ void activation_forward_kernel(int64_t n, Op op, const float* x, float* y) {
  VIGIL_GRID_STRIDE_LOOP(i, n) { y[i] = op.value(x[i]); }
}

template <typename Op>
__global__ void activation_backward_kernel(int64_t n, Op op, const float* __restrict__ x,
                                           const float* __restrict__ dy, float* __restrict__ dx) {
  VIGIL_GRID_STRIDE_LOOP(i, n) { dx[i] += op.grad(x[i], dy[i]); }
}

}  // namespace

void activation_forward(const ActivationParams& p, int64_t n, const float* x, float* y) {
  if (n == 0) return;
  const int block = launch::block_size(256);
  with_op<DeviceMath>(p, [&](auto op) {
    VIGIL_LAUNCH(launch::grid_size(n, block), block, 0, gpu::stream(), activation_forward_kernel)(n, op, x, y);
  });
  VIGIL_CUDA_CHECK_LAUNCH("activation_forward_kernel");
}

void activation_backward(const ActivationParams& p, int64_t n, const float* x, const float* dy, float* dx) {
  if (n == 0) return;
  const int block = launch::block_size(256);
  with_op<DeviceMath>(p, [&](auto op) {
    VIGIL_LAUNCH(launch::grid_size(n, block), block, 0, gpu::stream(), activation_backward_kernel)(n, op, x, dy, dx);
  });
  VIGIL_CUDA_CHECK_LAUNCH("activation_backward_kernel");
}

}  // namespace vigil::ops::cuda
