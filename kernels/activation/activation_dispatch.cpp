// Backend dispatch for the activations, and their names; no cuDNN path (the Cudnn backend uses the hand-written
// kernels).
#include "activation/activation.h"
#include "activation/activation_cpu.h"
#include "activation/activation_ref.h"
#include "common/error.h"
#if VIGIL_WITH_CUDA
#include "activation/activation_cuda.h"
#endif

namespace vigil::ops {

const char* activation_kind_name(ActivationKind kind) {
  switch (kind) {
    case ActivationKind::Relu: return "relu";
    case ActivationKind::LeakyRelu: return "leaky_relu";
    case ActivationKind::Relu6: return "relu6";
    case ActivationKind::HardSwish: return "hardswish";
    case ActivationKind::Silu: return "silu";
    case ActivationKind::Sigmoid: return "sigmoid";
    case ActivationKind::HardSigmoid: return "hardsigmoid";
  }
  return "?";
}

void activation_forward(Backend backend, const ActivationParams& p, int64_t n, const float* x, float* y) {
  switch (backend) {
    case Backend::Reference: return ref::activation_forward(p, n, x, y);
    case Backend::Cpu: return cpu::activation_forward(p, n, x, y);
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
    case Backend::Reference: return ref::activation_backward(p, n, x, dy, dx);
    case Backend::Cpu: return cpu::activation_backward(p, n, x, dy, dx);
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
