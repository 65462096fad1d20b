// cuBLAS plumbing: error check and a per-thread per-device handle bound to the current stream
// (cuBLAS is the baseline vigil's hand-written SGEMM is compared with).
#pragma once
#include <cublas_v2.h>

#include <string>

#include "common/cuda_check.h"

#define VIGIL_CUBLAS_CHECK(expr)                                                                     \
  do {                                                                                               \
    cublasStatus_t vigil_st_ = (expr);                                                               \
    if (vigil_st_ != CUBLAS_STATUS_SUCCESS)                                                          \
      ::vigil::throw_error(__FILE__, __LINE__, #expr,                                                \
                           std::string("cuBLAS error: ") + cublasGetStatusName(vigil_st_) + ": " +   \
                               cublasGetStatusString(vigil_st_));                                    \
  } while (0)

namespace vigil::cublas {
// This thread's handle for the current device, on the current stream, with TF32 disabled (FP32 results
// comparable with the CPU reference).
cublasHandle_t handle();
}  // namespace vigil::cublas
