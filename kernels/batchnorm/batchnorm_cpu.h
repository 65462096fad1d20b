// Fast CPU batch norm (float, host pointers): OpenMP over channels, two-pass statistics accumulated in double.
#pragma once
#include <cstdint>

#include "batchnorm/batchnorm.h"

// Note: inside this namespace the threading helpers must be spelled vigil::cpu::..., since ops::cpu hides them.
namespace vigil::ops::cpu {

// Same contracts as the public functions in batchnorm.h (validated there).
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

}  // namespace vigil::ops::cpu
