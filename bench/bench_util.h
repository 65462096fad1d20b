// Shared helpers for the op benchmarks: validated timing on host or device, medians, and one output format
// (a JSON line per measurement) that scripts/bench-ops.sh puts beside PyTorch's numbers.
#pragma once
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "common/backend.h"
#include "common/device.h"

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

}  // namespace vigil::bench
