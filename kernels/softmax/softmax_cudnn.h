// cuDNN softmax / log-softmax (cudnnSoftmaxForward/Backward, INSTANCE mode on a (rows, cols, 1, 1) tensor) and
// the cross-entropy forward built on cuDNN's log-softmax; device pointers, current stream.
#pragma once
#include <cstdint>

#include "softmax/softmax.h"

namespace vigil::ops::cudnn {

// CUDNN_SOFTMAX_ACCURATE (max subtraction).
void softmax_forward(int64_t rows, int64_t cols, const float* x /* (rows, cols) */, float* y /* (rows, cols) */);
// dx += y * (dy - sum_j dy_j y_j)  (ACCUMULATES, via beta = 1).
void softmax_backward(int64_t rows, int64_t cols, const float* y /* (rows, cols) */,
                      const float* dy /* (rows, cols) */, float* dx /* (rows, cols) */);
// CUDNN_SOFTMAX_LOG.
void log_softmax_forward(int64_t rows, int64_t cols, const float* x /* (rows, cols) */, float* y /* (rows, cols) */);
// dx += dy - exp(y) * sum_j dy_j  (ACCUMULATES, via beta = 1).
void log_softmax_backward(int64_t rows, int64_t cols, const float* y /* (rows, cols) */,
                          const float* dy /* (rows, cols) */, float* dx /* (rows, cols) */);

// softmax.h's contract: cuDNN's log-softmax into probs, then the hand-written kernels take the loss from the
// log-probabilities (finite even where a probability underflows) and turn probs into exp(log-probs) in place.
void softmax_cross_entropy_forward(const CrossEntropyParams& p, int64_t rows, int64_t cols,
                                   const float* logits /* (rows, cols) */, const int32_t* labels /* (rows) */,
                                   float* probs /* (rows, cols) */, float* loss /* (1) */);

}  // namespace vigil::ops::cudnn
