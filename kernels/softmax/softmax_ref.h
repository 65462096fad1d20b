// Plain-loop reference for softmax, log-softmax and softmax + cross-entropy, templated so gradient checks run
// in double.
#pragma once
#include <cstdint>

#include "softmax/softmax.h"

namespace vigil::ops::ref {

template <typename T>
void softmax_forward(int64_t rows, int64_t cols, const T* x /* (rows, cols) */, T* y /* (rows, cols) */);

// dx += y * (dy - sum_j dy_j y_j)  (ACCUMULATES).
template <typename T>
void softmax_backward(int64_t rows, int64_t cols, const T* y /* (rows, cols) */, const T* dy /* (rows, cols) */,
                      T* dx /* (rows, cols) */);

template <typename T>
void log_softmax_forward(int64_t rows, int64_t cols, const T* x /* (rows, cols) */, T* y /* (rows, cols) */);

// dx += dy - exp(y) * sum_j dy_j  (ACCUMULATES).
template <typename T>
void log_softmax_backward(int64_t rows, int64_t cols, const T* y /* (rows, cols) */, const T* dy /* (rows, cols) */,
                          T* dx /* (rows, cols) */);

// PyTorch F.cross_entropy semantics (see softmax.h); p.class_weights is a host array (cols) or nullptr. Throws
// vigil::Error naming the row and value when a label is outside [0, cols), before writing anything.
template <typename T>
void softmax_cross_entropy_forward(const CrossEntropyParams& p, int64_t rows, int64_t cols,
                                   const T* logits /* (rows, cols) */, const int32_t* labels /* (rows) */,
                                   T* probs /* (rows, cols) */, T* loss /* (1) */);

// dlogits += dloss * d(loss)/d(logits)  (ACCUMULATES).
template <typename T>
void softmax_cross_entropy_backward(const CrossEntropyParams& p, int64_t rows, int64_t cols,
                                    const T* probs /* (rows, cols) */, const int32_t* labels /* (rows) */, T dloss,
                                    T* dlogits /* (rows, cols) */);

// Throws vigil::Error naming the first row whose label is outside [0, cols) (shared with the CPU path).
void check_cross_entropy_labels(int64_t rows, int64_t cols, const int32_t* labels /* (rows) */);

}  // namespace vigil::ops::ref
