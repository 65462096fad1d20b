// Backends an op can run on, and run-time discovery of what this build and machine support.
#pragma once
#include <string>
#include <vector>

namespace vigil {

// Reference: plain loops (templated, also in double) used as ground truth in tests.
// Cpu:       the fast CPU path (BLAS / OpenMP); equals Reference for ops with nothing to speed up.
// Cuda:      vigil's hand-written CUDA kernels.
// Cudnn:     cuDNN where the op has a cuDNN path (conv2d, pooling, dropout, softmax), else the Cuda kernels.
enum class Backend { Reference, Cpu, Cuda, Cudnn };

const char* backend_name(Backend b);
Backend parse_backend(const std::string& name);  // "reference" | "cpu" | "cuda" | "cudnn"; throws otherwise
inline bool is_device_backend(Backend b) { return b == Backend::Cuda || b == Backend::Cudnn; }

bool built_with_cuda();
bool built_with_cudnn();

// True when the CUDA backend can run here: built with CUDA, VIGIL_DISABLE_CUDA unset, and cudaGetDeviceCount
// reports at least one device (an error from it means "no GPU", not a crash).
bool cuda_available();
// Why cuda_available() is false ("" when it is true), e.g. "built without CUDA" or the CUDA runtime's message.
std::string cuda_unavailable_reason();
bool cudnn_available();
std::string cudnn_unavailable_reason();

// Whether `b` can run on this machine, and if not, why.
bool backend_available(Backend b);
std::string backend_unavailable_reason(Backend b);

// Throws vigil::Error naming the backend and the reason when it cannot run here.
void require_backend(Backend b);

}  // namespace vigil
