// Hand-written CUDA activation kernels (grid-stride, one element per thread per step), one functor per kind.
#include "activation/activation_cuda.h"
#include "common/cuda_utils.cuh"
#include "common/error.h"

namespace vigil::ops::cuda {
namespace {

// IEEE expf and division (no fast-math intrinsics): within a few ulp of the CPU reference.
__device__ __forceinline__ float sigmoid(float x) {
  const float e = expf(-fabsf(x));  // exp of -|x| only: no overflow for any x
  return (x >= 0.f ? 1.f : e) / (1.f + e);
}

__device__ __forceinline__ float relu6(float x) { return x < 0.f ? 0.f : (x > 6.f ? 6.f : x); }

// Each functor: value(x) = f(x) and grad(x, dy) = f'(x) * dy, with PyTorch's choices at the kinks.
struct LeakyOp {  // Relu uses slope 0
  float slope;
  __device__ float value(float x) const { return x > 0.f ? x : slope * x; }
  __device__ float grad(float x, float dy) const { return x > 0.f ? dy : slope * dy; }
};
struct Relu6Op {
  __device__ float value(float x) const { return relu6(x); }
  __device__ float grad(float x, float dy) const { return x > 0.f && x < 6.f ? dy : 0.f; }
};
struct HardSwishOp {
  __device__ float value(float x) const { return x * relu6(x + 3.f) / 6.f; }
  __device__ float grad(float x, float dy) const {
    return x < -3.f ? 0.f : (x <= 3.f ? dy * (x / 3.f + 0.5f) : dy);
  }
};
struct HardSigmoidOp {
  __device__ float value(float x) const { return relu6(x + 3.f) / 6.f; }
  __device__ float grad(float x, float dy) const { return x > -3.f && x < 3.f ? dy / 6.f : 0.f; }
};
struct SigmoidOp {
  __device__ float value(float x) const { return sigmoid(x); }
  __device__ float grad(float x, float dy) const {
    const float s = sigmoid(x);
    return dy * (s * (1.f - s));
  }
};
struct SiluOp {
  __device__ float value(float x) const { return x * sigmoid(x); }
  __device__ float grad(float x, float dy) const {
    const float s = sigmoid(x);
    return dy * (s * (1.f + x * (1.f - s)));
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

// Calls fn(op) with the functor for p.kind.
template <typename Fn>
void with_op(const ActivationParams& p, Fn&& fn) {
  switch (p.kind) {
    case ActivationKind::Relu: return fn(LeakyOp{0.f});
    case ActivationKind::LeakyRelu: return fn(LeakyOp{p.negative_slope});
    case ActivationKind::Relu6: return fn(Relu6Op{});
    case ActivationKind::HardSwish: return fn(HardSwishOp{});
    case ActivationKind::Silu: return fn(SiluOp{});
    case ActivationKind::Sigmoid: return fn(SigmoidOp{});
    case ActivationKind::HardSigmoid: return fn(HardSigmoidOp{});
  }
  VIGIL_FAIL("activation: unknown kind ", static_cast<int>(p.kind));
}

}  // namespace

void activation_forward(const ActivationParams& p, int64_t n, const float* x, float* y) {
  if (n == 0) return;
  const int block = launch::block_size(256);
  with_op(p, [&](auto op) {
    VIGIL_LAUNCH(launch::grid_size(n, block), block, 0, gpu::stream(), activation_forward_kernel)(n, op, x, y);
  });
  VIGIL_CUDA_CHECK_LAUNCH("activation_forward_kernel");
}

void activation_backward(const ActivationParams& p, int64_t n, const float* x, const float* dy, float* dx) {
  if (n == 0) return;
  const int block = launch::block_size(256);
  with_op(p, [&](auto op) {
    VIGIL_LAUNCH(launch::grid_size(n, block), block, 0, gpu::stream(), activation_backward_kernel)(n, op, x, dy, dx);
  });
  VIGIL_CUDA_CHECK_LAUNCH("activation_backward_kernel");
}

}  // namespace vigil::ops::cuda
