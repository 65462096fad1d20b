// Hand-written CUDA batch norm: one block per channel for the statistics and gradient sums (two-pass, double
// accumulation, fixed reduction order, no atomics) and grid-stride element-wise kernels for y and dx.
#include "batchnorm/batchnorm_cuda.h"

#include "common/cuda_utils.cuh"

namespace vigil::ops::cuda {
namespace {

constexpr int kMaxWarps = 32;           // 1024 threads per block at most
constexpr int kChannelBlock = 512;      // threads per channel block (statistics, gradient sums)
constexpr int kElementwiseBlock = 256;  // threads per block of the element-wise kernels

// Sum of v over the block in double; every thread gets the result. gpu::block_sum is float-only, and the
// statistics need double so that the mean is exact to float rounding even far from zero. `scratch` holds
// kMaxWarps doubles of shared memory; blockDim.x must be a multiple of 32 (launch::block_size guarantees it).
__device__ double block_sum_f64(double v, double* scratch) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = (blockDim.x + 31) >> 5;
  for (int o = 16; o > 0; o >>= 1) v += __shfl_down_sync(0xffffffffu, v, o);
  __syncthreads();  // every thread has read scratch[0] of the previous call before it is overwritten
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  if (warp == 0) {
    v = lane < warps ? scratch[lane] : 0.0;
    for (int o = 16; o > 0; o >>= 1) v += __shfl_down_sync(0xffffffffu, v, o);
    if (lane == 0) scratch[0] = v;
  }
  __syncthreads();
  return scratch[0];
}

// Block-stride walk over the n * hw elements of one channel: element (ni, j) lies ni * C * hw + j past the
// channel's first element. Steps of blockDim.x are split into whole rows and a remainder, so no division
// happens inside the loop.
struct ChannelWalk {
  int64_t ni, j, step_n, step_j;
  __device__ explicit ChannelWalk(int64_t hw)
      : ni(static_cast<int64_t>(threadIdx.x) / hw),
        j(static_cast<int64_t>(threadIdx.x) % hw),
        step_n(static_cast<int64_t>(blockDim.x) / hw),
        step_j(static_cast<int64_t>(blockDim.x) % hw) {}
  __device__ void next(int64_t hw) {
    j += step_j;
    ni += step_n;
    if (j >= hw) {  // j < 2 * hw here, so one carry suffices
      j -= hw;
      ++ni;
    }
  }
};

// Grid-stride walk over a whole (N, C, HW) tensor that tracks the channel of the flat index i without a
// division per element: the step is split into a channel advance and an in-plane remainder.
struct TensorWalk {
  int64_t i, c, j, step, step_c, step_j;
  __device__ TensorWalk(int64_t C, int64_t hw)
      : i(static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x),
        c((i / hw) % C),
        j(i % hw),
        step(static_cast<int64_t>(blockDim.x) * gridDim.x),
        step_c((step / hw) % C),
        step_j(step % hw) {}
  __device__ void next(int64_t C, int64_t hw) {
    i += step;
    j += step_j;
    c += step_c;
    if (j >= hw) {  // j < 2 * hw: carry one plane
      j -= hw;
      ++c;
    }
    if (c >= C) c -= C;  // c <= (C - 1) + (C - 1) + 1 < 2 * C
  }
};

// One block per channel (block-stride over channels): two-pass mean and biased variance in double, then
// thread 0 writes save_mean, save_invstd and updates the running statistics (unbiased variance).
__global__ void batchnorm_stats_kernel(int64_t n, int64_t C, int64_t hw, float eps, float momentum,
                                       const float* __restrict__ x, float* __restrict__ save_mean,
                                       float* __restrict__ save_invstd, float* __restrict__ running_mean,
                                       float* __restrict__ running_var) {
  __shared__ double scratch[kMaxWarps];
  const int64_t chw = C * hw;
  const double m = static_cast<double>(n * hw);
  for (int64_t c = blockIdx.x; c < C; c += gridDim.x) {
    const float* xc = x + c * hw;
    double sum = 0;
    for (ChannelWalk w(hw); w.ni < n; w.next(hw)) sum += static_cast<double>(xc[w.ni * chw + w.j]);
    const double mean = block_sum_f64(sum, scratch) / m;
    double sq = 0;
    for (ChannelWalk w(hw); w.ni < n; w.next(hw)) {
      const double d = static_cast<double>(xc[w.ni * chw + w.j]) - mean;
      sq += d * d;
    }
    const double var = block_sum_f64(sq, scratch) / m;
    if (threadIdx.x == 0) {
      const double mom = static_cast<double>(momentum);
      save_mean[c] = static_cast<float>(mean);
      save_invstd[c] = static_cast<float>(1.0 / sqrt(var + static_cast<double>(eps)));
      running_mean[c] = static_cast<float>((1.0 - mom) * static_cast<double>(running_mean[c]) + mom * mean);
      running_var[c] =
          static_cast<float>((1.0 - mom) * static_cast<double>(running_var[c]) + mom * var * m / (m - 1.0));
    }
  }
}

// invstd[c] = 1 / sqrt(running_var[c] + eps), for the eval-mode kernels.
__global__ void batchnorm_eval_invstd_kernel(int64_t C, float eps, const float* __restrict__ running_var,
                                             float* __restrict__ invstd) {
  VIGIL_GRID_STRIDE_LOOP(c, C) {
    invstd[c] = static_cast<float>(1.0 / sqrt(static_cast<double>(running_var[c]) + static_cast<double>(eps)));
  }
}

// y = (x - mean[c]) * (gamma[c] * invstd[c]) + beta[c]; y may alias x (no __restrict__ on them).
__global__ void batchnorm_normalize_kernel(int64_t total, int64_t C, int64_t hw, const float* x,
                                           const float* __restrict__ mean, const float* __restrict__ invstd,
                                           const float* __restrict__ gamma, const float* __restrict__ beta,
                                           float* y) {
  for (TensorWalk w(C, hw); w.i < total; w.next(C, hw)) {
    const int64_t c = w.c;
    y[w.i] = (x[w.i] - mean[c]) * (gamma[c] * invstd[c]) + beta[c];
  }
}

// One block per channel: sdy = sum(dy), sdyx = sum(dy * (x - mean)) * invstd, in double. Thread 0 adds them to
// dbeta[c] and dgamma[c] and, when mean_dy is given (training), stores sdy / m and sdyx / m for the dx kernel.
__global__ void batchnorm_grad_sums_kernel(int64_t n, int64_t C, int64_t hw, const float* __restrict__ x,
                                           const float* __restrict__ dy, const float* __restrict__ mean,
                                           const float* __restrict__ invstd, float* __restrict__ dgamma,
                                           float* __restrict__ dbeta, float* __restrict__ mean_dy,
                                           float* __restrict__ mean_dy_xhat) {
  __shared__ double scratch[kMaxWarps];
  const int64_t chw = C * hw;
  const double m = static_cast<double>(n * hw);
  for (int64_t c = blockIdx.x; c < C; c += gridDim.x) {
    const float* xc = x + c * hw;
    const float* gc = dy + c * hw;
    const double mu = static_cast<double>(mean[c]);
    double sdy = 0, sdyx = 0;
    for (ChannelWalk w(hw); w.ni < n; w.next(hw)) {
      const int64_t k = w.ni * chw + w.j;
      const double g = static_cast<double>(gc[k]);
      sdy += g;
      sdyx += g * (static_cast<double>(xc[k]) - mu);
    }
    sdy = block_sum_f64(sdy, scratch);
    sdyx = block_sum_f64(sdyx, scratch) * static_cast<double>(invstd[c]);
    if (threadIdx.x == 0) {
      dgamma[c] += static_cast<float>(sdyx);
      dbeta[c] += static_cast<float>(sdy);
      if (mean_dy != nullptr) {
        mean_dy[c] = static_cast<float>(sdy / m);
        mean_dy_xhat[c] = static_cast<float>(sdyx / m);
      }
    }
  }
}

// dx += gamma * invstd * (dy - mean_dy - xhat * mean_dy_xhat) with xhat = (x - mean) * invstd (kTrain), or
// dx += gamma * invstd * dy with frozen statistics (x, mean, mean_dy, mean_dy_xhat unused, may be null).
template <bool kTrain>
__global__ void batchnorm_dx_kernel(int64_t total, int64_t C, int64_t hw, const float* __restrict__ x,
                                    const float* __restrict__ dy, const float* __restrict__ gamma,
                                    const float* __restrict__ mean, const float* __restrict__ invstd,
                                    const float* __restrict__ mean_dy, const float* __restrict__ mean_dy_xhat,
                                    float* __restrict__ dx) {
  for (TensorWalk w(C, hw); w.i < total; w.next(C, hw)) {
    const int64_t c = w.c;
    const float k = gamma[c] * invstd[c];
    if constexpr (kTrain) {
      const float xhat = (x[w.i] - mean[c]) * invstd[c];
      dx[w.i] += k * (dy[w.i] - mean_dy[c] - xhat * mean_dy_xhat[c]);
    } else {
      dx[w.i] += k * dy[w.i];
    }
  }
}

// Per-call device scratch (per-channel temporaries) from vigil's caching allocator, returned to the cache when
// the launcher returns; like every vigil device buffer it is reused in stream order by later work.
class Scratch {
 public:
  explicit Scratch(int64_t floats)
      : p_(static_cast<float*>(device::alloc(static_cast<size_t>(floats) * sizeof(float)))) {}
  ~Scratch() { device::free(p_); }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  float* get() const { return p_; }

 private:
  float* p_;
};

// Launch shapes: channel kernels get one block per channel (capped; they block-stride over the rest),
// element-wise kernels a 1-D grid over the whole tensor.
int channel_block() { return launch::block_size(kChannelBlock); }
int channel_grid(int64_t C) { return launch::grid_size(C, 1); }
int elementwise_block() { return launch::block_size(kElementwiseBlock); }

void eval_invstd(const BatchNormShape& s, const float* running_var, float* invstd) {
  const int block = elementwise_block();
  VIGIL_LAUNCH(launch::grid_size(s.c, block), block, 0, gpu::stream(), batchnorm_eval_invstd_kernel)(
      s.c, s.eps, running_var, invstd);
  VIGIL_CUDA_CHECK_LAUNCH("batchnorm_eval_invstd_kernel");
}

void normalize(const BatchNormShape& s, const float* x, const float* mean, const float* invstd, const float* gamma,
               const float* beta, float* y) {
  const int64_t total = s.n * s.c * s.hw;
  const int block = elementwise_block();
  VIGIL_LAUNCH(launch::grid_size(total, block), block, 0, gpu::stream(), batchnorm_normalize_kernel)(
      total, s.c, s.hw, x, mean, invstd, gamma, beta, y);
  VIGIL_CUDA_CHECK_LAUNCH("batchnorm_normalize_kernel");
}

void grad_sums(const BatchNormShape& s, const float* x, const float* dy, const float* mean, const float* invstd,
               float* dgamma, float* dbeta, float* mean_dy, float* mean_dy_xhat) {
  VIGIL_LAUNCH(channel_grid(s.c), channel_block(), 0, gpu::stream(), batchnorm_grad_sums_kernel)(
      s.n, s.c, s.hw, x, dy, mean, invstd, dgamma, dbeta, mean_dy, mean_dy_xhat);
  VIGIL_CUDA_CHECK_LAUNCH("batchnorm_grad_sums_kernel");
}

template <bool kTrain>
void accumulate_dx(const BatchNormShape& s, const float* x, const float* dy, const float* gamma, const float* mean,
                   const float* invstd, const float* mean_dy, const float* mean_dy_xhat, float* dx) {
  const int64_t total = s.n * s.c * s.hw;
  const int block = elementwise_block();
  VIGIL_LAUNCH(launch::grid_size(total, block), block, 0, gpu::stream(), batchnorm_dx_kernel<kTrain>)(
      total, s.c, s.hw, x, dy, gamma, mean, invstd, mean_dy, mean_dy_xhat, dx);
  VIGIL_CUDA_CHECK_LAUNCH("batchnorm_dx_kernel");
}

}  // namespace

void batchnorm_forward_train(const BatchNormShape& s, const float* x, const float* gamma, const float* beta,
                             float* y, float* running_mean, float* running_var, float* save_mean,
                             float* save_invstd) {
  VIGIL_LAUNCH(channel_grid(s.c), channel_block(), 0, gpu::stream(), batchnorm_stats_kernel)(
      s.n, s.c, s.hw, s.eps, s.momentum, x, save_mean, save_invstd, running_mean, running_var);
  VIGIL_CUDA_CHECK_LAUNCH("batchnorm_stats_kernel");
  normalize(s, x, save_mean, save_invstd, gamma, beta, y);
}

void batchnorm_forward_eval(const BatchNormShape& s, const float* x, const float* gamma, const float* beta,
                            const float* running_mean, const float* running_var, float* y) {
  Scratch invstd(s.c);
  eval_invstd(s, running_var, invstd.get());
  normalize(s, x, running_mean, invstd.get(), gamma, beta, y);
}

void batchnorm_backward(const BatchNormShape& s, const float* x, const float* dy, const float* gamma,
                        const float* save_mean, const float* save_invstd, float* dx, float* dgamma, float* dbeta) {
  Scratch means(2 * s.c);  // mean_dy (C) then mean_dy_xhat (C)
  float* mean_dy = means.get();
  float* mean_dy_xhat = means.get() + s.c;
  grad_sums(s, x, dy, save_mean, save_invstd, dgamma, dbeta, mean_dy, mean_dy_xhat);
  accumulate_dx<true>(s, x, dy, gamma, save_mean, save_invstd, mean_dy, mean_dy_xhat, dx);
}

void batchnorm_backward_eval(const BatchNormShape& s, const float* x, const float* dy, const float* gamma,
                             const float* running_mean, const float* running_var, float* dx, float* dgamma,
                             float* dbeta) {
  Scratch invstd(s.c);
  eval_invstd(s, running_var, invstd.get());
  grad_sums(s, x, dy, running_mean, invstd.get(), dgamma, dbeta, nullptr, nullptr);
  accumulate_dx<false>(s, nullptr, dy, gamma, nullptr, invstd.get(), nullptr, nullptr, dx);
}

}  // namespace vigil::ops::cuda
