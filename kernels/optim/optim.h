// Optimizer steps (SGD with momentum/Nesterov/weight decay, Adam, AdamW) with PyTorch's exact semantics.
#pragma once
#include <cstdint>

#include "common/backend.h"

namespace vigil::ops {

// torch.optim.SGD. Per element, with g' = g + weight_decay * w (skipped when weight_decay == 0):
//   momentum == 0: w -= lr * g'
//   momentum != 0: buf = first_step ? g' : momentum * buf + (1 - dampening) * g'
//                  w -= lr * (nesterov ? g' + momentum * buf : buf)
// Requires lr >= 0, momentum >= 0, weight_decay >= 0; nesterov requires momentum > 0 and dampening == 0.
struct SgdParams {
  float lr = 0.01f;
  float momentum = 0;
  float dampening = 0;
  float weight_decay = 0;
  bool nesterov = false;
};

// One SGD step over n parameters, updating w (and momentum_buf) in place. momentum_buf may be nullptr iff
// momentum == 0 (it is not touched then); first_step: the buffer has no history yet (it is overwritten, not
// read). Pointers are host memory for Reference/Cpu and device memory for Cuda/Cudnn; the arrays must not
// overlap.
void sgd_step(Backend backend, const SgdParams& p, int64_t n, float* w /* (n) */, const float* g /* (n) */,
              float* momentum_buf /* (n) or nullptr */, bool first_step);

// torch.optim.Adam (decoupled = false) and torch.optim.AdamW (decoupled = true), amsgrad off. Per element:
//   Adam:  g' = g + weight_decay * w (skipped when weight_decay == 0)      AdamW: w *= 1 - lr * weight_decay; g' = g
//   m = beta1 * m + (1 - beta1) * g';  v = beta2 * v + (1 - beta2) * g' * g'
//   w -= step_size * m / (sqrt(v) / sqrt(bc2) + eps),  step_size = lr / bc1,  bc1 = 1 - beta1^step,
//   bc2 = 1 - beta2^step
// in PyTorch's order of float operations; the per-step scalars (step_size, sqrt(bc2), 1 - lr * weight_decay)
// are computed in double from the float parameters and rounded to float once, as PyTorch does in Python.
// Requires lr >= 0, eps >= 0, weight_decay >= 0, 0 <= beta1, beta2 < 1, step >= 1.
struct AdamParams {
  float lr = 1e-3f;
  float beta1 = 0.9f, beta2 = 0.999f, eps = 1e-8f, weight_decay = 0;
  bool decoupled = false;  // true = AdamW
  int64_t step = 1;        // 1-based step number (after this update), for the bias corrections
};

// One Adam/AdamW step over n parameters, updating w, m (first moment) and v (second moment) in place; start
// m and v at zero before step 1. Pointers as for sgd_step (host or device memory, not overlapping).
void adam_step(Backend backend, const AdamParams& p, int64_t n, float* w /* (n) */, const float* g /* (n) */,
               float* m /* (n) */, float* v /* (n) */);

}  // namespace vigil::ops
