// Hand-written CUDA element-wise maps, deterministic two-pass reductions and 16-bit conversions.
#include <algorithm>
#include <climits>

#include "common/cuda_utils.cuh"
#include "elementwise/elementwise_cuda.h"
#include "elementwise/half.h"

namespace vigil::ops::cuda {
namespace {

// ---- element-wise maps: f(i) does all the work of element i ----

template <typename F>
__global__ void map_kernel(int64_t n, F f) {
  VIGIL_GRID_STRIDE_LOOP(i, n) { f(i); }
}

template <typename F>
void launch_map(const char* kernel_name, int64_t n, const F& f) {
  if (n == 0) return;
  const int block = launch::block_size(256);
  VIGIL_LAUNCH(launch::grid_size(n, block), block, 0, gpu::stream(), map_kernel)(n, f);
  VIGIL_CUDA_CHECK_LAUNCH(kernel_name);
}

struct FillOp {
  float value;
  float* y;
  __device__ void operator()(int64_t i) const { y[i] = value; }
};

struct CopyOp {
  const float* x;
  float* y;
  __device__ void operator()(int64_t i) const { y[i] = x[i]; }
};

struct AddOp {
  const float* a;
  const float* b;
  float* y;
  __device__ void operator()(int64_t i) const { y[i] = a[i] + b[i]; }
};

struct MulOp {
  const float* a;
  const float* b;
  float* y;
  __device__ void operator()(int64_t i) const { y[i] = a[i] * b[i]; }
};

struct ScaleOp {
  float alpha;
  const float* x;
  float* y;
  __device__ void operator()(int64_t i) const { y[i] = alpha * x[i]; }
};

struct AxpyOp {
  float alpha;
  const float* x;
  float* y;
  __device__ void operator()(int64_t i) const { y[i] += alpha * x[i]; }
};

// Reads every input of element i before writing, so da/db may alias an input element-wise.
struct MulBackwardOp {
  const float* a;
  const float* b;
  const float* dy;
  float* da;  // may be nullptr
  float* db;  // may be nullptr
  __device__ void operator()(int64_t i) const {
    const float g = dy[i];
    const float av = db ? a[i] : 0.f, bv = da ? b[i] : 0.f;
    if (da) da[i] += g * bv;
    if (db) db[i] += g * av;
  }
};

// x is (N, C, HW); element i belongs to channel (i / HW) % C.
struct ChannelBiasOp {
  int64_t c, hw;
  const float* bias;
  float* x;
  __device__ void operator()(int64_t i) const { x[i] += bias[(i / hw) % c]; }
};

struct ToHalf {
  __device__ static uint16_t apply(float v) { return float_to_half_bits(v); }
};
struct FromHalf {
  __device__ static float apply(uint16_t v) { return half_bits_to_float(v); }
};
struct ToBfloat16 {
  __device__ static uint16_t apply(float v) { return float_to_bfloat16_bits(v); }
};
struct FromBfloat16 {
  __device__ static float apply(uint16_t v) { return bfloat16_bits_to_float(v); }
};

template <typename In, typename Out, typename Conv>
struct ConvertOp {
  const In* x;
  Out* y;
  __device__ void operator()(int64_t i) const { y[i] = Conv::apply(x[i]); }
};

// ---- reductions over the channels of x (N, C, HW); a scalar sum is N = C = 1 ----

// Upper bound on pass-1 blocks per reduction (spread over the channels): enough to fill an H100 several times.
constexpr int64_t kMaxPartials = 1024;

// Pass 1 on a (C, S) grid: block (ch, s) sums a fixed share of channel ch's N*HW values, which are indexed
// j = n * HW + k; thread t of slice s takes j = s * B + t, then steps by S * B, accumulating in double. The
// block's total (float tree) goes to dst[ch * S + s], added to the old value when `accumulate`.
// Every thread reaches block_sum (it synchronises the block), including threads with no elements.
template <bool Square>
__global__ void channel_partial_kernel(int64_t n, int64_t c, int64_t hw, const float* __restrict__ x, bool accumulate,
                                       float* __restrict__ dst) {
  __shared__ float scratch[32];
  const int64_t ch = blockIdx.x;
  const int64_t slices = gridDim.y;
  const int64_t stride = slices * blockDim.x;
  const int64_t j = static_cast<int64_t>(blockIdx.y) * blockDim.x + threadIdx.x;
  // (row, k) of j, advanced incrementally: a division only when a step crosses the end of a row.
  int64_t row = j / hw, k = j - row * hw;
  double acc = 0.0;
  while (row < n) {
    const double v = x[(row * c + ch) * hw + k];
    acc += Square ? v * v : v;
    k += stride;
    if (k >= hw) {
      row += k / hw;
      k %= hw;
    }
  }
  const float total = gpu::block_sum(static_cast<float>(acc), scratch);
  if (threadIdx.x == 0) {
    float* d = dst + ch * slices + blockIdx.y;
    *d = accumulate ? *d + total : total;
  }
}

// Pass 2 on a (C) grid: block ch adds channel ch's S partials in a fixed order (double per thread, then the
// float block tree) and writes out[ch], or adds to it when `accumulate`.
__global__ void channel_final_kernel(int slices, const float* __restrict__ partial, bool accumulate,
                                     float* __restrict__ out) {
  __shared__ float scratch[32];
  const int64_t ch = blockIdx.x;
  double acc = 0.0;
  for (int s = threadIdx.x; s < slices; s += blockDim.x) acc += partial[ch * slices + s];
  const float total = gpu::block_sum(static_cast<float>(acc), scratch);
  if (threadIdx.x == 0) out[ch] = accumulate ? out[ch] + total : total;
}

// Stream-ordered scratch for the partials: freed after the kernels queued before the free, never while a
// kernel on this stream may still read it (unlike returning it to a host-side cache straight away).
class StreamScratch {
 public:
  explicit StreamScratch(size_t bytes) { VIGIL_CUDA_CHECK(cudaMallocAsync(&ptr_, bytes, gpu::stream())); }
  ~StreamScratch() { VIGIL_CUDA_WARN(cudaFreeAsync(ptr_, gpu::stream())); }
  StreamScratch(const StreamScratch&) = delete;
  StreamScratch& operator=(const StreamScratch&) = delete;
  float* get() const { return static_cast<float*>(ptr_); }

 private:
  void* ptr_ = nullptr;
};

// out[ch] (=|+=) sum over n, k of f(x[n, ch, k]) with f = identity or square.
template <bool Square>
void channel_reduce(int64_t n, int64_t c, int64_t hw, const float* x, float* out, bool accumulate) {
  if (c == 0) return;
  VIGIL_CHECK(c <= INT_MAX, "channel reduction: at most ", INT_MAX, " channels, got ", c);
  if (n == 0 || hw == 0) {  // empty sums are 0
    if (!accumulate) VIGIL_CUDA_CHECK(cudaMemsetAsync(out, 0, static_cast<size_t>(c) * sizeof(float), gpu::stream()));
    return;
  }
  const int block = launch::block_size(256);
  const int slices = static_cast<int>(
      std::min<int64_t>(launch::grid_size(n * hw, block), std::max<int64_t>(1, kMaxPartials / c)));
  const dim3 grid(static_cast<unsigned>(c), static_cast<unsigned>(slices));
  if (slices == 1) {  // one block per channel: its total is the answer
    VIGIL_LAUNCH(grid, block, 0, gpu::stream(), channel_partial_kernel<Square>)(n, c, hw, x, accumulate, out);
    VIGIL_CUDA_CHECK_LAUNCH("channel_partial_kernel");
    return;
  }
  StreamScratch partial(static_cast<size_t>(c) * slices * sizeof(float));
  VIGIL_LAUNCH(grid, block, 0, gpu::stream(), channel_partial_kernel<Square>)(n, c, hw, x, false, partial.get());
  VIGIL_CUDA_CHECK_LAUNCH("channel_partial_kernel");
  VIGIL_LAUNCH(static_cast<unsigned>(c), block, 0, gpu::stream(), channel_final_kernel)(
      slices, partial.get(), accumulate, out);
  VIGIL_CUDA_CHECK_LAUNCH("channel_final_kernel");
}

}  // namespace

void fill(int64_t n, float value, float* y) { launch_map("fill_kernel", n, FillOp{value, y}); }

void copy(int64_t n, const float* x, float* y) {
  if (x == y) return;
  launch_map("copy_kernel", n, CopyOp{x, y});
}

void add(int64_t n, const float* a, const float* b, float* y) { launch_map("add_kernel", n, AddOp{a, b, y}); }

void mul(int64_t n, const float* a, const float* b, float* y) { launch_map("mul_kernel", n, MulOp{a, b, y}); }

void scale(int64_t n, float alpha, const float* x, float* y) { launch_map("scale_kernel", n, ScaleOp{alpha, x, y}); }

void axpy(int64_t n, float alpha, const float* x, float* y) { launch_map("axpy_kernel", n, AxpyOp{alpha, x, y}); }

void mul_backward(int64_t n, const float* a, const float* b, const float* dy, float* da, float* db) {
  if (!da && !db) return;
  launch_map("mul_backward_kernel", n, MulBackwardOp{a, b, dy, da, db});
}

void sum(int64_t n, const float* x, float* out) { channel_reduce<false>(1, 1, n, x, out, false); }

void sum_squares(int64_t n, const float* x, float* out) { channel_reduce<true>(1, 1, n, x, out, false); }

void add_channel_bias(int64_t n, int64_t c, int64_t hw, const float* bias, float* x) {
  launch_map("add_channel_bias_kernel", n * c * hw, ChannelBiasOp{c, hw, bias, x});
}

void channel_sum(int64_t n, int64_t c, int64_t hw, const float* x, float* out) {
  channel_reduce<false>(n, c, hw, x, out, true);
}

void float_to_half(int64_t n, const float* x, uint16_t* y) {
  launch_map("float_to_half_kernel", n, ConvertOp<float, uint16_t, ToHalf>{x, y});
}

void half_to_float(int64_t n, const uint16_t* x, float* y) {
  launch_map("half_to_float_kernel", n, ConvertOp<uint16_t, float, FromHalf>{x, y});
}

void float_to_bfloat16(int64_t n, const float* x, uint16_t* y) {
  launch_map("float_to_bfloat16_kernel", n, ConvertOp<float, uint16_t, ToBfloat16>{x, y});
}

void bfloat16_to_float(int64_t n, const uint16_t* x, float* y) {
  launch_map("bfloat16_to_float_kernel", n, ConvertOp<uint16_t, float, FromBfloat16>{x, y});
}

}  // namespace vigil::ops::cuda
