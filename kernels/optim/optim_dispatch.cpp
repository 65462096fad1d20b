// Backend dispatch and parameter validation for the optimizer steps (Cudnn runs the hand-written kernels).
#include "common/error.h"
#include "optim/optim.h"
#include "optim/optim_cpu.h"
#include "optim/optim_ref.h"
#if VIGIL_WITH_CUDA
#include "optim/optim_cuda.h"
#endif

namespace vigil::ops {

void sgd_step(Backend backend, const SgdParams& p, int64_t n, float* w, const float* g, float* momentum_buf,
              bool first_step) {
  VIGIL_CHECK(n >= 0, "sgd_step: n must be >= 0, got ", n);
  VIGIL_CHECK(p.lr >= 0.f, "sgd_step: invalid learning rate ", p.lr);
  VIGIL_CHECK(p.momentum >= 0.f, "sgd_step: invalid momentum ", p.momentum);
  VIGIL_CHECK(p.weight_decay >= 0.f, "sgd_step: invalid weight_decay ", p.weight_decay);
  VIGIL_CHECK(!p.nesterov || (p.momentum > 0.f && p.dampening == 0.f),
              "sgd_step: Nesterov momentum requires a momentum and zero dampening (momentum ", p.momentum,
              ", dampening ", p.dampening, ")");
  VIGIL_CHECK(n == 0 || (w && g), "sgd_step: null w or g for n = ", n);
  VIGIL_CHECK(n == 0 || p.momentum == 0.f || momentum_buf, "sgd_step: momentum ", p.momentum,
              " needs a momentum buffer");
  switch (backend) {
    case Backend::Reference: return ref::sgd_step(p, n, w, g, momentum_buf, first_step);
    case Backend::Cpu: return cpu::sgd_step(p, n, w, g, momentum_buf, first_step);
    case Backend::Cuda:
    case Backend::Cudnn:
#if VIGIL_WITH_CUDA
      return cuda::sgd_step(p, n, w, g, momentum_buf, first_step);
#endif
      break;
  }
  require_backend(backend);
  VIGIL_FAIL("sgd_step: no implementation for backend ", backend_name(backend));
}

void adam_step(Backend backend, const AdamParams& p, int64_t n, float* w, const float* g, float* m, float* v) {
  VIGIL_CHECK(n >= 0, "adam_step: n must be >= 0, got ", n);
  VIGIL_CHECK(p.lr >= 0.f, "adam_step: invalid learning rate ", p.lr);
  VIGIL_CHECK(p.eps >= 0.f, "adam_step: invalid epsilon ", p.eps);
  VIGIL_CHECK(p.beta1 >= 0.f && p.beta1 < 1.f, "adam_step: invalid beta1 ", p.beta1);
  VIGIL_CHECK(p.beta2 >= 0.f && p.beta2 < 1.f, "adam_step: invalid beta2 ", p.beta2);
  VIGIL_CHECK(p.weight_decay >= 0.f, "adam_step: invalid weight_decay ", p.weight_decay);
  VIGIL_CHECK(p.step >= 1, "adam_step: step is 1-based, got ", p.step);
  VIGIL_CHECK(n == 0 || (w && g && m && v), "adam_step: null w, g, m or v for n = ", n);
  switch (backend) {
    case Backend::Reference: return ref::adam_step(p, n, w, g, m, v);
    case Backend::Cpu: return cpu::adam_step(p, n, w, g, m, v);
    case Backend::Cuda:
    case Backend::Cudnn:
#if VIGIL_WITH_CUDA
      return cuda::adam_step(p, n, w, g, m, v);
#endif
      break;
  }
  require_backend(backend);
  VIGIL_FAIL("adam_step: no implementation for backend ", backend_name(backend));
}

}  // namespace vigil::ops
