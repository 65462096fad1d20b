// Inverted-dropout benchmark: forward and backward on 1e6 and 1e7 floats per backend, validated against the
// reference first, reported in GB/s (forward moves x, y and a 1-byte mask; backward dy, mask and dx twice).
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "bench_util.h"
#include "dropout/dropout.h"
#include "dropout/dropout_ref.h"

using namespace vigil;

namespace {

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
    const bool passed = bench::for_each_backend("dropout_bench", [&](Backend b) {
      bench::Buffer<float> bx(b, x), bdy(b, dy), by(b, std::vector<float>(n)), bdx(b, std::vector<float>(n));
      bench::Buffer<uint8_t> reserve(b, std::vector<uint8_t>(ops::dropout_reserve_bytes(b, n)));
      float* xp = bx.data();
      float* yp = by.data();
      float* dyp = bdy.data();
      float* dxp = bdx.data();
      ops::dropout_forward(b, p, n, xp, yp, reserve.data());
      ops::dropout_backward(b, p, n, dyp, reserve.data(), dxp);
      if (!validate(b, p, x, dy, y_ref, dx_ref, by.host(), bdx.host())) {
        std::fprintf(stderr, "dropout_bench: %s result does not match the reference for %s\n", backend_name(b),
                     shape.c_str());
        return false;
      }
      const int r = bench::reps_for(b, reps);
      bench::report("dropout_forward", backend_name(b), shape,
                    bench::time_it(b, [&] { ops::dropout_forward(b, p, n, xp, yp, reserve.data()); }, r, 1), 0,
                    9.0 * n);
      bench::report("dropout_backward", backend_name(b), shape,
                    bench::time_it(b, [&] { ops::dropout_backward(b, p, n, dyp, reserve.data(), dxp); }, r, 1), 0,
                    13.0 * n);
      return true;
    });
    if (!passed) return 1;
  }
  return 0;
}
