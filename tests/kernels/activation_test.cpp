// Every activation kind: hand-computed values and kinks, double gradient check, every backend vs the reference,
// thread-count independence of the CPU path, PyTorch golden.
#include "activation/activation.h"
#include "activation/activation_ref.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <iterator>
#include <limits>
#include <memory>
#include <set>
#include <string>
#include <utility>

#include "common/launch.h"
#include "common/parallel.h"
#include "support/allclose.h"
#include "support/backends.h"
#include "support/golden.h"
#include "support/gradcheck.h"
#include "support/random.h"

namespace vigil::test {
namespace {

using ops::ActivationKind;
using ops::ActivationParams;

constexpr ActivationKind kAllKinds[] = {ActivationKind::Relu,      ActivationKind::LeakyRelu, ActivationKind::Relu6,
                                        ActivationKind::HardSwish, ActivationKind::Silu,      ActivationKind::Sigmoid,
                                        ActivationKind::HardSigmoid};

// Sigmoid and SiLU go through exp, which each backend rounds in its own way; the others are piecewise linear.
bool uses_exp(ActivationKind kind) { return kind == ActivationKind::Silu || kind == ActivationKind::Sigmoid; }
Tol forward_tol(ActivationKind kind) { return uses_exp(kind) ? tol::kTranscendental : tol::kExact; }
Tol backward_tol(ActivationKind kind) { return uses_exp(kind) ? tol::kTranscendental : tol::kElementwise; }

std::vector<float> ref_forward(ActivationKind kind, const std::vector<float>& x) {
  std::vector<float> y(x.size(), std::numeric_limits<float>::quiet_NaN());
  ops::ref::activation_forward(ActivationParams{kind, 0.1f}, x.size(), x.data(), y.data());
  return y;
}

// dx = prefill + f'(x) * dy through the reference.
std::vector<float> ref_backward(ActivationKind kind, const std::vector<float>& x, float dy, float prefill) {
  const std::vector<float> dys(x.size(), dy);
  std::vector<float> dx(x.size(), prefill);
  ops::ref::activation_backward(ActivationParams{kind, 0.1f}, x.size(), x.data(), dys.data(), dx.data());
  return dx;
}

TEST(ActivationRef, HandComputed) {
  const std::vector<float> x = {-2.f, -0.5f, 0.f, 0.25f, 3.f};
  std::vector<float> y(5);
  ops::ref::activation_forward(ActivationParams{ActivationKind::Relu}, 5, x.data(), y.data());
  EXPECT_EQ(y, (std::vector<float>{0.f, 0.f, 0.f, 0.25f, 3.f}));
  ops::ref::activation_forward(ActivationParams{ActivationKind::LeakyRelu, 0.1f}, 5, x.data(), y.data());
  ExpectAllClose(y, (std::vector<float>{-0.2f, -0.05f, 0.f, 0.25f, 3.f}), tol::kExact);
}

TEST(ActivationRef, KindNames) {
  const std::vector<std::string> expected = {"relu",    "leaky_relu", "relu6",      "hardswish",
                                             "silu",    "sigmoid",    "hardsigmoid"};
  std::set<std::string> seen;
  for (size_t i = 0; i < std::size(kAllKinds); ++i) {
    EXPECT_EQ(ops::activation_kind_name(kAllKinds[i]), expected[i]);
    seen.insert(ops::activation_kind_name(kAllKinds[i]));
  }
  EXPECT_EQ(seen.size(), std::size(kAllKinds));
}

// Piecewise-linear kinds: one or two float operations per value, so the results are exact.
TEST(ActivationRef, HandComputedPiecewise) {
  const std::vector<float> x = {-7.f, -3.f, -1.f, 0.f, 1.5f, 3.f, 5.f, 6.f, 7.f};
  ExpectAllClose(ref_forward(ActivationKind::Relu6, x),
                 (std::vector<float>{0.f, 0.f, 0.f, 0.f, 1.5f, 3.f, 5.f, 6.f, 6.f}), tol::kExact);
  // x * min(max(x + 3, 0), 6) / 6: -1 -> -1 * 2 / 6, 1.5 -> 1.5 * 4.5 / 6 = 1.125.
  ExpectAllClose(ref_forward(ActivationKind::HardSwish, x),
                 (std::vector<float>{0.f, 0.f, -1.f / 3.f, 0.f, 1.125f, 3.f, 5.f, 6.f, 7.f}), tol::kExact);
  // min(max(x + 3, 0), 6) / 6: -1 -> 2 / 6, 1.5 -> 4.5 / 6 = 0.75.
  ExpectAllClose(ref_forward(ActivationKind::HardSigmoid, x),
                 (std::vector<float>{0.f, 0.f, 1.f / 3.f, 0.5f, 0.75f, 1.f, 1.f, 1.f, 1.f}), tol::kExact);
}

// Sigmoid and SiLU against values computed in double, including |x| = 100 where a naive 1 / (1 + exp(-x))
// overflows exp in float and flushes sigmoid(-100) to 0.
TEST(ActivationRef, HandComputedSmooth) {
  const std::vector<float> x = {-100.f, -3.f, -1.f, 0.f, 1.f, 3.f, 100.f};
  const std::vector<double> sig = {3.7200759760208356e-44, 0.04742587317756678, 0.2689414213699951, 0.5,
                                   0.7310585786300049,     0.9525741268224334,  1.0};
  std::vector<double> silu(x.size());
  for (size_t i = 0; i < x.size(); ++i) silu[i] = x[i] * sig[i];
  const auto ys = ref_forward(ActivationKind::Sigmoid, x);
  const auto yl = ref_forward(ActivationKind::Silu, x);
  ExpectAllClose(ys, sig, tol::kTranscendental);
  ExpectAllClose(yl, silu, tol::kTranscendental);
  EXPECT_EQ(ys[3], 0.5f);
  EXPECT_EQ(yl[3], 0.f);
  // Stable form: exp(-100) / (1 + exp(-100)) is a small positive subnormal, not 0 and not NaN.
  EXPECT_GT(ys[0], 0.f);
  EXPECT_NEAR(ys[0] / 3.7200759760208356e-44, 1.0, 0.05);  // subnormal: 1.4e-45 steps
  EXPECT_LT(yl[0], 0.f);
  EXPECT_EQ(ys[6], 1.f);
  EXPECT_EQ(yl[6], 100.f);
}

TEST(ActivationRef, BackwardAccumulates) {
  const std::vector<float> x = {-1.f, 2.f}, dy = {1.f, 1.f};
  std::vector<float> dx = {9.f, 9.f};
  ops::ref::activation_backward(ActivationParams{ActivationKind::LeakyRelu, 0.5f}, 2, x.data(), dy.data(), dx.data());
  EXPECT_EQ(dx, (std::vector<float>{9.5f, 10.f}));
}

// dx = 9 + 2 f'(x) at every kink (PyTorch 1.13's choices, activation.h) and at large |x|.
TEST(ActivationRef, BackwardAtKinksAccumulates) {
  const std::vector<float> x = {-100.f, -6.f, -3.f, -1.f, 0.f, 1.f, 3.f, 6.f, 100.f};
  const double s = 1.0 / 6.0;
  const std::vector<std::pair<ActivationKind, std::vector<double>>> cases = {
      {ActivationKind::Relu, {0, 0, 0, 0, 0, 1, 1, 1, 1}},
      {ActivationKind::LeakyRelu, {0.1, 0.1, 0.1, 0.1, 0.1, 1, 1, 1, 1}},
      {ActivationKind::Relu6, {0, 0, 0, 0, 0, 1, 1, 0, 0}},
      {ActivationKind::HardSwish, {0, 0, -0.5, s, 0.5, 5 * s, 1.5, 1, 1}},
      {ActivationKind::HardSigmoid, {0, 0, 0, s, s, s, 0, 0, 0}},
      {ActivationKind::Sigmoid,
       {3.72e-44, 0.002466509291360048, 0.04517665973091214, 0.19661193324148185, 0.25, 0.19661193324148185,
        0.045176659730912, 0.002466509291359931, 0}},
      {ActivationKind::Silu,
       {-3.68e-42, -0.012326432591525513, -0.08810410601516962, 0.07232948812851325, 0.5, 0.9276705118714869,
        1.0881041060151693, 1.0123264325915249, 1}},
  };
  for (const auto& [kind, grad] : cases) {
    SCOPED_TRACE(ops::activation_kind_name(kind));
    std::vector<double> expected(grad.size());
    for (size_t i = 0; i < grad.size(); ++i) expected[i] = 9.0 + 2.0 * grad[i];
    ExpectAllClose(ref_backward(kind, x, 2.f, 9.f), expected, backward_tol(kind));
  }
}

TEST(ActivationRef, GradCheckDouble) {
  for (ActivationKind kind : kAllKinds) {
    SCOPED_TRACE(ops::activation_kind_name(kind));
    const ActivationParams p{kind, 0.2f};
    // +-0.17, +-0.51, ... +-6.29 (steps of 0.34): every linear piece, at least 0.05 from every kink.
    auto x = random_distinct<double>(37, 1);
    for (double& v : x) v *= 17.0;
    const auto r = random_uniform<double>(37, -1, 1, 2);
    auto loss = [&](const std::vector<double>& xs) {
      std::vector<double> y(xs.size());
      ops::ref::activation_forward(p, xs.size(), xs.data(), y.data());
      return dot(y, r);
    };
    std::vector<double> dx(x.size(), 0.0);
    ops::ref::activation_backward(p, x.size(), x.data(), r.data(), dx.data());
    ExpectGradClose(dx, numeric_gradient(loss, x));
  }
}

// Uniform in [-8, 8] (both sides of every kink); from n >= 16 on, the first entries are kinks and large |x|.
std::vector<float> test_inputs(int64_t n, uint32_t seed) {
  auto x = random_uniform(n, -8, 8, seed);
  const float special[] = {-1e30f, -100.f, -20.f, -6.f, -3.f, -0.f, 0.f, 3.f, 6.f, 20.f, 100.f, 1e30f};
  if (n >= 16) std::copy(std::begin(special), std::end(special), x.begin());
  return x;
}

class ActivationBackends : public ::testing::TestWithParam<Backend> {};

TEST_P(ActivationBackends, MatchesReference) {
  const Backend b = GetParam();
  VIGIL_SKIP_IF_UNAVAILABLE(b);
  for (int64_t n : {1, 7, 1000, 70001}) {
    for (int block : {0, 64}) {  // 0: the launcher's default; 64 with a small grid: the grid-stride path
      std::unique_ptr<launch::BlockSizeOverride> guard;
      if (block) guard = std::make_unique<launch::BlockSizeOverride>(block);
      for (ActivationKind kind : kAllKinds) {
        SCOPED_TRACE(std::string(ops::activation_kind_name(kind)) + " n=" + std::to_string(n));
        const ActivationParams p{kind, 0.01f};
        const auto x = test_inputs(n, 3);
        const auto dy = random_uniform(n, -1, 1, 4);
        const auto dx0 = random_uniform(n, -1, 1, 5);
        std::vector<float> y_ref(n), dx_ref = dx0;
        ops::ref::activation_forward(p, n, x.data(), y_ref.data());
        ops::ref::activation_backward(p, n, x.data(), dy.data(), dx_ref.data());

        Buf<> bx(b, x), by(b, n, std::numeric_limits<float>::quiet_NaN()), bdy(b, dy), bdx(b, dx0);
        ops::activation_forward(b, p, n, bx.data(), by.data());
        ops::activation_backward(b, p, n, bx.data(), bdy.data(), bdx.data());
        ExpectAllClose(by.host(), y_ref, forward_tol(kind));
        ExpectAllClose(bdx.host(), dx_ref, backward_tol(kind));
      }
    }
  }
}

// y may alias x.
TEST_P(ActivationBackends, InPlaceForward) {
  const Backend b = GetParam();
  VIGIL_SKIP_IF_UNAVAILABLE(b);
  const int64_t n = 5000;
  for (ActivationKind kind : kAllKinds) {
    SCOPED_TRACE(ops::activation_kind_name(kind));
    const ActivationParams p{kind, 0.01f};
    const auto x = test_inputs(n, 6);
    std::vector<float> y_ref(n);
    ops::ref::activation_forward(p, n, x.data(), y_ref.data());
    Buf<> bx(b, x);
    ops::activation_forward(b, p, n, bx.data(), bx.data());
    ExpectAllClose(bx.host(), y_ref, forward_tol(kind));
  }
}

// The kind whose activation_kind_name is `name`; fails the test for an unknown one.
ActivationKind kind_named(const std::string& name) {
  for (ActivationKind kind : kAllKinds)
    if (name == ops::activation_kind_name(kind)) return kind;
  ADD_FAILURE() << "unknown activation kind '" << name << "' in the golden file";
  return ActivationKind::Relu;
}

TEST_P(ActivationBackends, MatchesPyTorch) {
  const Backend b = GetParam();
  VIGIL_SKIP_IF_UNAVAILABLE(b);
  std::set<std::string> kinds_seen;
  for (const auto& c : load_golden("activation")) {
    SCOPED_TRACE(c.name);
    const std::string kind = c.params.at("kind");
    kinds_seen.insert(kind);
    const ActivationParams p{kind_named(kind), c.params.value("negative_slope", 0.01f)};
    const auto& x = c.at("x").data;
    const int64_t n = x.size();
    Buf<> bx(b, x), by(b, n, std::numeric_limits<float>::quiet_NaN()), bdy(b, c.at("dy").data), bdx(b, n);
    ops::activation_forward(b, p, n, bx.data(), by.data());
    ops::activation_backward(b, p, n, bx.data(), bdy.data(), bdx.data());
    ExpectAllClose(by.host(), c.at("y").data, tol::kGolden);
    ExpectAllClose(bdx.host(), c.at("dx").data, tol::kGolden);
  }
  EXPECT_EQ(kinds_seen.size(), std::size(kAllKinds));  // the fixture covers every kind
}

INSTANTIATE_TEST_SUITE_P(All, ActivationBackends,
                         ::testing::Values(Backend::Reference, Backend::Cpu, Backend::Cuda, Backend::Cudnn),
                         BackendParamName);

// Pointwise maps over fixed chunks: the bits cannot depend on how many threads share the chunks.
TEST(ActivationCpu, IndependentOfThreadCount) {
  const int64_t n = 70001;  // five chunks: an uneven split over 3 threads
  const auto x = test_inputs(n, 7), dy = random_uniform(n, -1, 1, 8), dx0 = random_uniform(n, -1, 1, 9);
  const int saved = cpu::num_threads();
  for (ActivationKind kind : kAllKinds) {
    SCOPED_TRACE(ops::activation_kind_name(kind));
    std::vector<float> y[2], dx[2];
    for (int t = 0; t < 2; ++t) {
      cpu::set_num_threads(t == 0 ? 1 : 3);
      y[t].assign(n, std::numeric_limits<float>::quiet_NaN());
      dx[t] = dx0;
      ops::activation_forward(Backend::Cpu, ActivationParams{kind, 0.01f}, n, x.data(), y[t].data());
      ops::activation_backward(Backend::Cpu, ActivationParams{kind, 0.01f}, n, x.data(), dy.data(), dx[t].data());
    }
    std::vector<float> y_ref(n);
    ops::ref::activation_forward(ActivationParams{kind, 0.01f}, n, x.data(), y_ref.data());
    ExpectAllClose(y[0], y_ref, forward_tol(kind));  // really written, not two identical NaN fills
    EXPECT_EQ(0, std::memcmp(y[0].data(), y[1].data(), n * sizeof(float)));
    EXPECT_EQ(0, std::memcmp(dx[0].data(), dx[1].data(), n * sizeof(float)));
  }
  cpu::set_num_threads(saved);
}

}  // namespace
}  // namespace vigil::test
