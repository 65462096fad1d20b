// Backend dispatch for inverted dropout: parameter checks, then Reference / Cpu / Cuda / Cudnn (cuDNN's RNG).
#include <cmath>
#include <limits>

#include "common/error.h"
#include "dropout/dropout.h"
#include "dropout/dropout_cpu.h"
#include "dropout/dropout_ref.h"
#if VIGIL_WITH_CUDA
#include "dropout/dropout_cuda.h"
#endif
#if VIGIL_WITH_CUDNN
#include "dropout/dropout_cudnn.h"
#endif

namespace vigil::ops {
namespace {

void check_params(const char* fn, Backend backend, const DropoutParams& p, int64_t n) {
  VIGIL_CHECK(std::isfinite(p.p) && p.p >= 0.f && p.p < 1.f, fn, ": dropout probability must be in [0, 1), got ",
              p.p);
  VIGIL_CHECK(n >= 0, fn, ": element count must be non-negative, got ", n);
  VIGIL_CHECK(backend != Backend::Cudnn || n <= std::numeric_limits<int>::max(), fn,
              ": the cuDNN path takes at most 2^31-1 elements, got ", n);
}

}  // namespace

size_t dropout_reserve_bytes(Backend backend, int64_t n) {
  VIGIL_CHECK(n >= 0, "dropout_reserve_bytes: element count must be non-negative, got ", n);
  VIGIL_CHECK(backend != Backend::Cudnn || n <= std::numeric_limits<int>::max(),
              "dropout_reserve_bytes: the cuDNN path takes at most 2^31-1 elements, got ", n);
  switch (backend) {
    case Backend::Reference:
    case Backend::Cpu: return static_cast<size_t>(n);
    case Backend::Cuda:
#if VIGIL_WITH_CUDA
      return static_cast<size_t>(n);
#endif
      break;
    case Backend::Cudnn:
#if VIGIL_WITH_CUDNN
      return cudnn::dropout_reserve_bytes(n);
#endif
      break;
  }
  require_backend(backend);
  VIGIL_FAIL("dropout_reserve_bytes: no implementation for backend ", backend_name(backend));
}

void dropout_forward(Backend backend, const DropoutParams& p, int64_t n, const float* x, float* y, void* reserve) {
  check_params("dropout_forward", backend, p, n);
  VIGIL_CHECK(n == 0 || (x && y && reserve), "dropout_forward: null pointer for ", n, " elements");
  switch (backend) {
    case Backend::Reference: return ref::dropout_forward(p, n, x, y, static_cast<uint8_t*>(reserve));
    case Backend::Cpu: return cpu::dropout_forward(p, n, x, y, static_cast<uint8_t*>(reserve));
    case Backend::Cuda:
#if VIGIL_WITH_CUDA
      return cuda::dropout_forward(p, n, x, y, static_cast<uint8_t*>(reserve));
#endif
      break;
    case Backend::Cudnn:
#if VIGIL_WITH_CUDNN
      return cudnn::dropout_forward(p, n, x, y, reserve);
#endif
      break;
  }
  require_backend(backend);
  VIGIL_FAIL("dropout_forward: no implementation for backend ", backend_name(backend));
}

void dropout_backward(Backend backend, const DropoutParams& p, int64_t n, const float* dy, const void* reserve,
                      float* dx) {
  check_params("dropout_backward", backend, p, n);
  VIGIL_CHECK(n == 0 || (dy && reserve && dx), "dropout_backward: null pointer for ", n, " elements");
  switch (backend) {
    case Backend::Reference: return ref::dropout_backward(p, n, dy, static_cast<const uint8_t*>(reserve), dx);
    case Backend::Cpu: return cpu::dropout_backward(p, n, dy, static_cast<const uint8_t*>(reserve), dx);
    case Backend::Cuda:
#if VIGIL_WITH_CUDA
      return cuda::dropout_backward(p, n, dy, static_cast<const uint8_t*>(reserve), dx);
#endif
      break;
    case Backend::Cudnn:
#if VIGIL_WITH_CUDNN
      return cudnn::dropout_backward(p, n, dy, reserve, dx);
#endif
      break;
  }
  require_backend(backend);
  VIGIL_FAIL("dropout_backward: no implementation for backend ", backend_name(backend));
}

}  // namespace vigil::ops
