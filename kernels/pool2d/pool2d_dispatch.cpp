// Pooling shape rules and backend dispatch; Cudnn uses cuDNN's pooling, Cuda the hand-written kernels.
#include "common/error.h"
#include "pool2d/pool2d.h"
#include "pool2d/pool2d_cpu.h"
#include "pool2d/pool2d_ref.h"
#if VIGIL_WITH_CUDA
#include "pool2d/pool2d_cuda.h"
#endif
#if VIGIL_WITH_CUDNN
#include "pool2d/pool2d_cudnn.h"
#endif

namespace vigil::ops {

int Pool2dShape::out_h() const { return (h + 2 * pad_h - kh) / stride_h + 1; }
int Pool2dShape::out_w() const { return (w + 2 * pad_w - kw) / stride_w + 1; }

void Pool2dShape::validate() const {
  VIGIL_CHECK(n > 0 && c > 0 && h > 0 && w > 0, "pool2d: sizes must be positive, got N=", n, " C=", c, " H=", h,
              " W=", w);
  VIGIL_CHECK(kh > 0 && kw > 0, "pool2d: kernel must be positive, got ", kh, "x", kw);
  VIGIL_CHECK(stride_h > 0 && stride_w > 0, "pool2d: stride must be positive, got ", stride_h, "x", stride_w);
  VIGIL_CHECK(pad_h >= 0 && pad_w >= 0 && pad_h <= kh / 2 && pad_w <= kw / 2,
              "pool2d: padding must be in [0, kernel / 2], got pad ", pad_h, "x", pad_w, " for kernel ", kh, "x", kw);
  VIGIL_CHECK(h + 2 * pad_h >= kh && w + 2 * pad_w >= kw, "pool2d: kernel ", kh, "x", kw,
              " is larger than the padded input ", h + 2 * pad_h, "x", w + 2 * pad_w);
  VIGIL_CHECK(kind == PoolKind::Max || kind == PoolKind::Avg, "pool2d: unknown pooling kind ",
              static_cast<int>(kind));
}

namespace {
void check_global(int64_t n, int64_t c, int64_t hw) {
  VIGIL_CHECK(n > 0 && c > 0 && hw > 0, "global_avg_pool: sizes must be positive, got N=", n, " C=", c, " HW=", hw);
}
}  // namespace

void pool2d_forward(Backend backend, const Pool2dShape& s, const float* x, float* y) {
  s.validate();
  switch (backend) {
    case Backend::Reference: return ref::pool2d_forward(s, x, y);
    case Backend::Cpu: return cpu::pool2d_forward(s, x, y);
    case Backend::Cuda:
#if VIGIL_WITH_CUDA
      return cuda::pool2d_forward(s, x, y);
#endif
      break;
    case Backend::Cudnn:
#if VIGIL_WITH_CUDNN
      return cudnn::pool2d_forward(s, x, y);
#endif
      break;
  }
  require_backend(backend);
  VIGIL_FAIL("pool2d_forward: no implementation for backend ", backend_name(backend));
}

void pool2d_backward(Backend backend, const Pool2dShape& s, const float* x, const float* y, const float* dy,
                     float* dx) {
  s.validate();
  switch (backend) {
    case Backend::Reference: return ref::pool2d_backward(s, x, dy, dx);
    case Backend::Cpu: return cpu::pool2d_backward(s, x, dy, dx);
    case Backend::Cuda:
#if VIGIL_WITH_CUDA
      return cuda::pool2d_backward(s, x, dy, dx);
#endif
      break;
    case Backend::Cudnn:
#if VIGIL_WITH_CUDNN
      return cudnn::pool2d_backward(s, x, y, dy, dx);
#endif
      break;
  }
  (void)y;
  require_backend(backend);
  VIGIL_FAIL("pool2d_backward: no implementation for backend ", backend_name(backend));
}

void global_avg_pool_forward(Backend backend, int64_t n, int64_t c, int64_t hw, const float* x, float* y) {
  check_global(n, c, hw);
  switch (backend) {
    case Backend::Reference: return ref::global_avg_pool_forward(n, c, hw, x, y);
    case Backend::Cpu: return cpu::global_avg_pool_forward(n, c, hw, x, y);
    case Backend::Cuda:
#if VIGIL_WITH_CUDA
      return cuda::global_avg_pool_forward(n, c, hw, x, y);
#endif
      break;
    case Backend::Cudnn:
#if VIGIL_WITH_CUDNN
      return cudnn::global_avg_pool_forward(n, c, hw, x, y);
#endif
      break;
  }
  require_backend(backend);
  VIGIL_FAIL("global_avg_pool_forward: no implementation for backend ", backend_name(backend));
}

void global_avg_pool_backward(Backend backend, int64_t n, int64_t c, int64_t hw, const float* dy, float* dx) {
  check_global(n, c, hw);
  switch (backend) {
    case Backend::Reference: return ref::global_avg_pool_backward(n, c, hw, dy, dx);
    case Backend::Cpu: return cpu::global_avg_pool_backward(n, c, hw, dy, dx);
    case Backend::Cuda:
#if VIGIL_WITH_CUDA
      return cuda::global_avg_pool_backward(n, c, hw, dy, dx);
#endif
      break;
    case Backend::Cudnn:
#if VIGIL_WITH_CUDNN
      return cudnn::global_avg_pool_backward(n, c, hw, dy, dx);
#endif
      break;
  }
  require_backend(backend);
  VIGIL_FAIL("global_avg_pool_backward: no implementation for backend ", backend_name(backend));
}

}  // namespace vigil::ops
