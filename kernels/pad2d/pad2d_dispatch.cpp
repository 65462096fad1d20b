// Backend dispatch for 2-D zero padding: shape and pointer checks, then Reference / Cpu / Cuda; no cuDNN path
// (the Cudnn backend uses the hand-written kernels).
#include "common/error.h"
#include "pad2d/pad2d.h"
#include "pad2d/pad2d_cpu.h"
#include "pad2d/pad2d_ref.h"
#if VIGIL_WITH_CUDA
#include "pad2d/pad2d_cuda.h"
#endif

namespace vigil::ops {

void pad2d_forward(Backend backend, const Pad2dShape& s, const float* x, float* y) {
  s.validate();
  VIGIL_CHECK(x && y, "pad2d_forward: x and y must not be null");
  switch (backend) {
    case Backend::Reference: return ref::pad2d_forward<float>(s, x, y);
    case Backend::Cpu: return cpu::pad2d_forward(s, x, y);
    case Backend::Cuda:
    case Backend::Cudnn:
#if VIGIL_WITH_CUDA
      return cuda::pad2d_forward(s, x, y);
#endif
      break;
  }
  require_backend(backend);
  VIGIL_FAIL("pad2d_forward: no implementation for backend ", backend_name(backend));
}

void pad2d_backward(Backend backend, const Pad2dShape& s, const float* dy, float* dx) {
  s.validate();
  VIGIL_CHECK(dy && dx, "pad2d_backward: dy and dx must not be null");
  switch (backend) {
    case Backend::Reference: return ref::pad2d_backward<float>(s, dy, dx);
    case Backend::Cpu: return cpu::pad2d_backward(s, dy, dx);
    case Backend::Cuda:
    case Backend::Cudnn:
#if VIGIL_WITH_CUDA
      return cuda::pad2d_backward(s, dy, dx);
#endif
      break;
  }
  require_backend(backend);
  VIGIL_FAIL("pad2d_backward: no implementation for backend ", backend_name(backend));
}

}  // namespace vigil::ops
