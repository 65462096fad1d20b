// Internal interface of the CUDA emulator's runtime: error state, the registry of live allocations and the emulated
// device's properties, shared by the scheduler, the runtime API stand-ins and device_emu.cpp.
#pragma once
#include <cuda_runtime.h>

#include <cstddef>
#include <string>

namespace vigil::emu {

// The emulated device: an H100-like geometry, so launchers that size grids from the SM count behave as on one.
constexpr int kMultiprocessors = 132;
constexpr int kComputeMajor = 9, kComputeMinor = 0;
constexpr int kMaxThreadsPerBlock = 1024;
constexpr size_t kMaxSharedBytes = 48 << 10;
constexpr const char* kDeviceName = "emulated CUDA device (CPU)";

// ---- errors ----
// A launch or API error reported to this host thread (cudaGetLastError returns and clears it), like a GPU's
// invalid-configuration error. `detail` is appended to cudaGetErrorString's text for this code.
cudaError_t set_error(cudaError_t code, const std::string& detail);
// A fault inside a kernel: sticky for the whole process (every later runtime call returns it), like a GPU's
// illegal-address or launch failure. Also printed to stderr once.
cudaError_t set_sticky_error(cudaError_t code, const std::string& detail);
// The sticky error, or cudaSuccess.
cudaError_t sticky_error();

// ---- device memory registry ----
enum class MemoryKind { Device, Pinned };
// Exact-size, 256-byte aligned host memory registered as device (or pinned) memory; new memory is filled with 0xFF
// bytes (a NaN in every float), so reading it before writing shows up. Returns nullptr for 0 bytes or on failure.
void* allocate(size_t bytes, MemoryKind kind);
// Unregisters, poisons with 0xFF and frees; false when `p` is not a live allocation of that kind.
bool release(void* p, MemoryKind kind);
// True when [p, p + bytes) lies inside one live allocation of `kind` (bytes may be 0: p may be one past the end).
bool in_allocation(const void* p, size_t bytes, MemoryKind kind);
// True when a kernel may dereference p: inside (or one past the end of) a live device or pinned allocation.
bool device_accessible(const void* p);
// Bytes of live device allocations, and how many allocations were made, for the allocator statistics.
size_t device_bytes_in_use();

// ---- streams ----
bool is_valid_stream(cudaStream_t stream);  // the default stream (null) or one created and not yet destroyed

}  // namespace vigil::emu
