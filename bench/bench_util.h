// Shared helpers for the op benchmarks: host/device buffers, validation, timing on host or device, medians,
// argument checks, and one output format (a JSON line per measurement) that scripts/bench-ops.sh puts beside
// PyTorch's numbers.
#pragma once
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <initializer_list>
#include <string>
#include <vector>

#include "common/backend.h"
#include "common/device.h"
#include "common/error.h"

namespace vigil::bench {

struct Timing {
  double median_ms = 0, min_ms = 0;
};

// Runs fn `warmup` times, then `reps` timed repetitions; device backends synchronise around each run.
inline Timing time_it(Backend b, const std::function<void()>& fn, int reps = 10, int warmup = 2) {
  for (int i = 0; i < warmup; ++i) fn();
  if (is_device_backend(b)) device::synchronize();
  std::vector<double> ms;
  for (int i = 0; i < reps; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    fn();
    if (is_device_backend(b)) device::synchronize();
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  return Timing{ms[ms.size() / 2], ms.front()};
}

// One JSON line: {"op":..,"impl":..,"shape":..,"ms":..,"min_ms":..,"gflops":..,"gbps":..}
inline void report(const std::string& op, const std::string& impl, const std::string& shape, const Timing& t,
                   double flops, double bytes) {
  std::printf("{\"op\":\"%s\",\"impl\":\"%s\",\"shape\":\"%s\",\"ms\":%.4f,\"min_ms\":%.4f,\"gflops\":%.2f,\"gbps\":%.2f}\n",
              op.c_str(), impl.c_str(), shape.c_str(), t.median_ms, t.min_ms,
              flops > 0 ? flops / (t.median_ms * 1e6) : 0.0, bytes > 0 ? bytes / (t.median_ms * 1e6) : 0.0);
  std::fflush(stdout);
}

// Backends worth timing here: the CPU ones always, the GPU ones when available.
inline std::vector<Backend> bench_backends() {
  std::vector<Backend> out = {Backend::Reference, Backend::Cpu};
  if (backend_available(Backend::Cuda)) out.push_back(Backend::Cuda);
  if (backend_available(Backend::Cudnn)) out.push_back(Backend::Cudnn);
  return out;
}

// Repetitions for backend b: the (slow) reference gets a fifth of `reps`, at least one.
inline int reps_for(Backend b, int reps) { return b == Backend::Reference ? std::max(1, reps / 5) : reps; }

// Runs body(b) for each of bench_backends() until one returns false; an Error thrown by body ends the run too,
// after "<program>: <backend>: <message>" on stderr. True when every backend ran through.
inline bool for_each_backend(const char* program, const std::function<bool(Backend)>& body) {
  for (Backend b : bench_backends()) {
    try {
      if (!body(b)) return false;
    } catch (const Error& e) {
      std::fprintf(stderr, "%s: %s: %s\n", program, backend_name(b), e.what());
      return false;
    }
  }
  return true;
}

// A host vector's copy where backend b's kernels expect it: device memory (freed on scope exit) for device
// backends, else host memory.
template <typename T>
class Buffer {
 public:
  Buffer(Backend b, const std::vector<T>& src) : n_(src.size()) {
    if (is_device_backend(b)) {
      dev_ = static_cast<T*>(device::alloc(n_ * sizeof(T)));
      device::copy_to_device(dev_, src.data(), n_ * sizeof(T));
    } else {
      host_ = src;
    }
  }
  ~Buffer() {
    if (dev_) device::free(dev_);
  }
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  T* data() { return dev_ ? dev_ : host_.data(); }
  // The current contents, copied back from the device for device backends.
  std::vector<T> host() const {
    if (!dev_) return host_;
    std::vector<T> out(n_);
    device::copy_to_host(out.data(), dev_, n_ * sizeof(T));
    return out;
  }

 private:
  size_t n_;
  std::vector<T> host_;
  T* dev_ = nullptr;
};

// |a - r| <= 1e-5 + 1e-4 |r| everywhere, or throw naming the first mismatch.
inline void check_close(const std::string& what, const std::vector<float>& a, const std::vector<float>& r) {
  VIGIL_CHECK(a.size() == r.size(), what, ": size ", a.size(), " vs ", r.size());
  for (size_t i = 0; i < a.size(); ++i)
    VIGIL_CHECK(std::fabs(a[i] - r[i]) <= 1e-5 + 1e-4 * std::fabs(r[i]), what, ": element ", i, " is ", a[i],
                " but the reference has ", r[i]);
}

// Optional positional int arguments: argv[1] replaces *values[0]'s default, argv[2] *values[1]'s, and so on.
// False when any of them, given or default, is not > 0.
inline bool positive_int_args(int argc, char** argv, std::initializer_list<int*> values) {
  int i = 1;
  for (int* v : values) {
    if (i < argc) *v = std::atoi(argv[i]);
    if (*v <= 0) return false;
    ++i;
  }
  return true;
}

}  // namespace vigil::bench
