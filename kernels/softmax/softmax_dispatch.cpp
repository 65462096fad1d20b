// Backend dispatch and parameter validation for softmax, log-softmax and softmax + cross-entropy.
#include <cstdint>
#include <limits>

#include "common/error.h"
#include "softmax/softmax.h"
#include "softmax/softmax_cpu.h"
#include "softmax/softmax_ref.h"
#if VIGIL_WITH_CUDA
#include "softmax/softmax_cuda.h"
#endif
#if VIGIL_WITH_CUDNN
#include "softmax/softmax_cudnn.h"
#endif

namespace vigil::ops {
namespace {

void check_shape(const char* op, int64_t rows, int64_t cols, bool has_pointers) {
  VIGIL_CHECK(rows >= 0 && cols >= 1, op, ": need rows >= 0 and cols >= 1, got rows ", rows, ", cols ", cols);
  VIGIL_CHECK(rows <= std::numeric_limits<int64_t>::max() / cols, op, ": rows * cols overflows (rows ", rows,
              ", cols ", cols, ")");
  VIGIL_CHECK(rows == 0 || has_pointers, op, ": null tensor pointer for rows ", rows, ", cols ", cols);
}

void check_cross_entropy(const char* op, const CrossEntropyParams& p, int64_t rows, int64_t cols,
                         bool has_pointers) {
  check_shape(op, rows, cols, has_pointers);
  VIGIL_CHECK(rows >= 1, op, ": the mean loss needs rows >= 1, got ", rows);
  VIGIL_CHECK(p.label_smoothing >= 0.f && p.label_smoothing <= 1.f, op, ": label_smoothing must be in [0, 1], got ",
              p.label_smoothing);
}

}  // namespace

void softmax_forward(Backend backend, int64_t rows, int64_t cols, const float* x, float* y) {
  check_shape("softmax_forward", rows, cols, x && y);
  switch (backend) {
    case Backend::Reference: return ref::softmax_forward(rows, cols, x, y);
    case Backend::Cpu: return cpu::softmax_forward(rows, cols, x, y);
    case Backend::Cuda:
#if VIGIL_WITH_CUDA
      return cuda::softmax_forward(rows, cols, x, y);
#endif
      break;
    case Backend::Cudnn:
#if VIGIL_WITH_CUDNN
      return cudnn::softmax_forward(rows, cols, x, y);
#endif
      break;
  }
  require_backend(backend);
  VIGIL_FAIL("softmax_forward: no implementation for backend ", backend_name(backend));
}

void softmax_backward(Backend backend, int64_t rows, int64_t cols, const float* y, const float* dy, float* dx) {
  check_shape("softmax_backward", rows, cols, y && dy && dx);
  switch (backend) {
    case Backend::Reference: return ref::softmax_backward(rows, cols, y, dy, dx);
    case Backend::Cpu: return cpu::softmax_backward(rows, cols, y, dy, dx);
    case Backend::Cuda:
#if VIGIL_WITH_CUDA
      return cuda::softmax_backward(rows, cols, y, dy, dx);
#endif
      break;
    case Backend::Cudnn:
#if VIGIL_WITH_CUDNN
      return cudnn::softmax_backward(rows, cols, y, dy, dx);
#endif
      break;
  }
  require_backend(backend);
  VIGIL_FAIL("softmax_backward: no implementation for backend ", backend_name(backend));
}

void log_softmax_forward(Backend backend, int64_t rows, int64_t cols, const float* x, float* y) {
  check_shape("log_softmax_forward", rows, cols, x && y);
  switch (backend) {
    case Backend::Reference: return ref::log_softmax_forward(rows, cols, x, y);
    case Backend::Cpu: return cpu::log_softmax_forward(rows, cols, x, y);
    case Backend::Cuda:
#if VIGIL_WITH_CUDA
      return cuda::log_softmax_forward(rows, cols, x, y);
#endif
      break;
    case Backend::Cudnn:
#if VIGIL_WITH_CUDNN
      return cudnn::log_softmax_forward(rows, cols, x, y);
#endif
      break;
  }
  require_backend(backend);
  VIGIL_FAIL("log_softmax_forward: no implementation for backend ", backend_name(backend));
}

void log_softmax_backward(Backend backend, int64_t rows, int64_t cols, const float* y, const float* dy, float* dx) {
  check_shape("log_softmax_backward", rows, cols, y && dy && dx);
  switch (backend) {
    case Backend::Reference: return ref::log_softmax_backward(rows, cols, y, dy, dx);
    case Backend::Cpu: return cpu::log_softmax_backward(rows, cols, y, dy, dx);
    case Backend::Cuda:
#if VIGIL_WITH_CUDA
      return cuda::log_softmax_backward(rows, cols, y, dy, dx);
#endif
      break;
    case Backend::Cudnn:
#if VIGIL_WITH_CUDNN
      return cudnn::log_softmax_backward(rows, cols, y, dy, dx);
#endif
      break;
  }
  require_backend(backend);
  VIGIL_FAIL("log_softmax_backward: no implementation for backend ", backend_name(backend));
}

void softmax_cross_entropy_forward(Backend backend, const CrossEntropyParams& p, int64_t rows, int64_t cols,
                                   const float* logits, const int32_t* labels, float* probs, float* loss) {
  check_cross_entropy("softmax_cross_entropy_forward", p, rows, cols, logits && labels && probs && loss);
  switch (backend) {
    case Backend::Reference: return ref::softmax_cross_entropy_forward(p, rows, cols, logits, labels, probs, loss);
    case Backend::Cpu: return cpu::softmax_cross_entropy_forward(p, rows, cols, logits, labels, probs, loss);
    case Backend::Cuda:
#if VIGIL_WITH_CUDA
      return cuda::softmax_cross_entropy_forward(p, rows, cols, logits, labels, probs, loss);
#endif
      break;
    case Backend::Cudnn:
#if VIGIL_WITH_CUDNN
      return cudnn::softmax_cross_entropy_forward(p, rows, cols, logits, labels, probs, loss);
#endif
      break;
  }
  require_backend(backend);
  VIGIL_FAIL("softmax_cross_entropy_forward: no implementation for backend ", backend_name(backend));
}

void softmax_cross_entropy_backward(Backend backend, const CrossEntropyParams& p, int64_t rows, int64_t cols,
                                    const float* probs, const int32_t* labels, float dloss, float* dlogits) {
  check_cross_entropy("softmax_cross_entropy_backward", p, rows, cols, probs && labels && dlogits);
  switch (backend) {
    case Backend::Reference:
      return ref::softmax_cross_entropy_backward(p, rows, cols, probs, labels, dloss, dlogits);
    case Backend::Cpu: return cpu::softmax_cross_entropy_backward(p, rows, cols, probs, labels, dloss, dlogits);
    case Backend::Cuda:
    case Backend::Cudnn:  // no cuDNN counterpart: the gradient is elementwise given probs
#if VIGIL_WITH_CUDA
      return cuda::softmax_cross_entropy_backward(p, rows, cols, probs, labels, dloss, dlogits);
#endif
      break;
  }
  require_backend(backend);
  VIGIL_FAIL("softmax_cross_entropy_backward: no implementation for backend ", backend_name(backend));
}

}  // namespace vigil::ops
