// Inverted-dropout benchmark: forward and backward on 1e6 and 1e7 floats per backend, validated against the
// reference first, reported in GB/s (forward moves x, y and a 1-byte mask; backward dy, mask and dx twice).
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "bench_util.h"
#include "common/device.h"
#include "common/error.h"
#include "dropout/dropout.h"
#include "dropout/dropout_ref.h"

using namespace vigil;

namespace {

// Host or device copy of a host vector for backend b (device memory freed by the owner).
struct Buffer {
  Backend b;
  size_t bytes;
  std::vector<uint8_t> host;
  void* dev = nullptr;
  Buffer(Backend backend, const void* src, size_t n) : b(backend), bytes(n) {
    if (is_device_backend(b)) {
      dev = device::alloc(bytes);
      if (src) device::copy_to_device(dev, src, bytes);
    } else {
      host.assign(static_cast<const uint8_t*>(src), static_cast<const uint8_t*>(src) + bytes);
    }
  }
  explicit Buffer(Backend backend, size_t n) : Buffer(backend, std::vector<uint8_t>(n).data(), n) {}
  ~Buffer() {
    if (dev) device::free(dev);
  }
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  void* data() { return dev ? dev : host.data(); }
  template <typename T>
  std::vector<T> read() const {
    std::vector<T> out(bytes / sizeof(T));
    if (dev) device::copy_to_host(out.data(), dev, out.size() * sizeof(T));
    else std::copy(host.begin(), host.begin() + out.size() * sizeof(T), reinterpret_cast<uint8_t*>(out.data()));
    return out;
  }
};

// Philox backends must match the reference bit for bit; cuDNN (its own RNG) must output 0 or x * scale with a
// plausible kept fraction and a backward that uses the same mask.
bool validate(Backend b, const ops::DropoutParams& p, const std::vector<float>& x, const std::vector<float>& dy,
              const std::vector<float>& y_ref, const std::vector<float>& dx_ref, const std::vector<float>& y,
              const std::vector<float>& dx) {
  const size_t n = x.size();
  if (b != Backend::Cudnn) return y == y_ref && dx == dx_ref;
  const float scale = ops::ref::dropout_scale(p.p);
  size_t kept = 0;
  for (size_t i = 0; i < n; ++i) {
    const bool k = y[i] != 0.f;
    kept += k;
    const float want_y = k ? x[i] * scale : 0.f, want_dx = k ? dy[i] * scale : 0.f;
    if (std::fabs(y[i] - want_y) > 1e-6f * (1 + std::fabs(want_y))) return false;
    if (std::fabs(dx[i] - want_dx) > 1e-6f * (1 + std::fabs(want_dx))) return false;
  }
  const double q = 1.0 - p.p, sigma = std::sqrt(n * q * p.p);
  return std::fabs(kept - n * q) <= 5 * sigma + 0.5;
}

}  // namespace

int main(int argc, char** argv) {
  const int reps = argc > 1 ? std::atoi(argv[1]) : 10;
  const ops::DropoutParams p{0.5f, 1234, 1};
  for (int64_t n : {int64_t(1000000), int64_t(10000000)}) {
    std::vector<float> x(n), dy(n);
    for (int64_t i = 0; i < n; ++i) {
      x[i] = std::sin(0.001f * static_cast<float>(i)) + 1.5f;  // nonzero, so dropped elements are recognisable
      dy[i] = std::cos(0.003f * static_cast<float>(i)) + 1.5f;
    }
    std::vector<float> y_ref(n), dx_ref(n, 0.f);
    std::vector<uint8_t> mask_ref(n);
    ops::ref::dropout_forward(p, n, x.data(), y_ref.data(), mask_ref.data());
    ops::ref::dropout_backward(p, n, dy.data(), mask_ref.data(), dx_ref.data());
    const std::string shape = "n=" + std::to_string(n) + ",p=0.5";
    for (Backend b : bench::bench_backends()) {
      try {
        const size_t bytes = n * sizeof(float);
        Buffer bx(b, x.data(), bytes), bdy(b, dy.data(), bytes), by(b, bytes), bdx(b, bytes);
        Buffer reserve(b, ops::dropout_reserve_bytes(b, n));
        float* xp = static_cast<float*>(bx.data());
        float* yp = static_cast<float*>(by.data());
        float* dyp = static_cast<float*>(bdy.data());
        float* dxp = static_cast<float*>(bdx.data());
        ops::dropout_forward(b, p, n, xp, yp, reserve.data());
        ops::dropout_backward(b, p, n, dyp, reserve.data(), dxp);
        if (!validate(b, p, x, dy, y_ref, dx_ref, by.read<float>(), bdx.read<float>())) {
          std::fprintf(stderr, "dropout_bench: %s result does not match the reference for %s\n", backend_name(b),
                       shape.c_str());
          return 1;
        }
        const int r = b == Backend::Reference ? std::max(1, reps / 5) : reps;
        bench::report("dropout_forward", backend_name(b), shape,
                      bench::time_it(b, [&] { ops::dropout_forward(b, p, n, xp, yp, reserve.data()); }, r, 1), 0,
                      9.0 * n);
        bench::report("dropout_backward", backend_name(b), shape,
                      bench::time_it(b, [&] { ops::dropout_backward(b, p, n, dyp, reserve.data(), dxp); }, r, 1), 0,
                      13.0 * n);
      } catch (const Error& e) {
        std::fprintf(stderr, "dropout_bench: %s: %s\n", backend_name(b), e.what());
        return 1;
      }
    }
  }
  return 0;
}
