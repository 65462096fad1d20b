// Backend dispatch and parameter validation for batch norm; no cuDNN path (Cudnn uses the hand-written kernels).
#include "batchnorm/batchnorm.h"
#include "batchnorm/batchnorm_cpu.h"
#include "batchnorm/batchnorm_ref.h"

#include <cmath>
#include <limits>

#include "common/error.h"
#if VIGIL_WITH_CUDA
#include "batchnorm/batchnorm_cuda.h"
#endif

namespace vigil::ops {

void BatchNormShape::validate() const {
  VIGIL_CHECK(n >= 1 && c >= 1 && hw >= 1, "batchnorm: n, c and hw must be >= 1, got n=", n, " c=", c, " hw=", hw);
  VIGIL_CHECK(n <= std::numeric_limits<int64_t>::max() / c / hw, "batchnorm: n*c*hw overflows int64 (n=", n,
              " c=", c, " hw=", hw, ")");
  VIGIL_CHECK(std::isfinite(eps) && eps >= 0.f, "batchnorm: eps must be finite and >= 0, got ", eps);
  VIGIL_CHECK(momentum >= 0.f && momentum <= 1.f, "batchnorm: momentum must be in [0, 1], got ", momentum);
}

namespace {

// Training mode normalises with the batch's own statistics, which need at least two values per channel.
void validate_train(const BatchNormShape& s, const char* fn) {
  s.validate();
  VIGIL_CHECK(s.n * s.hw > 1, fn, ": Expected more than 1 value per channel when training, got n=", s.n,
              " c=", s.c, " hw=", s.hw);
}

}  // namespace

void batchnorm_forward_train(Backend backend, const BatchNormShape& s, const float* x, const float* gamma,
                             const float* beta, float* y, float* running_mean, float* running_var, float* save_mean,
                             float* save_invstd) {
  validate_train(s, "batchnorm_forward_train");
  switch (backend) {
    case Backend::Reference:
      return ref::batchnorm_forward_train(s, x, gamma, beta, y, running_mean, running_var, save_mean, save_invstd);
    case Backend::Cpu:
      return cpu::batchnorm_forward_train(s, x, gamma, beta, y, running_mean, running_var, save_mean, save_invstd);
    case Backend::Cuda:
    case Backend::Cudnn:
#if VIGIL_WITH_CUDA
      return cuda::batchnorm_forward_train(s, x, gamma, beta, y, running_mean, running_var, save_mean, save_invstd);
#endif
      break;
  }
  require_backend(backend);
  VIGIL_FAIL("batchnorm_forward_train: no implementation for backend ", backend_name(backend));
}

void batchnorm_forward_eval(Backend backend, const BatchNormShape& s, const float* x, const float* gamma,
                            const float* beta, const float* running_mean, const float* running_var, float* y) {
  s.validate();
  switch (backend) {
    case Backend::Reference: return ref::batchnorm_forward_eval(s, x, gamma, beta, running_mean, running_var, y);
    case Backend::Cpu: return cpu::batchnorm_forward_eval(s, x, gamma, beta, running_mean, running_var, y);
    case Backend::Cuda:
    case Backend::Cudnn:
#if VIGIL_WITH_CUDA
      return cuda::batchnorm_forward_eval(s, x, gamma, beta, running_mean, running_var, y);
#endif
      break;
  }
  require_backend(backend);
  VIGIL_FAIL("batchnorm_forward_eval: no implementation for backend ", backend_name(backend));
}

void batchnorm_backward(Backend backend, const BatchNormShape& s, const float* x, const float* dy,
                        const float* gamma, const float* save_mean, const float* save_invstd, float* dx,
                        float* dgamma, float* dbeta) {
  validate_train(s, "batchnorm_backward");
  switch (backend) {
    case Backend::Reference:
      return ref::batchnorm_backward(s, x, dy, gamma, save_mean, save_invstd, dx, dgamma, dbeta);
    case Backend::Cpu: return cpu::batchnorm_backward(s, x, dy, gamma, save_mean, save_invstd, dx, dgamma, dbeta);
    case Backend::Cuda:
    case Backend::Cudnn:
#if VIGIL_WITH_CUDA
      return cuda::batchnorm_backward(s, x, dy, gamma, save_mean, save_invstd, dx, dgamma, dbeta);
#endif
      break;
  }
  require_backend(backend);
  VIGIL_FAIL("batchnorm_backward: no implementation for backend ", backend_name(backend));
}

void batchnorm_backward_eval(Backend backend, const BatchNormShape& s, const float* x, const float* dy,
                             const float* gamma, const float* running_mean, const float* running_var, float* dx,
                             float* dgamma, float* dbeta) {
  s.validate();
  switch (backend) {
    case Backend::Reference:
      return ref::batchnorm_backward_eval(s, x, dy, gamma, running_mean, running_var, dx, dgamma, dbeta);
    case Backend::Cpu:
      return cpu::batchnorm_backward_eval(s, x, dy, gamma, running_mean, running_var, dx, dgamma, dbeta);
    case Backend::Cuda:
    case Backend::Cudnn:
#if VIGIL_WITH_CUDA
      return cuda::batchnorm_backward_eval(s, x, dy, gamma, running_mean, running_var, dx, dgamma, dbeta);
#endif
      break;
  }
  require_backend(backend);
  VIGIL_FAIL("batchnorm_backward_eval: no implementation for backend ", backend_name(backend));
}

}  // namespace vigil::ops
