// The CUDA runtime API on the CPU for emulated builds: errors (per-thread and sticky), a registry of exact-size
// allocations, checked copies and memsets, and no-op streams and events (every kernel has finished at launch).
//
// Process-wide mutable state, all of it inherent to a CUDA context and guarded by a mutex: the sticky error, the
// registry of live allocations and the set of live streams. Per host thread: the last error (as in CUDA).
#include "common/emulation/emu_runtime.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <set>

namespace vigil::emu {
namespace {

struct Allocation {
  size_t bytes;
  MemoryKind kind;
};

struct Context {
  std::mutex mu;
  cudaError_t sticky = cudaSuccess;
  std::string sticky_detail;
  std::map<uintptr_t, Allocation> allocations;  // by base address
  size_t device_bytes = 0;
  std::set<cudaStream_t> streams;
};

// Deliberately leaked: device buffers owned by static objects may be freed during exit.
Context& context() {
  static Context* c = new Context();
  return *c;
}

thread_local cudaError_t tls_last_error = cudaSuccess;
thread_local cudaError_t tls_detail_code = cudaSuccess;  // the code tls_last_detail explains; survives clearing
thread_local std::string tls_last_detail;
thread_local std::string tls_message;  // backs the pointer cudaGetErrorString returns

// The allocation containing p (one past its end counts), or allocations.end(). Caller holds the mutex.
std::map<uintptr_t, Allocation>::const_iterator find(const Context& c, const void* p) {
  const uintptr_t a = reinterpret_cast<uintptr_t>(p);
  auto it = c.allocations.upper_bound(a);
  if (it == c.allocations.begin()) return c.allocations.end();
  --it;
  return a <= it->first + it->second.bytes ? it : c.allocations.end();
}

const char* kind_name(cudaMemcpyKind kind) {
  switch (kind) {
    case cudaMemcpyHostToHost: return "HostToHost";
    case cudaMemcpyHostToDevice: return "HostToDevice";
    case cudaMemcpyDeviceToHost: return "DeviceToHost";
    case cudaMemcpyDeviceToDevice: return "DeviceToDevice";
    case cudaMemcpyDefault: return "Default";
  }
  return "?";
}

std::string range_text(const void* p, size_t bytes) {
  char buf[96];
  std::snprintf(buf, sizeof buf, "[%p, +%zu bytes)", p, bytes);
  return buf;
}

// Checks a copy's device side(s) against the registry.
cudaError_t check_copy(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind) {
  const bool dst_dev = kind == cudaMemcpyHostToDevice || kind == cudaMemcpyDeviceToDevice;
  const bool src_dev = kind == cudaMemcpyDeviceToHost || kind == cudaMemcpyDeviceToDevice;
  if (kind < cudaMemcpyHostToHost || kind > cudaMemcpyDefault)
    return set_error(cudaErrorInvalidMemcpyDirection, "unknown cudaMemcpyKind");
  if (dst_dev && !in_allocation(dst, bytes, MemoryKind::Device))
    return set_error(cudaErrorInvalidValue, std::string("cudaMemcpy ") + kind_name(kind) + ": destination " +
                                                range_text(dst, bytes) + " is not inside one live device allocation");
  if (src_dev && !in_allocation(src, bytes, MemoryKind::Device))
    return set_error(cudaErrorInvalidValue, std::string("cudaMemcpy ") + kind_name(kind) + ": source " +
                                                range_text(src, bytes) + " is not inside one live device allocation");
  return cudaSuccess;
}

}  // namespace

cudaError_t set_error(cudaError_t code, const std::string& detail) {
  tls_last_error = code;
  tls_detail_code = code;
  tls_last_detail = detail;
  return code;
}

cudaError_t set_sticky_error(cudaError_t code, const std::string& detail) {
  Context& c = context();
  std::lock_guard<std::mutex> lock(c.mu);
  if (c.sticky == cudaSuccess) {
    c.sticky = code;
    c.sticky_detail = detail;
    std::fprintf(stderr, "vigil CUDA emulation: %s: %s\n", cudaGetErrorName(code), detail.c_str());
  }
  return c.sticky;
}

cudaError_t sticky_error() {
  Context& c = context();
  std::lock_guard<std::mutex> lock(c.mu);
  return c.sticky;
}

void* allocate(size_t bytes, MemoryKind kind) {
  if (bytes == 0) return nullptr;
  void* p = nullptr;
  if (posix_memalign(&p, 256, bytes) != 0) return nullptr;
  std::memset(p, 0xFF, bytes);
  Context& c = context();
  std::lock_guard<std::mutex> lock(c.mu);
  c.allocations[reinterpret_cast<uintptr_t>(p)] = Allocation{bytes, kind};
  if (kind == MemoryKind::Device) c.device_bytes += bytes;
  return p;
}

bool release(void* p, MemoryKind kind) {
  Context& c = context();
  {
    std::lock_guard<std::mutex> lock(c.mu);
    auto it = c.allocations.find(reinterpret_cast<uintptr_t>(p));
    if (it == c.allocations.end() || it->second.kind != kind) return false;
    std::memset(p, 0xFF, it->second.bytes);  // stale reads through a dangling pointer see NaNs
    if (kind == MemoryKind::Device) c.device_bytes -= it->second.bytes;
    c.allocations.erase(it);
  }
  std::free(p);
  return true;
}

bool in_allocation(const void* p, size_t bytes, MemoryKind kind) {
  Context& c = context();
  std::lock_guard<std::mutex> lock(c.mu);
  auto it = find(c, p);
  if (it == c.allocations.end() || it->second.kind != kind) return false;
  return reinterpret_cast<uintptr_t>(p) + bytes <= it->first + it->second.bytes;
}

bool device_accessible(const void* p) {
  Context& c = context();
  std::lock_guard<std::mutex> lock(c.mu);
  return find(c, p) != c.allocations.end();
}

size_t device_bytes_in_use() {
  Context& c = context();
  std::lock_guard<std::mutex> lock(c.mu);
  return c.device_bytes;
}

bool is_valid_stream(cudaStream_t stream) {
  if (stream == nullptr) return true;
  Context& c = context();
  std::lock_guard<std::mutex> lock(c.mu);
  return c.streams.count(stream) != 0;
}

namespace {

// Stream handles are distinct dummy objects; the registry catches a destroyed or foreign handle.
cudaStream_t create_stream() {
  cudaStream_t s = reinterpret_cast<cudaStream_t>(new char[1]);
  Context& c = context();
  std::lock_guard<std::mutex> lock(c.mu);
  c.streams.insert(s);
  return s;
}

bool destroy_stream(cudaStream_t s) {
  Context& c = context();
  {
    std::lock_guard<std::mutex> lock(c.mu);
    if (c.streams.erase(s) == 0) return false;
  }
  delete[] reinterpret_cast<char*>(s);
  return true;
}

std::string error_detail(cudaError_t code) {
  Context& c = context();
  {
    std::lock_guard<std::mutex> lock(c.mu);
    if (code == c.sticky && code != cudaSuccess) return c.sticky_detail;
  }
  return code == tls_detail_code ? tls_last_detail : std::string();
}

const char* remember_message(const std::string& text) {
  tls_message = text;
  return tls_message.c_str();
}

cudaError_t take_last_error(bool clear) {
  const cudaError_t sticky = sticky_error();
  if (sticky != cudaSuccess) return sticky;
  const cudaError_t e = tls_last_error;
  if (clear) tls_last_error = cudaSuccess;
  return e;
}

}  // namespace
}  // namespace vigil::emu

using vigil::emu::MemoryKind;

// Every API call first reports a sticky error, as after a kernel fault on a GPU.
#define VIGIL_EMU_RETURN_IF_STICKY()                                    \
  do {                                                                  \
    const cudaError_t sticky_ = ::vigil::emu::sticky_error();           \
    if (sticky_ != cudaSuccess) return sticky_;                         \
  } while (0)

cudaError_t cudaGetLastError() { return vigil::emu::take_last_error(true); }
cudaError_t cudaPeekAtLastError() { return vigil::emu::take_last_error(false); }

const char* cudaGetErrorName(cudaError_t error) {
  switch (error) {
    case cudaSuccess: return "cudaSuccess";
    case cudaErrorInvalidValue: return "cudaErrorInvalidValue";
    case cudaErrorMemoryAllocation: return "cudaErrorMemoryAllocation";
    case cudaErrorInitializationError: return "cudaErrorInitializationError";
    case cudaErrorInvalidConfiguration: return "cudaErrorInvalidConfiguration";
    case cudaErrorInvalidMemcpyDirection: return "cudaErrorInvalidMemcpyDirection";
    case cudaErrorNoDevice: return "cudaErrorNoDevice";
    case cudaErrorInvalidDevice: return "cudaErrorInvalidDevice";
    case cudaErrorInvalidResourceHandle: return "cudaErrorInvalidResourceHandle";
    case cudaErrorIllegalAddress: return "cudaErrorIllegalAddress";
    case cudaErrorLaunchOutOfResources: return "cudaErrorLaunchOutOfResources";
    case cudaErrorLaunchFailure: return "cudaErrorLaunchFailure";
    case cudaErrorNotSupported: return "cudaErrorNotSupported";
    case cudaErrorUnknown: return "cudaErrorUnknown";
  }
  return "cudaErrorUnknown";
}

const char* cudaGetErrorString(cudaError_t error) {
  const char* base = "unknown error";
  switch (error) {
    case cudaSuccess: base = "no error"; break;
    case cudaErrorInvalidValue: base = "invalid argument"; break;
    case cudaErrorMemoryAllocation: base = "out of memory"; break;
    case cudaErrorInitializationError: base = "initialization error"; break;
    case cudaErrorInvalidConfiguration: base = "invalid configuration argument"; break;
    case cudaErrorInvalidMemcpyDirection: base = "invalid copy direction for memcpy"; break;
    case cudaErrorNoDevice: base = "no CUDA-capable device is detected"; break;
    case cudaErrorInvalidDevice: base = "invalid device ordinal"; break;
    case cudaErrorInvalidResourceHandle: base = "invalid resource handle"; break;
    case cudaErrorIllegalAddress: base = "an illegal memory access was encountered"; break;
    case cudaErrorLaunchOutOfResources: base = "too many resources requested for launch"; break;
    case cudaErrorLaunchFailure: base = "unspecified launch failure"; break;
    case cudaErrorNotSupported: base = "operation not supported"; break;
    case cudaErrorUnknown: break;
  }
  const std::string detail = vigil::emu::error_detail(error);
  return vigil::emu::remember_message(detail.empty() ? std::string(base)
                                                     : std::string(base) + " (CUDA emulation: " + detail + ")");
}

cudaError_t cudaGetDeviceCount(int* count) {
  *count = 1;
  return cudaSuccess;
}
cudaError_t cudaGetDevice(int* device) {
  VIGIL_EMU_RETURN_IF_STICKY();
  *device = 0;
  return cudaSuccess;
}
cudaError_t cudaSetDevice(int device) {
  VIGIL_EMU_RETURN_IF_STICKY();
  return device == 0 ? cudaSuccess : vigil::emu::set_error(cudaErrorInvalidDevice, "the emulator has one device");
}

cudaError_t cudaDeviceGetAttribute(int* value, cudaDeviceAttr attr, int device) {
  VIGIL_EMU_RETURN_IF_STICKY();
  if (device != 0) return vigil::emu::set_error(cudaErrorInvalidDevice, "the emulator has one device");
  switch (attr) {
    case cudaDevAttrMaxThreadsPerBlock: *value = vigil::emu::kMaxThreadsPerBlock; break;
    case cudaDevAttrMaxBlockDimX: *value = 1024; break;
    case cudaDevAttrMaxGridDimX: *value = 2147483647; break;
    case cudaDevAttrMaxSharedMemoryPerBlock: *value = static_cast<int>(vigil::emu::kMaxSharedBytes); break;
    case cudaDevAttrWarpSize: *value = 32; break;
    case cudaDevAttrMultiProcessorCount: *value = vigil::emu::kMultiprocessors; break;
    case cudaDevAttrComputeCapabilityMajor: *value = vigil::emu::kComputeMajor; break;
    case cudaDevAttrComputeCapabilityMinor: *value = vigil::emu::kComputeMinor; break;
    default: return vigil::emu::set_error(cudaErrorInvalidValue, "device attribute not emulated");
  }
  return cudaSuccess;
}

cudaError_t cudaDeviceSynchronize() {
  VIGIL_EMU_RETURN_IF_STICKY();
  return cudaSuccess;
}
cudaError_t cudaRuntimeGetVersion(int* version) {
  *version = 0;  // not a CUDA runtime
  return cudaSuccess;
}
cudaError_t cudaDriverGetVersion(int* version) {
  *version = 0;  // no driver
  return cudaSuccess;
}

cudaError_t cudaMalloc(void** ptr, size_t bytes) {
  VIGIL_EMU_RETURN_IF_STICKY();
  *ptr = vigil::emu::allocate(bytes, MemoryKind::Device);
  if (bytes != 0 && *ptr == nullptr) return vigil::emu::set_error(cudaErrorMemoryAllocation, "host memory exhausted");
  return cudaSuccess;
}
cudaError_t cudaFree(void* ptr) {
  if (ptr != nullptr && !vigil::emu::release(ptr, MemoryKind::Device))
    return vigil::emu::set_error(cudaErrorInvalidValue, "cudaFree of a pointer that is not a live device allocation");
  VIGIL_EMU_RETURN_IF_STICKY();
  return cudaSuccess;
}
cudaError_t cudaMallocAsync(void** ptr, size_t bytes, cudaStream_t stream) {
  if (!vigil::emu::is_valid_stream(stream))
    return vigil::emu::set_error(cudaErrorInvalidResourceHandle, "cudaMallocAsync on an unknown stream");
  return cudaMalloc(ptr, bytes);
}
cudaError_t cudaFreeAsync(void* ptr, cudaStream_t stream) {
  if (!vigil::emu::is_valid_stream(stream))
    return vigil::emu::set_error(cudaErrorInvalidResourceHandle, "cudaFreeAsync on an unknown stream");
  return cudaFree(ptr);
}
cudaError_t cudaMallocHost(void** ptr, size_t bytes) {
  VIGIL_EMU_RETURN_IF_STICKY();
  *ptr = vigil::emu::allocate(bytes, MemoryKind::Pinned);
  if (bytes != 0 && *ptr == nullptr) return vigil::emu::set_error(cudaErrorMemoryAllocation, "host memory exhausted");
  return cudaSuccess;
}
cudaError_t cudaFreeHost(void* ptr) {
  if (ptr != nullptr && !vigil::emu::release(ptr, MemoryKind::Pinned))
    return vigil::emu::set_error(cudaErrorInvalidValue, "cudaFreeHost of a pointer that is not live pinned memory");
  return cudaSuccess;
}

cudaError_t cudaMemcpy(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind) {
  VIGIL_EMU_RETURN_IF_STICKY();
  if (bytes == 0) return cudaSuccess;
  const cudaError_t e = vigil::emu::check_copy(dst, src, bytes, kind);
  if (e != cudaSuccess) return e;
  std::memmove(dst, src, bytes);
  return cudaSuccess;
}
cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind, cudaStream_t stream) {
  if (!vigil::emu::is_valid_stream(stream))
    return vigil::emu::set_error(cudaErrorInvalidResourceHandle, "cudaMemcpyAsync on an unknown stream");
  return cudaMemcpy(dst, src, bytes, kind);
}
cudaError_t cudaMemset(void* dst, int value, size_t bytes) {
  VIGIL_EMU_RETURN_IF_STICKY();
  if (bytes == 0) return cudaSuccess;
  if (!vigil::emu::in_allocation(dst, bytes, MemoryKind::Device))
    return vigil::emu::set_error(cudaErrorInvalidValue, "cudaMemset: " + vigil::emu::range_text(dst, bytes) +
                                                            " is not inside one live device allocation");
  std::memset(dst, value, bytes);
  return cudaSuccess;
}
cudaError_t cudaMemsetAsync(void* dst, int value, size_t bytes, cudaStream_t stream) {
  if (!vigil::emu::is_valid_stream(stream))
    return vigil::emu::set_error(cudaErrorInvalidResourceHandle, "cudaMemsetAsync on an unknown stream");
  return cudaMemset(dst, value, bytes);
}

cudaError_t cudaStreamCreateWithFlags(cudaStream_t* stream, unsigned int) {
  VIGIL_EMU_RETURN_IF_STICKY();
  *stream = vigil::emu::create_stream();
  return cudaSuccess;
}
cudaError_t cudaStreamDestroy(cudaStream_t stream) {
  if (stream != nullptr && !vigil::emu::destroy_stream(stream))
    return vigil::emu::set_error(cudaErrorInvalidResourceHandle, "cudaStreamDestroy of an unknown stream");
  return cudaSuccess;
}
cudaError_t cudaStreamSynchronize(cudaStream_t stream) {
  VIGIL_EMU_RETURN_IF_STICKY();
  if (!vigil::emu::is_valid_stream(stream))
    return vigil::emu::set_error(cudaErrorInvalidResourceHandle, "cudaStreamSynchronize on an unknown stream");
  return cudaSuccess;
}
cudaError_t cudaStreamWaitEvent(cudaStream_t stream, cudaEvent_t event, unsigned int) {
  VIGIL_EMU_RETURN_IF_STICKY();
  if (!vigil::emu::is_valid_stream(stream) || event == nullptr)
    return vigil::emu::set_error(cudaErrorInvalidResourceHandle, "cudaStreamWaitEvent: unknown stream or event");
  return cudaSuccess;
}
cudaError_t cudaEventCreateWithFlags(cudaEvent_t* event, unsigned int) {
  VIGIL_EMU_RETURN_IF_STICKY();
  *event = reinterpret_cast<cudaEvent_t>(new char[1]);
  return cudaSuccess;
}
cudaError_t cudaEventDestroy(cudaEvent_t event) {
  delete[] reinterpret_cast<char*>(event);
  return cudaSuccess;
}
cudaError_t cudaEventRecord(cudaEvent_t event, cudaStream_t stream) {
  VIGIL_EMU_RETURN_IF_STICKY();
  if (event == nullptr || !vigil::emu::is_valid_stream(stream))
    return vigil::emu::set_error(cudaErrorInvalidResourceHandle, "cudaEventRecord: unknown stream or event");
  return cudaSuccess;
}
cudaError_t cudaEventSynchronize(cudaEvent_t event) {
  VIGIL_EMU_RETURN_IF_STICKY();
  return event == nullptr ? vigil::emu::set_error(cudaErrorInvalidResourceHandle, "cudaEventSynchronize: null event")
                          : cudaSuccess;
}
