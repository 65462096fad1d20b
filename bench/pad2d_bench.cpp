// 2-D zero-padding benchmark: the asymmetric pads of EfficientNet-Lite's stride-2 TF "SAME" layers, forward and
// backward on every available backend, each validated against the reference first, reported in GB/s.
// Usage: pad2d_bench [batch=8] [reps=10]
#include <cstdio>
#include <string>
#include <vector>

#include "bench_util.h"
#include "common/backend.h"
#include "common/error.h"
#include "common/parallel.h"
#include "pad2d/pad2d.h"

using namespace vigil;
using ops::Pad2dShape;

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

// Forward moves x in and y out; backward reads the dy window (about x's size) and reads and writes dx.
void bench_pad(const Pad2dShape& s, int reps) {
  const size_t in = static_cast<size_t>(s.x_numel()), out = static_cast<size_t>(s.y_numel());
  const auto x = random_values(in, 1), dy = random_values(out, 2);
  std::vector<float> y_ref(out), dx_ref(in, 0.f);
  ops::pad2d_forward(Backend::Reference, s, x.data(), y_ref.data());
  ops::pad2d_backward(Backend::Reference, s, dy.data(), dx_ref.data());
  const std::string name = s.str();
  for (Backend b : bench::bench_backends()) {
    bench::Buffer<float> bx(b, x), by(b, std::vector<float>(out)), bdy(b, dy), bdx(b, std::vector<float>(in, 0.f));
    ops::pad2d_forward(b, s, bx.data(), by.data());
    ops::pad2d_backward(b, s, bdy.data(), bdx.data());
    bench::check_close(name + " forward on " + backend_name(b), by.host(), y_ref);
    bench::check_close(name + " backward on " + backend_name(b), bdx.host(), dx_ref);
    const int r = bench::reps_for(b, reps);
    const auto tf = bench::time_it(b, [&] { ops::pad2d_forward(b, s, bx.data(), by.data()); }, r);
    bench::report("pad2d_forward", backend_name(b), name, tf, 0, 4.0 * (in + out));
    // Backward accumulates, so repeated runs keep growing dx; harmless for timing.
    const auto tb = bench::time_it(b, [&] { ops::pad2d_backward(b, s, bdy.data(), bdx.data()); }, r);
    bench::report("pad2d_backward", backend_name(b), name, tb, 0, 4.0 * 3 * in);
  }
}

}  // namespace

int main(int argc, char** argv) {
  int batch = 8, reps = 10;
  if (!bench::positive_int_args(argc, argv, {&batch, &reps})) {
    std::fprintf(stderr, "usage: pad2d_bench [batch > 0] [reps > 0]\n");
    return 2;
  }
  std::fprintf(stderr, "pad2d_bench: batch %d, %d reps, %d CPU threads\n", batch, reps, cpu::num_threads());
  try {
    // {c, h, w, top, bottom, left, right}: the stem (3x3/2 on 224), 3x3/2 and 5x5/2 depthwise layers.
    const int layers[][7] = {
        {3, 224, 224, 0, 1, 0, 1}, {96, 112, 112, 0, 1, 0, 1}, {144, 56, 56, 1, 2, 1, 2}, {240, 28, 28, 0, 1, 0, 1}};
    for (const auto& l : layers) {
      Pad2dShape s;
      s.n = batch, s.c = l[0], s.h = l[1], s.w = l[2];
      s.top = l[3], s.bottom = l[4], s.left = l[5], s.right = l[6];
      bench_pad(s, reps);
    }
  } catch (const Error& e) {
    std::fprintf(stderr, "pad2d_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
