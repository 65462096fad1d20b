// CUDA runtime services behind a CUDA-free header: device discovery, a caching device allocator, copies,
// streams. In a build without CUDA every call that needs a GPU throws vigil::Error("built without CUDA").
#pragma once
#include <cstddef>
#include <string>
#include <vector>

namespace vigil::device {

struct DeviceInfo {
  int index = 0;
  std::string name;
  int cc_major = 0, cc_minor = 0;
  size_t total_memory = 0;
  int multiprocessors = 0;
};

std::string cuda_unavailable_reason();   // "" when a usable GPU exists (honours VIGIL_DISABLE_CUDA)
std::string cudnn_unavailable_reason();  // "" when cuDNN loads and creates a handle
int device_count();                      // 0 when none (never throws)
std::vector<DeviceInfo> devices();
std::string cuda_runtime_version();      // "13.0" or "" without CUDA
std::string cuda_driver_version();       // "" when no driver
std::string cudnn_version();             // compiled-in cuDNN version, "" without cuDNN
std::string cublas_version();

void set_device(int index);
int current_device();

// Caching allocator: freed blocks are kept per (device, size class) and reused; `release_cached()` returns
// them to the driver. alloc(0) returns nullptr.
void* alloc(size_t bytes);
void free(void* ptr);
void release_cached();
struct AllocatorStats {
  size_t bytes_in_use = 0, bytes_cached = 0, peak_bytes_in_use = 0, driver_allocs = 0;
};
AllocatorStats allocator_stats();

// Page-locked host memory for fast transfers.
void* alloc_pinned(size_t bytes);
void free_pinned(void* ptr);

// Copies are ordered on the current stream; to_host waits for completion.
void copy_to_device(void* dst_device, const void* src_host, size_t bytes);
void copy_to_host(void* dst_host, const void* src_device, size_t bytes);
void copy_on_device(void* dst_device, const void* src_device, size_t bytes);
void fill_zero(void* dst_device, size_t bytes);
void synchronize();  // waits for the current stream

// A CUDA stream owned by vigil; `handle()` is a cudaStream_t.
class Stream {
 public:
  Stream();
  ~Stream();
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;
  void* handle() const { return handle_; }
  void synchronize() const;

 private:
  void* handle_ = nullptr;
};

// A CUDA event (timing disabled): orders work between streams without blocking the host.
class Event {
 public:
  Event();
  ~Event();
  Event(const Event&) = delete;
  Event& operator=(const Event&) = delete;
  void record(void* stream);           // marks the work queued on `stream` so far (nullptr: the default stream)
  void make_wait(void* stream) const;  // work queued on `stream` after this call starts after the recorded work
  void synchronize() const;            // blocks the host until the recorded work is done

 private:
  void* handle_ = nullptr;
};

// The stream kernels launched from this thread use (nullptr = the default stream).
void* current_stream();
// Sets this thread's current stream for the guard's lifetime.
class StreamGuard {
 public:
  explicit StreamGuard(const Stream& s);
  ~StreamGuard();
  StreamGuard(const StreamGuard&) = delete;
  StreamGuard& operator=(const StreamGuard&) = delete;

 private:
  void* previous_;
};

}  // namespace vigil::device
