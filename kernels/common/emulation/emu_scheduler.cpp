// The CUDA emulator's launch and scheduler: checks a launch like the CUDA runtime does, then runs the grid's blocks
// one after another on the launching host thread, every CUDA thread as a fiber. A warp runs ahead until all its
// lanes wait at a __syncthreads (warp-synchronous operations resolve as soon as every lane in the mask has arrived),
// then the next warp runs; warps, lanes and blocks go in the order VIGIL_EMU_SCHEDULE picks: forward (default),
// reverse, random or random:<seed>. A result that changes with the schedule is a race.
//
// Mutable state: the built-in variables and the running block are per host thread (__thread / thread_local), as a
// kernel's threads all run on the host thread that launched it; the schedule is read once per process.
#include <algorithm>
#include <cinttypes>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "common/emulation/emu_fiber.h"
#include "common/emulation/emu_runtime.h"
#include "common/emulation/vigil_cuda_emu.h"

// CUDA's built-in variables (declared in vigil_cuda_emu.h), written before each fiber resumes.
__thread uint3 threadIdx;
__thread uint3 blockIdx;
__thread dim3 blockDim;
__thread dim3 gridDim;

namespace vigil::emu {
namespace {

enum class Order { Forward, Reverse, Random };
struct Schedule {
  Order order = Order::Forward;
  uint64_t seed = 1;
};

// VIGIL_EMU_SCHEDULE: forward | reverse | random | random:<seed>. Anything else stops the process: a CI job must not
// silently run another schedule than it names.
Schedule parse_schedule() {
  Schedule s;
  const char* v = std::getenv("VIGIL_EMU_SCHEDULE");
  const std::string text = v ? v : "";
  if (text.empty() || text == "forward") return s;
  if (text == "reverse") {
    s.order = Order::Reverse;
    return s;
  }
  if (text == "random" || text.rfind("random:", 0) == 0) {
    s.order = Order::Random;
    char* end = nullptr;
    if (text.size() > 7) s.seed = std::strtoull(text.c_str() + 7, &end, 10);
    if (text.size() <= 7 || *end == '\0') return s;
  }
  std::fprintf(stderr, "vigil CUDA emulation: VIGIL_EMU_SCHEDULE='%s' is not forward, reverse, random or "
                       "random:<seed>\n", text.c_str());
  std::exit(2);
}

const Schedule& schedule() {
  static const Schedule s = parse_schedule();
  return s;
}

// splitmix64: the random schedule's generator, seeded per launch so a run is reproducible.
struct Rng {
  uint64_t state;
  uint64_t next() {
    uint64_t z = (state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  uint64_t below(uint64_t n) { return next() % n; }
};

// 0..n-1 in the schedule's order.
void fill_order(std::vector<int>& v, int n, Rng& rng) {
  v.resize(n);
  for (int i = 0; i < n; ++i) v[i] = i;
  if (schedule().order == Order::Reverse) std::reverse(v.begin(), v.end());
  if (schedule().order == Order::Random)
    for (int i = n - 1; i > 0; --i) std::swap(v[i], v[rng.below(static_cast<uint64_t>(i) + 1)]);
}

const char* op_name(WarpOp op) {
  switch (op) {
    case WarpOp::ShflIdx: return "__shfl_sync";
    case WarpOp::ShflUp: return "__shfl_up_sync";
    case WarpOp::ShflDown: return "__shfl_down_sync";
    case WarpOp::ShflXor: return "__shfl_xor_sync";
    case WarpOp::Sync: return "__syncwarp";
    case WarpOp::Ballot: return "__ballot_sync";
    case WarpOp::Any: return "__any_sync";
    case WarpOp::All: return "__all_sync";
  }
  return "?";
}

std::string format(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
std::string format(const char* fmt, ...) {
  char buf[512];
  va_list ap;
  va_start(ap, fmt);
  std::vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  return buf;
}

// Source file name without its directories, for short messages.
const char* base_name(const char* path) {
  const char* slash = std::strrchr(path, '/');
  return slash ? slash + 1 : path;
}

enum class State : uint8_t { Runnable, AtBarrier, AtWarpOp, Exited };

// One emulated CUDA thread.
struct EmuThread {
  Fiber fiber;
  uint3 idx;
  int linear = 0;
  State state = State::Runnable;
  const char* file = "";  // where it waits (barrier or warp operation)
  int line = 0;
  WarpOp op = WarpOp::Sync;
  unsigned mask = 0;
  uint64_t value = 0, result = 0;
  int arg = 0, width = 32;
};

class BlockRunner;
thread_local BlockRunner* tls_runner = nullptr;  // the block running on this host thread, if any
thread_local EmuThread* tls_current = nullptr;   // the fiber running now
thread_local StackPool tls_stacks;
thread_local uint64_t tls_launches = 0;

// Runs the blocks of one launch, one at a time, on the calling host thread.
class BlockRunner {
 public:
  BlockRunner(const LaunchSite& site, void (*body)(void*), void* ctx, uint64_t seed)
      : body_(body), ctx_(ctx), rng_{seed} {
    const int n = static_cast<int>(site.block.x * site.block.y * site.block.z);
    threads_.resize(n);
    for (int i = 0; i < n; ++i) {
      threads_[i].linear = i;
      threads_[i].idx = uint3{static_cast<unsigned>(i) % site.block.x,
                              static_cast<unsigned>(i) / site.block.x % site.block.y,
                              static_cast<unsigned>(i) / (site.block.x * site.block.y)};
    }
  }

  // Runs block `b` to completion; false (with fault()) when the emulator caught an error.
  bool run(uint3 b);
  const std::string& fault() const { return fault_; }

  // Called on a fiber: park at a barrier or warp operation until the scheduler resumes it.
  void park(EmuThread& t) { fiber_switch(t.fiber, host_); }

 private:
  static void thread_main(void* arg);
  void resume(EmuThread& t);
  bool run_warp(int w);
  int resolve_warp(int w, int lanes);
  bool check_group(const EmuThread& t, int w, int lanes, bool& ready);
  bool finish_group(const EmuThread& t, int w);
  bool release_barrier(bool& done);
  bool fail(const std::string& why) {
    if (fault_.empty()) fault_ = why;
    return false;
  }
  EmuThread& lane(int w, int l) { return threads_[w * 32 + l]; }

  void (*body_)(void*);
  void* ctx_;
  Rng rng_;
  std::vector<EmuThread> threads_;
  std::vector<int> warp_order_, lane_order_;
  Fiber host_;
  std::string fault_;
};

void BlockRunner::thread_main(void* arg) {
  EmuThread& t = *static_cast<EmuThread*>(arg);
  BlockRunner& r = *tls_runner;
  fiber_started(t.fiber, r.host_);
  try {
    r.body_(r.ctx_);
  } catch (...) {  // kernels do not throw; never unwind past the fiber's first frame
    r.fail(format("thread %d threw a C++ exception", t.linear));
  }
  t.state = State::Exited;
  fiber_exit(t.fiber, r.host_);
}

void BlockRunner::resume(EmuThread& t) {
  tls_current = &t;
  threadIdx = t.idx;
  fiber_switch(host_, t.fiber);
  tls_current = nullptr;
}

bool BlockRunner::run(uint3 b) {
  blockIdx = b;
  const size_t n = threads_.size();
  for (size_t i = 0; i < n; ++i) {
    EmuThread& t = threads_[i];
    t.state = State::Runnable;
    fiber_prepare(t.fiber, tls_stacks.stack(i, n), StackPool::kStackBytes, &thread_main, &t);
  }
  const int warps = static_cast<int>((n + 31) / 32);
  for (bool done = false; !done;) {
    fill_order(warp_order_, warps, rng_);
    for (int w : warp_order_) {
      if (!run_warp(w)) {
        tls_stacks.mark_dirty(n);  // abandoned fibers leave their frames behind
        return false;
      }
    }
    if (!release_barrier(done)) {
      tls_stacks.mark_dirty(n);
      return false;
    }
  }
  return true;
}

// Runs warp w's lanes until each has exited or waits at a __syncthreads, resolving warp operations on the way.
bool BlockRunner::run_warp(int w) {
  const int lanes = std::min<int>(32, static_cast<int>(threads_.size()) - w * 32);
  for (;;) {
    fill_order(lane_order_, lanes, rng_);
    for (int l : lane_order_) {
      EmuThread& t = lane(w, l);
      if (t.state == State::Runnable) resume(t);
      if (!fault_.empty()) return false;
    }
    const int released = resolve_warp(w, lanes);
    if (released < 0) return false;
    if (released == 0) break;
  }
  for (int l = 0; l < lanes; ++l) {
    const EmuThread& t = lane(w, l);
    if (t.state != State::AtWarpOp) continue;
    for (int j = 0; j < lanes; ++j) {  // name a lane it waits for; that lane is at a __syncthreads
      const EmuThread& u = lane(w, j);
      if ((t.mask >> j & 1u) && u.state == State::AtBarrier)
        return fail(format("deadlock: lane %d of warp %d waits at %s (%s:%d) for lane %d, which waits at "
                           "__syncthreads (%s:%d)", l, w, op_name(t.op), base_name(t.file), t.line, j,
                           base_name(u.file), u.line));
    }
    return fail(format("lane %d of warp %d waits at %s (%s:%d) forever", l, w, op_name(t.op), base_name(t.file),
                       t.line));
  }
  return true;
}

bool same_site(const EmuThread& a, const EmuThread& b) {
  return a.line == b.line && (a.file == b.file || std::strcmp(a.file, b.file) == 0);
}

// Validates the warp operation lane t waits at; ready: every lane of its mask waits there too.
bool BlockRunner::check_group(const EmuThread& t, int w, int lanes, bool& ready) {
  const int l = t.linear - w * 32;
  auto where = [&] { return format("%s at %s:%d (warp %d)", op_name(t.op), base_name(t.file), t.line, w); };
  if (!(t.mask >> l & 1u))
    return fail(format("%s: lane %d's mask 0x%08x leaves out lane %d itself", where().c_str(), l, t.mask, l));
  if (t.width < 1 || t.width > 32 || (t.width & (t.width - 1)) != 0)
    return fail(format("%s: width %d is not a power of 2 in [1, 32]", where().c_str(), t.width));
  ready = true;
  for (int j = 0; j < 32; ++j) {
    if (!(t.mask >> j & 1u)) continue;
    if (j >= lanes)
      return fail(format("%s: mask 0x%08x names lane %d, which does not exist (this warp has %d lanes; %zu threads "
                         "per block)", where().c_str(), t.mask, j, lanes, threads_.size()));
    const EmuThread& u = lane(w, j);
    if (u.state == State::Exited)
      return fail(format("%s: lane %d named in the mask 0x%08x has exited", where().c_str(), j, t.mask));
    if (u.state != State::AtWarpOp) {
      ready = false;
      continue;
    }
    if (u.op != t.op || !same_site(u, t))
      return fail(format("lanes %d and %d of warp %d wait at different warp operations: %s at %s:%d and %s at %s:%d",
                         l, j, w, op_name(t.op), base_name(t.file), t.line, op_name(u.op), base_name(u.file),
                         u.line));
    if (u.mask != t.mask)
      return fail(format("%s: lanes %d and %d pass different masks 0x%08x and 0x%08x", where().c_str(), l, j,
                         t.mask, u.mask));
  }
  return true;
}

// Every lane of t's mask waits at t's operation: computes each lane's result and lets them all run on.
bool BlockRunner::finish_group(const EmuThread& t, int w) {
  const unsigned mask = t.mask;
  const int width = t.width;
  uint64_t ballot = 0;
  for (int j = 0; j < 32; ++j)
    if ((mask >> j & 1u) && lane(w, j).value != 0) ballot |= uint64_t(1) << j;
  for (int j = 0; j < 32; ++j) {
    if (!(mask >> j & 1u)) continue;
    EmuThread& u = lane(w, j);
    const int seg = j & ~(width - 1), pos = j & (width - 1);
    int src = j;
    switch (t.op) {
      case WarpOp::ShflIdx: src = seg + (u.arg & (width - 1)); break;
      case WarpOp::ShflUp: src = u.arg >= 0 && pos >= u.arg ? j - u.arg : j; break;
      case WarpOp::ShflDown: src = u.arg >= 0 && pos + u.arg < width ? j + u.arg : j; break;
      case WarpOp::ShflXor: {
        const int x = j ^ u.arg;  // lanes may read earlier segments, not later ones
        src = x >= 0 && x < 32 && (x & ~(width - 1)) <= seg ? x : j;
        break;
      }
      case WarpOp::Sync: u.result = 0; continue;
      case WarpOp::Ballot: u.result = ballot; continue;
      case WarpOp::Any: u.result = ballot != 0; continue;
      case WarpOp::All: u.result = ballot == mask; continue;
    }
    if (src != j && !(mask >> src & 1u))
      return fail(format("%s at %s:%d (warp %d): lane %d reads lane %d, which is not in the mask 0x%08x", op_name(t.op),
                         base_name(t.file), t.line, w, j, src, mask));
    u.result = lane(w, src).value;
  }
  for (int j = 0; j < 32; ++j)
    if (mask >> j & 1u) lane(w, j).state = State::Runnable;
  return true;
}

// Resolves the warp operations whose lanes have all arrived; returns how many lanes it released, -1 on a fault.
int BlockRunner::resolve_warp(int w, int lanes) {
  int released = 0;
  for (int l = 0; l < lanes; ++l) {
    const EmuThread& t = lane(w, l);
    if (t.state != State::AtWarpOp) continue;
    bool ready = false;
    if (!check_group(t, w, lanes, ready)) return -1;
    if (!ready) continue;
    const unsigned mask = t.mask;
    if (!finish_group(t, w)) return -1;
    released += __builtin_popcount(mask);
  }
  return released;
}

// Every warp has run; every live thread must wait at the same __syncthreads. done: all threads have exited.
bool BlockRunner::release_barrier(bool& done) {
  const EmuThread* first = nullptr;
  for (const EmuThread& t : threads_) {
    if (t.state == State::Exited) continue;
    if (first == nullptr) {
      first = &t;
    } else if (!same_site(t, *first)) {
      return fail(format("divergent __syncthreads: thread %d waits at %s:%d, thread %d at %s:%d", first->linear,
                         base_name(first->file), first->line, t.linear, base_name(t.file), t.line));
    }
  }
  done = first == nullptr;
  for (EmuThread& t : threads_)
    if (t.state == State::AtBarrier) t.state = State::Runnable;
  return true;
}

// Why a launch configuration would be rejected by a GPU (compute capability 9.0 limits), or "".
std::string check_config(const LaunchSite& s) {
  const dim3 g = s.grid, b = s.block;
  if (g.x == 0 || g.y == 0 || g.z == 0 || b.x == 0 || b.y == 0 || b.z == 0)
    return format("grid (%u, %u, %u) or block (%u, %u, %u) has a zero dimension", g.x, g.y, g.z, b.x, b.y, b.z);
  if (b.x > 1024 || b.y > 1024 || b.z > 64)
    return format("block (%u, %u, %u) is over the per-dimension limits (1024, 1024, 64)", b.x, b.y, b.z);
  const uint64_t threads = uint64_t(b.x) * b.y * b.z;
  if (threads > static_cast<uint64_t>(kMaxThreadsPerBlock))
    return format("block (%u, %u, %u) has %" PRIu64 " threads, over the limit of %d", b.x, b.y, b.z, threads,
                  kMaxThreadsPerBlock);
  if (g.x > 2147483647u || g.y > 65535 || g.z > 65535)
    return format("grid (%u, %u, %u) is over the limits (2^31 - 1, 65535, 65535)", g.x, g.y, g.z);
  if (s.shared_bytes > kMaxSharedBytes)
    return format("%zu bytes of dynamic shared memory, over the %zu-byte limit", s.shared_bytes, kMaxSharedBytes);
  return "";
}

// Block visiting order: the schedule's order over the linear block index (x fastest).
std::vector<uint64_t> block_order(uint64_t total, Rng& rng) {
  std::vector<uint64_t> order(total);
  for (uint64_t i = 0; i < total; ++i) order[i] = schedule().order == Order::Reverse ? total - 1 - i : i;
  if (schedule().order == Order::Random)
    for (uint64_t i = total - 1; i > 0; --i) std::swap(order[i], order[rng.below(i + 1)]);
  return order;
}

// Runs every block; returns the fault ("" when none) prefixed with the faulting block.
std::string run_grid(const LaunchSite& s, void (*body)(void*), void* ctx) {
  Rng rng{schedule().seed * 0x9e3779b97f4a7c15ull + ++tls_launches};
  BlockRunner runner(s, body, ctx, rng.next());
  gridDim = s.grid;
  blockDim = s.block;
  struct Guard {
    explicit Guard(BlockRunner* r) { tls_runner = r; }
    ~Guard() { tls_runner = nullptr; }
  } guard(&runner);
  const uint64_t total = uint64_t(s.grid.x) * s.grid.y * s.grid.z;
  for (uint64_t k : block_order(total, rng)) {
    const uint3 b{static_cast<unsigned>(k % s.grid.x), static_cast<unsigned>(k / s.grid.x % s.grid.y),
                  static_cast<unsigned>(k / (uint64_t(s.grid.x) * s.grid.y))};
    if (!runner.run(b)) return format("block (%u, %u, %u): ", b.x, b.y, b.z) + runner.fault();
  }
  return "";
}

}  // namespace

void sync_threads(const char* file, int line) {
  EmuThread* t = tls_current;
  if (t == nullptr) {
    std::fprintf(stderr, "vigil CUDA emulation: __syncthreads outside a kernel (%s:%d)\n", file, line);
    std::abort();
  }
  t->state = State::AtBarrier;
  t->file = file;
  t->line = line;
  tls_runner->park(*t);
}

uint64_t warp_op(WarpOp op, unsigned mask, uint64_t value, int arg, int width, const char* file, int line) {
  EmuThread* t = tls_current;
  if (t == nullptr) {
    std::fprintf(stderr, "vigil CUDA emulation: %s outside a kernel (%s:%d)\n", op_name(op), file, line);
    std::abort();
  }
  t->state = State::AtWarpOp;
  t->op = op;
  t->mask = mask;
  t->value = value;
  t->arg = arg;
  t->width = width;
  t->file = file;
  t->line = line;
  tls_runner->park(*t);
  return t->result;
}

void launch(const LaunchSite& s, const PointerArg* pointers, int n_pointers, void (*body)(void*), void* ctx) {
  auto where = [&] { return format("%s launched at %s:%d", s.kernel, base_name(s.file), s.line); };
  if (tls_runner != nullptr) {
    set_sticky_error(cudaErrorLaunchFailure, where() + ": a launch from inside a kernel (not emulated)");
    return;
  }
  if (sticky_error() != cudaSuccess) return;  // a faulted context runs nothing more
  const std::string bad = check_config(s);
  if (!bad.empty()) {
    set_error(cudaErrorInvalidConfiguration, where() + ": " + bad);
    return;
  }
  if (!is_valid_stream(s.stream)) {
    set_error(cudaErrorInvalidResourceHandle, where() + ": unknown or destroyed stream");
    return;
  }
  for (int i = 0; i < n_pointers; ++i) {
    if (device_accessible(pointers[i].ptr)) continue;
    set_sticky_error(cudaErrorIllegalAddress,
                     where() + format(": kernel argument %d (%p) is not a device pointer: it lies in no live device "
                                    "allocation (host memory, or a freed buffer)",
                                    pointers[i].index + 1, pointers[i].ptr));
    return;
  }
  const std::string fault = run_grid(s, body, ctx);
  if (!fault.empty()) set_sticky_error(cudaErrorLaunchFailure, where() + ": " + fault);
}

}  // namespace vigil::emu
