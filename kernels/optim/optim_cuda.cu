// Hand-written CUDA optimizer kernels: one grid-stride pass per step over the shared per-element updates.
#include "common/cuda_utils.cuh"
#include "optim/optim_cuda.h"
#include "optim/optim_update.h"

namespace vigil::ops::cuda {
namespace {

__global__ void sgd_step_kernel(int64_t n, SgdScalars<float> s, float* __restrict__ w, const float* __restrict__ g,
                                float* __restrict__ buf) {
  VIGIL_GRID_STRIDE_LOOP(i, n) { sgd_update(s, w[i], g[i], s.has_momentum ? buf + i : nullptr); }
}

__global__ void adam_step_kernel(int64_t n, AdamScalars<float> s, float* __restrict__ w,
                                 const float* __restrict__ g, float* __restrict__ m, float* __restrict__ v) {
  VIGIL_GRID_STRIDE_LOOP(i, n) { adam_update(s, w[i], g[i], m[i], v[i]); }
}

}  // namespace

void sgd_step(const SgdParams& p, int64_t n, float* w, const float* g, float* momentum_buf, bool first_step) {
  if (n == 0) return;
  const int block = launch::block_size(256);
  VIGIL_LAUNCH(launch::grid_size(n, block), block, 0, gpu::stream(), sgd_step_kernel)(
      n, sgd_scalars<float>(p, first_step), w, g, momentum_buf);
  VIGIL_CUDA_CHECK_LAUNCH("sgd_step_kernel");
}

void adam_step(const AdamParams& p, int64_t n, float* w, const float* g, float* m, float* v) {
  if (n == 0) return;
  const int block = launch::block_size(256);
  VIGIL_LAUNCH(launch::grid_size(n, block), block, 0, gpu::stream(), adam_step_kernel)(
      n, adam_scalars<float>(p), w, g, m, v);
  VIGIL_CUDA_CHECK_LAUNCH("adam_step_kernel");
}

}  // namespace vigil::ops::cuda
