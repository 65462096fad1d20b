// Launchers for the hand-written SGD / Adam / AdamW CUDA kernels (device pointers, current stream).
#pragma once
#include <cstdint>

#include "optim/optim.h"

namespace vigil::ops::cuda {

// Contract as ops::sgd_step (parameters already validated).
void sgd_step(const SgdParams& p, int64_t n, float* w /* (n) */, const float* g /* (n) */,
              float* momentum_buf /* (n) or nullptr */, bool first_step);

// Contract as ops::adam_step (parameters already validated).
void adam_step(const AdamParams& p, int64_t n, float* w /* (n) */, const float* g /* (n) */, float* m /* (n) */,
               float* v /* (n) */);

}  // namespace vigil::ops::cuda
