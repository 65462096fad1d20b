// Launchers for the hand-written batch-norm CUDA kernels (device pointers, current stream).
#pragma once
#include <cstdint>

#include "batchnorm/batchnorm.h"

namespace vigil::ops::cuda {

// Same contracts as the public functions in batchnorm.h (validated there). Deterministic: every per-channel
// sum is reduced by one block in a fixed order (no atomics).
void batchnorm_forward_train(const BatchNormShape& s, const float* x /* (N, C, HW) */, const float* gamma /* (C) */,
                             const float* beta /* (C) */, float* y /* (N, C, HW) */, float* running_mean /* (C) */,
                             float* running_var /* (C) */, float* save_mean /* (C) */, float* save_invstd /* (C) */);

void batchnorm_forward_eval(const BatchNormShape& s, const float* x /* (N, C, HW) */, const float* gamma /* (C) */,
                            const float* beta /* (C) */, const float* running_mean /* (C) */,
                            const float* running_var /* (C) */, float* y /* (N, C, HW) */);

// dx +=, dgamma +=, dbeta += (ACCUMULATES).
void batchnorm_backward(const BatchNormShape& s, const float* x /* (N, C, HW) */, const float* dy /* (N, C, HW) */,
                        const float* gamma /* (C) */, const float* save_mean /* (C) */,
                        const float* save_invstd /* (C) */, float* dx /* (N, C, HW) */, float* dgamma /* (C) */,
                        float* dbeta /* (C) */);

// dx +=, dgamma +=, dbeta += (ACCUMULATES).
void batchnorm_backward_eval(const BatchNormShape& s, const float* x /* (N, C, HW) */,
                             const float* dy /* (N, C, HW) */, const float* gamma /* (C) */,
                             const float* running_mean /* (C) */, const float* running_var /* (C) */,
                             float* dx /* (N, C, HW) */, float* dgamma /* (C) */, float* dbeta /* (C) */);

}  // namespace vigil::ops::cuda
