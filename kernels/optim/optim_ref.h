// Reference SGD / Adam / AdamW steps, templated so tests can run them in double.
#pragma once
#include <cstdint>

#include "optim/optim.h"

namespace vigil::ops::ref {

// Contract as ops::sgd_step; momentum_buf may be nullptr iff p.momentum == 0.
template <typename T>
void sgd_step(const SgdParams& p, int64_t n, T* w /* (n) */, const T* g /* (n) */, T* momentum_buf /* (n) */,
              bool first_step);

// Contract as ops::adam_step.
template <typename T>
void adam_step(const AdamParams& p, int64_t n, T* w /* (n) */, const T* g /* (n) */, T* m /* (n) */,
               T* v /* (n) */);

}  // namespace vigil::ops::ref
