// Pooling benchmark: the seed net's 2x2/2 max-pool layers (and a 3x3/2 max and 3x3/1 average pool) plus the
// final global average pool, forward and backward on every available backend, each validated against the
// reference first. Usage: pool2d_bench [batch=8] [reps=10]
#include <cstdio>
#include <string>
#include <vector>

#include "bench_util.h"
#include "common/backend.h"
#include "common/error.h"
#include "common/parallel.h"
#include "pool2d/pool2d.h"

using namespace vigil;
using ops::Pool2dShape;
using ops::PoolKind;

namespace {

std::vector<float> random_values(size_t n, unsigned seed) {
  std::vector<float> v(n);
  unsigned s = seed;
  for (auto& x : v) {
    s = s * 1664525u + 1013904223u;
    x = static_cast<float>(s >> 8) * (2.0f / 16777216.0f) - 1.0f;
  }
  return v;
}

std::string shape_name(const Pool2dShape& s) {
  char buf[160];
  std::snprintf(buf, sizeof buf, "%dx%dx%dx%d %s %dx%d/%d pad %d", s.n, s.c, s.h, s.w,
                s.kind == PoolKind::Max ? "max" : "avg", s.kh, s.kw, s.stride_h, s.pad_h);
  return buf;
}

void bench_pool(const Pool2dShape& s, int reps) {
  const size_t in = static_cast<size_t>(s.n) * s.c * s.h * s.w;
  const size_t out = static_cast<size_t>(s.n) * s.c * s.out_h() * s.out_w();
  const auto x = random_values(in, 1), dy = random_values(out, 2);
  std::vector<float> y_ref(out), dx_ref(in, 0.f);
  ops::pool2d_forward(Backend::Reference, s, x.data(), y_ref.data());
  ops::pool2d_backward(Backend::Reference, s, x.data(), y_ref.data(), dy.data(), dx_ref.data());
  const std::string name = shape_name(s);
  for (Backend b : bench::bench_backends()) {
    bench::Buffer<float> bx(b, x), by(b, std::vector<float>(out)), bdy(b, dy), bdx(b, std::vector<float>(in, 0.f));
    ops::pool2d_forward(b, s, bx.data(), by.data());
    ops::pool2d_backward(b, s, bx.data(), by.data(), bdy.data(), bdx.data());
    bench::check_close(name + " forward on " + backend_name(b), by.host(), y_ref);
    bench::check_close(name + " backward on " + backend_name(b), bdx.host(), dx_ref);
    const int r = bench::reps_for(b, reps);
    const auto tf = bench::time_it(b, [&] { ops::pool2d_forward(b, s, bx.data(), by.data()); }, r);
    bench::report("pool2d_forward", backend_name(b), name, tf, 0, 4.0 * (in + out));
    // Backward accumulates, so repeated runs keep growing dx; harmless for timing.
    const auto tb = bench::time_it(
        b, [&] { ops::pool2d_backward(b, s, bx.data(), by.data(), bdy.data(), bdx.data()); }, r);
    bench::report("pool2d_backward", backend_name(b), name, tb, 0, 4.0 * (3 * in + out));
  }
}

void bench_global(int64_t n, int64_t c, int64_t hw, int reps) {
  const size_t in = static_cast<size_t>(n * c * hw), out = static_cast<size_t>(n * c);
  const auto x = random_values(in, 3), dy = random_values(out, 4);
  std::vector<float> y_ref(out), dx_ref(in, 0.f);
  ops::global_avg_pool_forward(Backend::Reference, n, c, hw, x.data(), y_ref.data());
  ops::global_avg_pool_backward(Backend::Reference, n, c, hw, dy.data(), dx_ref.data());
  const std::string name = std::to_string(n) + "x" + std::to_string(c) + "x" + std::to_string(hw);
  for (Backend b : bench::bench_backends()) {
    bench::Buffer<float> bx(b, x), by(b, std::vector<float>(out)), bdy(b, dy), bdx(b, std::vector<float>(in, 0.f));
    ops::global_avg_pool_forward(b, n, c, hw, bx.data(), by.data());
    ops::global_avg_pool_backward(b, n, c, hw, bdy.data(), bdx.data());
    bench::check_close(name + " global forward on " + backend_name(b), by.host(), y_ref);
    bench::check_close(name + " global backward on " + backend_name(b), bdx.host(), dx_ref);
    const auto tf = bench::time_it(b, [&] { ops::global_avg_pool_forward(b, n, c, hw, bx.data(), by.data()); }, reps);
    bench::report("global_avg_pool_forward", backend_name(b), name, tf, static_cast<double>(in),
                  4.0 * (in + out));
    const auto tb =
        bench::time_it(b, [&] { ops::global_avg_pool_backward(b, n, c, hw, bdy.data(), bdx.data()); }, reps);
    bench::report("global_avg_pool_backward", backend_name(b), name, tb, 0, 4.0 * (2 * in + out));
  }
}

}  // namespace

int main(int argc, char** argv) {
  int batch = 8, reps = 10;
  if (!bench::positive_int_args(argc, argv, {&batch, &reps})) {
    std::fprintf(stderr, "usage: pool2d_bench [batch > 0] [reps > 0]\n");
    return 2;
  }
  std::fprintf(stderr, "pool2d_bench: batch %d, %d reps, %d CPU threads\n", batch, reps, cpu::num_threads());
  try {
    // The seed net's max-pool inputs per image: 16x253x253 after the 7x7/2 stem, then 32..256 channels.
    const int layers[][3] = {{16, 253, 253}, {32, 126, 126}, {64, 63, 63}, {128, 31, 31}, {256, 15, 15}};
    for (const auto& l : layers) bench_pool(Pool2dShape{batch, l[0], l[1], l[2], 2, 2, 2, 2, 0, 0, PoolKind::Max}, reps);
    bench_pool(Pool2dShape{batch, 64, 112, 112, 3, 3, 2, 2, 1, 1, PoolKind::Max}, reps);
    bench_pool(Pool2dShape{batch, 64, 56, 56, 3, 3, 1, 1, 1, 1, PoolKind::Avg}, reps);
    bench_global(batch, 256, 7 * 7, reps);
  } catch (const Error& e) {
    std::fprintf(stderr, "pool2d_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
