// Optimizer-step benchmark: SGD, SGD Nesterov, Adam and AdamW per backend, in GB/s.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include "bench_util.h"
#include "optim/optim.h"
#include "optim/optim_ref.h"
#include "tests/support/tolerances.h"

using namespace vigil;

namespace {

// Within the tests' optimizer tolerance of the reference.
bool close(const std::vector<float>& got, const std::vector<float>& want) {
  const test::Tol tol = test::tol::kOptimizer;
  for (size_t i = 0; i < got.size(); ++i)
    if (!(std::fabs(got[i] - want[i]) <= tol.atol + tol.rtol * std::fabs(want[i]))) return false;
  return got.size() == want.size();
}

std::vector<float> wave(int64_t n, float freq, float offset) {
  std::vector<float> v(n);
  for (int64_t i = 0; i < n; ++i) v[i] = 0.5f * std::sin(freq * static_cast<float>(i)) + offset;
  return v;
}

constexpr int kCheckSteps = 3;

// One optimizer: `step(backend, w, g, s1, s2, step_number)` updates w and its state arrays s1/s2 in place.
using StepFn = std::function<void(Backend, float*, const float*, float*, float*, int64_t)>;

bool bench_optimizer(const std::string& op, Backend b, int64_t n, int reps, double bytes_per_param,
                     const StepFn& step) {
  const std::string shape = "n=" + std::to_string(n);
  const auto w0 = wave(n, 0.001f, 0.f), g = wave(n, 0.0037f, 0.1f);
  std::vector<float> w = w0, s1(n, 0.f), s2(n, 0.f);
  bench::Buffer<float> bw(b, w0), bg(b, g), bs1(b, s1), bs2(b, s2);
  for (int64_t s = 1; s <= kCheckSteps; ++s) {
    step(Backend::Reference, w.data(), g.data(), s1.data(), s2.data(), s);
    step(b, bw.data(), bg.data(), bs1.data(), bs2.data(), s);
  }
  if (!close(bw.host(), w) || !close(bs1.host(), s1) || !close(bs2.host(), s2)) {
    std::fprintf(stderr, "optim_bench: %s %s does not match the reference for %s\n", op.c_str(), backend_name(b),
                 shape.c_str());
    return false;
  }
  const int r = bench::reps_for(b, reps);
  int64_t t = kCheckSteps;
  const bench::Timing timing =
      bench::time_it(b, [&] { step(b, bw.data(), bg.data(), bs1.data(), bs2.data(), ++t); }, r, 1);
  bench::report(op, backend_name(b), shape, timing, 0, bytes_per_param * n);
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  const int reps = argc > 1 ? std::atoi(argv[1]) : 20;
  const ops::SgdParams sgd{0.01f};
  const ops::SgdParams nesterov{0.01f, 0.9f, 0.f, 1e-4f, true};
  ops::AdamParams adam{1e-3f}, adamw{1e-3f};
  adam.weight_decay = 1e-4f;
  adamw.weight_decay = 1e-2f;
  adamw.decoupled = true;
  const double f = sizeof(float);
  // Seed net conv weights (3->16 7x7, 3x3 16->32->64->128->256), 4M, and ResNet-18's parameter count.
  const int64_t sizes[] = {16 * 3 * 49 + 9 * (16 * 32 + 32 * 64 + 64 * 128 + 128 * 256), int64_t(1) << 22, 11689512};
  const bool passed = bench::for_each_backend("optim_bench", [&](Backend b) {
    for (int64_t n : sizes) {
      const bool ok =
          bench_optimizer("sgd_step", b, n, reps, 3 * f,  // read w, g; write w
                          [&](Backend be, float* w, const float* g, float*, float*, int64_t s) {
                            ops::sgd_step(be, sgd, n, w, g, nullptr, s == 1);
                          }) &&
          bench_optimizer("sgd_step_nesterov", b, n, reps, 5 * f,  // read w, g, buf; write w, buf
                          [&](Backend be, float* w, const float* g, float* buf, float*, int64_t s) {
                            ops::sgd_step(be, nesterov, n, w, g, buf, s == 1);
                          }) &&
          bench_optimizer("adam_step", b, n, reps, 7 * f,  // read w, g, m, v; write w, m, v
                          [&](Backend be, float* w, const float* g, float* m, float* v, int64_t s) {
                            ops::AdamParams p = adam;
                            p.step = s;
                            ops::adam_step(be, p, n, w, g, m, v);
                          }) &&
          bench_optimizer("adamw_step", b, n, reps, 7 * f,
                          [&](Backend be, float* w, const float* g, float* m, float* v, int64_t s) {
                            ops::AdamParams p = adamw;
                            p.step = s;
                            ops::adam_step(be, p, n, w, g, m, v);
                          });
      if (!ok) return false;
    }
    return true;
  });
  return passed ? 0 : 1;
}
