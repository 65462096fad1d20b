// Fiber context switching and stack pool for the CUDA emulator (x86-64 assembly switch, ucontext fallback), with
// the AddressSanitizer fiber annotations so ASan builds follow the stack switches.
// Mutable state: only the ucontext fallback's per-host-thread "fiber being started" pointer.
#include "common/emulation/emu_fiber.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>

#if defined(__SANITIZE_ADDRESS__)
#define VIGIL_EMU_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define VIGIL_EMU_ASAN 1
#endif
#endif
#if VIGIL_EMU_ASAN
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif

namespace vigil::emu {
namespace {

// Runs a fiber's entry function; entry functions end with fiber_exit, so this never returns.
[[noreturn]] void fiber_main(Fiber* f) {
  f->entry(f->arg);
  std::fprintf(stderr, "vigil CUDA emulation: a fiber's entry function returned\n");
  std::abort();
}

}  // namespace
}  // namespace vigil::emu

#if !VIGIL_EMU_UCONTEXT
// vigil_emu_switch(save_sp, new_sp): pushes the callee-saved registers, stores the stack pointer in *save_sp, then
// pops the same from new_sp. MXCSR and the x87 control word are not switched (ldmxcsr/fldcw are slow, and no kernel
// changes rounding modes): every fiber shares its host thread's. vigil_emu_fiber_start is where a new fiber first
// "returns" to: it calls r13(r12), i.e. fiber_main(fiber), on a 16-byte aligned stack.
extern "C" void vigil_emu_switch(void** save_sp, void* new_sp);
extern "C" void vigil_emu_fiber_start();
asm(R"(
    .pushsection .text
    .globl vigil_emu_switch
    .hidden vigil_emu_switch
    .type vigil_emu_switch, @function
vigil_emu_switch:
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    movq %rsp, (%rdi)
    movq %rsi, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
    ret
    .size vigil_emu_switch, .-vigil_emu_switch

    .globl vigil_emu_fiber_start
    .hidden vigil_emu_fiber_start
    .type vigil_emu_fiber_start, @function
vigil_emu_fiber_start:
    movq %r12, %rdi
    callq *%r13
    ud2
    .size vigil_emu_fiber_start, .-vigil_emu_fiber_start
    .popsection
)");
#endif

namespace vigil::emu {
namespace {

#if VIGIL_EMU_UCONTEXT
thread_local Fiber* tls_starting = nullptr;  // the fiber a ucontext switch is about to start
void ucontext_main() { fiber_main(tls_starting); }
#endif

void raw_switch(Fiber& from, Fiber& to) {
#if VIGIL_EMU_UCONTEXT
  tls_starting = &to;
  swapcontext(&from.uc, &to.uc);
#else
  vigil_emu_switch(&from.sp, to.sp);
#endif
}

size_t page_size() {
  static const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  return page;
}

}  // namespace

void fiber_prepare(Fiber& f, char* stack_lo, size_t size, void (*entry)(void*), void* arg) {
  f.stack_lo = stack_lo;
  f.stack_size = size;
  f.entry = entry;
  f.arg = arg;
  f.asan_fake_stack = nullptr;
#if VIGIL_EMU_UCONTEXT
  getcontext(&f.uc);
  f.uc.uc_stack.ss_sp = stack_lo;
  f.uc.uc_stack.ss_size = size;
  f.uc.uc_link = nullptr;
  makecontext(&f.uc, ucontext_main, 0);
#else
  // Frame popped by vigil_emu_switch: r15, r14, r13, r12, rbx, rbp, return address.
  const uintptr_t top = (reinterpret_cast<uintptr_t>(stack_lo) + size) & ~uintptr_t(15);
  uint64_t* ret = reinterpret_cast<uint64_t*>(top - 24);  // 8 mod 16: after `ret`, rsp is 16-byte aligned
  uint64_t* sp = ret - 6;
  sp[0] = 0;                                        // r15
  sp[1] = 0;                                        // r14
  sp[2] = reinterpret_cast<uint64_t>(&fiber_main);  // r13
  sp[3] = reinterpret_cast<uint64_t>(&f);           // r12
  sp[4] = 0;                                        // rbx
  sp[5] = 0;                                        // rbp
  *ret = reinterpret_cast<uint64_t>(&vigil_emu_fiber_start);
  f.sp = sp;
#endif
}

void fiber_switch(Fiber& from, Fiber& to) {
#if VIGIL_EMU_ASAN
  __sanitizer_start_switch_fiber(&from.asan_fake_stack, to.stack_lo, to.stack_size);
#endif
  raw_switch(from, to);
#if VIGIL_EMU_ASAN
  __sanitizer_finish_switch_fiber(from.asan_fake_stack, nullptr, nullptr);
#endif
}

void fiber_started(Fiber& self, Fiber& from) {
  (void)self;
#if VIGIL_EMU_ASAN
  const void* lo = nullptr;
  size_t size = 0;
  __sanitizer_finish_switch_fiber(nullptr, &lo, &size);
  if (from.stack_lo == nullptr) {  // the host thread's stack: learn its bounds for the switches back
    from.stack_lo = static_cast<char*>(const_cast<void*>(lo));
    from.stack_size = size;
  }
#else
  (void)from;
#endif
}

void fiber_exit(Fiber& self, Fiber& to) {
#if VIGIL_EMU_ASAN
  __sanitizer_start_switch_fiber(nullptr, to.stack_lo, to.stack_size);
#endif
  raw_switch(self, to);
  std::fprintf(stderr, "vigil CUDA emulation: a finished fiber was resumed\n");
  std::abort();
}

StackPool::~StackPool() {
  for (char* s : stacks_) munmap(s, kStackBytes + page_size());
}

char* StackPool::stack(size_t i, size_t count) {
  while (stacks_.size() < count) {
    const size_t bytes = kStackBytes + page_size();
    void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK,
                   -1, 0);
    if (p == MAP_FAILED) {
      std::fprintf(stderr, "vigil CUDA emulation: cannot map a %zu-byte fiber stack\n", bytes);
      std::abort();
    }
    mprotect(p, page_size(), PROT_NONE);  // guard page below the stack: an overflow faults at once
    stacks_.push_back(static_cast<char*>(p));
    dirty_.push_back(false);
  }
  if (dirty_[i]) {
#if VIGIL_EMU_ASAN
    ASAN_UNPOISON_MEMORY_REGION(stacks_[i] + page_size(), kStackBytes);
#endif
    dirty_[i] = false;
  }
  return stacks_[i] + page_size();
}

void StackPool::mark_dirty(size_t count) {
  for (size_t i = 0; i < count && i < dirty_.size(); ++i) dirty_[i] = true;
}

}  // namespace vigil::emu
