// device.h on the CUDA runtime: discovery and the caching allocator (copies and streams: device_runtime.cpp).
#include <cuda_runtime.h>

#include <cstdlib>
#include <map>
#include <mutex>
#include <unordered_map>

#include "common/cuda_check.h"
#include "common/device.h"
#if VIGIL_WITH_CUDNN
#include <cudnn.h>
#endif
#include <cublas_v2.h>

namespace vigil {

bool cuda_sync_after_launch() {
  static const bool on = [] {
    const char* v = std::getenv("VIGIL_CUDA_SYNC");
    return v && *v && std::string(v) != "0";
  }();
  return on;
}

void check_cuda_launch(const char* file, int line, const char* kernel) {
  cudaError_t err = cudaGetLastError();
  if (err == cudaSuccess && cuda_sync_after_launch()) err = cudaDeviceSynchronize();
  if (err != cudaSuccess)
    throw_error(file, line, kernel,
                std::string("kernel launch failed: ") + cudaGetErrorName(err) + ": " + cudaGetErrorString(err));
}

namespace device {
namespace {

// Probed once per process: the answer cannot change while it runs.
const std::string& probe_reason() {
  static const std::string reason = [] {
    const char* off = std::getenv("VIGIL_DISABLE_CUDA");
    if (off && *off && std::string(off) != "0") return std::string("disabled by VIGIL_DISABLE_CUDA");
    int n = 0;
    cudaError_t err = cudaGetDeviceCount(&n);
    if (err != cudaSuccess) {
      cudaGetLastError();  // clear the sticky error
      return std::string("no usable GPU: ") + cudaGetErrorString(err);
    }
    if (n == 0) return std::string("no CUDA device found");
    return std::string();
  }();
  return reason;
}

std::string version_string(int v, int major_div, int minor_div) {
  return std::to_string(v / major_div) + "." + std::to_string((v % major_div) / minor_div);
}

// Size classes: round up to 512 B below 1 MiB, to 2 MiB above; blocks are reused by exact class.
size_t size_class(size_t bytes) {
  const size_t small = 512, large = size_t(2) << 20;
  return bytes < (size_t(1) << 20) ? (bytes + small - 1) / small * small : (bytes + large - 1) / large * large;
}

class CachingAllocator {
 public:
  void* alloc(size_t bytes) {
    size_t cls = size_class(bytes);
    int dev = 0;
    VIGIL_CUDA_CHECK(cudaGetDevice(&dev));
    std::lock_guard<std::mutex> lock(mu_);
    auto& pool = free_[{dev, cls}];
    void* p = nullptr;
    if (!pool.empty()) {
      p = pool.back();
      pool.pop_back();
      stats_.bytes_cached -= cls;
    } else {
      cudaError_t err = cudaMalloc(&p, cls);
      if (err == cudaErrorMemoryAllocation) {  // free the cache once and retry
        cudaGetLastError();
        release_locked();
        err = cudaMalloc(&p, cls);
      }
      if (err != cudaSuccess) {
        cudaGetLastError();
        VIGIL_FAIL("device allocation of ", bytes, " bytes failed: ", cudaGetErrorString(err));
      }
      ++stats_.driver_allocs;
    }
    live_[p] = {dev, cls};
    stats_.bytes_in_use += cls;
    if (stats_.bytes_in_use > stats_.peak_bytes_in_use) stats_.peak_bytes_in_use = stats_.bytes_in_use;
    return p;
  }
  void free(void* p) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = live_.find(p);
    VIGIL_CHECK(it != live_.end(), "device free of a pointer vigil did not allocate");
    free_[it->second].push_back(p);
    stats_.bytes_in_use -= it->second.second;
    stats_.bytes_cached += it->second.second;
    live_.erase(it);
  }
  void release() {
    std::lock_guard<std::mutex> lock(mu_);
    release_locked();
  }
  AllocatorStats stats() {
    std::lock_guard<std::mutex> lock(mu_);
    return stats_;
  }

 private:
  void release_locked() {
    for (auto& kv : free_)
      for (void* p : kv.second) VIGIL_CUDA_WARN(cudaFree(p));
    free_.clear();
    stats_.bytes_cached = 0;
  }
  std::mutex mu_;
  std::map<std::pair<int, size_t>, std::vector<void*>> free_;
  std::unordered_map<void*, std::pair<int, size_t>> live_;
  AllocatorStats stats_;
};

// The process-wide device memory cache (deliberately leaked: it must outlive static tensors).
CachingAllocator& allocator() {
  static CachingAllocator* a = new CachingAllocator();
  return *a;
}

}  // namespace

std::string cuda_unavailable_reason() { return probe_reason(); }

std::string cudnn_unavailable_reason() {
#if VIGIL_WITH_CUDNN
  static const std::string reason = [] {
    cudnnHandle_t h = nullptr;
    cudnnStatus_t st = cudnnCreate(&h);
    if (st != CUDNN_STATUS_SUCCESS) return std::string("cuDNN could not start: ") + cudnnGetErrorString(st);
    cudnnDestroy(h);
    return std::string();
  }();
  return reason;
#else
  return "vigil was built without cuDNN";
#endif
}

int device_count() {
  if (!probe_reason().empty()) return 0;
  int n = 0;
  cudaGetDeviceCount(&n);
  return n;
}

std::vector<DeviceInfo> devices() {
  std::vector<DeviceInfo> out;
  for (int i = 0; i < device_count(); ++i) {
    cudaDeviceProp p{};
    if (cudaGetDeviceProperties(&p, i) != cudaSuccess) continue;
    DeviceInfo d;
    d.index = i;
    d.name = p.name;
    d.cc_major = p.major;
    d.cc_minor = p.minor;
    d.total_memory = p.totalGlobalMem;
    d.multiprocessors = p.multiProcessorCount;
    out.push_back(d);
  }
  return out;
}

std::string cuda_runtime_version() {
  int v = 0;
  if (cudaRuntimeGetVersion(&v) != cudaSuccess) return "";
  return version_string(v, 1000, 10);
}

std::string cuda_driver_version() {
  int v = 0;
  if (cudaDriverGetVersion(&v) != cudaSuccess || v == 0) return "";
  return version_string(v, 1000, 10);
}

std::string cudnn_version() {
#if VIGIL_WITH_CUDNN
  return std::to_string(CUDNN_MAJOR) + "." + std::to_string(CUDNN_MINOR) + "." + std::to_string(CUDNN_PATCHLEVEL);
#else
  return "";
#endif
}

std::string cublas_version() {
  return std::to_string(CUBLAS_VER_MAJOR) + "." + std::to_string(CUBLAS_VER_MINOR) + "." +
         std::to_string(CUBLAS_VER_PATCH);
}

void set_device(int index) { VIGIL_CUDA_CHECK(cudaSetDevice(index)); }
int current_device() {
  int d = -1;
  if (cudaGetDevice(&d) != cudaSuccess) return -1;
  return d;
}

void* alloc(size_t bytes) { return bytes == 0 ? nullptr : allocator().alloc(bytes); }
void free(void* ptr) {
  if (ptr) allocator().free(ptr);
}
void release_cached() { allocator().release(); }
AllocatorStats allocator_stats() { return allocator().stats(); }

}  // namespace device
}  // namespace vigil
