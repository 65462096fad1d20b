// CPU linear layer: the products go through vigil::cpu::sgemm (OpenBLAS when present), the rest is OpenMP loops.
#include "gemm/gemm_cpu.h"

#include <algorithm>

#include "common/blas.h"
#include "common/parallel.h"

namespace vigil::ops::cpu {

void linear_forward(int64_t n, int64_t in, int64_t out, const float* x, const float* w, const float* b, float* y) {
  vigil::cpu::sgemm(false, true, n, out, in, 1.f, x, in, w, in, 0.f, y, out);
  if (!b) return;
  vigil::cpu::parallel_for(n, [&](int64_t i) {
    float* row = y + i * out;
    for (int64_t o = 0; o < out; ++o) row[o] += b[o];
  }, std::max<int64_t>(1, (1 << 14) / std::max<int64_t>(out, 1)));
}

void linear_backward_data(int64_t n, int64_t in, int64_t out, const float* dy, const float* w, float* dx) {
  vigil::cpu::sgemm(false, false, n, in, out, 1.f, dy, out, w, in, 1.f, dx, in);
}

void linear_backward_weight(int64_t n, int64_t in, int64_t out, const float* x, const float* dy, float* dw) {
  vigil::cpu::sgemm(true, false, out, in, n, 1.f, dy, out, x, in, 1.f, dw, in);
}

void linear_backward_bias(int64_t n, int64_t out, const float* dy, float* db) {
  constexpr int64_t kCols = 64;  // columns per task: rows are read in contiguous runs of kCols
  const int64_t tasks = (out + kCols - 1) / kCols;
  vigil::cpu::parallel_for(tasks, [&](int64_t t) {
    const int64_t o0 = t * kCols, o1 = std::min(out, o0 + kCols);
    float acc[kCols] = {};
    for (int64_t i = 0; i < n; ++i)
      for (int64_t o = o0; o < o1; ++o) acc[o - o0] += dy[i * out + o];
    for (int64_t o = o0; o < o1; ++o) db[o] += acc[o - o0];
  }, std::max<int64_t>(1, (1 << 14) / std::max<int64_t>(n * kCols, 1)));
}

}  // namespace vigil::ops::cpu
