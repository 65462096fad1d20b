// Helpers for .cu files: the current stream, grid-stride loops, warp/block reductions.
#pragma once
#include <cuda_runtime.h>

#include <cstdint>

#include "common/cuda_check.h"
#include "common/device.h"
#include "common/launch.h"

namespace vigil::gpu {

inline cudaStream_t stream() { return static_cast<cudaStream_t>(device::current_stream()); }

// Every kernel launch is written VIGIL_LAUNCH(grid, block, shared_bytes, stream, kernel)(args...). The launch
// configuration comes first so that commas in a templated kernel's name stay inside __VA_ARGS__. Under nvcc it is
// exactly kernel<<<grid, block, shared_bytes, stream>>>(args...); in an emulated build (VIGIL_CUDA_EMULATION, see
// docs/CUDA-EMULATION.md) it runs the kernel through the CPU emulator in common/emulation/vigil_cuda_emu.h.
#if VIGIL_CUDA_EMULATION
#define VIGIL_LAUNCH(grid, block, shared_bytes, stream, ...)                                             \
  ::vigil::emu::Launch(grid, block, shared_bytes, stream, __FILE__, __LINE__, #__VA_ARGS__)             \
      .kernel([&](auto&... vigil_emu_args) { __VA_ARGS__(vigil_emu_args...); })
#else
#define VIGIL_LAUNCH(grid, block, shared_bytes, stream, ...) __VA_ARGS__<<<grid, block, shared_bytes, stream>>>
#endif

// for (i in [0, n)) spread over the whole grid.
#define VIGIL_GRID_STRIDE_LOOP(i, n)                                                                      \
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < static_cast<int64_t>(n); \
       i += static_cast<int64_t>(blockDim.x) * gridDim.x)

__device__ __forceinline__ float warp_sum(float v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_down_sync(0xffffffffu, v, o);
  return v;
}
__device__ __forceinline__ float warp_max(float v) {
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_down_sync(0xffffffffu, v, o));
  return v;
}

// Sum over the block; every thread gets the result. `scratch` holds >= 32 floats of shared memory.
__device__ __forceinline__ float block_sum(float v, float* scratch) {
  int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = (blockDim.x + 31) >> 5;
  v = warp_sum(v);
  __syncthreads();
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  v = (static_cast<int>(threadIdx.x) < warps) ? scratch[threadIdx.x] : 0.f;
  if (warp == 0) v = warp_sum(v);
  if (threadIdx.x == 0) scratch[0] = v;
  __syncthreads();
  return scratch[0];
}
__device__ __forceinline__ float block_max(float v, float* scratch) {
  int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = (blockDim.x + 31) >> 5;
  v = warp_max(v);
  __syncthreads();
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  v = (static_cast<int>(threadIdx.x) < warps) ? scratch[threadIdx.x] : -INFINITY;
  if (warp == 0) v = warp_max(v);
  if (threadIdx.x == 0) scratch[0] = v;
  __syncthreads();
  return scratch[0];
}

}  // namespace vigil::gpu
