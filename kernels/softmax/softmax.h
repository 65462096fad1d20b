// Softmax, log-softmax and fused softmax + cross-entropy over the rows of a (rows, cols) matrix, on every backend.
#pragma once
#include <cstdint>

#include "common/backend.h"

namespace vigil::ops {

// All matrices are row-major (rows, cols); the reduction runs along cols. Pointers live on the backend's
// device (host for Reference/Cpu, device for Cuda/Cudnn). rows >= 0, cols >= 1.

// y = softmax(x) per row, computed as exp(x - max) / sum exp(x - max) (no overflow for large logits).
void softmax_forward(Backend backend, int64_t rows, int64_t cols, const float* x /* (rows, cols) */,
                     float* y /* (rows, cols) */);

// dx += y * (dy - sum_j dy_j y_j)  (ACCUMULATES into dx); y is softmax_forward's output.
void softmax_backward(Backend backend, int64_t rows, int64_t cols, const float* y /* (rows, cols) */,
                      const float* dy /* (rows, cols) */, float* dx /* (rows, cols) */);

// y = log_softmax(x) per row, computed as (x - max) - log(sum exp(x - max)).
void log_softmax_forward(Backend backend, int64_t rows, int64_t cols, const float* x /* (rows, cols) */,
                         float* y /* (rows, cols) */);

// dx += dy - exp(y) * sum_j dy_j  (ACCUMULATES into dx); y is log_softmax_forward's output.
void log_softmax_backward(Backend backend, int64_t rows, int64_t cols, const float* y /* (rows, cols) */,
                          const float* dy /* (rows, cols) */, float* dx /* (rows, cols) */);

struct CrossEntropyParams {
  float label_smoothing = 0.f;           // eps in [0, 1]
  const float* class_weights = nullptr;  // (cols) on the backend's device, or nullptr (all ones)
};

// Fused softmax + cross-entropy with PyTorch's F.cross_entropy(weight=w, label_smoothing=eps, reduction='mean')
// semantics. With p = softmax(logits), y_i = labels[i], C = cols:
//   loss_i = (1 - eps) * w[y_i] * (-log p[i, y_i]) + (eps / C) * sum_c w[c] * (-log p[i, c])
//   loss   = sum_i loss_i / sum_i w[y_i]
// labels (rows) are int32 in [0, cols): Reference/Cpu throw on a label out of range; the GPU kernels never read
// out of bounds and treat such a row as ignored (no loss, no weight, no gradient), so validate on the host.
// Writes probs = p (kept for the backward pass) and loss (1 float on the backend's device). rows >= 1.
void softmax_cross_entropy_forward(Backend backend, const CrossEntropyParams& p, int64_t rows, int64_t cols,
                                   const float* logits /* (rows, cols) */, const int32_t* labels /* (rows) */,
                                   float* probs /* (rows, cols) */, float* loss /* (1) */);

// dlogits += dloss * d(loss)/d(logits)  (ACCUMULATES into dlogits); dloss is a host scalar, probs is the forward's
// output. Per element, with W = sum_i w[y_i] and S = sum_c w[c]:
//   d loss / d logits[i, k] = (p[i, k] * ((1 - eps) w[y_i] + (eps / C) S) - (1 - eps) w[y_i] [k == y_i]
//                              - (eps / C) w[k]) / W
void softmax_cross_entropy_backward(Backend backend, const CrossEntropyParams& p, int64_t rows, int64_t cols,
                                    const float* probs /* (rows, cols) */, const int32_t* labels /* (rows) */,
                                    float dloss, float* dlogits /* (rows, cols) */);

}  // namespace vigil::ops
