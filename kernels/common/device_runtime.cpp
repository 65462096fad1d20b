// device.h's runtime calls, the same for a real GPU (device_cuda.cpp) and for vigil's CUDA emulator
// (device_emu.cpp): pinned host memory, copies and fills on the current stream, streams, events, the stream guard.
// Each build links it beside its own discovery and allocator, against the real or the emulated cuda_runtime.h.
#include <cuda_runtime.h>

#include "common/cuda_check.h"
#include "common/device.h"

namespace vigil {
namespace device {
namespace {

thread_local void* tls_stream = nullptr;  // the calling thread's current stream (nullptr: the default stream)

cudaStream_t stream() { return static_cast<cudaStream_t>(tls_stream); }

}  // namespace

void* alloc_pinned(size_t bytes) {
  void* p = nullptr;
  VIGIL_CUDA_CHECK(cudaMallocHost(&p, bytes));
  return p;
}
void free_pinned(void* ptr) {
  if (ptr) VIGIL_CUDA_WARN(cudaFreeHost(ptr));
}

void copy_to_device(void* dst, const void* src, size_t bytes) {
  if (bytes) VIGIL_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, stream()));
}
void copy_to_host(void* dst, const void* src, size_t bytes) {
  if (!bytes) return;
  VIGIL_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, stream()));
  VIGIL_CUDA_CHECK(cudaStreamSynchronize(stream()));
}
void copy_on_device(void* dst, const void* src, size_t bytes) {
  if (bytes) VIGIL_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, stream()));
}
void fill_zero(void* dst, size_t bytes) {
  if (bytes) VIGIL_CUDA_CHECK(cudaMemsetAsync(dst, 0, bytes, stream()));
}
void synchronize() { VIGIL_CUDA_CHECK(cudaStreamSynchronize(stream())); }

Stream::Stream() {
  cudaStream_t s = nullptr;
  VIGIL_CUDA_CHECK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
  handle_ = s;
}
Stream::~Stream() {
  if (handle_) VIGIL_CUDA_WARN(cudaStreamDestroy(static_cast<cudaStream_t>(handle_)));
}
void Stream::synchronize() const { VIGIL_CUDA_CHECK(cudaStreamSynchronize(static_cast<cudaStream_t>(handle_))); }

Event::Event() {
  cudaEvent_t e = nullptr;
  VIGIL_CUDA_CHECK(cudaEventCreateWithFlags(&e, cudaEventDisableTiming));
  handle_ = e;
}
Event::~Event() {
  if (handle_) VIGIL_CUDA_WARN(cudaEventDestroy(static_cast<cudaEvent_t>(handle_)));
}
void Event::record(void* s) {
  VIGIL_CUDA_CHECK(cudaEventRecord(static_cast<cudaEvent_t>(handle_), static_cast<cudaStream_t>(s)));
}
void Event::make_wait(void* s) const {
  VIGIL_CUDA_CHECK(cudaStreamWaitEvent(static_cast<cudaStream_t>(s), static_cast<cudaEvent_t>(handle_), 0));
}
void Event::synchronize() const { VIGIL_CUDA_CHECK(cudaEventSynchronize(static_cast<cudaEvent_t>(handle_))); }

void* current_stream() { return tls_stream; }
StreamGuard::StreamGuard(const Stream& s) : previous_(tls_stream) { tls_stream = s.handle(); }
StreamGuard::~StreamGuard() { tls_stream = previous_; }

}  // namespace device
}  // namespace vigil
