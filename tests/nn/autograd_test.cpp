// Tape autograd: fan-out accumulation, no-grad mode, graph freeing, a residual block and a small CNN's gradients
// against finite differences, and a loss that falls under SGD. Runs on the CPU and, when present, the GPU.
#include "nn/autograd.h"

#include <gtest/gtest.h>

#include <cmath>

#include "common/error.h"
#include "nn/functional.h"
#include "support/allclose.h"
#include "support/backends.h"
#include "support/random.h"

namespace vigil::test {
namespace {

// Finite differences through float32 autograd ops: step 1e-3 and a 2e-2 relative tolerance, since the forward
// is float32 (the double-precision checks of every kernel live in tests/kernels).
constexpr float kFdStep = 1e-3f;
constexpr double kFdTol = 2e-2;

Device device_for(Backend b) { return is_device_backend(b) ? Device::cuda(0) : Device::cpu(); }

Var param(const std::vector<float>& v, const Shape& s, Device d) { return Var(Tensor::from_vector(v, s, d), true); }

// d loss / d p[i] by central differences, where loss() re-runs the forward with p's value perturbed in place.
std::vector<float> numeric_grad(Var& p, const std::function<float()>& loss) {
  std::vector<float> host = p.value().to_vector();
  std::vector<float> g(host.size());
  for (size_t i = 0; i < host.size(); ++i) {
    const float saved = host[i];
    host[i] = saved + kFdStep;
    p.mutable_value().copy_from(Tensor::from_vector(host, p.shape()));
    const float up = loss();
    host[i] = saved - kFdStep;
    p.mutable_value().copy_from(Tensor::from_vector(host, p.shape()));
    const float down = loss();
    host[i] = saved;
    p.mutable_value().copy_from(Tensor::from_vector(host, p.shape()));
    g[i] = (up - down) / (2 * kFdStep);
  }
  return g;
}

::testing::AssertionResult GradMatches(const Var& p, const std::vector<float>& numeric) {
  const std::vector<float> analytic = p.grad().to_vector();
  for (size_t i = 0; i < analytic.size(); ++i) {
    const double scale = std::max({1.0, std::fabs(double(analytic[i])), std::fabs(double(numeric[i]))});
    if (std::fabs(analytic[i] - numeric[i]) > kFdTol * scale)
      return ::testing::AssertionFailure() << "grad[" << i << "] analytic " << analytic[i] << " numeric " << numeric[i];
  }
  return ::testing::AssertionSuccess();
}

class AutogradBackends : public ::testing::TestWithParam<Backend> {};

TEST_P(AutogradBackends, FanOutAccumulates) {
  VIGIL_SKIP_IF_UNAVAILABLE(GetParam());
  const Device d = device_for(GetParam());
  Tape tape;
  Var x = param({1, -2, 3}, {3}, d);
  // y = x*x + 3x + relu(x): dy/dx = 2x + 3 + [x > 0]
  Var y = fn::add(tape, fn::add(tape, fn::mul(tape, x, x), fn::scale(tape, x, 3.f)), fn::relu(tape, x));
  Var loss = fn::sum(tape, y);
  EXPECT_EQ(tape.size(), 6u);
  tape.backward(loss);
  EXPECT_EQ(tape.size(), 0u) << "the graph is freed after backward";
  ExpectAllClose(x.grad().to_vector(), (std::vector<float>{6, -1, 10}), tol::kElementwise);
  // A second backward on a new graph accumulates into the leaf gradient.
  Var loss2 = fn::sum(tape, fn::scale(tape, x, 2.f));
  tape.backward(loss2);
  ExpectAllClose(x.grad().to_vector(), (std::vector<float>{8, 1, 12}), tol::kElementwise);
  x.zero_grad();
  EXPECT_FALSE(x.grad().defined());
}

TEST_P(AutogradBackends, NoGradRecordsNothing) {
  VIGIL_SKIP_IF_UNAVAILABLE(GetParam());
  Tape tape(false);
  Var x = param({1, 2}, {2}, device_for(GetParam()));
  Var y = fn::relu(tape, fn::scale(tape, x, 2.f));
  EXPECT_EQ(tape.size(), 0u);
  EXPECT_FALSE(y.requires_grad());
  EXPECT_EQ(y.value().to_vector(), (std::vector<float>{2, 4}));
  EXPECT_THROW(tape.backward(y), Error);
}

// conv -> BN -> ReLU -> conv -> (+ x) -> ReLU, weighted sum: every parameter's gradient vs finite differences.
TEST_P(AutogradBackends, ResidualBlockMatchesFiniteDifferences) {
  VIGIL_SKIP_IF_UNAVAILABLE(GetParam());
  const Device d = device_for(GetParam());
  const int N = 2, C = 3, H = 5, W = 4;
  Var x = param(random_uniform(N * C * H * W, -1, 1, 1), {N, C, H, W}, d);
  Var w1 = param(random_uniform(C * C * 9, -0.4, 0.4, 2), {C, C, 3, 3}, d);
  Var b1 = param(random_uniform(C, -0.1, 0.1, 3), {C}, d);
  Var gamma = param(random_uniform(C, 0.5, 1.5, 4), {C}, d);
  Var beta = param(random_uniform(C, -0.2, 0.2, 5), {C}, d);
  Var w2 = param(random_uniform(C * C * 9, -0.4, 0.4, 6), {C, C, 3, 3}, d);
  Var r(Tensor::from_vector(random_uniform(N * C * H * W, -1, 1, 7), {N, C, H, W}, d));
  fn::Conv2dOptions same;
  same.pad_h = same.pad_w = 1;
  Tape tape;
  tape.config().conv = GetParam() == Backend::Cudnn ? Backend::Cudnn : Backend::Cuda;
  auto forward = [&](Tape& t) {
    Tensor rm = Tensor::zeros({C}, DType::F32, d), rv = Tensor::full({C}, 1.f, d);
    Var h = fn::conv2d(t, x, w1, b1, same);
    h = fn::relu(t, fn::batch_norm(t, h, gamma, beta, rm, rv, {}));
    h = fn::conv2d(t, h, w2, Var(), same);
    h = fn::relu(t, fn::add(t, h, x));
    return fn::sum(t, fn::mul(t, h, r));
  };
  tape.backward(forward(tape));
  auto loss_value = [&] {
    Tape nograd(false);
    return forward(nograd).value().item();
  };
  for (Var* p : {&x, &w1, &b1, &gamma, &beta, &w2}) {
    Var& v = *p;
    EXPECT_TRUE(GradMatches(v, numeric_grad(v, loss_value)));
  }
}

// A small CNN (conv, pool, dropout off, linear, cross-entropy) learns a separable synthetic task with SGD.
TEST_P(AutogradBackends, LossFallsOnASyntheticTask) {
  VIGIL_SKIP_IF_UNAVAILABLE(GetParam());
  const Device d = device_for(GetParam());
  const int N = 16, C = 1, H = 8, W = 8, K = 2;
  // Class 0: bright left half; class 1: bright right half; plus noise.
  std::vector<float> xs(N * H * W);
  std::vector<int32_t> labels(N);
  auto noise = random_uniform(xs.size(), -0.3, 0.3, 11);
  for (int n = 0; n < N; ++n) {
    labels[n] = n % 2;
    for (int i = 0; i < H * W; ++i) {
      const bool left = (i % W) < W / 2;
      xs[n * H * W + i] = ((left == (labels[n] == 0)) ? 1.f : 0.f) + noise[n * H * W + i];
    }
  }
  Var x(Tensor::from_vector(xs, {N, C, H, W}, d));
  Tensor y = Tensor::from_labels(labels, d);
  Var w = param(random_uniform(4 * C * 9, -0.3, 0.3, 12), {4, C, 3, 3}, d);
  Var fc = param(random_uniform(K * 4 * 16, -0.2, 0.2, 13), {K, 4 * 16}, d);
  Var fcb = param({0, 0}, {K}, d);
  fn::Conv2dOptions same;
  same.pad_h = same.pad_w = 1;
  fn::Pool2dOptions pool;  // 2x2 stride 2: 8x8 -> 4x4
  float first = 0, last = 0;
  for (int step = 0; step < 30; ++step) {
    Tape tape;
    Var h = fn::relu(tape, fn::conv2d(tape, x, w, Var(), same));
    h = fn::flatten(tape, fn::max_pool2d(tape, h, pool));
    Var loss = fn::cross_entropy(tape, fn::linear(tape, h, fc, fcb), y);
    const float l = loss.value().item();
    if (step == 0) first = l;
    last = l;
    tape.backward(loss);
    for (Var* p : {&w, &fc, &fcb}) {  // plain SGD through the kernels under test
      Tensor& g = const_cast<Tensor&>(p->grad());
      std::vector<float> pv = p->value().to_vector(), gv = g.to_vector();
      for (size_t i = 0; i < pv.size(); ++i) pv[i] -= 0.5f * gv[i];
      p->mutable_value().copy_from(Tensor::from_vector(pv, p->shape()));
      p->zero_grad();
    }
  }
  EXPECT_LT(last, 0.5f * first) << "loss went from " << first << " to " << last;
}

INSTANTIATE_TEST_SUITE_P(All, AutogradBackends, ::testing::Values(Backend::Cpu, Backend::Cuda, Backend::Cudnn),
                         BackendParamName);

}  // namespace
}  // namespace vigil::test
