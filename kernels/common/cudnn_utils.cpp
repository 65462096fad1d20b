// Per-thread cuDNN handles and workspaces.
#include "common/cudnn_utils.h"

#include <map>
#include <memory>

#include "common/device.h"

namespace vigil::cudnn {
namespace {

struct HandleOwner {
  cudnnHandle_t h = nullptr;
  ~HandleOwner() {
    if (h) cudnnDestroy(h);
  }
};

struct WorkspaceOwner {
  void* ptr = nullptr;
  size_t bytes = 0;
  ~WorkspaceOwner() {
    if (ptr) {
      try {
        device::free(ptr);
      } catch (...) {
      }
    }
  }
};

}  // namespace

cudnnHandle_t handle() {
  thread_local std::map<int, std::unique_ptr<HandleOwner>> handles;
  int dev = device::current_device();
  auto& slot = handles[dev];
  if (!slot) {
    slot = std::make_unique<HandleOwner>();
    VIGIL_CUDNN_CHECK(cudnnCreate(&slot->h));
  }
  VIGIL_CUDNN_CHECK(cudnnSetStream(slot->h, static_cast<cudaStream_t>(device::current_stream())));
  return slot->h;
}

void* workspace(size_t bytes) {
  thread_local std::map<int, WorkspaceOwner> per_device;
  WorkspaceOwner& ws = per_device[device::current_device()];
  if (bytes > ws.bytes) {
    // The stream may still be using the old buffer; the caching allocator only hands it out again to later
    // work on the same stream order, which is safe for single-stream use.
    device::free(ws.ptr);
    ws.ptr = device::alloc(bytes);
    ws.bytes = bytes;
  }
  return ws.ptr;
}

TensorDesc make_tensor_nchw(int n, int c, int h, int w) {
  TensorDesc d;
  VIGIL_CUDNN_CHECK(cudnnSetTensor4dDescriptor(d, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, n, c, h, w));
  return d;
}

}  // namespace vigil::cudnn
