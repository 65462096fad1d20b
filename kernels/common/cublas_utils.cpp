// Per-thread cuBLAS handles.
#include "common/cublas_utils.h"

#include <map>
#include <memory>

#include "common/device.h"

namespace vigil::cublas {
namespace {
struct HandleOwner {
  cublasHandle_t h = nullptr;
  ~HandleOwner() {
    if (h) cublasDestroy(h);
  }
};
}  // namespace

cublasHandle_t handle() {
  thread_local std::map<int, std::unique_ptr<HandleOwner>> handles;
  auto& slot = handles[device::current_device()];
  if (!slot) {
    slot = std::make_unique<HandleOwner>();
    VIGIL_CUBLAS_CHECK(cublasCreate(&slot->h));
    VIGIL_CUBLAS_CHECK(cublasSetMathMode(slot->h, CUBLAS_PEDANTIC_MATH));
  }
  VIGIL_CUBLAS_CHECK(cublasSetStream(slot->h, static_cast<cudaStream_t>(device::current_stream())));
  return slot->h;
}
}  // namespace vigil::cublas
