// Launchers for the hand-written softmax / log-softmax / cross-entropy CUDA kernels (device pointers, current
// stream). Rows of up to 512 columns get a warp each, longer rows a whole block.
#pragma once
#include <cstdint>

#include "softmax/softmax.h"

namespace vigil::ops::cuda {

void softmax_forward(int64_t rows, int64_t cols, const float* x /* (rows, cols) */, float* y /* (rows, cols) */);
// dx += y * (dy - sum_j dy_j y_j)  (ACCUMULATES).
void softmax_backward(int64_t rows, int64_t cols, const float* y /* (rows, cols) */,
                      const float* dy /* (rows, cols) */, float* dx /* (rows, cols) */);
void log_softmax_forward(int64_t rows, int64_t cols, const float* x /* (rows, cols) */, float* y /* (rows, cols) */);
// dx += dy - exp(y) * sum_j dy_j  (ACCUMULATES).
void log_softmax_backward(int64_t rows, int64_t cols, const float* y /* (rows, cols) */,
                          const float* dy /* (rows, cols) */, float* dx /* (rows, cols) */);

// softmax.h's contract; p.class_weights is a device array (cols) or nullptr. Rows whose label is outside
// [0, cols) are never read out of bounds: they count as ignored (no loss, no weight; probs still written).
// The mean is a deterministic two-pass reduction (per-row partials, then one block).
void softmax_cross_entropy_forward(const CrossEntropyParams& p, int64_t rows, int64_t cols,
                                   const float* logits /* (rows, cols) */, const int32_t* labels /* (rows) */,
                                   float* probs /* (rows, cols) */, float* loss /* (1) */);

// The same loss from log-probabilities (the cuDNN path): on entry probs holds log_softmax(logits), on exit
// softmax(logits) = exp(probs), converted in place.
void softmax_cross_entropy_forward_from_log_probs(const CrossEntropyParams& p, int64_t rows, int64_t cols,
                                                  const int32_t* labels /* (rows) */,
                                                  float* probs /* (rows, cols) */, float* loss /* (1) */);

// dlogits += dloss * d(loss)/d(logits)  (ACCUMULATES); rows with an out-of-range label are left untouched.
void softmax_cross_entropy_backward(const CrossEntropyParams& p, int64_t rows, int64_t cols,
                                    const float* probs /* (rows, cols) */, const int32_t* labels /* (rows) */,
                                    float dloss, float* dlogits /* (rows, cols) */);

}  // namespace vigil::ops::cuda
