// Batch-norm benchmark: training forward, eval forward and training backward on every available backend,
// each validated against the reference before it is timed. Usage: batchnorm_bench [reps]
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "batchnorm/batchnorm.h"
#include "bench_util.h"
#include "common/parallel.h"

namespace {

using vigil::Backend;
using vigil::ops::BatchNormShape;
using Buffer = vigil::bench::Buffer<float>;

std::vector<float> uniform(size_t n, float lo, float hi, unsigned seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> v(n);
  for (auto& x : v) x = d(gen);
  return v;
}

struct Inputs {
  std::vector<float> x, dy, gamma, beta, running_mean, running_var;
};

// One call of each timed entry point; returns {y_train, dx (from zero), y_eval}.
std::vector<std::vector<float>> run_once(Backend b, const BatchNormShape& s, const Inputs& in) {
  const size_t total = in.x.size(), c = in.gamma.size();
  Buffer x(b, in.x), dy(b, in.dy), g(b, in.gamma), be(b, in.beta), rm(b, in.running_mean), rv(b, in.running_var);
  Buffer y(b, std::vector<float>(total)), sm(b, std::vector<float>(c)), si(b, std::vector<float>(c));
  Buffer dx(b, std::vector<float>(total)), dg(b, std::vector<float>(c)), db(b, std::vector<float>(c));
  Buffer ye(b, std::vector<float>(total));
  vigil::ops::batchnorm_forward_eval(b, s, x.data(), g.data(), be.data(), rm.data(), rv.data(), ye.data());
  vigil::ops::batchnorm_forward_train(b, s, x.data(), g.data(), be.data(), y.data(), rm.data(), rv.data(), sm.data(),
                                      si.data());
  vigil::ops::batchnorm_backward(b, s, x.data(), dy.data(), g.data(), sm.data(), si.data(), dx.data(), dg.data(),
                                 db.data());
  return {y.host(), dx.host(), ye.host()};
}

// |a - ref| <= 1e-4 * (1 + |ref|) everywhere, else prints the first offender.
bool close(const std::vector<float>& a, const std::vector<float>& ref, const char* what, Backend b) {
  for (size_t i = 0; i < a.size(); ++i) {
    if (!(std::fabs(a[i] - ref[i]) <= 1e-4f * (1.f + std::fabs(ref[i])))) {
      std::fprintf(stderr, "batchnorm_bench: %s on %s differs at [%zu]: %g vs reference %g\n", what,
                   vigil::backend_name(b), i, a[i], ref[i]);
      return false;
    }
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  const int reps = argc > 1 ? std::max(1, std::atoi(argv[1])) : 20;
  std::fprintf(stderr, "batchnorm_bench: %d CPU threads, %d reps\n", vigil::cpu::num_threads(), reps);
  const BatchNormShape shapes[] = {{8, 64, 56 * 56}, {8, 256, 14 * 14}};
  const char* names[] = {"8x64x56x56", "8x256x14x14"};
  bool ok = true;
  for (int k = 0; k < 2; ++k) {
    const BatchNormShape& s = shapes[k];
    const size_t total = static_cast<size_t>(s.n * s.c * s.hw), c = static_cast<size_t>(s.c);
    const Inputs in{uniform(total, -2, 2, 1), uniform(total, -1, 1, 2), uniform(c, 0.5f, 1.5f, 3),
                    uniform(c, -1, 1, 4),    uniform(c, -0.5f, 0.5f, 5), uniform(c, 0.5f, 1.5f, 6)};
    const auto want = run_once(Backend::Reference, s, in);
    // Bytes that must move at least once: x in, y out (forward); x, dy, dx in and dx out (backward).
    const double fwd_bytes = 8.0 * total, bwd_bytes = 16.0 * total;
    for (Backend b : vigil::bench::bench_backends()) {
      const auto got = run_once(b, s, in);
      if (!close(got[0], want[0], "training y", b) || !close(got[1], want[1], "dx", b) ||
          !close(got[2], want[2], "eval y", b)) {
        ok = false;
        continue;
      }
      Buffer x(b, in.x), dy(b, in.dy), g(b, in.gamma), be(b, in.beta), rm(b, in.running_mean),
          rv(b, in.running_var);
      Buffer y(b, std::vector<float>(total)), sm(b, std::vector<float>(c)), si(b, std::vector<float>(c));
      Buffer dx(b, std::vector<float>(total)), dg(b, std::vector<float>(c)), db(b, std::vector<float>(c));
      const auto t_train = vigil::bench::time_it(b, [&] {
        vigil::ops::batchnorm_forward_train(b, s, x.data(), g.data(), be.data(), y.data(), rm.data(), rv.data(),
                                            sm.data(), si.data());
      }, reps);
      vigil::bench::report("batchnorm_fwd_train", vigil::backend_name(b), names[k], t_train, 0, fwd_bytes);
      const auto t_eval = vigil::bench::time_it(b, [&] {
        vigil::ops::batchnorm_forward_eval(b, s, x.data(), g.data(), be.data(), rm.data(), rv.data(), y.data());
      }, reps);
      vigil::bench::report("batchnorm_fwd_eval", vigil::backend_name(b), names[k], t_eval, 0, fwd_bytes);
      const auto t_bwd = vigil::bench::time_it(b, [&] {
        vigil::ops::batchnorm_backward(b, s, x.data(), dy.data(), g.data(), sm.data(), si.data(), dx.data(),
                                       dg.data(), db.data());
      }, reps);
      vigil::bench::report("batchnorm_bwd", vigil::backend_name(b), names[k], t_bwd, 0, bwd_bytes);
    }
  }
  return ok ? 0 : 1;
}
