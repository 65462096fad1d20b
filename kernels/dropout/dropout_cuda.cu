// Hand-written CUDA inverted dropout: one Philox4x32 call per thread covers 4 consecutive elements (vector
// loads/stores when aligned), grid-stride over the groups; the backward is element-wise.
#include <cstdint>

#include "common/cuda_utils.cuh"
#include "common/rng.h"
#include "dropout/dropout_cuda.h"
#include "dropout/dropout_ref.h"

namespace vigil::ops::cuda {
namespace {

// Group g holds elements [4g, 4g+4) and uses philox4x32(seed, stream, g).v[k] for element 4g+k, which is
// exactly philox_uniform(seed, stream, 4g+k). `vec`: x, y are 16-byte and mask 4-byte aligned, so full groups
// use one float4 load, one float4 store and one uchar4 store. x and y may alias (each element is read and
// written by the same thread, read first).
__global__ void dropout_forward_kernel(int64_t n, uint64_t seed, uint64_t stream, float p, float scale, bool vec,
                                       const float* x, float* y, uint8_t* __restrict__ mask) {
  const int64_t groups = (n + 3) / 4;
  VIGIL_GRID_STRIDE_LOOP(g, groups) {
    const Philox4 r = philox4x32(seed, stream, static_cast<uint64_t>(g));
    bool keep[4];
#pragma unroll
    for (int k = 0; k < 4; ++k) keep[k] = uint_to_unit_float(r.v[k]) >= p;
    const int64_t base = g * 4;
    if (vec && base + 4 <= n) {
      const float4 v = *reinterpret_cast<const float4*>(x + base);
      float4 o;
      o.x = keep[0] ? __fmul_rn(v.x, scale) : 0.f;
      o.y = keep[1] ? __fmul_rn(v.y, scale) : 0.f;
      o.z = keep[2] ? __fmul_rn(v.z, scale) : 0.f;
      o.w = keep[3] ? __fmul_rn(v.w, scale) : 0.f;
      *reinterpret_cast<float4*>(y + base) = o;
      *reinterpret_cast<uchar4*>(mask + base) = make_uchar4(keep[0], keep[1], keep[2], keep[3]);
    } else {
#pragma unroll
      for (int k = 0; k < 4; ++k) {
        const int64_t i = base + k;
        if (i < n) {
          mask[i] = keep[k] ? 1 : 0;
          y[i] = keep[k] ? __fmul_rn(x[i], scale) : 0.f;
        }
      }
    }
  }
}

// dx[i] += dy[i] * scale where mask[i] (or everywhere when mask is null). __fmul_rn keeps nvcc from fusing the
// multiply into the add, so the result matches the host's separately rounded multiply and add.
__global__ void dropout_backward_kernel(int64_t n, float scale, const float* __restrict__ dy,
                                        const uint8_t* __restrict__ mask, float* __restrict__ dx) {
  VIGIL_GRID_STRIDE_LOOP(i, n) {
    if (mask == nullptr || mask[i]) dx[i] += __fmul_rn(dy[i], scale);
  }
}

void launch_backward(int64_t n, float scale, const float* dy, const uint8_t* mask, float* dx) {
  if (n == 0) return;
  const int block = launch::block_size(256);
  VIGIL_LAUNCH(launch::grid_size(n, block), block, 0, gpu::stream(), dropout_backward_kernel)(n, scale, dy, mask, dx);
  VIGIL_CUDA_CHECK_LAUNCH("dropout_backward_kernel");
}

bool aligned(const void* ptr, uintptr_t bytes) { return reinterpret_cast<uintptr_t>(ptr) % bytes == 0; }

}  // namespace

void dropout_forward(const DropoutParams& p, int64_t n, const float* x, float* y, uint8_t* mask) {
  if (n == 0) return;
  const bool vec = aligned(x, 16) && aligned(y, 16) && aligned(mask, 4);
  const int64_t groups = (n + 3) / 4;
  const int block = launch::block_size(256);
  VIGIL_LAUNCH(launch::grid_size(groups, block), block, 0, gpu::stream(), dropout_forward_kernel)(
      n, p.seed, p.stream, p.p, ref::dropout_scale(p.p), vec, x, y, mask);
  VIGIL_CUDA_CHECK_LAUNCH("dropout_forward_kernel");
}

void dropout_backward(const DropoutParams& p, int64_t n, const float* dy, const uint8_t* mask, float* dx) {
  launch_backward(n, ref::dropout_scale(p.p), dy, mask, dx);
}

void dropout_accumulate(int64_t n, const float* src, float* dx) { launch_backward(n, 1.f, src, nullptr, dx); }

}  // namespace vigil::ops::cuda
