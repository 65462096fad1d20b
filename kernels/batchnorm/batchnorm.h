// 2-D batch normalisation over NCHW (per-channel statistics over N*H*W), training and eval, on every backend.
#pragma once
#include <cstdint>

#include "common/backend.h"

namespace vigil::ops {

// x is viewed as (n, c, hw) with hw = H * W. eps is added to the variance; momentum weights the new batch
// statistic in the running averages (PyTorch's convention: running = (1 - momentum) * running + momentum * stat).
struct BatchNormShape {
  int64_t n = 0, c = 0, hw = 0;
  float eps = 1e-5f;
  float momentum = 0.1f;
  // Throws vigil::Error unless n, c, hw >= 1, n * c * hw fits in int64, eps >= 0 (finite) and momentum in [0, 1].
  void validate() const;
};

// Training forward: normalise with the batch statistics, y = gamma * (x - mean) * invstd + beta, where
// mean and the biased variance are taken per channel over n * hw values. Updates the running statistics as
// PyTorch does, with the UNBIASED variance (n*hw / (n*hw - 1)) for running_var, and saves save_mean and
// save_invstd = 1 / sqrt(biased_var + eps) for batchnorm_backward. Requires n * hw > 1 (PyTorch: "Expected
// more than 1 value per channel when training"). y may alias x.
void batchnorm_forward_train(Backend backend, const BatchNormShape& s, const float* x /* (N, C, HW) */,
                             const float* gamma /* (C) */, const float* beta /* (C) */, float* y /* (N, C, HW) */,
                             float* running_mean /* (C), updated */, float* running_var /* (C), updated */,
                             float* save_mean /* (C), written */, float* save_invstd /* (C), written */);

// Eval forward: y = gamma * (x - running_mean) / sqrt(running_var + eps) + beta. y may alias x.
void batchnorm_forward_eval(Backend backend, const BatchNormShape& s, const float* x /* (N, C, HW) */,
                            const float* gamma /* (C) */, const float* beta /* (C) */,
                            const float* running_mean /* (C) */, const float* running_var /* (C) */,
                            float* y /* (N, C, HW) */);

// Training-mode backward through the batch statistics saved by batchnorm_forward_train. ACCUMULATES:
// dx += dL/dx, dgamma += sum(dy * xhat), dbeta += sum(dy), with xhat = (x - save_mean) * save_invstd.
// Requires n * hw > 1, like the training forward. dx must not alias x or dy.
void batchnorm_backward(Backend backend, const BatchNormShape& s, const float* x /* (N, C, HW) */,
                        const float* dy /* (N, C, HW) */, const float* gamma /* (C) */,
                        const float* save_mean /* (C) */, const float* save_invstd /* (C) */,
                        float* dx /* (N, C, HW), += */, float* dgamma /* (C), += */, float* dbeta /* (C), += */);

// Eval-mode backward with frozen statistics (fine-tuning with frozen BN). ACCUMULATES:
// dx += gamma * invstd * dy, dgamma += sum(dy * xhat), dbeta += sum(dy), with
// invstd = 1 / sqrt(running_var + eps) and xhat = (x - running_mean) * invstd. dx must not alias x or dy.
void batchnorm_backward_eval(Backend backend, const BatchNormShape& s, const float* x /* (N, C, HW) */,
                             const float* dy /* (N, C, HW) */, const float* gamma /* (C) */,
                             const float* running_mean /* (C) */, const float* running_var /* (C) */,
                             float* dx /* (N, C, HW), += */, float* dgamma /* (C), += */,
                             float* dbeta /* (C), += */);

}  // namespace vigil::ops
