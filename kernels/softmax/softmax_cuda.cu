// Hand-written CUDA softmax / log-softmax / cross-entropy: row kernels (a warp or a block per row, grid-stride
// over rows) and deterministic single-block reductions for the mean loss.
#include "softmax/softmax_cuda.h"

#include "common/cuda_utils.cuh"

namespace vigil::ops::cuda {
namespace {

// Rows of at most this many columns get one warp each; longer rows one block each.
constexpr int64_t kWarpRowMaxCols = 512;

// The thread group that owns a row: a warp (kWarp) or the whole block. Every loop over rows below has a
// trip count that is uniform across its group, so warp shuffles and block barriers are reached by all.
template <bool kWarp>
__device__ __forceinline__ int64_t group_index() {
  return kWarp ? static_cast<int64_t>(blockIdx.x) * (blockDim.x / 32) + threadIdx.x / 32
               : static_cast<int64_t>(blockIdx.x);
}
template <bool kWarp>
__device__ __forceinline__ int64_t group_count() {
  return kWarp ? static_cast<int64_t>(gridDim.x) * (blockDim.x / 32) : static_cast<int64_t>(gridDim.x);
}
template <bool kWarp>
__device__ __forceinline__ int group_lane() {
  return kWarp ? static_cast<int>(threadIdx.x & 31) : static_cast<int>(threadIdx.x);
}
template <bool kWarp>
__device__ __forceinline__ int group_size() {
  return kWarp ? 32 : static_cast<int>(blockDim.x);
}

// Sum / max over the group; every thread of the group gets the result. `scratch`: >= 32 shared floats.
template <bool kWarp>
__device__ __forceinline__ float group_sum(float v, float* scratch) {
  if constexpr (kWarp) {
    return __shfl_sync(0xffffffffu, gpu::warp_sum(v), 0);
  } else {
    return gpu::block_sum(v, scratch);
  }
}
template <bool kWarp>
__device__ __forceinline__ float group_max(float v, float* scratch) {
  if constexpr (kWarp) {
    return __shfl_sync(0xffffffffu, gpu::warp_max(v), 0);
  } else {
    return gpu::block_max(v, scratch);
  }
}

enum class RowOp { Softmax, LogSoftmax, CrossEntropy, CrossEntropyFromLogProbs };

// Cross-entropy inputs and per-row outputs of the forward row kernel (unused by the other RowOps).
struct CeArgs {
  const int32_t* labels = nullptr;  // (rows)
  const float* weights = nullptr;   // (cols) or nullptr
  float eps = 0.f;                  // label smoothing
  float* row_loss = nullptr;        // (rows): loss_i, 0 for an ignored row
  float* row_weight = nullptr;      // (rows): w[y_i], 0 for an ignored row
};

// One row per group, in three passes over the row: max; sum exp(x - max) (plus, for cross-entropy, the
// weighted -log p terms); then the outputs. With CrossEntropyFromLogProbs x already holds log-probabilities
// (max 0, sum 1: the first two reductions are skipped) and y may alias x: each thread writes only the
// elements it read itself, after the group's last reduction over them.
template <RowOp kOp, bool kWarp>
__global__ void row_forward_kernel(int64_t rows, int64_t cols, const float* x, float* y, CeArgs ce) {
  constexpr bool kCe = kOp == RowOp::CrossEntropy || kOp == RowOp::CrossEntropyFromLogProbs;
  constexpr bool kFromLogProbs = kOp == RowOp::CrossEntropyFromLogProbs;
  __shared__ float scratch[32];
  const int lane = group_lane<kWarp>(), size = group_size<kWarp>();
  const float smooth = ce.eps / static_cast<float>(cols);
  for (int64_t row = group_index<kWarp>(); row < rows; row += group_count<kWarp>()) {
    const float* xr = x + row * cols;
    float* yr = y + row * cols;

    float m = 0.f;
    if constexpr (!kFromLogProbs) {
      float v = -INFINITY;
      for (int64_t c = lane; c < cols; c += size) v = fmaxf(v, xr[c]);
      m = group_max<kWarp>(v, scratch);
    }

    // Cross-entropy: -log p_c = (m - x_c) + log_sum. q collects (1 - eps) w_y (m - x_y) + (eps/C) sum_c w_c
    // (m - x_c) (all terms >= 0, no cancellation for large logits); the log_sum parts are added once below.
    int32_t label = -1;
    float label_coef = 0.f;  // (1 - eps) * w_y
    if constexpr (kCe) {
      label = ce.labels[row];
      if (label >= 0 && label < cols) {
        label_coef = (1.f - ce.eps) * (ce.weights ? ce.weights[label] : 1.f);
      } else {
        label = -1;  // ignored row: never read out of bounds
      }
    }
    float part_exp = 0.f, part_q = 0.f, part_w = 0.f;
    for (int64_t c = lane; c < cols; c += size) {
      const float v = xr[c];
      if constexpr (!kFromLogProbs) part_exp += expf(v - m);
      if constexpr (kCe) {
        const float wc = ce.weights ? ce.weights[c] : 1.f;
        part_q += smooth * wc * (m - v);
        if (c == label) part_q += label_coef * (m - v);
        part_w += wc;
      }
    }
    float s = 1.f;
    if constexpr (!kFromLogProbs) s = group_sum<kWarp>(part_exp, scratch);
    const float log_sum = logf(s);

    if constexpr (kCe) {
      const float q = group_sum<kWarp>(part_q, scratch);
      // ce.weights is uniform over the grid, so either every thread of the group reduces or none does.
      const float weight_sum = ce.weights ? group_sum<kWarp>(part_w, scratch) : static_cast<float>(cols);
      if (lane == 0) {
        const bool valid = label >= 0;
        ce.row_loss[row] = valid ? q + log_sum * (label_coef + smooth * weight_sum) : 0.f;
        ce.row_weight[row] = valid ? (ce.weights ? ce.weights[label] : 1.f) : 0.f;
      }
    }

    for (int64_t c = lane; c < cols; c += size) {
      const float v = xr[c];
      if constexpr (kOp == RowOp::LogSoftmax) {
        yr[c] = (v - m) - log_sum;
      } else {
        yr[c] = expf(v - m) / s;
      }
    }
  }
}

// dx += y * (dy - sum dy*y)  or, for log-softmax (kLog), dx += dy - exp(y) * sum dy; one row per group.
template <bool kLog, bool kWarp>
__global__ void row_backward_kernel(int64_t rows, int64_t cols, const float* __restrict__ y,
                                    const float* __restrict__ dy, float* __restrict__ dx) {
  __shared__ float scratch[32];
  const int lane = group_lane<kWarp>(), size = group_size<kWarp>();
  for (int64_t row = group_index<kWarp>(); row < rows; row += group_count<kWarp>()) {
    const int64_t o = row * cols;
    float part = 0.f;
    for (int64_t c = lane; c < cols; c += size) part += kLog ? dy[o + c] : dy[o + c] * y[o + c];
    const float r = group_sum<kWarp>(part, scratch);
    for (int64_t c = lane; c < cols; c += size) {
      if constexpr (kLog) {
        dx[o + c] += dy[o + c] - expf(y[o + c]) * r;
      } else {
        dx[o + c] += y[o + c] * (dy[o + c] - r);
      }
    }
  }
}

// One block: loss = sum_i row_loss[i] / sum_i row_weight[i], in a fixed order (deterministic).
__global__ void ce_mean_kernel(int64_t rows, const float* __restrict__ row_loss,
                               const float* __restrict__ row_weight, float* __restrict__ loss) {
  __shared__ float scratch[32];
  float l = 0.f, w = 0.f;
  for (int64_t i = threadIdx.x; i < rows; i += blockDim.x) {
    l += row_loss[i];
    w += row_weight[i];
  }
  l = gpu::block_sum(l, scratch);
  w = gpu::block_sum(w, scratch);
  if (threadIdx.x == 0) *loss = l / w;
}

// One block: sums[0] = sum_i w[y_i] over rows with a valid label, sums[1] = sum_c w[c] (deterministic).
__global__ void ce_weight_sums_kernel(int64_t rows, int64_t cols, const int32_t* __restrict__ labels,
                                      const float* __restrict__ weights, float* __restrict__ sums) {
  __shared__ float scratch[32];
  float wy = 0.f, wc = 0.f;
  for (int64_t i = threadIdx.x; i < rows; i += blockDim.x) {
    const int32_t y = labels[i];
    if (y >= 0 && y < cols) wy += weights ? weights[y] : 1.f;
  }
  for (int64_t c = threadIdx.x; c < cols; c += blockDim.x) wc += weights ? weights[c] : 1.f;
  wy = gpu::block_sum(wy, scratch);
  wc = gpu::block_sum(wc, scratch);
  if (threadIdx.x == 0) {
    sums[0] = wy;
    sums[1] = wc;
  }
}

// dlogits[i, k] += dloss / W * (p[i, k] ((1 - eps) w_y + (eps/C) S) - (1 - eps) w_y [k == y] - (eps/C) w_k),
// with W = sums[0], S = sums[1]; elementwise over the grid, rows with an invalid label skipped.
__global__ void ce_backward_kernel(int64_t rows, int64_t cols, float eps, float dloss,
                                   const float* __restrict__ probs, const int32_t* __restrict__ labels,
                                   const float* __restrict__ weights, const float* __restrict__ sums,
                                   float* __restrict__ dlogits) {
  const float smooth = eps / static_cast<float>(cols);
  const float scale = dloss / sums[0], weight_sum = sums[1];
  VIGIL_GRID_STRIDE_LOOP(e, rows * cols) {
    const int64_t row = e / cols, c = e - row * cols;
    const int32_t y = labels[row];
    if (y < 0 || y >= cols) continue;
    const float label_coef = (1.f - eps) * (weights ? weights[y] : 1.f);
    const float target = (c == y ? label_coef : 0.f) + smooth * (weights ? weights[c] : 1.f);
    dlogits[e] += scale * (probs[e] * (label_coef + smooth * weight_sum) - target);
  }
}

// Launches row_forward_kernel<kOp> with a warp per row for short rows, a block per row for long ones.
template <RowOp kOp>
void launch_row_forward(int64_t rows, int64_t cols, const float* x, float* y, const CeArgs& ce) {
  if (cols <= kWarpRowMaxCols) {
    const int block = launch::block_size(128);
    VIGIL_LAUNCH(launch::grid_size(rows, block / 32), block, 0, gpu::stream(), row_forward_kernel<kOp, true>)(
        rows, cols, x, y, ce);
  } else {
    const int block = launch::block_size(256);
    VIGIL_LAUNCH(launch::grid_size(rows, 1), block, 0, gpu::stream(), row_forward_kernel<kOp, false>)(
        rows, cols, x, y, ce);
  }
  VIGIL_CUDA_CHECK_LAUNCH("row_forward_kernel");
}

template <bool kLog>
void launch_row_backward(int64_t rows, int64_t cols, const float* y, const float* dy, float* dx) {
  if (rows == 0) return;
  if (cols <= kWarpRowMaxCols) {
    const int block = launch::block_size(128);
    VIGIL_LAUNCH(launch::grid_size(rows, block / 32), block, 0, gpu::stream(), row_backward_kernel<kLog, true>)(
        rows, cols, y, dy, dx);
  } else {
    const int block = launch::block_size(256);
    VIGIL_LAUNCH(launch::grid_size(rows, 1), block, 0, gpu::stream(), row_backward_kernel<kLog, false>)(
        rows, cols, y, dy, dx);
  }
  VIGIL_CUDA_CHECK_LAUNCH("row_backward_kernel");
}

// Temporary device floats from the caching allocator, returned on scope exit. Kernels queued on the current
// stream before the return finish before any later work that reuses the block (single-stream use, as for
// cudnn::workspace).
class DeviceFloats {
 public:
  explicit DeviceFloats(int64_t n) : p_(static_cast<float*>(device::alloc(static_cast<size_t>(n) * sizeof(float)))) {}
  ~DeviceFloats() { device::free(p_); }
  DeviceFloats(const DeviceFloats&) = delete;
  DeviceFloats& operator=(const DeviceFloats&) = delete;
  float* get() const { return p_; }

 private:
  float* p_;
};

template <RowOp kOp>
void cross_entropy_forward(const CrossEntropyParams& p, int64_t rows, int64_t cols, const float* x,
                           const int32_t* labels, float* probs, float* loss) {
  DeviceFloats partials(2 * rows);
  CeArgs ce;
  ce.labels = labels;
  ce.weights = p.class_weights;
  ce.eps = p.label_smoothing;
  ce.row_loss = partials.get();
  ce.row_weight = partials.get() + rows;
  launch_row_forward<kOp>(rows, cols, x, probs, ce);
  VIGIL_LAUNCH(1, launch::block_size(256), 0, gpu::stream(), ce_mean_kernel)(rows, ce.row_loss, ce.row_weight, loss);
  VIGIL_CUDA_CHECK_LAUNCH("ce_mean_kernel");
}

}  // namespace

void softmax_forward(int64_t rows, int64_t cols, const float* x, float* y) {
  if (rows == 0) return;
  launch_row_forward<RowOp::Softmax>(rows, cols, x, y, CeArgs{});
}

void log_softmax_forward(int64_t rows, int64_t cols, const float* x, float* y) {
  if (rows == 0) return;
  launch_row_forward<RowOp::LogSoftmax>(rows, cols, x, y, CeArgs{});
}

void softmax_backward(int64_t rows, int64_t cols, const float* y, const float* dy, float* dx) {
  launch_row_backward<false>(rows, cols, y, dy, dx);
}

void log_softmax_backward(int64_t rows, int64_t cols, const float* y, const float* dy, float* dx) {
  launch_row_backward<true>(rows, cols, y, dy, dx);
}

void softmax_cross_entropy_forward(const CrossEntropyParams& p, int64_t rows, int64_t cols, const float* logits,
                                   const int32_t* labels, float* probs, float* loss) {
  cross_entropy_forward<RowOp::CrossEntropy>(p, rows, cols, logits, labels, probs, loss);
}

void softmax_cross_entropy_forward_from_log_probs(const CrossEntropyParams& p, int64_t rows, int64_t cols,
                                                  const int32_t* labels, float* probs, float* loss) {
  cross_entropy_forward<RowOp::CrossEntropyFromLogProbs>(p, rows, cols, probs, labels, probs, loss);
}

void softmax_cross_entropy_backward(const CrossEntropyParams& p, int64_t rows, int64_t cols, const float* probs,
                                    const int32_t* labels, float dloss, float* dlogits) {
  DeviceFloats sums(2);
  VIGIL_LAUNCH(1, launch::block_size(256), 0, gpu::stream(), ce_weight_sums_kernel)(
      rows, cols, labels, p.class_weights, sums.get());
  VIGIL_CUDA_CHECK_LAUNCH("ce_weight_sums_kernel");
  const int block = launch::block_size(256);
  VIGIL_LAUNCH(launch::grid_size(rows * cols, block), block, 0, gpu::stream(), ce_backward_kernel)(
      rows, cols, p.label_smoothing, dloss, probs, labels, p.class_weights, sums.get(), dlogits);
  VIGIL_CUDA_CHECK_LAUNCH("ce_backward_kernel");
}

}  // namespace vigil::ops::cuda
