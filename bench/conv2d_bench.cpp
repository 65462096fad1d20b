// conv2d benchmark: the seed net's conv layers (batch 1 and 2), a 3x3 64->64 conv at 56x56 and MobileNetV2 /
// EfficientNet-style depthwise layers; forward, backward data and backward weight on every available backend (every
// hand-written CUDA algorithm that applies; on depthwise shapes also the Cpu Direct loops, the pre-Depthwise
// default), each validated against the Cpu result before it is timed.
// Usage: conv2d_bench [--reps N] [--threads 1,2] [--no-reference] [--set all|dense|depthwise]
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "bench_util.h"
#include "common/parallel.h"
#include "conv2d/conv2d.h"

namespace {

using vigil::Backend;
using vigil::ops::Conv2dAlgo;
using vigil::ops::Conv2dShape;
using Buffer = vigil::bench::Buffer<float>;

Conv2dShape make_shape(int n, int c_in, int hw, int c_out, int k, int stride, int pad, int groups = 1) {
  Conv2dShape s;
  s.n = n, s.c_in = c_in, s.h = hw, s.w = hw, s.c_out = c_out, s.kh = k, s.kw = k;
  s.stride_h = s.stride_w = stride;
  s.pad_h = s.pad_w = pad;
  s.groups = groups;
  return s;
}

bool is_depthwise(const Conv2dShape& s) { return s.groups == s.c_in && s.groups == s.c_out; }

std::vector<float> random_vector(int64_t n, unsigned seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> d(-1.f, 1.f);
  std::vector<float> v(static_cast<size_t>(n));
  for (float& x : v) x = d(gen);
  return v;
}

// |a - r| <= rel * max|r| everywhere (the tests' scaled tolerances, loosely).
bool close(const std::vector<float>& a, const std::vector<float>& r, double rel, const char* what,
           const std::string& impl) {
  double m = 1, worst = 0;
  for (float v : r) m = std::max(m, std::fabs(static_cast<double>(v)));
  for (size_t i = 0; i < a.size(); ++i) {
    const double e = std::fabs(static_cast<double>(a[i]) - r[i]);
    if (std::isnan(e)) {
      worst = e;
      break;
    }
    worst = std::max(worst, e);
  }
  if (!(worst <= rel * m)) {
    std::fprintf(stderr, "conv2d_bench: %s %s differs from the Cpu result: max abs err %g (max |ref| %g)\n",
                 impl.c_str(), what, worst, m);
    return false;
  }
  return true;
}

struct Impl {
  std::string name;
  Backend backend;
  Conv2dAlgo algo;
};

}  // namespace

int main(int argc, char** argv) {
  int reps = 10;
  std::vector<int> threads = {1, 2};
  bool with_reference = true;
  std::string set = "all";
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--reps") && i + 1 < argc) {
      reps = std::max(1, std::atoi(argv[++i]));
    } else if (!std::strcmp(argv[i], "--threads") && i + 1 < argc) {
      threads.clear();
      std::stringstream ss(argv[++i]);
      for (std::string t; std::getline(ss, t, ',');) threads.push_back(std::max(1, std::atoi(t.c_str())));
    } else if (!std::strcmp(argv[i], "--no-reference")) {
      with_reference = false;
    } else if (!std::strcmp(argv[i], "--set") && i + 1 < argc &&
               (!std::strcmp(argv[i + 1], "all") || !std::strcmp(argv[i + 1], "dense") ||
                !std::strcmp(argv[i + 1], "depthwise"))) {
      set = argv[++i];
    } else {
      std::fprintf(stderr, "usage: %s [--reps N] [--threads 1,2] [--no-reference] [--set all|dense|depthwise]\n",
                   argv[0]);
      return 2;
    }
  }

  std::vector<Conv2dShape> shapes;
  if (set != "depthwise") {
    for (int n : {1, 2}) {
      shapes.push_back(make_shape(n, 3, 512, 16, 7, 2, 1));  // seed net: 7x7/2 stem
      shapes.push_back(make_shape(n, 16, 127, 32, 3, 1, 1));
      shapes.push_back(make_shape(n, 32, 63, 64, 3, 1, 1));
      shapes.push_back(make_shape(n, 64, 31, 128, 3, 1, 1));
      shapes.push_back(make_shape(n, 128, 15, 256, 3, 1, 1));
    }
    shapes.push_back(make_shape(1, 64, 56, 64, 3, 1, 1));  // ResNet-style 3x3 64->64 at 56x56
  }
  if (set != "dense") {  // depthwise layers at batch 32: MobileNetV2 56x56 3x3, EfficientNet 5x5 stride 2 and 7x7
    shapes.push_back(make_shape(32, 144, 56, 144, 3, 1, 1, 144));
    shapes.push_back(make_shape(32, 240, 28, 240, 5, 2, 2, 240));
    shapes.push_back(make_shape(32, 1152, 7, 1152, 5, 1, 2, 1152));
  }

  std::vector<Impl> impls;
  for (Backend b : vigil::bench::bench_backends()) {
    if (b == Backend::Reference && !with_reference) continue;
    if (b == Backend::Cuda) {
      impls.push_back({"cuda-im2col", b, Conv2dAlgo::Im2col});
      impls.push_back({"cuda-direct", b, Conv2dAlgo::Direct});
      impls.push_back({"cuda-depthwise", b, Conv2dAlgo::Depthwise});
    } else {
      impls.push_back({vigil::backend_name(b), b, Conv2dAlgo::Auto});
      if (b == Backend::Cpu) impls.push_back({"cpu-direct", b, Conv2dAlgo::Direct});
    }
  }

  int failures = 0;
  const int default_threads = vigil::cpu::num_threads();
  for (const Conv2dShape& s : shapes) {
    const auto x = random_vector(s.x_numel(), 1), w = random_vector(s.w_numel(), 2);
    const auto bias = random_vector(s.c_out, 3), dy = random_vector(s.y_numel(), 4);
    const double flops = 2.0 * s.y_numel() * s.c_in_per_group() * s.kh * s.kw;

    // The Cpu results every other implementation is checked against.
    std::vector<float> y_ref(s.y_numel()), dx_ref(s.x_numel(), 0.f), dw_ref(s.w_numel(), 0.f);
    vigil::ops::conv2d_forward(Backend::Cpu, s, x.data(), w.data(), bias.data(), y_ref.data());
    vigil::ops::conv2d_backward_data(Backend::Cpu, s, dy.data(), w.data(), dx_ref.data());
    vigil::ops::conv2d_backward_weight(Backend::Cpu, s, x.data(), dy.data(), dw_ref.data());

    for (const Impl& impl : impls) {
      // Depthwise only applies to depthwise shapes; cpu-direct is only of interest there (Auto's old choice).
      if ((impl.algo == Conv2dAlgo::Depthwise || impl.name == "cpu-direct") && !is_depthwise(s)) continue;
      const Backend b = impl.backend;
      Buffer tx(b, x), tw(b, w), tb(b, bias), tdy(b, dy);
      Buffer ty(b, std::vector<float>(s.y_numel())), tdx(b, std::vector<float>(s.x_numel(), 0.f)),
          tdw(b, std::vector<float>(s.w_numel(), 0.f));
      auto fwd = [&] { vigil::ops::conv2d_forward(b, s, tx.data(), tw.data(), tb.data(), ty.data(), impl.algo); };
      auto bwd_data = [&] { vigil::ops::conv2d_backward_data(b, s, tdy.data(), tw.data(), tdx.data(), impl.algo); };
      auto bwd_weight = [&] {
        vigil::ops::conv2d_backward_weight(b, s, tx.data(), tdy.data(), tdw.data(), impl.algo);
      };
      fwd();
      bwd_data();
      bwd_weight();
      if (!close(ty.host(), y_ref, 1e-4, "y", impl.name) || !close(tdx.host(), dx_ref, 1e-4, "dx", impl.name) ||
          !close(tdw.host(), dw_ref, 1e-3, "dw", impl.name)) {
        ++failures;
        continue;
      }
      // CPU implementations are timed at each thread count; the reference (slow) once, with few repetitions.
      std::vector<int> counts = b == Backend::Cpu ? threads : std::vector<int>{0};
      for (int t : counts) {
        if (t > 0) vigil::cpu::set_num_threads(t);
        const std::string shape = s.str() + (t > 0 ? " @" + std::to_string(t) + "t" : "");
        const int r = b == Backend::Reference ? 1 : reps, warm = b == Backend::Reference ? 0 : 2;
        vigil::bench::report("conv2d_forward", impl.name, shape, vigil::bench::time_it(b, fwd, r, warm), flops, 0);
        vigil::bench::report("conv2d_backward_data", impl.name, shape, vigil::bench::time_it(b, bwd_data, r, warm),
                             flops, 0);
        vigil::bench::report("conv2d_backward_weight", impl.name, shape,
                             vigil::bench::time_it(b, bwd_weight, r, warm), flops, 0);
      }
      vigil::cpu::set_num_threads(default_threads);
    }
  }
  if (failures) std::fprintf(stderr, "conv2d_bench: %d implementation(s) failed validation\n", failures);
  return failures ? 1 : 0;
}
