// Hand-written CUDA SGEMM (shared-memory tiles, register blocking, split-K), its naive v1, the cuBLAS baseline,
// and the linear layer's bias kernels.
#include "gemm/gemm_cuda.h"

#include <algorithm>
#include <climits>
#include <cstdint>

#include "common/cublas_utils.h"
#include "common/cuda_utils.cuh"
#include "common/error.h"
#include "gemm/gemm.h"

namespace vigil::ops::cuda {
namespace {

// ---- Tiled SGEMM --------------------------------------------------------------------------------------------
//
// A thread block computes a BM x BN tile of C, walking K in steps of BK. Each step, the (BM x BK) slice of op(A)
// and the (BK x BN) slice of op(B) are staged in shared memory, both stored k-major (S[k][m], S[k][n]) so the
// inner product reads contiguous float4s. Every thread owns TM x TN outputs, split into 4-wide groups spread
// across the tile (rows g * 4 * kThreadsY + 4 * ty + i) so the float4 shared-memory reads of a warp do not
// collide. Shared memory is double-buffered: the next slice is fetched from global memory into registers while
// the current one is multiplied, then written to the other buffer, so one __syncthreads per step suffices.
// blockIdx.z splits K (split-K): each z-slice covers k_per_split values of K and writes its own partial C.

constexpr int kPad = 4;  // shared-memory row padding: keeps float4 alignment, spreads the transposing stores

// Loads a BK x BMN slice of one operand into registers and stores it k-major into shared memory. The operand's
// element (k, j), j being the M index (for A) or the N index (for B), is stored at X[k * ld + j] when KOuter,
// else at X[j * ld + k]. Each thread moves kPerThread chunks of 4 elements that are contiguous in memory.
template <int BK, int BMN, int kThreads, bool KOuter>
struct TileLoader {
  static constexpr int kInner = KOuter ? BMN : BK;  // extent of the contiguous dimension within the slice
  static constexpr int kChunks = BK * BMN / 4;
  static constexpr int kPerThread = kChunks / kThreads;
  static_assert(kInner % 4 == 0 && kChunks % kThreads == 0, "tile shape does not split into float4 chunks");

  float reg[kPerThread][4];

  // k0: first K index of the slice, k_end: one past the last valid K index (split bound), j0: first M/N index,
  // j_end: M or N. Out-of-range elements load as 0. vec: X and ld allow aligned float4 loads.
  __device__ __forceinline__ void load(const float* __restrict__ X, int64_t ld, int64_t k0, int64_t k_end,
                                       int64_t j0, int64_t j_end, bool vec, int tid) {
#pragma unroll
    for (int c = 0; c < kPerThread; ++c) {
      const int chunk = tid + c * kThreads;
      const int outer = chunk / (kInner / 4);
      const int inner = (chunk % (kInner / 4)) * 4;
      const int64_t go = (KOuter ? k0 : j0) + outer;  // global index along the strided dimension
      const int64_t gi = (KOuter ? j0 : k0) + inner;  // global index along the contiguous dimension
      const int64_t go_end = KOuter ? k_end : j_end;
      const int64_t gi_end = KOuter ? j_end : k_end;
      if (go < go_end && vec && gi + 3 < gi_end) {
        const float4 v = *reinterpret_cast<const float4*>(X + go * ld + gi);
        reg[c][0] = v.x;
        reg[c][1] = v.y;
        reg[c][2] = v.z;
        reg[c][3] = v.w;
      } else {
#pragma unroll
        for (int e = 0; e < 4; ++e) reg[c][e] = (go < go_end && gi + e < gi_end) ? X[go * ld + gi + e] : 0.f;
      }
    }
  }

  // S is the [BK][BMN + kPad] shared buffer.
  __device__ __forceinline__ void store(float (*S)[BMN + kPad], int tid) const {
#pragma unroll
    for (int c = 0; c < kPerThread; ++c) {
      const int chunk = tid + c * kThreads;
      const int outer = chunk / (kInner / 4);
      const int inner = (chunk % (kInner / 4)) * 4;
      if (KOuter) {  // a row segment of S: one aligned float4 (rows are 16-byte multiples, inner % 4 == 0)
        *reinterpret_cast<float4*>(&S[outer][inner]) = make_float4(reg[c][0], reg[c][1], reg[c][2], reg[c][3]);
      } else {  // a column segment: the padding puts the two halves of a warp in different banks
#pragma unroll
        for (int e = 0; e < 4; ++e) S[inner + e][outer] = reg[c][e];
      }
    }
  }
};

template <int BM_, int BN_, int BK_, int TM_, int TN_, int kMinBlocks_>
struct TileConfig {
  static constexpr int BM = BM_, BN = BN_, BK = BK_, TM = TM_, TN = TN_, kMinBlocks = kMinBlocks_;
  static constexpr int kThreadsX = BN / TN, kThreadsY = BM / TM, kThreads = kThreadsX * kThreadsY;
  static_assert(TM % 4 == 0 && TN % 4 == 0 && BK % 4 == 0, "per-thread tiles are made of float4 groups");
};
// kMinBlocks: resident blocks per SM to ask of the register allocator (__launch_bounds__).
using LargeTile = TileConfig<128, 128, 8, 8, 8, 2>;  // 256 threads, 8x8 outputs each
using SmallTile = TileConfig<64, 64, 8, 8, 8, 4>;    // 64 threads, 8x8 outputs each: more blocks for small C

// C_z = alpha * op(A)[:, Kz] * op(B)[Kz, :] + beta * C_z with Kz = [z * k_per_split, (z + 1) * k_per_split) and
// C_z = C + z * c_split_stride (z = blockIdx.z). beta == 0 overwrites.
template <typename Cfg, bool TransA, bool TransB>
__global__ void __launch_bounds__(Cfg::kThreads, Cfg::kMinBlocks)
    sgemm_tiled_kernel(int64_t M, int64_t N, int64_t K, int64_t k_per_split, float alpha,
                       const float* __restrict__ A, int64_t lda, const float* __restrict__ B, int64_t ldb,
                       float beta, float* C, int64_t ldc, int64_t c_split_stride, bool vec_a, bool vec_b,
                       bool vec_c) {
  constexpr int BM = Cfg::BM, BN = Cfg::BN, BK = Cfg::BK, TM = Cfg::TM, TN = Cfg::TN;
  constexpr int TX = Cfg::kThreadsX, TY = Cfg::kThreadsY, kThreads = Cfg::kThreads;
  __shared__ __align__(16) float As[2][BK][BM + kPad];
  __shared__ __align__(16) float Bs[2][BK][BN + kPad];

  const int tid = static_cast<int>(threadIdx.x);
  const int tx = tid % TX, ty = tid / TX;
  const int64_t m0 = static_cast<int64_t>(blockIdx.y) * BM;
  const int64_t n0 = static_cast<int64_t>(blockIdx.x) * BN;
  const int64_t k_begin = static_cast<int64_t>(blockIdx.z) * k_per_split;
  const int64_t k_end = std::min(K, k_begin + k_per_split);
  const int64_t n_steps = k_end > k_begin ? (k_end - k_begin + BK - 1) / BK : 0;

  // op(A) element (m, k) is A[k * lda + m] when TransA; op(B) element (k, n) is B[k * ldb + n] unless TransB.
  TileLoader<BK, BM, kThreads, TransA> load_a;
  TileLoader<BK, BN, kThreads, !TransB> load_b;

  float acc[TM][TN];
#pragma unroll
  for (int i = 0; i < TM; ++i)
#pragma unroll
    for (int j = 0; j < TN; ++j) acc[i][j] = 0.f;

  if (n_steps > 0) {
    load_a.load(A, lda, k_begin, k_end, m0, M, vec_a, tid);
    load_b.load(B, ldb, k_begin, k_end, n0, N, vec_b, tid);
    load_a.store(As[0], tid);
    load_b.store(Bs[0], tid);
  }
  __syncthreads();

  for (int64_t step = 0; step < n_steps; ++step) {
    const int cur = static_cast<int>(step & 1);
    const bool has_next = step + 1 < n_steps;
    if (has_next) {  // fetch the next slice while this one is multiplied
      const int64_t k_next = k_begin + (step + 1) * BK;
      load_a.load(A, lda, k_next, k_end, m0, M, vec_a, tid);
      load_b.load(B, ldb, k_next, k_end, n0, N, vec_b, tid);
    }
#pragma unroll
    for (int k = 0; k < BK; ++k) {
      float a[TM], b[TN];
#pragma unroll
      for (int g = 0; g < TM / 4; ++g) {
        const float4 v = *reinterpret_cast<const float4*>(&As[cur][k][g * 4 * TY + ty * 4]);
        a[g * 4 + 0] = v.x;
        a[g * 4 + 1] = v.y;
        a[g * 4 + 2] = v.z;
        a[g * 4 + 3] = v.w;
      }
#pragma unroll
      for (int g = 0; g < TN / 4; ++g) {
        const float4 v = *reinterpret_cast<const float4*>(&Bs[cur][k][g * 4 * TX + tx * 4]);
        b[g * 4 + 0] = v.x;
        b[g * 4 + 1] = v.y;
        b[g * 4 + 2] = v.z;
        b[g * 4 + 3] = v.w;
      }
#pragma unroll
      for (int i = 0; i < TM; ++i)
#pragma unroll
        for (int j = 0; j < TN; ++j) acc[i][j] = fmaf(a[i], b[j], acc[i][j]);
    }
    // Buffer cur^1 was last read in the previous step, which every thread finished before that step's barrier.
    if (has_next) {
      load_a.store(As[cur ^ 1], tid);
      load_b.store(Bs[cur ^ 1], tid);
    }
    __syncthreads();
  }

  float* Cz = C + static_cast<int64_t>(blockIdx.z) * c_split_stride;
#pragma unroll
  for (int i = 0; i < TM; ++i) {
    const int64_t m = m0 + (i / 4) * 4 * TY + ty * 4 + (i % 4);
    if (m >= M) continue;
    float* c_row = Cz + m * ldc;
#pragma unroll
    for (int g = 0; g < TN / 4; ++g) {
      const int64_t n = n0 + g * 4 * TX + tx * 4;
      const float* r = &acc[i][g * 4];
      if (vec_c && n + 3 < N) {
        float4* p = reinterpret_cast<float4*>(c_row + n);
        float4 v = make_float4(alpha * r[0], alpha * r[1], alpha * r[2], alpha * r[3]);
        if (beta != 0.f) {
          const float4 old = *p;
          v.x = fmaf(beta, old.x, v.x);
          v.y = fmaf(beta, old.y, v.y);
          v.z = fmaf(beta, old.z, v.z);
          v.w = fmaf(beta, old.w, v.w);
        }
        *p = v;
      } else {
#pragma unroll
        for (int e = 0; e < 4; ++e) {
          if (n + e < N) c_row[n + e] = beta == 0.f ? alpha * r[e] : fmaf(beta, c_row[n + e], alpha * r[e]);
        }
      }
    }
  }
}

// C[m, n] = alpha * sum_z W[z, m, n] + beta * C[m, n] (z in order: deterministic). W is (splits, M, N) dense.
__global__ void splitk_reduce_kernel(int64_t M, int64_t N, int splits, const float* __restrict__ W, float alpha,
                                     float beta, float* C, int64_t ldc) {
  const int64_t mn = M * N;
  VIGIL_GRID_STRIDE_LOOP(i, mn) {
    float s = 0.f;
    for (int z = 0; z < splits; ++z) s += W[z * mn + i];
    const int64_t m = i / N, n = i % N;
    float* c = C + m * ldc + n;
    *c = beta == 0.f ? alpha * s : fmaf(beta, *c, alpha * s);
  }
}

// Device scratch memory for one call, returned to the caching allocator when the launcher exits (also on error).
struct Scratch {
  float* ptr;
  explicit Scratch(size_t bytes) : ptr(static_cast<float*>(device::alloc(bytes))) {}
  ~Scratch() {
    try {
      device::free(ptr);
    } catch (...) {
    }
  }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
};

bool aligned16(const void* p) { return (reinterpret_cast<uintptr_t>(p) & 15u) == 0; }

int multiprocessor_count() {
  int dev = 0, sms = 0;
  VIGIL_CUDA_CHECK(cudaGetDevice(&dev));
  VIGIL_CUDA_CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, dev));
  return std::max(sms, 1);
}

template <typename Cfg, bool TransA, bool TransB>
void launch_tiled(int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda, const float* B,
                  int64_t ldb, float beta, float* C, int64_t ldc) {
  const int64_t tiles_m = (M + Cfg::BM - 1) / Cfg::BM, tiles_n = (N + Cfg::BN - 1) / Cfg::BN;
  VIGIL_CHECK(tiles_m <= 65535 && tiles_n <= INT_MAX, "sgemm: C of ", M, " x ", N, " is too large for one grid");
  const bool vec_a = lda % 4 == 0 && aligned16(A), vec_b = ldb % 4 == 0 && aligned16(B);

  // Split K when the output tiles alone would leave most multiprocessors idle and K is long enough to share:
  // each split keeps at least kMinSplitK values of K (a multiple of BK), aiming at ~2 blocks per SM.
  constexpr int64_t kMinSplitK = 512, kMaxSplits = 32;
  const int64_t tiles = tiles_m * tiles_n, target_blocks = 2 * static_cast<int64_t>(multiprocessor_count());
  int64_t splits = 1;
  if (tiles < target_blocks / 2 && K >= 2 * kMinSplitK)
    splits = std::min({(target_blocks + tiles - 1) / tiles, K / kMinSplitK, kMaxSplits});
  int64_t k_per_split = K;
  if (splits > 1) {
    k_per_split = ((K + splits - 1) / splits + Cfg::BK - 1) / Cfg::BK * Cfg::BK;
    splits = (K + k_per_split - 1) / k_per_split;  // every split non-empty
  }

  const dim3 grid(static_cast<unsigned>(tiles_n), static_cast<unsigned>(tiles_m), static_cast<unsigned>(splits));
  if (splits == 1) {
    const bool vec_c = ldc % 4 == 0 && aligned16(C);
    VIGIL_LAUNCH(grid, Cfg::kThreads, 0, gpu::stream(), sgemm_tiled_kernel<Cfg, TransA, TransB>)(
        M, N, K, k_per_split, alpha, A, lda, B, ldb, beta, C, ldc, 0, vec_a, vec_b, vec_c);
    VIGIL_CUDA_CHECK_LAUNCH("sgemm_tiled_kernel");
    return;
  }
  // Partial products go to a (splits, M, N) workspace, then one pass sums them in order into C. The caching
  // allocator hands the block out again only to later work in the same stream order (single-stream use).
  const Scratch scratch(static_cast<size_t>(splits * M * N) * sizeof(float));
  float* work = scratch.ptr;
  const bool vec_w = N % 4 == 0 && aligned16(work);
  VIGIL_LAUNCH(grid, Cfg::kThreads, 0, gpu::stream(), sgemm_tiled_kernel<Cfg, TransA, TransB>)(
      M, N, K, k_per_split, 1.f, A, lda, B, ldb, 0.f, work, N, M * N, vec_a, vec_b, vec_w);
  VIGIL_CUDA_CHECK_LAUNCH("sgemm_tiled_kernel(split-k)");
  const int block = launch::block_size(256);
  VIGIL_LAUNCH(launch::grid_size(M * N, block), block, 0, gpu::stream(), splitk_reduce_kernel)(
      M, N, static_cast<int>(splits), work, alpha, beta, C, ldc);
  VIGIL_CUDA_CHECK_LAUNCH("splitk_reduce_kernel");
}

template <typename Cfg>
void launch_tiled_any(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
                      int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  if (!trans_a && !trans_b) return launch_tiled<Cfg, false, false>(M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
  if (!trans_a && trans_b) return launch_tiled<Cfg, false, true>(M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
  if (trans_a && !trans_b) return launch_tiled<Cfg, true, false>(M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
  return launch_tiled<Cfg, true, true>(M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

// ---- Naive SGEMM (v1) ---------------------------------------------------------------------------------------

// One output per thread per grid-stride step, straight from global memory.
__global__ void sgemm_naive_kernel(int64_t M, int64_t N, int64_t K, float alpha, const float* __restrict__ A,
                                   int64_t a_stride_m, int64_t a_stride_k, const float* __restrict__ B,
                                   int64_t b_stride_k, int64_t b_stride_n, float beta, float* C, int64_t ldc) {
  VIGIL_GRID_STRIDE_LOOP(i, M * N) {
    const int64_t m = i / N, n = i % N;
    const float* a = A + m * a_stride_m;
    const float* b = B + n * b_stride_n;
    float s = 0.f;
    for (int64_t k = 0; k < K; ++k) s = fmaf(a[k * a_stride_k], b[k * b_stride_k], s);
    float* c = C + m * ldc + n;
    *c = beta == 0.f ? alpha * s : fmaf(beta, *c, alpha * s);
  }
}

// ---- Linear-layer helpers -----------------------------------------------------------------------------------

__global__ void add_row_bias_kernel(int64_t rows, int64_t cols, const float* __restrict__ b, float* y) {
  VIGIL_GRID_STRIDE_LOOP(i, rows * cols) { y[i] += b[i % cols]; }
}

// Column sums: a block walks groups of 32 columns (grid-stride over groups). Lane l of warp w sums rows
// w, w + warps, ... of column 32 * group + l (coalesced across the warp), the per-warp partials meet in shared
// memory and warp 0 adds them up in warp order, so the result does not depend on timing.
__global__ void column_sum_kernel(int64_t rows, int64_t cols, const float* __restrict__ dy, float* db) {
  __shared__ float partial[32][33];  // [warp][lane]; 1024 threads at most
  const int lane = static_cast<int>(threadIdx.x) & 31, warp = static_cast<int>(threadIdx.x) >> 5;
  const int warps = static_cast<int>(blockDim.x) >> 5;
  const int64_t groups = (cols + 31) / 32;
  for (int64_t g = blockIdx.x; g < groups; g += gridDim.x) {
    const int64_t c = g * 32 + lane;
    float s = 0.f;
    if (c < cols)
      for (int64_t r = warp; r < rows; r += warps) s += dy[r * cols + c];
    partial[warp][lane] = s;
    __syncthreads();
    if (warp == 0 && c < cols) {
      float total = 0.f;
      for (int w = 0; w < warps; ++w) total += partial[w][lane];
      db[c] += total;
    }
    __syncthreads();  // partial is rewritten by the next group
  }
}

void check_int_dims(const char* who, int64_t M, int64_t N, int64_t K, int64_t lda, int64_t ldb, int64_t ldc) {
  VIGIL_CHECK(M <= INT_MAX && N <= INT_MAX && K <= INT_MAX && lda <= INT_MAX && ldb <= INT_MAX && ldc <= INT_MAX,
              who, ": sizes and strides must fit in int, got M ", M, " N ", N, " K ", K, " lda ", lda, " ldb ", ldb,
              " ldc ", ldc);
}

}  // namespace

void sgemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
           const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  detail::check_gemm_args("cuda::sgemm", trans_a, trans_b, M, N, K, A, lda, B, ldb, C, ldc);
  if (M == 0 || N == 0) return;
  // A BlockSizeOverride picks the tile configuration (256 or more threads: the large tile, else the small one);
  // otherwise the large tile is used when it yields at least one block per multiprocessor.
  const int threads = launch::block_size(0);
  bool large;
  if (threads > 0) {
    large = threads >= LargeTile::kThreads;
  } else {
    const int64_t tiles = ((M + LargeTile::BM - 1) / LargeTile::BM) * ((N + LargeTile::BN - 1) / LargeTile::BN);
    large = tiles >= multiprocessor_count();
  }
  if (large)
    launch_tiled_any<LargeTile>(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
  else
    launch_tiled_any<SmallTile>(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

void sgemm_naive(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
                 int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  detail::check_gemm_args("cuda::sgemm_naive", trans_a, trans_b, M, N, K, A, lda, B, ldb, C, ldc);
  if (M == 0 || N == 0) return;
  const int64_t a_sm = trans_a ? 1 : lda, a_sk = trans_a ? lda : 1;
  const int64_t b_sk = trans_b ? 1 : ldb, b_sn = trans_b ? ldb : 1;
  const int block = launch::block_size(256);
  VIGIL_LAUNCH(launch::grid_size(M * N, block), block, 0, gpu::stream(), sgemm_naive_kernel)(
      M, N, K, alpha, A, a_sm, a_sk, B, b_sk, b_sn, beta, C, ldc);
  VIGIL_CUDA_CHECK_LAUNCH("sgemm_naive_kernel");
}

void sgemm_cublas(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
                  int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  detail::check_gemm_args("cuda::sgemm_cublas", trans_a, trans_b, M, N, K, A, lda, B, ldb, C, ldc);
  if (M == 0 || N == 0) return;
  if (K == 0) {  // cuBLAS does not promise C = beta * C with beta == 0 overwriting here; the tiled path does
    sgemm(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    return;
  }
  check_int_dims("cuda::sgemm_cublas", M, N, K, lda, ldb, ldc);
  // Row-major C = op(A) op(B) is column-major C^T = op(B)^T op(A)^T, and a row-major matrix read column-major is
  // its transpose: so cuBLAS gets B first, with the same transpose flags, and the dimensions swapped.
  VIGIL_CUBLAS_CHECK(cublasSgemm(cublas::handle(), trans_b ? CUBLAS_OP_T : CUBLAS_OP_N,
                                 trans_a ? CUBLAS_OP_T : CUBLAS_OP_N, static_cast<int>(N), static_cast<int>(M),
                                 static_cast<int>(K), &alpha, B, static_cast<int>(ldb), A, static_cast<int>(lda),
                                 &beta, C, static_cast<int>(ldc)));
}

void add_row_bias(int64_t rows, int64_t cols, const float* b, float* y) {
  if (rows == 0 || cols == 0) return;
  const int block = launch::block_size(256);
  VIGIL_LAUNCH(launch::grid_size(rows * cols, block), block, 0, gpu::stream(), add_row_bias_kernel)(rows, cols, b, y);
  VIGIL_CUDA_CHECK_LAUNCH("add_row_bias_kernel");
}

void column_sum(int64_t rows, int64_t cols, const float* dy, float* db) {
  if (cols == 0) return;
  const int block = launch::block_size(256);
  const int64_t groups = (cols + 31) / 32;
  VIGIL_LAUNCH(launch::grid_size(groups, 1), block, 0, gpu::stream(), column_sum_kernel)(rows, cols, dy, db);
  VIGIL_CUDA_CHECK_LAUNCH("column_sum_kernel");
}

}  // namespace vigil::ops::cuda
