// cuDNN plumbing for the *_cudnn.cpp files: error checks, a per-thread per-device handle bound to the
// current stream, move-only RAII descriptors and a grow-on-demand workspace.
#pragma once
#include <cudnn.h>

#include <string>

#include "common/cuda_check.h"

#define VIGIL_CUDNN_CHECK(expr)                                                                      \
  do {                                                                                               \
    cudnnStatus_t vigil_st_ = (expr);                                                                \
    if (vigil_st_ != CUDNN_STATUS_SUCCESS)                                                           \
      ::vigil::throw_error(__FILE__, __LINE__, #expr, std::string("cuDNN error: ") + cudnnGetErrorString(vigil_st_)); \
  } while (0)

namespace vigil::cudnn {

// This thread's handle for the current device, set to the current stream.
cudnnHandle_t handle();

// Device scratch memory of at least `bytes`, valid until the next call on this thread.
void* workspace(size_t bytes);

// RAII wrapper for one cuDNN descriptor type.
template <typename T, cudnnStatus_t (*Create)(T*), cudnnStatus_t (*Destroy)(T)>
class Descriptor {
 public:
  Descriptor() { VIGIL_CUDNN_CHECK(Create(&d_)); }
  ~Descriptor() {
    if (d_) Destroy(d_);
  }
  Descriptor(const Descriptor&) = delete;
  Descriptor& operator=(const Descriptor&) = delete;
  Descriptor(Descriptor&& o) noexcept : d_(o.d_) { o.d_ = nullptr; }
  Descriptor& operator=(Descriptor&& o) noexcept {
    std::swap(d_, o.d_);
    return *this;
  }
  T get() const { return d_; }
  operator T() const { return d_; }

 private:
  T d_ = nullptr;
};

using TensorDesc = Descriptor<cudnnTensorDescriptor_t, cudnnCreateTensorDescriptor, cudnnDestroyTensorDescriptor>;
using FilterDesc = Descriptor<cudnnFilterDescriptor_t, cudnnCreateFilterDescriptor, cudnnDestroyFilterDescriptor>;
using ConvDesc =
    Descriptor<cudnnConvolutionDescriptor_t, cudnnCreateConvolutionDescriptor, cudnnDestroyConvolutionDescriptor>;
using PoolDesc = Descriptor<cudnnPoolingDescriptor_t, cudnnCreatePoolingDescriptor, cudnnDestroyPoolingDescriptor>;
using DropoutDesc = Descriptor<cudnnDropoutDescriptor_t, cudnnCreateDropoutDescriptor, cudnnDestroyDropoutDescriptor>;

// A float32 NCHW tensor descriptor.
TensorDesc make_tensor_nchw(int n, int c, int h, int w);

}  // namespace vigil::cudnn
