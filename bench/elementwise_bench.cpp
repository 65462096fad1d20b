// Element-wise benchmark: maps, reductions, channel ops and 16-bit conversions per backend, in GB/s.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include "bench_util.h"
#include "elementwise/elementwise.h"
#include "elementwise/elementwise_ref.h"
#include "tests/support/tolerances.h"

using namespace vigil;
using bench::Buffer;

namespace {

// Within tolerance `tol` (the tests' table) of the reference.
bool close(const std::vector<float>& got, const std::vector<float>& want, test::Tol tol) {
  if (got.size() != want.size()) return false;
  for (size_t i = 0; i < got.size(); ++i) {
    const double err = std::fabs(static_cast<double>(got[i]) - want[i]);
    if (!(err <= tol.atol + tol.rtol * std::fabs(static_cast<double>(want[i])))) return false;
  }
  return true;
}

std::vector<float> wave(int64_t n, float freq, float offset) {
  std::vector<float> v(n);
  for (int64_t i = 0; i < n; ++i) v[i] = std::sin(freq * static_cast<float>(i)) + offset;
  return v;
}

// Runs fn once, checks the result with `valid`, then times it; returns false (after a message) on a mismatch.
bool bench_case(const std::string& op, Backend b, const std::string& shape, int reps, double bytes,
                const std::function<void()>& fn, const std::function<bool()>& valid) {
  fn();
  if (!valid()) {
    std::fprintf(stderr, "elementwise_bench: %s %s does not match the reference for %s\n", op.c_str(),
                 backend_name(b), shape.c_str());
    return false;
  }
  bench::report(op, backend_name(b), shape, bench::time_it(b, fn, bench::reps_for(b, reps), 1), 0, bytes);
  return true;
}

// Maps, reductions and conversions over n floats.
bool bench_flat(Backend b, int64_t n, int reps) {
  const std::string shape = "n=" + std::to_string(n);
  const auto x = wave(n, 0.001f, 0.25f), y0 = wave(n, 0.003f, -0.5f);
  const float alpha = 0.5f;
  std::vector<float> add_ref(n), axpy_ref = y0, scale_ref(n), back(n);
  float sum_ref = 0, sq_ref = 0;
  ops::ref::add<float>(n, x.data(), y0.data(), add_ref.data());
  ops::ref::axpy<float>(n, alpha, x.data(), axpy_ref.data());
  ops::ref::scale<float>(n, alpha, x.data(), scale_ref.data());
  ops::ref::sum<float>(n, x.data(), &sum_ref);
  ops::ref::sum_squares<float>(n, x.data(), &sq_ref);
  std::vector<uint16_t> half_ref(n), bf16_ref(n);
  ops::ref::float_to_half(n, x.data(), half_ref.data());
  ops::ref::float_to_bfloat16(n, x.data(), bf16_ref.data());
  std::vector<float> from_half_ref(n);
  ops::ref::half_to_float(n, half_ref.data(), from_half_ref.data());

  Buffer<float> bx(b, x), by0(b, y0), by(b, std::vector<float>(n)), bz(b, y0), bout(b, std::vector<float>(1));
  Buffer<uint16_t> bh(b, std::vector<uint16_t>(n)), bhalf(b, half_ref);
  const double f = sizeof(float);
  return bench_case("add", b, shape, reps, 3 * f * n, [&] { ops::add(b, n, bx.data(), by0.data(), by.data()); },
                    [&] { return close(by.host(), add_ref, test::tol::kExact); }) &&
         bench_case("scale", b, shape, reps, 2 * f * n, [&] { ops::scale(b, n, alpha, bx.data(), by.data()); },
                    [&] { return close(by.host(), scale_ref, test::tol::kExact); }) &&
         bench_case("axpy", b, shape, reps, 3 * f * n, [&] { ops::axpy(b, n, alpha, bx.data(), bz.data()); },
                    [&] { return close(bz.host(), axpy_ref, test::tol::kElementwise); }) &&
         bench_case("sum", b, shape, reps, f * n, [&] { ops::sum(b, n, bx.data(), bout.data()); },
                    [&] { return close(bout.host(), {sum_ref}, test::tol::kReduction); }) &&
         bench_case("sum_squares", b, shape, reps, f * n, [&] { ops::sum_squares(b, n, bx.data(), bout.data()); },
                    [&] { return close(bout.host(), {sq_ref}, test::tol::kReduction); }) &&
         bench_case("float_to_half", b, shape, reps, 6.0 * n, [&] { ops::float_to_half(b, n, bx.data(), bh.data()); },
                    [&] { return bh.host() == half_ref; }) &&
         bench_case("half_to_float", b, shape, reps, 6.0 * n,
                    [&] { ops::half_to_float(b, n, bhalf.data(), by.data()); },
                    [&] { return close(by.host(), from_half_ref, test::tol::kExact); }) &&
         bench_case("float_to_bfloat16", b, shape, reps, 6.0 * n,
                    [&] { ops::float_to_bfloat16(b, n, bx.data(), bh.data()); }, [&] { return bh.host() == bf16_ref; });
}

// Per-channel bias and bias gradient on x (N, C, HW).
bool bench_channels(Backend b, int64_t n, int64_t c, int64_t hw, int reps) {
  const std::string shape = std::to_string(n) + "x" + std::to_string(c) + "x" + std::to_string(hw);
  const int64_t total = n * c * hw;
  const auto x = wave(total, 0.001f, 0.25f), bias = wave(c, 0.7f, 0.f);
  std::vector<float> biased_ref = x, sums_ref(c, 0.f);
  ops::ref::add_channel_bias<float>(n, c, hw, bias.data(), biased_ref.data());
  ops::ref::channel_sum<float>(n, c, hw, x.data(), sums_ref.data());
  Buffer<float> bx(b, x), bbias(b, bias), bsums(b, std::vector<float>(c, 0.f)), bt(b, x);
  const double f = sizeof(float);
  return bench_case("channel_sum", b, shape, reps, f * total,
                    [&] { ops::channel_sum(b, n, c, hw, bx.data(), bsums.data()); },
                    [&] { return close(bsums.host(), sums_ref, test::tol::kReduction); }) &&
         bench_case("add_channel_bias", b, shape, reps, 2 * f * total,
                    [&] { ops::add_channel_bias(b, n, c, hw, bbias.data(), bt.data()); },
                    [&] { return close(bt.host(), biased_ref, test::tol::kExact); });
}

}  // namespace

int main(int argc, char** argv) {
  const int reps = argc > 1 ? std::atoi(argv[1]) : 20;
  const bool passed = bench::for_each_backend("elementwise_bench", [&](Backend b) {
    for (int64_t n : {int64_t(1) << 20, int64_t(1) << 24})
      if (!bench_flat(b, n, reps)) return false;
    // A ResNet-style block output at batch 8, and the seed net's first conv output at batch 16.
    return bench_channels(b, 8, 64, 56 * 56, reps) && bench_channels(b, 16, 16, 254 * 254, reps);
  });
  return passed ? 0 : 1;
}
