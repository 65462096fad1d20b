// Depthwise convolution on the CPU: per (image, channel) plane, row loops with the filter taps unrolled at compile time
// that the compiler vectorises along the output row, over a zero-padded copy of the plane so the loops carry no
// bounds checks (the borders are the copy's zero frame).
//
// Forward and the input gradient are both row correlations: out[j] = sum_{t, u} k[t][u] * rows[t][j * IS + u + off].
// The input gradient is the gather form of the transposed convolution: dx row ih and the dx columns iw = q + SW * m
// of phase q only see the taps kh = ih + PH (mod SH) and kw = q + PW (mod SW), so each (row, column phase) is a
// stride-1 correlation of dy with a flipped sub-kernel; phases are computed into buffers and interleaved into dx.
// The weight gradient is computed per channel: for each image in batch order and each kernel row, one dot product
// per tap column along the output (a simd reduction whose lane order is fixed at compile time), summed into a
// double per tap, so the result does not depend on the thread count.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "common/parallel.h"
#include "conv2d/conv2d_cpu.h"
#include "conv2d/conv2d_ref.h"

namespace vigil::ops::cpu {
namespace {

// Output rows are computed in whole multiples of this (the SSE2 vector width), so no scalar tail loop runs.
constexpr int kVec = 4;
// Kernel rows a row correlation takes (a stack array of row pointers); taller kernels use the reference loops.
constexpr int kMaxRows = 16;

int round_up(int v, int m) { return (v + m - 1) / m * m; }

// Marks a loop whose iterations are independent (outputs never overlap inputs), so the compiler vectorises it
// without run-time alias checks; nothing is reassociated. Without OpenMP the compiler decides on its own.
#if defined(_OPENMP)
#define VIGIL_DW_SIMD _Pragma("omp simd")
#else
#define VIGIL_DW_SIMD
#endif

// Copies n floats in 4-float steps: rows here are often short, and a libc memcpy call per row costs more than that.
void copy_floats(const float* src, int n, float* dst) {
  int j = 0;
  for (; j + 4 <= n; j += 4) std::memcpy(dst + j, src + j, 4 * sizeof(float));
  for (; j < n; ++j) dst[j] = src[j];
}

// A zero-padded copy of one plane: rows x pitch floats (plus `spare` zeros after the last row), the plane at
// [top, top + h) x [left, left + w).
class PaddedPlane {
 public:
  PaddedPlane(int rows, int pitch, int top, int left, int spare = 0)
      : pitch_(pitch), top_(top), left_(left), data_(static_cast<size_t>(int64_t(rows) * pitch + spare), 0.f) {}
  // Copies src (h, w) into place; the frame stays zero (every plane of a call has the same geometry).
  void load(const float* src, int h, int w) {
    for (int r = 0; r < h; ++r)
      copy_floats(src + int64_t(r) * w, w, data_.data() + int64_t(r + top_) * pitch_ + left_);
  }
  const float* row(int r) const { return data_.data() + int64_t(r) * pitch_; }
  int pitch() const { return pitch_; }

 private:
  int pitch_, top_, left_;
  std::vector<float> data_;
};

// ---- row correlation ----------------------------------------------------------------------------------------

// For output rows i < n_rows and columns j < n (n a multiple of kVec):
//   out[i * out_pitch + j] = base + corr(i, j)   (or += corr(i, j) when accumulating), with
//   corr(i, j) = sum_{t < tr, u < tc} k[t * tc + u] * rows[t][i * row_step + j * is + u + off]
// where every index is inside the (padded) input.
struct Corr {
  const float* const* rows;  // tr input rows for output row 0
  int64_t row_step;          // input floats from one output row to the next
  const float* k;            // (tr, tc) taps, row-major
  int tr, tc, is, off;
  int n_rows, n;
  int64_t out_pitch;
};
using CorrFn = void (*)(const Corr& c, float base, bool accumulate, float* out);

// TR x TC taps and step IS known at compile time: the taps stay in registers (or one broadcast load each) and the
// j loop vectorises (unit-step loads for IS = 1, de-interleaving loads for IS = 2).
template <int TR, int TC, int IS>
void corr_fixed(const Corr& c, float base, bool accumulate, float* out) {
  float k[TR * TC];
  for (int i = 0; i < TR * TC; ++i) k[i] = c.k[i];
  for (int i = 0; i < c.n_rows; ++i) {
    const float* r[TR];
    for (int t = 0; t < TR; ++t) r[t] = c.rows[t] + i * c.row_step + c.off;
    float* o = out + i * c.out_pitch;
    auto at = [&](int j) {
      float sum = 0.f;
      for (int t = 0; t < TR; ++t)
        for (int u = 0; u < TC; ++u) sum += k[t * TC + u] * r[t][j * IS + u];
      return sum;
    };
    if (accumulate) {
      VIGIL_DW_SIMD
      for (int j = 0; j < c.n; ++j) o[j] += at(j);
    } else {
      VIGIL_DW_SIMD
      for (int j = 0; j < c.n; ++j) o[j] = base + at(j);
    }
  }
}

// Any size: the same sums with run-time loop bounds (tap by tap along each row; not as fast).
void corr_any(const Corr& c, float base, bool accumulate, float* out) {
  for (int i = 0; i < c.n_rows; ++i) {
    float* o = out + i * c.out_pitch;
    if (!accumulate) std::fill(o, o + c.n, base);
    for (int t = 0; t < c.tr; ++t) {
      for (int u = 0; u < c.tc; ++u) {
        const float kv = c.k[t * c.tc + u];
        const float* in = c.rows[t] + i * c.row_step + c.off + u;
        for (int j = 0; j < c.n; ++j) o[j] += kv * in[j * c.is];
      }
    }
  }
}

// The compiled correlation for (tr, tc, is): square kernels 1..5 and 7 at stride 1, 3/5/7 at stride 2, and the
// sub-kernels the input gradient of 3x3/5x5/7x7 kernels at stride 2 needs; else corr_any.
CorrFn pick_corr(int tr, int tc, int is) {
#define VIGIL_DW_CASE(TR, TC, IS) \
  if (tr == TR && tc == TC && is == IS) return corr_fixed<TR, TC, IS>;
  VIGIL_DW_CASE(1, 1, 1) VIGIL_DW_CASE(1, 2, 1) VIGIL_DW_CASE(2, 1, 1) VIGIL_DW_CASE(2, 2, 1)
  VIGIL_DW_CASE(2, 3, 1) VIGIL_DW_CASE(3, 2, 1) VIGIL_DW_CASE(3, 3, 1) VIGIL_DW_CASE(3, 4, 1)
  VIGIL_DW_CASE(4, 3, 1) VIGIL_DW_CASE(4, 4, 1) VIGIL_DW_CASE(5, 5, 1) VIGIL_DW_CASE(7, 7, 1)
  VIGIL_DW_CASE(3, 3, 2) VIGIL_DW_CASE(5, 5, 2) VIGIL_DW_CASE(7, 7, 2)
#undef VIGIL_DW_CASE
  return corr_any;
}

// Runs fn(i0, i1) over contiguous ranges of [0, n), one range per thread; serial when the whole job is small.
template <typename Fn>
void for_ranges(int64_t n, int64_t work_per_item, Fn&& fn) {
  const int64_t min_items = std::max<int64_t>(1, (int64_t(1) << 15) / std::max<int64_t>(1, work_per_item));
  const int64_t threads = std::max(1, vigil::cpu::num_threads());
  vigil::cpu::parallel_for_ranges(n, std::max(min_items, (n + threads - 1) / threads), fn);
}

bool fast_path(const Conv2dShape& s) { return s.dil_h == 1 && s.dil_w == 1 && s.kh <= kMaxRows; }

// ---- forward ------------------------------------------------------------------------------------------------

// The padded input plane for the forward pass and the weight gradient: x at (PH, PW), wide enough for n_out output
// columns and tall enough for every output row; `spare` zeros after the last row.
PaddedPlane padded_input(const Conv2dShape& s, int n_out, int spare = 0) {
  const int rows = std::max((s.out_h() - 1) * s.stride_h + s.kh, s.pad_h + s.h);
  const int pitch = std::max((n_out - 1) * s.stride_w + s.kw, s.pad_w + s.w);
  return PaddedPlane(rows, pitch, s.pad_h, s.pad_w, spare);
}

// Stride 1 with OW not a multiple of kVec: the plane is computed as one flat row at x's pitch (output i = oh * pitch
// + ow reads x at i + kh * pitch + kw), one long vector loop instead of many short ones with a tail each.
bool forward_flat(const Conv2dShape& s) { return s.stride_h == 1 && s.stride_w == 1 && s.out_w() % kVec != 0; }

// y (OH, OW) = bias + the plane in xp correlated with w (KH, KW). buf: OH * max(OW rounded up to kVec, xp's pitch)
// + kVec floats, used when OW is not a multiple of kVec (outputs at pitch OW rounded up, or at xp's pitch if flat).
void forward_plane(const Conv2dShape& s, const PaddedPlane& xp, const float* w, float bias, float* y, CorrFn corr,
                   float* buf) {
  const int oh_n = s.out_h(), ow_n = s.out_w(), ow_r = round_up(ow_n, kVec), pitch = xp.pitch();
  const float* rows[kMaxRows];
  for (int kh = 0; kh < s.kh; ++kh) rows[kh] = xp.row(kh);
  if (forward_flat(s)) {
    corr(Corr{rows, 0, w, s.kh, s.kw, 1, 0, 1, round_up((oh_n - 1) * pitch + ow_n, kVec), 0}, bias, false, buf);
    for (int oh = 0; oh < oh_n; ++oh) copy_floats(buf + int64_t(oh) * pitch, ow_n, y + int64_t(oh) * ow_n);
    return;
  }
  const Corr c{rows, int64_t(s.stride_h) * pitch, w, s.kh, s.kw, s.stride_w, 0, oh_n, ow_r, ow_r};
  if (ow_r == ow_n) return corr(c, bias, false, y);
  corr(c, bias, false, buf);
  for (int oh = 0; oh < oh_n; ++oh) copy_floats(buf + int64_t(oh) * ow_r, ow_n, y + int64_t(oh) * ow_n);
}

// ---- input gradient -----------------------------------------------------------------------------------------

// Geometry of the input gradient: dy padded by (KH - 1, KW - 1) on the top and left so every (a - t, m + u + off)
// of the phase correlations is inside the copy, plus spare zeros after it for the flat layout. Phase buffers hold
// dx row ih, column phase q at (ih * SW + q) * pq: pq = ceil(W / SW) rounded up to kVec, or dy's pitch when flat
// (stride 1, W not a multiple of kVec: the plane is one flat correlation, like forward_flat).
struct DataGeom {
  int top, left, m_r, rows, pitch;
  bool direct, flat;  // direct: stride 1 along W and W a multiple of kVec, accumulated straight into dx
  int pq;
  explicit DataGeom(const Conv2dShape& s)
      : top(s.kh - 1), left(s.kw - 1), m_r(round_up((s.w + s.stride_w - 1) / s.stride_w, kVec)),
        rows(top + std::max(s.out_h(), (s.h - 1 + s.pad_h) / s.stride_h + 1)),
        pitch(left + std::max(s.out_w(), m_r + (s.pad_w + s.stride_w - 1) / s.stride_w)),
        direct(s.stride_w == 1 && s.w % kVec == 0), flat(!direct && s.stride_h == 1 && s.stride_w == 1),
        pq(flat ? pitch : m_r) {}
  int64_t phase_floats(const Conv2dShape& s) const { return int64_t(s.h) * s.stride_w * pq + kVec; }
};

int phase_taps(int k, int phase, int stride) { return phase < k ? (k - phase + stride - 1) / stride : 0; }

// The flipped sub-kernels of one channel: for row phase rr < SH and column phase rc < SW, the taps kh = rr + SH * t
// (t < phase_taps(KH, rr, SH)) and kw = rc + SW * (tc - 1 - u), so that u runs forward along dy.
class SubKernels {
 public:
  explicit SubKernels(const Conv2dShape& s)
      : s_(s), max_r_((s.kh + s.stride_h - 1) / s.stride_h), max_c_((s.kw + s.stride_w - 1) / s.stride_w),
        k_(static_cast<size_t>(s.stride_h) * s.stride_w * max_r_ * max_c_) {}
  const float* at(int rr, int rc) const { return k_.data() + (int64_t(rr) * s_.stride_w + rc) * max_r_ * max_c_; }
  void fill(const float* w /* (KH, KW) */) {
    for (int rr = 0; rr < s_.stride_h; ++rr) {
      for (int rc = 0; rc < s_.stride_w; ++rc) {
        const int tr = phase_taps(s_.kh, rr, s_.stride_h), tc = phase_taps(s_.kw, rc, s_.stride_w);
        float* dst = k_.data() + (int64_t(rr) * s_.stride_w + rc) * max_r_ * max_c_;
        for (int t = 0; t < tr; ++t) {
          const float* wr = w + int64_t(rr + s_.stride_h * t) * s_.kw + rc;
          for (int u = 0; u < tc; ++u) dst[t * tc + u] = wr[s_.stride_w * (tc - 1 - u)];
        }
      }
    }
  }

 private:
  const Conv2dShape& s_;
  int max_r_, max_c_;
  std::vector<float> k_;
};

// Adds the SW phase buffers (phase q holds dx columns q + SW * m at phase[q * pq + m]) into the dx row.
void add_phases(const float* phase, int pq, int sw, int w, float* __restrict__ dxr) {
  if (sw == 1) {
    for (int iw = 0; iw < w; ++iw) dxr[iw] += phase[iw];
  } else if (sw == 2) {  // even and odd columns together: a gap-free group the compiler vectorises
    const float* __restrict__ even = phase;
    const float* __restrict__ odd = phase + pq;
    const int pairs = w / 2;
    VIGIL_DW_SIMD
    for (int m = 0; m < pairs; ++m) {
      dxr[2 * m] += even[m];
      dxr[2 * m + 1] += odd[m];
    }
    if (w % 2) dxr[w - 1] += even[pairs];
  } else {
    for (int q = 0; q < sw && q < w; ++q)
      for (int iw = q, m = 0; iw < w; iw += sw, ++m) dxr[iw] += phase[q * pq + m];
  }
}

// dx (H, W) += the input gradient of one plane from its padded dy, one call per (row phase, column phase): the dx
// rows ih = ih0 + SH * i of row phase rr read the dy rows a0 + i - t. phase: g.phase_floats() of scratch, unused
// when g.direct.
void backward_data_plane(const Conv2dShape& s, const DataGeom& g, const PaddedPlane& dyp, const SubKernels& sub,
                         float* dx, float* phase) {
  const int sh = s.stride_h, sw = s.stride_w;
  const float* rows[kMaxRows];
  for (int rr = 0; rr < sh; ++rr) {
    const int ih0 = ((rr - s.pad_h) % sh + sh) % sh;  // first dx row with (ih + PH) % SH == rr
    if (ih0 >= s.h) continue;
    const int n_rows = (s.h - ih0 + sh - 1) / sh, tr = phase_taps(s.kh, rr, sh), a0 = (ih0 + s.pad_h) / sh;
    for (int t = 0; t < tr; ++t) rows[t] = dyp.row(a0 - t + g.top);
    for (int q = 0; q < sw && q < s.w; ++q) {
      // Column iw = q + SW * m takes the taps kw = rc + SW * (tc - 1 - u) at dy column m + u + off.
      const int rc = (q + s.pad_w) % sw, tc = phase_taps(s.kw, rc, sw);
      float* out = g.direct ? dx + int64_t(ih0) * s.w : phase + (int64_t(ih0) * sw + q) * g.pq;
      const int64_t out_pitch = g.direct ? int64_t(sh) * s.w : int64_t(sh) * sw * g.pq;
      if (tr == 0 || tc == 0) {  // no tap reaches these columns
        for (int i = 0; i < n_rows && !g.direct; ++i) std::fill_n(out + i * out_pitch, g.pq, 0.f);
        continue;
      }
      const int off = (q + s.pad_w - rc) / sw - (tc - 1) + g.left;
      Corr c{rows, dyp.pitch(), sub.at(rr, rc), tr, tc, 1, off, n_rows, g.direct ? s.w : g.m_r, out_pitch};
      if (g.flat) c.n_rows = 1, c.n = round_up((n_rows - 1) * dyp.pitch() + s.w, kVec);  // rows at dy's pitch
      pick_corr(tr, tc, 1)(c, 0.f, g.direct, out);
    }
  }
  if (g.direct) return;
  for (int ih = 0; ih < s.h; ++ih)
    add_phases(phase + int64_t(ih) * sw * g.pq, g.pq, sw, s.w, dx + int64_t(ih) * s.w);
}

// ---- weight gradient ----------------------------------------------------------------------------------------

// acc[u] += sum_j xr[j * IS + u] * d[j] for u < TC (at most 7), j < n: one running sum per tap, which the simd
// reduction splits into vector lanes added together at the end, in an order fixed at compile time.
template <int TC, int IS>
void weight_dot(const float* xr, const float* d, int n, double* acc) {
  static_assert(TC >= 1 && TC <= 7, "weight_dot handles 1..7 taps");
  float s0 = 0.f, s1 = 0.f, s2 = 0.f, s3 = 0.f, s4 = 0.f, s5 = 0.f, s6 = 0.f;
#if defined(_OPENMP)
#pragma omp simd reduction(+ : s0, s1, s2, s3, s4, s5, s6)
#endif
  for (int j = 0; j < n; ++j) {
    const float dj = d[j];
    const float* xj = xr + j * IS;
    s0 += xj[0] * dj;
    if constexpr (TC > 1) s1 += xj[1] * dj;
    if constexpr (TC > 2) s2 += xj[2] * dj;
    if constexpr (TC > 3) s3 += xj[3] * dj;
    if constexpr (TC > 4) s4 += xj[4] * dj;
    if constexpr (TC > 5) s5 += xj[5] * dj;
    if constexpr (TC > 6) s6 += xj[6] * dj;
  }
  const float s[7] = {s0, s1, s2, s3, s4, s5, s6};
  for (int u = 0; u < TC; ++u) acc[u] += s[u];
}

// Any tap count and step: one plain running sum per tap.
void weight_dot_any(const float* xr, const float* d, int n, int tc, int is, double* acc) {
  for (int u = 0; u < tc; ++u) {
    float sum = 0.f;
    for (int j = 0; j < n; ++j) sum += xr[j * is + u] * d[j];
    acc[u] += sum;
  }
}

// Layout of the weight gradient's planes. At stride 1 a plane is one flat row: with dy copied at x's pitch (zeros
// past OW), output i = oh * pitch + ow reads x at i + kh * pitch + kw, so each kernel row is one long loop.
// Otherwise output row by output row, dy zero-padded to OW rounded up to kVec.
struct WeightGeom {
  bool flat;
  int n;  // outputs per loop: the flat length or OW rounded up, a multiple of kVec
  WeightGeom(const Conv2dShape& s, int x_pitch)
      : flat(s.stride_h == 1 && s.stride_w == 1),
        n(flat ? round_up(s.out_h() * x_pitch, kVec) : round_up(s.out_w(), kVec)) {}
};

// acc (KH, KW) += the weight-gradient terms of one plane: x padded in xp, dy in dyp (at x's pitch when flat, else
// at pitch g.n), in a fixed order.
template <int TC, int IS>
void weight_plane_fixed(const Conv2dShape& s, const WeightGeom& g, const PaddedPlane& xp, const PaddedPlane& dyp,
                        double* acc) {
  const int oh_n = g.flat ? 1 : s.out_h();
  for (int oh = 0; oh < oh_n; ++oh)
    for (int kh = 0; kh < s.kh; ++kh)
      weight_dot<TC, IS>(xp.row(oh * s.stride_h + kh), dyp.row(oh), g.n, acc + kh * TC);
}

void weight_plane(const Conv2dShape& s, const WeightGeom& g, const PaddedPlane& xp, const PaddedPlane& dyp,
                  double* acc) {
#define VIGIL_DW_CASE(TC, IS) \
  if (s.kw == TC && s.stride_w == IS) return weight_plane_fixed<TC, IS>(s, g, xp, dyp, acc);
  VIGIL_DW_CASE(3, 1) VIGIL_DW_CASE(3, 2) VIGIL_DW_CASE(5, 1) VIGIL_DW_CASE(5, 2) VIGIL_DW_CASE(7, 1)
  VIGIL_DW_CASE(7, 2)
#undef VIGIL_DW_CASE
  const int oh_n = g.flat ? 1 : s.out_h();
  for (int oh = 0; oh < oh_n; ++oh)
    for (int kh = 0; kh < s.kh; ++kh)
      weight_dot_any(xp.row(oh * s.stride_h + kh), dyp.row(oh), g.n, s.kw, s.stride_w, acc + kh * s.kw);
}

}  // namespace

void depthwise_forward(const Conv2dShape& s, const float* x, const float* w, const float* bias, float* y) {
  if (!fast_path(s)) return ref::conv2d_forward<float>(s, x, w, bias, y);
  const int64_t HW = int64_t(s.h) * s.w, P = int64_t(s.out_h()) * s.out_w(), KK = int64_t(s.kh) * s.kw;
  const int ow_r = round_up(s.out_w(), kVec);
  const CorrFn corr = pick_corr(s.kh, s.kw, s.stride_w);
  for_ranges(int64_t(s.n) * s.c_in, P * KK, [&](int64_t p0, int64_t p1) {
    PaddedPlane xp = padded_input(s, ow_r, kVec + s.kw);  // the flat layout reads past the last row
    std::vector<float> buf(static_cast<size_t>(int64_t(s.out_h()) * std::max(ow_r, xp.pitch()) + kVec));
    for (int64_t p = p0; p < p1; ++p) {
      const int64_t c = p % s.c_in;
      xp.load(x + p * HW, s.h, s.w);
      forward_plane(s, xp, w + c * KK, bias ? bias[c] : 0.f, y + p * P, corr, buf.data());
    }
  });
}

void depthwise_backward_data(const Conv2dShape& s, const float* dy, const float* w, float* dx) {
  if (!fast_path(s)) return ref::conv2d_backward_data<float>(s, dy, w, dx);
  const int64_t HW = int64_t(s.h) * s.w, P = int64_t(s.out_h()) * s.out_w(), KK = int64_t(s.kh) * s.kw;
  const DataGeom g(s);
  for_ranges(int64_t(s.n) * s.c_in, P * KK, [&](int64_t p0, int64_t p1) {
    PaddedPlane dyp(g.rows, g.pitch, g.top, g.left, kVec + s.kw);
    SubKernels sub(s);
    std::vector<float> phase(static_cast<size_t>(g.phase_floats(s)));
    int64_t filled = -1;  // the channel whose sub-kernels `sub` holds
    for (int64_t p = p0; p < p1; ++p) {
      const int64_t c = p % s.c_in;
      if (c != filled) sub.fill(w + c * KK), filled = c;
      dyp.load(dy + p * P, s.out_h(), s.out_w());
      backward_data_plane(s, g, dyp, sub, dx + p * HW, phase.data());
    }
  });
}

void depthwise_backward_weight(const Conv2dShape& s, const float* x, const float* dy, float* dw) {
  if (!fast_path(s)) return ref::conv2d_backward_weight<float>(s, x, dy, dw);
  const int64_t HW = int64_t(s.h) * s.w, P = int64_t(s.out_h()) * s.out_w(), KK = int64_t(s.kh) * s.kw;
  // Channels are independent and each one's terms are added in a fixed order (image by image, row by row), so no
  // result depends on the thread count.
  for_ranges(s.c_in, s.n * P * KK, [&](int64_t c0, int64_t c1) {
    // The flat layout reads up to kVec + KW floats past x's last row and kVec past dy's.
    PaddedPlane xp = padded_input(s, round_up(s.out_w(), kVec), kVec + s.kw);
    const WeightGeom g(s, xp.pitch());
    PaddedPlane dyp(s.out_h(), g.flat ? xp.pitch() : g.n, 0, 0, kVec);
    std::vector<double> acc(static_cast<size_t>(KK));
    for (int64_t c = c0; c < c1; ++c) {
      std::fill(acc.begin(), acc.end(), 0.0);
      for (int64_t n = 0; n < s.n; ++n) {
        xp.load(x + (n * s.c_in + c) * HW, s.h, s.w);
        dyp.load(dy + (n * s.c_in + c) * P, s.out_h(), s.out_w());
        weight_plane(s, g, xp, dyp, acc.data());
      }
      for (int64_t tap = 0; tap < KK; ++tap) dw[c * KK + tap] += static_cast<float>(acc[tap]);
    }
  });
}

}  // namespace vigil::ops::cpu
