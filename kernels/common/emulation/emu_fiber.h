// Cooperative fibers for the CUDA emulator: one per emulated CUDA thread, switched by a short x86-64 routine (or
// ucontext elsewhere, or with -DVIGIL_EMU_UCONTEXT=1), on guard-paged stacks that a host thread reuses.
#pragma once
#include <cstddef>
#include <vector>

#if !defined(__x86_64__) && !defined(VIGIL_EMU_UCONTEXT)
#define VIGIL_EMU_UCONTEXT 1
#endif
#if VIGIL_EMU_UCONTEXT
#include <ucontext.h>
#endif

namespace vigil::emu {

// A saved execution context. The host thread's own context (the scheduler's) is a Fiber with no stack of its own.
struct Fiber {
#if VIGIL_EMU_UCONTEXT
  ucontext_t uc;
#else
  void* sp = nullptr;  // saved stack pointer; the callee-saved registers sit on the stack
#endif
  char* stack_lo = nullptr;  // usable stack [stack_lo, stack_lo + stack_size); null for the host thread's
  size_t stack_size = 0;
  void* asan_fake_stack = nullptr;  // AddressSanitizer's per-fiber bookkeeping
  void (*entry)(void*) = nullptr;
  void* arg = nullptr;
};

// Makes `f` start entry(arg) on [stack_lo, stack_lo + size) at its first switch_to. entry must never return: it
// ends with fiber_exit.
void fiber_prepare(Fiber& f, char* stack_lo, size_t size, void (*entry)(void*), void* arg);
// Saves the running context in `from` and resumes `to`; returns when something switches back to `from`.
void fiber_switch(Fiber& from, Fiber& to);
// Leaves the finished fiber `self` for `to` for good (its stack may then be reused).
[[noreturn]] void fiber_exit(Fiber& self, Fiber& to);
// Call first thing in a fiber's entry function (AddressSanitizer bookkeeping of the switch that started it).
void fiber_started(Fiber& self, Fiber& from);

// Guard-paged stacks, grown on demand and kept for reuse by the owning host thread.
class StackPool {
 public:
  static constexpr size_t kStackBytes = size_t(256) << 10;
  StackPool() = default;
  ~StackPool();
  StackPool(const StackPool&) = delete;
  StackPool& operator=(const StackPool&) = delete;
  // The usable low end of stack i (i < count), creating stacks up to count.
  char* stack(size_t i, size_t count);
  // Stacks abandoned mid-call (a faulted block) keep AddressSanitizer poison; clean them before reuse.
  void mark_dirty(size_t count);

 private:
  std::vector<char*> stacks_;  // mmap'd regions: a guard page, then kStackBytes
  std::vector<bool> dirty_;
};

}  // namespace vigil::emu
