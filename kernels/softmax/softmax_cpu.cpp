// Fast CPU softmax / log-softmax / cross-entropy: OpenMP over rows, a branch-free exp and fixed-width lane
// accumulators so the inner loops vectorise; results match the reference to reduction-order rounding.
#include "softmax/softmax_cpu.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "common/parallel.h"
#include "softmax/softmax_ref.h"

namespace vigil::ops::cpu {
namespace {

// exp(x) for x <= 88 to within a few ulp, written without branches or float selects so that loops calling it
// vectorise (GCC keeps a float select as control flow under -ftrapping-math). x = n*ln2 + r with |r| <= ln2/2
// (ln2 split into a high part that n multiplies exactly and a low correction), exp(r) by its degree-7 Taylor
// polynomial (truncation error below 1e-8 relative), 2^n written straight into the exponent bits. Inputs below
// -88 are clamped there, where n = -127 makes the scale +0: results below ~2^-126 flush to zero, and -inf
// gives 0. NaN propagates. Callers pass x - max <= 0 or log-probabilities.
inline float fast_exp(float x) {
  int32_t x_bits;
  std::memcpy(&x_bits, &x, sizeof x_bits);
  const int32_t keep = -static_cast<int32_t>(!(x < -88.f));  // all ones unless x < -88
  const int32_t c_bits = (x_bits & keep) | (static_cast<int32_t>(0xC2B00000u) & ~keep);  // 0xC2B00000: -88
  float xc;
  std::memcpy(&xc, &c_bits, sizeof xc);
  // Adding 1.5 * 2^23 rounds to the nearest integer n, which then sits in the low mantissa bits of t.
  const float shifter = 12582912.f;
  const float t = xc * 1.44269504f + shifter;
  const float n = t - shifter;
  const float r = (xc - n * 0.693145751953125f) - n * 1.42860682e-6f;
  float q = 1.f / 5040.f;
  q = q * r + 1.f / 720.f;
  q = q * r + 1.f / 120.f;
  q = q * r + 1.f / 24.f;
  q = q * r + 1.f / 6.f;
  q = q * r + 0.5f;
  q = q * r + 1.f;
  q = q * r + 1.f;
  int32_t t_bits;
  std::memcpy(&t_bits, &t, sizeof t_bits);
  // 0x4B400000: the bits of 1.5 * 2^23, i.e. of t for n = 0. Shifted as unsigned (NaN input: no UB).
  const uint32_t biased = static_cast<uint32_t>(t_bits - 0x4B400000 + 127);
  const int32_t scale_bits = static_cast<int32_t>(biased << 23);
  float scale;
  std::memcpy(&scale, &scale_bits, sizeof scale);
  return q * scale;
}

// Reductions with kLanes independent accumulators: a fixed summation order the compiler can vectorise
// (it may not reorder one serial float chain).
constexpr int64_t kLanes = 8;

template <typename Term>
float lane_sum(int64_t n, const Term& term) {
  float acc[kLanes] = {};
  int64_t c = 0;
  for (; c + kLanes <= n; c += kLanes)
    for (int64_t k = 0; k < kLanes; ++k) acc[k] += term(c + k);
  float s = 0.f;
  for (; c < n; ++c) s += term(c);
  for (int64_t k = 0; k < kLanes; ++k) s += acc[k];
  return s;
}

float lane_max(int64_t n, const float* x) {
  float acc[kLanes];
  for (int64_t k = 0; k < kLanes; ++k) acc[k] = x[0];
  int64_t c = 0;
  for (; c + kLanes <= n; c += kLanes)
    for (int64_t k = 0; k < kLanes; ++k) acc[k] = x[c + k] > acc[k] ? x[c + k] : acc[k];
  float m = x[0];
  for (; c < n; ++c) m = x[c] > m ? x[c] : m;
  for (int64_t k = 0; k < kLanes; ++k) m = acc[k] > m ? acc[k] : m;
  return m;
}

// Rows per thread so that each thread gets at least ~16K elements of work.
int64_t min_rows_per_thread(int64_t cols) { return std::max<int64_t>(1, (int64_t{1} << 14) / cols); }

// Writes exp(x_c - max) / sum into y and returns {max, log(sum)} for one row.
struct RowNorm {
  float max, log_sum;
};
RowNorm softmax_row(int64_t cols, const float* x, float* y) {
  const float m = lane_max(cols, x);
  for (int64_t c = 0; c < cols; ++c) y[c] = fast_exp(x[c] - m);
  const float s = lane_sum(cols, [&](int64_t c) { return y[c]; });
  const float inv = 1.f / s;
  for (int64_t c = 0; c < cols; ++c) y[c] *= inv;
  return {m, std::log(s)};
}

}  // namespace

void softmax_forward(int64_t rows, int64_t cols, const float* x, float* y) {
  vigil::cpu::parallel_for(
      rows, [&](int64_t i) { softmax_row(cols, x + i * cols, y + i * cols); }, min_rows_per_thread(cols));
}

void softmax_backward(int64_t rows, int64_t cols, const float* y, const float* dy, float* dx) {
  vigil::cpu::parallel_for(
      rows,
      [&](int64_t i) {
        const float* yr = y + i * cols;
        const float* dyr = dy + i * cols;
        float* dxr = dx + i * cols;
        const float dot = lane_sum(cols, [&](int64_t c) { return dyr[c] * yr[c]; });
        for (int64_t c = 0; c < cols; ++c) dxr[c] += yr[c] * (dyr[c] - dot);
      },
      min_rows_per_thread(cols));
}

void log_softmax_forward(int64_t rows, int64_t cols, const float* x, float* y) {
  vigil::cpu::parallel_for(
      rows,
      [&](int64_t i) {
        const float* xr = x + i * cols;
        float* yr = y + i * cols;
        const float m = lane_max(cols, xr);
        const float log_sum = std::log(lane_sum(cols, [&](int64_t c) { return fast_exp(xr[c] - m); }));
        for (int64_t c = 0; c < cols; ++c) yr[c] = (xr[c] - m) - log_sum;
      },
      min_rows_per_thread(cols));
}

void log_softmax_backward(int64_t rows, int64_t cols, const float* y, const float* dy, float* dx) {
  vigil::cpu::parallel_for(
      rows,
      [&](int64_t i) {
        const float* yr = y + i * cols;
        const float* dyr = dy + i * cols;
        float* dxr = dx + i * cols;
        const float sum = lane_sum(cols, [&](int64_t c) { return dyr[c]; });
        for (int64_t c = 0; c < cols; ++c) dxr[c] += dyr[c] - fast_exp(yr[c]) * sum;
      },
      min_rows_per_thread(cols));
}

void softmax_cross_entropy_forward(const CrossEntropyParams& p, int64_t rows, int64_t cols, const float* logits,
                                   const int32_t* labels, float* probs, float* loss) {
  ref::check_cross_entropy_labels(rows, cols, labels);
  const float* w = p.class_weights;
  const float eps = p.label_smoothing;
  const float smooth = eps / static_cast<float>(cols);
  const float class_weight_sum = w ? lane_sum(cols, [&](int64_t c) { return w[c]; }) : static_cast<float>(cols);
  std::vector<float> row_loss(rows);
  vigil::cpu::parallel_for(
      rows,
      [&](int64_t i) {
        const float* xr = logits + i * cols;
        const RowNorm rn = softmax_row(cols, xr, probs + i * cols);
        // sum_c w_c * (-log p_c) = sum_c w_c (max - x_c) + S * log_sum, every term >= 0 (no cancellation).
        const float gap = w ? lane_sum(cols, [&](int64_t c) { return w[c] * (rn.max - xr[c]); })
                            : lane_sum(cols, [&](int64_t c) { return rn.max - xr[c]; });
        const int32_t y = labels[i];
        const float wy = w ? w[y] : 1.f;
        row_loss[i] = (1.f - eps) * wy * ((rn.max - xr[y]) + rn.log_sum) +
                      smooth * (gap + class_weight_sum * rn.log_sum);
      },
      min_rows_per_thread(cols));
  double total = 0, weight_total = 0;
  for (int64_t i = 0; i < rows; ++i) {
    total += row_loss[i];
    weight_total += w ? w[labels[i]] : 1.f;
  }
  *loss = static_cast<float>(total / weight_total);
}

void softmax_cross_entropy_backward(const CrossEntropyParams& p, int64_t rows, int64_t cols, const float* probs,
                                    const int32_t* labels, float dloss, float* dlogits) {
  ref::check_cross_entropy_labels(rows, cols, labels);
  const float* w = p.class_weights;
  const float eps = p.label_smoothing;
  const float smooth = eps / static_cast<float>(cols);
  double weight_total = 0;
  for (int64_t i = 0; i < rows; ++i) weight_total += w ? w[labels[i]] : 1.f;
  const float class_weight_sum = w ? lane_sum(cols, [&](int64_t c) { return w[c]; }) : static_cast<float>(cols);
  const float scale = static_cast<float>(dloss / weight_total);
  vigil::cpu::parallel_for(
      rows,
      [&](int64_t i) {
        const float* pr = probs + i * cols;
        float* dr = dlogits + i * cols;
        const int32_t y = labels[i];
        const float wy = w ? w[y] : 1.f;
        const float prob_coef = (1.f - eps) * wy + smooth * class_weight_sum;
        const float label_coef = (1.f - eps) * wy;
        // One loop per weight accessor, so each has a branch-free body the compiler vectorises.
        auto update = [&](const auto& weight) {
          for (int64_t c = 0; c < cols; ++c) dr[c] += scale * (pr[c] * prob_coef - smooth * weight(c));
        };
        if (w)
          update([&](int64_t c) { return w[c]; });
        else
          update([](int64_t) { return 1.f; });
        dr[y] -= scale * label_coef;  // the one-hot part of the target, outside the vectorised loop
      },
      min_rows_per_thread(cols));
}

}  // namespace vigil::ops::cpu
