// Plain-loop reference for batch norm, templated so gradient checks can run in double.
#pragma once
#include <cstdint>

#include "batchnorm/batchnorm.h"

namespace vigil::ops::ref {

// Same contracts as the public functions in batchnorm.h (no validation here). Statistics are accumulated in
// double; y, running statistics and saved statistics are rounded to T once at the end.
template <typename T>
void batchnorm_forward_train(const BatchNormShape& s, const T* x /* (N, C, HW) */, const T* gamma /* (C) */,
                             const T* beta /* (C) */, T* y /* (N, C, HW) */, T* running_mean /* (C) */,
                             T* running_var /* (C) */, T* save_mean /* (C) */, T* save_invstd /* (C) */);

template <typename T>
void batchnorm_forward_eval(const BatchNormShape& s, const T* x /* (N, C, HW) */, const T* gamma /* (C) */,
                            const T* beta /* (C) */, const T* running_mean /* (C) */,
                            const T* running_var /* (C) */, T* y /* (N, C, HW) */);

// dx +=, dgamma +=, dbeta += (ACCUMULATES).
template <typename T>
void batchnorm_backward(const BatchNormShape& s, const T* x /* (N, C, HW) */, const T* dy /* (N, C, HW) */,
                        const T* gamma /* (C) */, const T* save_mean /* (C) */, const T* save_invstd /* (C) */,
                        T* dx /* (N, C, HW) */, T* dgamma /* (C) */, T* dbeta /* (C) */);

// dx +=, dgamma +=, dbeta += (ACCUMULATES).
template <typename T>
void batchnorm_backward_eval(const BatchNormShape& s, const T* x /* (N, C, HW) */, const T* dy /* (N, C, HW) */,
                             const T* gamma /* (C) */, const T* running_mean /* (C) */,
                             const T* running_var /* (C) */, T* dx /* (N, C, HW) */, T* dgamma /* (C) */,
                             T* dbeta /* (C) */);

}  // namespace vigil::ops::ref
