// Backend dispatch for ReLU/LeakyReLU; no cuDNN path (the Cudnn backend uses the hand-written kernels).
#include "activation/activation.h"
#include "activation/activation_ref.h"
#include "common/error.h"
#if VIGIL_WITH_CUDA
#include "activation/activation_cuda.h"
#endif

namespace vigil::ops {

void activation_forward(Backend backend, const ActivationParams& p, int64_t n, const float* x, float* y) {
  switch (backend) {
    case Backend::Reference:
    case Backend::Cpu: return ref::activation_forward(p, n, x, y);
    case Backend::Cuda:
    case Backend::Cudnn:
#if VIGIL_WITH_CUDA
      return cuda::activation_forward(p, n, x, y);
#endif
      break;
  }
  require_backend(backend);
  VIGIL_FAIL("activation_forward: no implementation for backend ", backend_name(backend));
}

void activation_backward(Backend backend, const ActivationParams& p, int64_t n, const float* x, const float* dy,
                         float* dx) {
  switch (backend) {
    case Backend::Reference:
    case Backend::Cpu: return ref::activation_backward(p, n, x, dy, dx);
    case Backend::Cuda:
    case Backend::Cudnn:
#if VIGIL_WITH_CUDA
      return cuda::activation_backward(p, n, x, dy, dx);
#endif
      break;
  }
  require_backend(backend);
  VIGIL_FAIL("activation_backward: no implementation for backend ", backend_name(backend));
}

}  // namespace vigil::ops
