// Fast CPU 2-D zero padding: each (n, c) plane is written row by row with memset (padding) and memcpy (the
// copied row); the backward is a vectorisable add per row. Groups of planes are spread over OpenMP threads.
#include "pad2d/pad2d_cpu.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "common/parallel.h"

namespace vigil::ops::cpu {
namespace {

// Elements (of the larger of input and output plane) per parallel task: enough to pay for the dispatch.
constexpr int64_t kTaskElems = 1 << 15;

// Planes per task: at least one, and about kTaskElems elements.
int64_t planes_per_task(int64_t plane_elems) {
  return std::max<int64_t>(1, kTaskElems / std::max<int64_t>(1, plane_elems));
}

// One output plane: `top` zero rows, h rows of (left zeros, w copied values, right zeros), `bottom` zero rows.
void forward_plane(const Pad2dShape& s, const float* x, float* y) {
  const size_t ow = static_cast<size_t>(s.out_w());
  std::memset(y, 0, sizeof(float) * ow * s.top);
  float* row = y + ow * s.top;
  for (int i = 0; i < s.h; ++i, row += ow, x += s.w) {
    std::memset(row, 0, sizeof(float) * s.left);
    std::memcpy(row + s.left, x, sizeof(float) * s.w);
    std::memset(row + s.left + s.w, 0, sizeof(float) * s.right);
  }
  std::memset(row, 0, sizeof(float) * ow * s.bottom);
}

// dx (h, w) += the (h, w) window of dy that starts at row top, column left.
void backward_plane(const Pad2dShape& s, const float* dy, float* dx) {
  const int64_t ow = s.out_w();
  const int w = s.w;
  const float* src = dy + s.top * ow + s.left;
  for (int i = 0; i < s.h; ++i, src += ow, dx += w) {
    const float* __restrict__ a = src;
    float* __restrict__ d = dx;
    for (int j = 0; j < w; ++j) d[j] += a[j];
  }
}

}  // namespace

void pad2d_forward(const Pad2dShape& s, const float* x, float* y) {
  const int64_t in_plane = int64_t(s.h) * s.w, out_plane = int64_t(s.out_h()) * s.out_w();
  vigil::cpu::parallel_for_ranges(int64_t(s.n) * s.c, planes_per_task(out_plane), [&](int64_t begin, int64_t end) {
    for (int64_t p = begin; p < end; ++p) forward_plane(s, x + p * in_plane, y + p * out_plane);
  });
}

void pad2d_backward(const Pad2dShape& s, const float* dy, float* dx) {
  const int64_t in_plane = int64_t(s.h) * s.w, out_plane = int64_t(s.out_h()) * s.out_w();
  vigil::cpu::parallel_for_ranges(int64_t(s.n) * s.c, planes_per_task(out_plane), [&](int64_t begin, int64_t end) {
    for (int64_t p = begin; p < end; ++p) backward_plane(s, dy + p * out_plane, dx + p * in_plane);
  });
}

}  // namespace vigil::ops::cpu
