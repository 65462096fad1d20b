// Fast CPU pooling. Windows are separable: each output row first reduces its input rows column by column into
// a contiguous buffer (vectorisable), then each output reduces a short run of that buffer. Max keeps the row
// of each column's first maximum so the backward still finds the window's FIRST maximum in row-major order.
// Forward runs in parallel over blocks of output rows, backward over planes (planes never share dx).
#include "pool2d/pool2d_cpu.h"

#include <algorithm>
#include <vector>

#include "common/parallel.h"
#include "pool2d/pool2d_ref.h"

namespace vigil::ops::cpu {
namespace {

constexpr int64_t kRowsPerTask = 16;
// Input elements a thread should have to read before a parallel region pays for itself.
constexpr int64_t kMinWorkPerThread = 1 << 15;

int64_t min_tasks_per_thread(int64_t work_per_task) {
  return std::max<int64_t>(1, kMinWorkPerThread / std::max<int64_t>(1, work_per_task));
}

// v replaces best as the maximum: larger, or the first NaN (NaNs propagate, as in the reference).
inline bool beats(float v, float best) { return v > best || (v != v && best == best); }
inline bool same(float a, float b) { return a == b || (a != a && b != b); }

// col[iw] = max (or sum) of rows [h0, h1) of the (H, W) plane xp, for every column.
void reduce_rows(const Pool2dShape& s, const float* xp, int h0, int h1, float* col) {
  const int w = s.w;
  std::copy(xp + static_cast<int64_t>(h0) * w, xp + static_cast<int64_t>(h0 + 1) * w, col);
  for (int ih = h0 + 1; ih < h1; ++ih) {
    const float* row = xp + static_cast<int64_t>(ih) * w;
    if (s.kind == PoolKind::Max) {
      for (int iw = 0; iw < w; ++iw) col[iw] = beats(row[iw], col[iw]) ? row[iw] : col[iw];
    } else {
      for (int iw = 0; iw < w; ++iw) col[iw] += row[iw];
    }
  }
}

// Column ranges of the ow_n outputs of any row (they do not depend on the output row).
std::vector<ref::PoolRange> column_ranges(const Pool2dShape& s) {
  std::vector<ref::PoolRange> cols(s.out_w());
  for (int ow = 0; ow < s.out_w(); ++ow)
    cols[ow] = ref::pool_range(ow, s.kw, s.stride_w, s.pad_w, s.w, s.count_include_pad);
  return cols;
}

// For each input column, the output columns whose windows contain it.
std::vector<ref::PoolRange> covering_columns(const Pool2dShape& s) {
  std::vector<ref::PoolRange> covers(s.w);
  for (int iw = 0; iw < s.w; ++iw) covers[iw] = ref::pool_covering(iw, s.kw, s.stride_w, s.pad_w, s.out_w());
  return covers;
}

ref::PoolRange row_range(const Pool2dShape& s, int oh) {
  return ref::pool_range(oh, s.kh, s.stride_h, s.pad_h, s.h, s.count_include_pad);
}

// Output rows [r0, r1) of the flattened (N * C * OH) row index.
void forward_rows(const Pool2dShape& s, const std::vector<ref::PoolRange>& cols, const float* x, float* y,
                  int64_t r0, int64_t r1) {
  const int oh_n = s.out_h(), ow_n = s.out_w();
  const int64_t in_plane = static_cast<int64_t>(s.h) * s.w;
  std::vector<float> col(s.w);
  for (int64_t r = r0; r < r1; ++r) {
    const ref::PoolRange rows = row_range(s, static_cast<int>(r % oh_n));
    reduce_rows(s, x + (r / oh_n) * in_plane, rows.lo, rows.hi, col.data());
    float* yr = y + r * ow_n;
    if (s.kind == PoolKind::Max) {
      for (int ow = 0; ow < ow_n; ++ow) {
        float v = col[cols[ow].lo];
        for (int iw = cols[ow].lo + 1; iw < cols[ow].hi; ++iw) v = beats(col[iw], v) ? col[iw] : v;
        yr[ow] = v;
      }
    } else {
      for (int ow = 0; ow < ow_n; ++ow) {
        float v = col[cols[ow].lo];
        for (int iw = cols[ow].lo + 1; iw < cols[ow].hi; ++iw) v += col[iw];
        yr[ow] = v / static_cast<float>(rows.count * cols[ow].count);
      }
    }
  }
}

// Max backward for one plane: per output row, each column's first maximum over the window rows (value and
// row), then per output the best column: larger value, or an equal value in an earlier row; an equal value in
// the same row keeps the earlier column. That is the first maximum in row-major order.
void max_backward_plane(const Pool2dShape& s, const std::vector<ref::PoolRange>& cols, const float* xp,
                        const float* dyp, float* dxp) {
  const int oh_n = s.out_h(), ow_n = s.out_w(), w = s.w;
  std::vector<float> colv(w);
  std::vector<int> colr(w);
  for (int oh = 0; oh < oh_n; ++oh) {
    const ref::PoolRange rows = row_range(s, oh);
    std::copy(xp + static_cast<int64_t>(rows.lo) * w, xp + static_cast<int64_t>(rows.lo + 1) * w, colv.begin());
    std::fill(colr.begin(), colr.end(), rows.lo);
    for (int ih = rows.lo + 1; ih < rows.hi; ++ih) {
      const float* row = xp + static_cast<int64_t>(ih) * w;
      for (int iw = 0; iw < w; ++iw) {
        const bool take = beats(row[iw], colv[iw]);
        colv[iw] = take ? row[iw] : colv[iw];
        colr[iw] = take ? ih : colr[iw];
      }
    }
    const float* dyr = dyp + static_cast<int64_t>(oh) * ow_n;
    for (int ow = 0; ow < ow_n; ++ow) {
      int best_c = cols[ow].lo, best_r = colr[best_c];
      float best_v = colv[best_c];
      for (int iw = best_c + 1; iw < cols[ow].hi; ++iw) {  // branch-free: the winner is data-dependent
        const bool take = beats(colv[iw], best_v) || (same(colv[iw], best_v) && colr[iw] < best_r);
        best_v = take ? colv[iw] : best_v;
        best_r = take ? colr[iw] : best_r;
        best_c = take ? iw : best_c;
      }
      dxp[static_cast<int64_t>(best_r) * w + best_c] += dyr[ow];
    }
  }
}

// Avg backward for one plane: per output row, each input column gathers the shares of the outputs covering
// it, and the sums are added to every input row of the window.
void avg_backward_plane(const Pool2dShape& s, const std::vector<ref::PoolRange>& cols,
                        const std::vector<ref::PoolRange>& covers, const float* dyp, float* dxp) {
  const int oh_n = s.out_h(), ow_n = s.out_w(), w = s.w;
  std::vector<float> share(ow_n), acc(w);
  for (int oh = 0; oh < oh_n; ++oh) {
    const ref::PoolRange rows = row_range(s, oh);
    const float* dyr = dyp + static_cast<int64_t>(oh) * ow_n;
    for (int ow = 0; ow < ow_n; ++ow) share[ow] = dyr[ow] / static_cast<float>(rows.count * cols[ow].count);
    for (int iw = 0; iw < w; ++iw) {
      float a = 0.f;
      for (int ow = covers[iw].lo; ow < covers[iw].hi; ++ow) a += share[ow];
      acc[iw] = a;
    }
    for (int ih = rows.lo; ih < rows.hi; ++ih) {
      float* row = dxp + static_cast<int64_t>(ih) * w;
      for (int iw = 0; iw < w; ++iw) row[iw] += acc[iw];
    }
  }
}

}  // namespace

void pool2d_forward(const Pool2dShape& s, const float* x, float* y) {
  const std::vector<ref::PoolRange> cols = column_ranges(s);
  const int64_t rows = static_cast<int64_t>(s.n) * s.c * s.out_h();
  const int64_t tasks = (rows + kRowsPerTask - 1) / kRowsPerTask;
  vigil::cpu::parallel_for(
      tasks, [&](int64_t t) { forward_rows(s, cols, x, y, t * kRowsPerTask, std::min(rows, (t + 1) * kRowsPerTask)); },
      min_tasks_per_thread(kRowsPerTask * s.kh * s.w));
}

void pool2d_backward(const Pool2dShape& s, const float* x, const float* dy, float* dx) {
  const std::vector<ref::PoolRange> cols = column_ranges(s);
  const std::vector<ref::PoolRange> covers =
      s.kind == PoolKind::Avg ? covering_columns(s) : std::vector<ref::PoolRange>();
  const int64_t in_plane = static_cast<int64_t>(s.h) * s.w;
  const int64_t out_plane = static_cast<int64_t>(s.out_h()) * s.out_w();
  vigil::cpu::parallel_for(
      static_cast<int64_t>(s.n) * s.c,
      [&](int64_t p) {
        if (s.kind == PoolKind::Max)
          max_backward_plane(s, cols, x + p * in_plane, dy + p * out_plane, dx + p * in_plane);
        else
          avg_backward_plane(s, cols, covers, dy + p * out_plane, dx + p * in_plane);
      },
      min_tasks_per_thread(in_plane));
}

void global_avg_pool_forward(int64_t n, int64_t c, int64_t hw, const float* x, float* y) {
  constexpr int kLanes = 8;
  vigil::cpu::parallel_for(
      n * c,
      [&](int64_t p) {
        const float* xp = x + p * hw;
        double part[kLanes] = {};
        int64_t i = 0;
        for (; i + kLanes <= hw; i += kLanes)
          for (int l = 0; l < kLanes; ++l) part[l] += static_cast<double>(xp[i + l]);
        for (; i < hw; ++i) part[0] += static_cast<double>(xp[i]);
        double sum = 0;
        for (int l = 0; l < kLanes; ++l) sum += part[l];
        y[p] = static_cast<float>(sum / static_cast<double>(hw));
      },
      min_tasks_per_thread(hw));
}

void global_avg_pool_backward(int64_t n, int64_t c, int64_t hw, const float* dy, float* dx) {
  vigil::cpu::parallel_for(
      n * c,
      [&](int64_t p) {
        const float share = dy[p] / static_cast<float>(hw);
        float* dxp = dx + p * hw;
        for (int64_t i = 0; i < hw; ++i) dxp[i] += share;
      },
      min_tasks_per_thread(hw));
}

}  // namespace vigil::ops::cpu
