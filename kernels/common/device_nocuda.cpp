// device.h for builds without CUDA: discovery reports "built without CUDA", everything else throws.
#include "common/device.h"

#include "common/error.h"

namespace vigil::device {
namespace {
[[noreturn]] void no_cuda(const char* what) {
  VIGIL_FAIL(what, ": vigil was built without CUDA (reconfigure with nvcc available, -DVIGIL_CUDA=ON)");
}
}  // namespace

std::string cuda_unavailable_reason() { return "vigil was built without CUDA"; }
std::string cudnn_unavailable_reason() { return "vigil was built without CUDA"; }
int device_count() { return 0; }
std::vector<DeviceInfo> devices() { return {}; }
std::string cuda_runtime_version() { return ""; }
std::string cuda_driver_version() { return ""; }
std::string cudnn_version() { return ""; }
std::string cublas_version() { return ""; }
void set_device(int) { no_cuda("set_device"); }
int current_device() { return -1; }
void* alloc(size_t bytes) {
  if (bytes == 0) return nullptr;
  no_cuda("device alloc");
}
void free(void* ptr) {
  if (ptr) no_cuda("device free");
}
void release_cached() {}
AllocatorStats allocator_stats() { return {}; }
void* alloc_pinned(size_t) { no_cuda("pinned alloc"); }
void free_pinned(void* ptr) {
  if (ptr) no_cuda("pinned free");
}
void copy_to_device(void*, const void*, size_t) { no_cuda("copy_to_device"); }
void copy_to_host(void*, const void*, size_t) { no_cuda("copy_to_host"); }
void copy_on_device(void*, const void*, size_t) { no_cuda("copy_on_device"); }
void fill_zero(void*, size_t) { no_cuda("fill_zero"); }
void synchronize() {}
Stream::Stream() { no_cuda("Stream"); }
Stream::~Stream() = default;
void Stream::synchronize() const {}
Event::Event() { no_cuda("Event"); }
Event::~Event() = default;
void Event::record(void*) { no_cuda("Event"); }
void Event::make_wait(void*) const { no_cuda("Event"); }
void Event::synchronize() const {}
void* current_stream() { return nullptr; }
StreamGuard::StreamGuard(const Stream&) : previous_(nullptr) { no_cuda("StreamGuard"); }
StreamGuard::~StreamGuard() = default;

}  // namespace vigil::device
