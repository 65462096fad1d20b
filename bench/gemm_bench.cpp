// SGEMM benchmark: square sizes and the seed net's FC GEMMs on Reference, Cpu (BLAS), vigil's builtin CPU GEMM
// and, with a GPU, the tiled and naive CUDA kernels and cuBLAS; each result is validated against Cpu first.
// Usage: gemm_bench [reps]   (one JSON line per measurement, see bench_util.h)
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include "bench_util.h"
#include "common/blas.h"
#include "common/parallel.h"
#include "gemm/gemm.h"

namespace vigil {
namespace {

struct Case {
  const char* name;
  bool ta, tb;
  int64_t M, N, K;
};

// Square GEMMs, then the classifier head of the seed net (batch 30, 12544 -> 768 -> 128): forward x W^T (NT),
// input gradient dy W (NN) and weight gradient dy^T x (TN).
const Case kCases[] = {
    {"square512", false, false, 512, 512, 512},
    {"square1024", false, false, 1024, 1024, 1024},
    {"square2048", false, false, 2048, 2048, 2048},
    {"fc1_fwd", false, true, 30, 768, 12544},
    {"fc1_bwd_data", false, false, 30, 12544, 768},
    {"fc1_bwd_weight", true, false, 768, 12544, 30},
    {"fc2_fwd", false, true, 30, 128, 768},
    {"fc2_bwd_data", false, false, 30, 768, 128},
    {"fc2_bwd_weight", true, false, 128, 768, 30},
};

std::vector<float> uniform(size_t n, uint32_t seed) {
  std::vector<float> v(n);
  uint32_t s = seed * 2654435761u + 1u;
  for (auto& x : v) {
    s = s * 1664525u + 1013904223u;
    x = static_cast<float>(s >> 8) * (2.0f / 16777216.0f) - 1.0f;
  }
  return v;
}

// |got - want| <= 1e-4 * max(1, max|want|) + 1e-4 * |want| everywhere (long dot products in float).
bool close_enough(const std::vector<float>& got, const std::vector<float>& want, double* max_err) {
  double scale = 1.0;
  for (float w : want) scale = std::max(scale, static_cast<double>(std::fabs(w)));
  bool ok = got.size() == want.size();
  *max_err = 0;
  for (size_t i = 0; ok && i < got.size(); ++i) {
    const double err = std::fabs(static_cast<double>(got[i]) - want[i]);
    *max_err = std::max(*max_err, err);
    if (!(err <= 1e-4 * scale + 1e-4 * std::fabs(want[i]))) ok = false;
  }
  return ok;
}

struct Impl {
  std::string name;
  Backend backend;
  std::function<void(const Case&, const float*, const float*, float*)> run;
};

std::vector<Impl> impls() {
  auto with_backend = [](Backend b) {
    return [b](const Case& c, const float* A, const float* B, float* C) {
      ops::gemm(b, c.ta, c.tb, c.M, c.N, c.K, 1.f, A, c.ta ? c.M : c.K, B, c.tb ? c.K : c.N, 0.f, C, c.N);
    };
  };
  auto with_cuda = [](ops::GemmImpl impl) {
    return [impl](const Case& c, const float* A, const float* B, float* C) {
      ops::gemm_cuda(impl, c.ta, c.tb, c.M, c.N, c.K, 1.f, A, c.ta ? c.M : c.K, B, c.tb ? c.K : c.N, 0.f, C, c.N);
    };
  };
  std::vector<Impl> out = {
      {"reference", Backend::Reference, with_backend(Backend::Reference)},
      {"cpu", Backend::Cpu, with_backend(Backend::Cpu)},
      {"cpu-builtin", Backend::Cpu,
       [](const Case& c, const float* A, const float* B, float* C) {
         cpu::sgemm_builtin(c.ta, c.tb, c.M, c.N, c.K, 1.f, A, c.ta ? c.M : c.K, B, c.tb ? c.K : c.N, 0.f, C, c.N);
       }},
  };
  if (backend_available(Backend::Cuda)) {
    out.push_back({"cuda-tiled", Backend::Cuda, with_cuda(ops::GemmImpl::Tiled)});
    out.push_back({"cuda-naive", Backend::Cuda, with_cuda(ops::GemmImpl::Naive)});
    out.push_back({"cublas", Backend::Cuda, with_cuda(ops::GemmImpl::Cublas)});
  }
  return out;
}

int run(int reps) {
  std::fprintf(stderr, "gemm_bench: CPU BLAS %s, %d threads; CUDA %s\n", cpu::blas_name().c_str(),
               cpu::num_threads(),
               backend_available(Backend::Cuda) ? "available" : backend_unavailable_reason(Backend::Cuda).c_str());
  int failures = 0;
  uint32_t seed = 1;
  for (const Case& c : kCases) {
    const int64_t a_size = c.M * c.K, b_size = c.K * c.N, c_size = c.M * c.N;
    const std::vector<float> A = uniform(a_size, seed++), B = uniform(b_size, seed++);
    const double flops = 2.0 * c.M * c.N * c.K, bytes = 4.0 * (a_size + b_size + c_size);
    std::vector<float> want(c_size);
    vigil::cpu::sgemm(c.ta, c.tb, c.M, c.N, c.K, 1.f, A.data(), c.ta ? c.M : c.K, B.data(), c.tb ? c.K : c.N, 0.f,
                      want.data(), c.N);
    const std::string shape = std::string(c.name) + " " + (c.ta ? "T" : "N") + (c.tb ? "T" : "N") + " M" +
                              std::to_string(c.M) + " N" + std::to_string(c.N) + " K" + std::to_string(c.K);
    for (const Impl& impl : impls()) {
      const bool slow = impl.name == "reference" || impl.name == "cuda-naive";
      if (impl.name == "reference" && flops > 1.5e9) continue;  // the triple loop takes seconds per run
      bench::Buffer<float> dA(impl.backend, A), dB(impl.backend, B),
          dC(impl.backend, std::vector<float>(c_size, std::nanf("")));
      impl.run(c, dA.data(), dB.data(), dC.data());
      double err = 0;
      if (!close_enough(dC.host(), want, &err)) {
        std::fprintf(stderr, "gemm_bench: %s on %s differs from cpu (max abs err %g); not timed\n",
                     impl.name.c_str(), shape.c_str(), err);
        ++failures;
        continue;
      }
      const bench::Timing t = bench::time_it(impl.backend, [&] { impl.run(c, dA.data(), dB.data(), dC.data()); },
                                             slow ? std::max(1, reps / 5) : reps, slow ? 0 : 2);
      bench::report("gemm", impl.name, shape, t, flops, bytes);
    }
  }
  return failures == 0 ? 0 : 1;
}

}  // namespace
}  // namespace vigil

int main(int argc, char** argv) {
  const int reps = argc > 1 ? std::max(1, std::atoi(argv[1])) : 10;
  try {
    return vigil::run(reps);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "gemm_bench: %s\n", e.what());
    return 2;
  }
}
