// The fast CPU path for softmax / log-softmax / cross-entropy (float, host pointers): rows spread over OpenMP
// threads, inner loops written so the compiler vectorises them (including exp).
#pragma once
#include <cstdint>

#include "softmax/softmax.h"

namespace vigil::ops::cpu {

void softmax_forward(int64_t rows, int64_t cols, const float* x /* (rows, cols) */, float* y /* (rows, cols) */);
// dx += y * (dy - sum_j dy_j y_j)  (ACCUMULATES).
void softmax_backward(int64_t rows, int64_t cols, const float* y /* (rows, cols) */,
                      const float* dy /* (rows, cols) */, float* dx /* (rows, cols) */);
void log_softmax_forward(int64_t rows, int64_t cols, const float* x /* (rows, cols) */, float* y /* (rows, cols) */);
// dx += dy - exp(y) * sum_j dy_j  (ACCUMULATES).
void log_softmax_backward(int64_t rows, int64_t cols, const float* y /* (rows, cols) */,
                          const float* dy /* (rows, cols) */, float* dx /* (rows, cols) */);
// Throws vigil::Error naming the row and value when a label is outside [0, cols), before writing anything.
void softmax_cross_entropy_forward(const CrossEntropyParams& p, int64_t rows, int64_t cols,
                                   const float* logits /* (rows, cols) */, const int32_t* labels /* (rows) */,
                                   float* probs /* (rows, cols) */, float* loss /* (1) */);
// dlogits += dloss * d(loss)/d(logits)  (ACCUMULATES).
void softmax_cross_entropy_backward(const CrossEntropyParams& p, int64_t rows, int64_t cols,
                                    const float* probs /* (rows, cols) */, const int32_t* labels /* (rows) */,
                                    float dloss, float* dlogits /* (rows, cols) */);

}  // namespace vigil::ops::cpu
