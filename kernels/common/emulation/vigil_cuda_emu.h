// Forced include (-include) for every *_cuda.cu compiled as C++ in a VIGIL_CUDA_EMULATION build: CUDA's qualifiers,
// built-in variables, barriers, warp shuffles and intrinsics, and the launch object behind VIGIL_LAUNCH. Each CUDA
// thread runs as a fiber on the launching host thread (emu_scheduler.cpp); see docs/CUDA-EMULATION.md.
#pragma once
#include <cuda_runtime.h>
#include <math.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <tuple>
#include <type_traits>
#include <utility>

#ifndef VIGIL_CUDA_EMULATION
#define VIGIL_CUDA_EMULATION 1
#endif

// ---- qualifiers: no-ops on the CPU, except __shared__ ----
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __launch_bounds__(...)
#define __align__(n) __attribute__((aligned(n)))
// All fibers of a block run on one host thread, one block at a time, so a thread-local static is shared by exactly
// the threads of the running block (as on a GPU, its contents are undefined when a block starts).
#define __shared__ static thread_local
// __restrict__ is a GCC/Clang keyword already. __noinline__ is not defined: libstdc++ itself writes
// __attribute__((__noinline__)).

// ---- built-in variables: set by the scheduler before it resumes a fiber (per host thread, hence __thread) ----
extern __thread uint3 threadIdx;
extern __thread uint3 blockIdx;
extern __thread dim3 blockDim;
extern __thread dim3 gridDim;
constexpr int warpSize = 32;

namespace vigil::emu {

// What a fiber waits for at a warp-synchronous intrinsic.
enum class WarpOp : uint8_t { ShflIdx, ShflUp, ShflDown, ShflXor, Sync, Ballot, Any, All };

// Block-wide barrier: returns when every live thread of the block waits at the same call site.
void sync_threads(const char* file, int line);
// Warp-synchronous operation: returns when every lane named in `mask` has reached the same call site; `value` is
// this lane's operand (bit pattern, up to 8 bytes), `arg` the lane / delta / xor mask, `width` the segment width.
uint64_t warp_op(WarpOp op, unsigned mask, uint64_t value, int arg, int width, const char* file, int line);

template <typename T>
uint64_t to_bits(T v) {
  static_assert(sizeof(T) <= 8 && std::is_trivially_copyable_v<T>, "warp shuffles take values of at most 8 bytes");
  uint64_t bits = 0;
  std::memcpy(&bits, &v, sizeof(T));
  return bits;
}
template <typename T>
T from_bits(uint64_t bits) {
  T v;
  std::memcpy(&v, &bits, sizeof(T));
  return v;
}

}  // namespace vigil::emu

// ---- barriers and warp intrinsics; the default arguments record the caller's site ----
inline void __syncthreads(const char* file = __builtin_FILE(), int line = __builtin_LINE()) {
  ::vigil::emu::sync_threads(file, line);
}
inline void __syncwarp(unsigned mask = 0xffffffffu, const char* file = __builtin_FILE(), int line = __builtin_LINE()) {
  ::vigil::emu::warp_op(::vigil::emu::WarpOp::Sync, mask, 0, 0, 32, file, line);
}
template <typename T>
T __shfl_sync(unsigned mask, T v, int src_lane, int width = 32, const char* file = __builtin_FILE(),
              int line = __builtin_LINE()) {
  using namespace ::vigil::emu;
  return from_bits<T>(warp_op(WarpOp::ShflIdx, mask, to_bits(v), src_lane, width, file, line));
}
template <typename T>
T __shfl_up_sync(unsigned mask, T v, unsigned delta, int width = 32, const char* file = __builtin_FILE(),
                 int line = __builtin_LINE()) {
  using namespace ::vigil::emu;
  return from_bits<T>(warp_op(WarpOp::ShflUp, mask, to_bits(v), static_cast<int>(delta), width, file, line));
}
template <typename T>
T __shfl_down_sync(unsigned mask, T v, unsigned delta, int width = 32, const char* file = __builtin_FILE(),
                   int line = __builtin_LINE()) {
  using namespace ::vigil::emu;
  return from_bits<T>(warp_op(WarpOp::ShflDown, mask, to_bits(v), static_cast<int>(delta), width, file, line));
}
template <typename T>
T __shfl_xor_sync(unsigned mask, T v, int lane_mask, int width = 32, const char* file = __builtin_FILE(),
                  int line = __builtin_LINE()) {
  using namespace ::vigil::emu;
  return from_bits<T>(warp_op(WarpOp::ShflXor, mask, to_bits(v), lane_mask, width, file, line));
}
inline unsigned __ballot_sync(unsigned mask, int pred, const char* file = __builtin_FILE(),
                              int line = __builtin_LINE()) {
  return static_cast<unsigned>(::vigil::emu::warp_op(::vigil::emu::WarpOp::Ballot, mask, pred != 0, 0, 32, file, line));
}
inline int __any_sync(unsigned mask, int pred, const char* file = __builtin_FILE(), int line = __builtin_LINE()) {
  return static_cast<int>(::vigil::emu::warp_op(::vigil::emu::WarpOp::Any, mask, pred != 0, 0, 32, file, line));
}
inline int __all_sync(unsigned mask, int pred, const char* file = __builtin_FILE(), int line = __builtin_LINE()) {
  return static_cast<int>(::vigil::emu::warp_op(::vigil::emu::WarpOp::All, mask, pred != 0, 0, 32, file, line));
}

// ---- intrinsics: IEEE host arithmetic (the _rn forms round to nearest, as the host does by default) ----
inline float __fmul_rn(float a, float b) { return a * b; }
inline float __fadd_rn(float a, float b) { return a + b; }
inline float __fsub_rn(float a, float b) { return a - b; }
inline float __fdiv_rn(float a, float b) { return a / b; }
inline float __fmaf_rn(float a, float b, float c) { return fmaf(a, b, c); }
inline float __expf(float x) { return expf(x); }
inline float __logf(float x) { return logf(x); }
inline float rsqrtf(float x) { return 1.f / sqrtf(x); }
inline float __saturatef(float x) { return x < 0.f ? 0.f : (x > 1.f ? 1.f : x); }
inline unsigned __float_as_uint(float f) { return ::vigil::emu::from_bits<unsigned>(::vigil::emu::to_bits(f)); }
inline float __uint_as_float(unsigned u) { return ::vigil::emu::from_bits<float>(::vigil::emu::to_bits(u)); }
inline int __float_as_int(float f) { return ::vigil::emu::from_bits<int>(::vigil::emu::to_bits(f)); }
inline float __int_as_float(int i) { return ::vigil::emu::from_bits<float>(::vigil::emu::to_bits(i)); }
template <typename T>
T __ldg(const T* p) {
  return *p;
}

// ---- kernel launch: VIGIL_LAUNCH(grid, block, smem, stream, kernel)(args...) (cuda_utils.cuh) ----
namespace vigil::emu {

struct LaunchSite {
  dim3 grid, block;
  size_t shared_bytes;
  cudaStream_t stream;
  const char* file;
  int line;
  const char* kernel;
};

// A raw-pointer kernel argument: the launch checks that it points into a live device (or pinned) allocation.
struct PointerArg {
  int index;  // position in the argument list, from 0
  const void* ptr;
};

// Validates the launch (limits, stream, pointer arguments) and runs every block; `body(ctx)` runs one CUDA thread.
// Errors surface through cudaGetLastError, as on a GPU.
void launch(const LaunchSite& site, const PointerArg* pointers, int n_pointers, void (*body)(void*), void* ctx);

template <typename Kernel>
class BoundLaunch {
 public:
  BoundLaunch(const LaunchSite& site, Kernel kernel) : site_(site), kernel_(std::move(kernel)) {}

  // Kernel parameters are copied once, as the launch does on a GPU; every thread then calls the kernel with them.
  template <typename... Args>
  void operator()(Args&&... args) {
    std::tuple<std::decay_t<Args>...> params(std::forward<Args>(args)...);
    run(params, std::index_sequence_for<Args...>{});
  }

 private:
  template <typename T>
  static void note_pointer(PointerArg* out, int& n, int index, const T& value) {
    if constexpr (std::is_pointer_v<T>) {
      if (value != nullptr) out[n++] = PointerArg{index, (const void*)value};  // C cast: drops const/volatile
    }
  }

  template <typename Tuple, size_t... I>
  void run(Tuple& params, std::index_sequence<I...>) {
    PointerArg pointers[sizeof...(I) + 1];
    int n = 0;
    (note_pointer(pointers, n, static_cast<int>(I), std::get<I>(params)), ...);
    struct Ctx {
      Kernel* kernel;
      Tuple* params;
    } ctx{&kernel_, &params};
    auto body = [](void* c) {
      Ctx* x = static_cast<Ctx*>(c);
      std::apply(*x->kernel, *x->params);
    };
    launch(site_, pointers, n, body, &ctx);
  }

  LaunchSite site_;
  Kernel kernel_;
};

class Launch {
 public:
  Launch(dim3 grid, dim3 block, size_t shared_bytes, cudaStream_t stream, const char* file, int line,
         const char* kernel)
      : site_{grid, block, shared_bytes, stream, file, line, kernel} {}
  template <typename Kernel>
  BoundLaunch<Kernel> kernel(Kernel k) const {
    return BoundLaunch<Kernel>(site_, std::move(k));
  }

 private:
  LaunchSite site_;
};

}  // namespace vigil::emu
