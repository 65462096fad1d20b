// Checking macros for CUDA, cuBLAS and cuDNN calls (include only from CUDA-enabled translation units).
#pragma once
#include <cuda_runtime.h>

#include <cstdio>
#include <string>

#include "common/error.h"

namespace vigil {
// True when VIGIL_CUDA_SYNC=1: every checked launch also synchronises, so asynchronous faults surface at
// the kernel that caused them.
bool cuda_sync_after_launch();
void check_cuda_launch(const char* file, int line, const char* kernel);
}  // namespace vigil

#define VIGIL_CUDA_CHECK(expr)                                                                   \
  do {                                                                                           \
    cudaError_t vigil_err_ = (expr);                                                             \
    if (vigil_err_ != cudaSuccess)                                                               \
      ::vigil::throw_error(__FILE__, __LINE__, #expr,                                            \
                           std::string("CUDA error ") + cudaGetErrorName(vigil_err_) + ": " +    \
                               cudaGetErrorString(vigil_err_));                                  \
  } while (0)

// Call right after every kernel launch (VIGIL_LAUNCH, cuda_utils.cuh); names the kernel in the error.
#define VIGIL_CUDA_CHECK_LAUNCH(kernel_name) ::vigil::check_cuda_launch(__FILE__, __LINE__, kernel_name)

// For destructors: reports (stderr) but never throws.
#define VIGIL_CUDA_WARN(expr)                                                                    \
  do {                                                                                           \
    cudaError_t vigil_err_ = (expr);                                                             \
    if (vigil_err_ != cudaSuccess)                                                               \
      fprintf(stderr, "vigil: %s:%d: %s: %s\n", __FILE__, __LINE__, #expr,                      \
              cudaGetErrorString(vigil_err_));                                                   \
  } while (0)
