// CPU threading: OpenMP when the build has it, serial otherwise. The thread count is a per-process setting
// made at start-up (`--threads`); everything else reads it.
#pragma once
#include <algorithm>
#include <cstdint>

#if defined(_OPENMP)
#include <omp.h>
#endif

namespace vigil::cpu {

int num_threads();
void set_num_threads(int n);  // n <= 0: use the hardware/OMP default
bool built_with_openmp();

// True inside an OpenMP parallel region: nested parallel_for calls run serially on the calling thread there.
inline bool in_parallel() {
#if defined(_OPENMP)
  return omp_in_parallel() != 0;
#else
  return false;
#endif
}

// Calls fn(i) for i in [0, n), spread over threads when n*cost is large enough to pay for it. Inside a parallel
// region it runs serially (without opening an inactive nested region).
template <typename Fn>
void parallel_for(int64_t n, Fn&& fn, int64_t min_per_thread = 1) {
#if defined(_OPENMP)
  if (n >= 2 * min_per_thread && num_threads() > 1 && !in_parallel()) {
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; ++i) fn(i);
    return;
  }
#endif
  (void)min_per_thread;
  for (int64_t i = 0; i < n; ++i) fn(i);
}

// Calls fn(begin, end) over consecutive ranges of at most `chunk` elements covering [0, n), spread over threads.
// Element loops written inside fn with local pointers vectorise, unlike a per-element lambda that writes
// through captured references.
template <typename Fn>
void parallel_for_ranges(int64_t n, int64_t chunk, Fn&& fn) {
  if (n <= 0) return;
  const int64_t ranges = (n + chunk - 1) / chunk;
  parallel_for(ranges, [&](int64_t r) { fn(r * chunk, std::min(n, (r + 1) * chunk)); });
}

}  // namespace vigil::cpu
