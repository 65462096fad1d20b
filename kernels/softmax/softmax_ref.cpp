// Reference softmax / log-softmax / cross-entropy: serial loops, max subtraction, double accumulation; float and
// double instances.
#include "softmax/softmax_ref.h"

#include <algorithm>
#include <cmath>

#include "common/error.h"

namespace vigil::ops::ref {
namespace {

// Every sum accumulates in double, so the float instance is ground truth to within its final rounding.
using Acc = double;

// Row maximum and sum_c exp(x_c - max): the numerically stable normaliser of one row.
struct RowStats {
  Acc max;
  Acc sum;
};

template <typename T>
RowStats row_stats(int64_t cols, const T* x) {
  Acc m = x[0];
  for (int64_t c = 1; c < cols; ++c) m = std::max<Acc>(m, x[c]);
  Acc s = 0;
  for (int64_t c = 0; c < cols; ++c) s += std::exp(x[c] - m);
  return {m, s};
}

Acc weight_of(const CrossEntropyParams& p, int64_t c) { return p.class_weights ? p.class_weights[c] : 1.0; }

}  // namespace

void check_cross_entropy_labels(int64_t rows, int64_t cols, const int32_t* labels) {
  for (int64_t i = 0; i < rows; ++i)
    VIGIL_CHECK(labels[i] >= 0 && labels[i] < cols, "softmax_cross_entropy: label of row ", i, " is ", labels[i],
                ", outside [0, ", cols, ")");
}

template <typename T>
void softmax_forward(int64_t rows, int64_t cols, const T* x, T* y) {
  for (int64_t i = 0; i < rows; ++i) {
    const T* xr = x + i * cols;
    T* yr = y + i * cols;
    const RowStats st = row_stats(cols, xr);
    for (int64_t c = 0; c < cols; ++c) yr[c] = static_cast<T>(std::exp(xr[c] - st.max) / st.sum);
  }
}

template <typename T>
void softmax_backward(int64_t rows, int64_t cols, const T* y, const T* dy, T* dx) {
  for (int64_t i = 0; i < rows; ++i) {
    const int64_t o = i * cols;
    Acc dot = 0;
    for (int64_t c = 0; c < cols; ++c) dot += Acc(dy[o + c]) * y[o + c];
    for (int64_t c = 0; c < cols; ++c) dx[o + c] += static_cast<T>(y[o + c] * (dy[o + c] - dot));
  }
}

template <typename T>
void log_softmax_forward(int64_t rows, int64_t cols, const T* x, T* y) {
  for (int64_t i = 0; i < rows; ++i) {
    const T* xr = x + i * cols;
    T* yr = y + i * cols;
    const RowStats st = row_stats(cols, xr);
    const Acc log_sum = std::log(st.sum);
    for (int64_t c = 0; c < cols; ++c) yr[c] = static_cast<T>((xr[c] - st.max) - log_sum);
  }
}

template <typename T>
void log_softmax_backward(int64_t rows, int64_t cols, const T* y, const T* dy, T* dx) {
  for (int64_t i = 0; i < rows; ++i) {
    const int64_t o = i * cols;
    Acc sum = 0;
    for (int64_t c = 0; c < cols; ++c) sum += dy[o + c];
    for (int64_t c = 0; c < cols; ++c) dx[o + c] += static_cast<T>(dy[o + c] - std::exp(Acc(y[o + c])) * sum);
  }
}

template <typename T>
void softmax_cross_entropy_forward(const CrossEntropyParams& p, int64_t rows, int64_t cols, const T* logits,
                                   const int32_t* labels, T* probs, T* loss) {
  check_cross_entropy_labels(rows, cols, labels);
  const Acc eps = p.label_smoothing;
  Acc total = 0, weight_total = 0;
  for (int64_t i = 0; i < rows; ++i) {
    const T* xr = logits + i * cols;
    T* pr = probs + i * cols;
    const RowStats st = row_stats(cols, xr);
    const Acc log_sum = std::log(st.sum);
    // -log p_c = (max - x_c) + log_sum: both terms >= 0, so large logits lose no precision here.
    Acc smooth = 0;
    for (int64_t c = 0; c < cols; ++c) {
      pr[c] = static_cast<T>(std::exp(xr[c] - st.max) / st.sum);
      smooth += weight_of(p, c) * ((st.max - xr[c]) + log_sum);
    }
    const int32_t y = labels[i];
    const Acc wy = weight_of(p, y);
    total += (1 - eps) * wy * ((st.max - xr[y]) + log_sum) + eps / static_cast<Acc>(cols) * smooth;
    weight_total += wy;
  }
  *loss = static_cast<T>(total / weight_total);
}

template <typename T>
void softmax_cross_entropy_backward(const CrossEntropyParams& p, int64_t rows, int64_t cols, const T* probs,
                                    const int32_t* labels, T dloss, T* dlogits) {
  check_cross_entropy_labels(rows, cols, labels);
  const Acc eps = p.label_smoothing;
  const Acc smooth = eps / static_cast<Acc>(cols);
  Acc weight_total = 0, class_weight_sum = 0;
  for (int64_t i = 0; i < rows; ++i) weight_total += weight_of(p, labels[i]);
  for (int64_t c = 0; c < cols; ++c) class_weight_sum += weight_of(p, c);
  const Acc scale = dloss / weight_total;
  for (int64_t i = 0; i < rows; ++i) {
    const int32_t y = labels[i];
    const Acc wy = weight_of(p, y);
    const Acc prob_coef = (1 - eps) * wy + smooth * class_weight_sum;
    for (int64_t c = 0; c < cols; ++c) {
      const Acc target = (c == y ? (1 - eps) * wy : 0.0) + smooth * weight_of(p, c);
      dlogits[i * cols + c] += static_cast<T>(scale * (probs[i * cols + c] * prob_coef - target));
    }
  }
}

#define VIGIL_SOFTMAX_REF_INSTANTIATE(T)                                                                      \
  template void softmax_forward<T>(int64_t, int64_t, const T*, T*);                                           \
  template void softmax_backward<T>(int64_t, int64_t, const T*, const T*, T*);                                \
  template void log_softmax_forward<T>(int64_t, int64_t, const T*, T*);                                       \
  template void log_softmax_backward<T>(int64_t, int64_t, const T*, const T*, T*);                            \
  template void softmax_cross_entropy_forward<T>(const CrossEntropyParams&, int64_t, int64_t, const T*,       \
                                                 const int32_t*, T*, T*);                                     \
  template void softmax_cross_entropy_backward<T>(const CrossEntropyParams&, int64_t, int64_t, const T*,      \
                                                  const int32_t*, T, T*);
VIGIL_SOFTMAX_REF_INSTANTIATE(float)
VIGIL_SOFTMAX_REF_INSTANTIATE(double)
#undef VIGIL_SOFTMAX_REF_INSTANTIATE

}  // namespace vigil::ops::ref
