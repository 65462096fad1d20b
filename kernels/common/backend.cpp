// Backend names and availability; the CUDA queries are delegated to device.h.
#include "common/backend.h"

#include "common/device.h"
#include "common/error.h"

namespace vigil {

const char* backend_name(Backend b) {
  switch (b) {
    case Backend::Reference: return "reference";
    case Backend::Cpu: return "cpu";
    case Backend::Cuda: return "cuda";
    case Backend::Cudnn: return "cudnn";
  }
  return "?";
}

Backend parse_backend(const std::string& name) {
  if (name == "reference") return Backend::Reference;
  if (name == "cpu") return Backend::Cpu;
  if (name == "cuda") return Backend::Cuda;
  if (name == "cudnn") return Backend::Cudnn;
  VIGIL_FAIL("unknown backend '", name, "' (expected reference, cpu, cuda or cudnn)");
}

bool cuda_available() { return cuda_unavailable_reason().empty(); }
bool cudnn_available() { return cudnn_unavailable_reason().empty(); }

std::string cuda_unavailable_reason() { return device::cuda_unavailable_reason(); }

std::string cudnn_unavailable_reason() {
  std::string r = cuda_unavailable_reason();
  if (!r.empty()) return r;
  if (!built_with_cudnn()) return "vigil was built without cuDNN";
  return device::cudnn_unavailable_reason();
}

bool backend_available(Backend b) { return backend_unavailable_reason(b).empty(); }

std::string backend_unavailable_reason(Backend b) {
  switch (b) {
    case Backend::Reference:
    case Backend::Cpu: return "";
    case Backend::Cuda: return cuda_unavailable_reason();
    case Backend::Cudnn: return cudnn_unavailable_reason();
  }
  return "unknown backend";
}

void require_backend(Backend b) {
  std::string why = backend_unavailable_reason(b);
  if (!why.empty()) VIGIL_FAIL("backend ", backend_name(b), " is not available: ", why);
}

}  // namespace vigil

namespace vigil {
bool built_with_cuda() { return VIGIL_WITH_CUDA; }
bool built_with_cudnn() { return VIGIL_WITH_CUDNN; }
}  // namespace vigil
