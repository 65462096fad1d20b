// device.h on vigil's CUDA emulator (VIGIL_CUDA_EMULATION builds): one emulated device, and an allocator without
// a cache (exact-size allocations, freed at once) so AddressSanitizer sees every overrun and use-after-free; new
// device memory reads as NaN (0xFF bytes). Kernels run on the CPU at launch: streams and events order nothing.
// Mutable state: allocation statistics (process-wide, under a mutex) and the current stream (per host thread), as
// in device_cuda.cpp; the registry of live allocations is the emulator's (emulation/emu_runtime.cpp).
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <mutex>
#include <string>

#include "common/cuda_check.h"
#include "common/device.h"
#include "common/emulation/emu_runtime.h"

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

// Allocation statistics (the live-allocation registry itself is the emulator's).
struct Stats {
  std::mutex mu;
  AllocatorStats s;
};
Stats& stats() {
  static Stats* st = new Stats();  // leaked: device buffers of static objects may be freed during exit
  return *st;
}

size_t host_memory_bytes() {
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
  return pages > 0 && page > 0 ? static_cast<size_t>(pages) * static_cast<size_t>(page) : 0;
}

}  // namespace

std::string cuda_unavailable_reason() {
  const char* off = std::getenv("VIGIL_DISABLE_CUDA");
  if (off && *off && std::string(off) != "0") return "disabled by VIGIL_DISABLE_CUDA";
  return "";
}
std::string cudnn_unavailable_reason() { return "vigil was built without cuDNN (CUDA emulation build)"; }
int device_count() { return cuda_unavailable_reason().empty() ? 1 : 0; }

std::vector<DeviceInfo> devices() {
  if (device_count() == 0) return {};
  DeviceInfo d;
  d.index = 0;
  d.name = emu::kDeviceName;
  d.cc_major = emu::kComputeMajor;
  d.cc_minor = emu::kComputeMinor;
  d.total_memory = host_memory_bytes();
  d.multiprocessors = emu::kMultiprocessors;
  return {d};
}

std::string cuda_runtime_version() { return "CPU emulation"; }
std::string cuda_driver_version() { return "none (CPU emulation)"; }
std::string cudnn_version() { return ""; }
std::string cublas_version() { return "not emulated (reference-loop stand-in)"; }

void set_device(int index) { VIGIL_CUDA_CHECK(cudaSetDevice(index)); }
int current_device() { return 0; }

void* alloc(size_t bytes) {
  if (bytes == 0) return nullptr;
  void* p = nullptr;
  VIGIL_CUDA_CHECK(cudaMalloc(&p, bytes));
  std::lock_guard<std::mutex> lock(stats().mu);
  AllocatorStats& s = stats().s;
  s.bytes_in_use = emu::device_bytes_in_use();
  s.peak_bytes_in_use = std::max(s.peak_bytes_in_use, s.bytes_in_use);
  ++s.driver_allocs;
  return p;
}

// As in device_cuda.cpp, freeing a pointer vigil did not allocate is an error; a sticky kernel fault is not
// (destructors free device buffers after one).
void free(void* ptr) {
  if (ptr == nullptr) return;
  VIGIL_CHECK(emu::release(ptr, emu::MemoryKind::Device), "device free of a pointer vigil did not allocate");
  std::lock_guard<std::mutex> lock(stats().mu);
  stats().s.bytes_in_use = emu::device_bytes_in_use();
}

void release_cached() {}
AllocatorStats allocator_stats() {
  std::lock_guard<std::mutex> lock(stats().mu);
  return stats().s;
}

}  // namespace device
}  // namespace vigil
