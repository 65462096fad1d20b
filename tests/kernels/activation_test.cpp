// ReLU/LeakyReLU: hand-computed values, double gradient check, every backend vs the reference, PyTorch golden.
#include "activation/activation.h"
#include "activation/activation_ref.h"

#include <gtest/gtest.h>

#include "common/launch.h"
#include "support/allclose.h"
#include "support/backends.h"
#include "support/golden.h"
#include "support/gradcheck.h"
#include "support/random.h"

namespace vigil::test {
namespace {

using ops::ActivationKind;
using ops::ActivationParams;

TEST(ActivationRef, HandComputed) {
  const std::vector<float> x = {-2.f, -0.5f, 0.f, 0.25f, 3.f};
  std::vector<float> y(5);
  ops::ref::activation_forward(ActivationParams{ActivationKind::Relu}, 5, x.data(), y.data());
  EXPECT_EQ(y, (std::vector<float>{0.f, 0.f, 0.f, 0.25f, 3.f}));
  ops::ref::activation_forward(ActivationParams{ActivationKind::LeakyRelu, 0.1f}, 5, x.data(), y.data());
  ExpectAllClose(y, (std::vector<float>{-0.2f, -0.05f, 0.f, 0.25f, 3.f}), tol::kExact);
}

TEST(ActivationRef, BackwardAccumulates) {
  const std::vector<float> x = {-1.f, 2.f}, dy = {1.f, 1.f};
  std::vector<float> dx = {9.f, 9.f};
  ops::ref::activation_backward(ActivationParams{ActivationKind::LeakyRelu, 0.5f}, 2, x.data(), dy.data(), dx.data());
  EXPECT_EQ(dx, (std::vector<float>{9.5f, 10.f}));
}

TEST(ActivationRef, GradCheckDouble) {
  for (ActivationKind kind : {ActivationKind::Relu, ActivationKind::LeakyRelu}) {
    const ActivationParams p{kind, 0.2f};
    const auto x = random_distinct<double>(37, 1);
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

class ActivationBackends : public ::testing::TestWithParam<Backend> {};

TEST_P(ActivationBackends, MatchesReference) {
  const Backend b = GetParam();
  VIGIL_SKIP_IF_UNAVAILABLE(b);
  for (int64_t n : {1, 7, 1000, 70001}) {
    for (int block : {0, 64}) {  // 0: the launcher's default; 64 with a small grid: the grid-stride path
      std::unique_ptr<launch::BlockSizeOverride> guard;
      if (block) guard = std::make_unique<launch::BlockSizeOverride>(block);
      for (ActivationKind kind : {ActivationKind::Relu, ActivationKind::LeakyRelu}) {
        const ActivationParams p{kind, 0.01f};
        const auto x = random_uniform(n, -2, 2, 3);
        const auto dy = random_uniform(n, -1, 1, 4);
        const auto dx0 = random_uniform(n, -1, 1, 5);
        std::vector<float> y_ref(n), dx_ref = dx0;
        ops::ref::activation_forward(p, n, x.data(), y_ref.data());
        ops::ref::activation_backward(p, n, x.data(), dy.data(), dx_ref.data());

        Buf<> bx(b, x), by(b, n), bdy(b, dy), bdx(b, dx0);
        ops::activation_forward(b, p, n, bx.data(), by.data());
        ops::activation_backward(b, p, n, bx.data(), bdy.data(), bdx.data());
        ExpectAllClose(by.host(), y_ref, tol::kExact);
        ExpectAllClose(bdx.host(), dx_ref, tol::kElementwise);
      }
    }
  }
}

TEST_P(ActivationBackends, MatchesPyTorch) {
  const Backend b = GetParam();
  VIGIL_SKIP_IF_UNAVAILABLE(b);
  for (const auto& c : load_golden("activation")) {
    SCOPED_TRACE(c.name);
    const ActivationParams p{c.params.at("kind") == "relu" ? ActivationKind::Relu : ActivationKind::LeakyRelu,
                             c.params.value("negative_slope", 0.01f)};
    const auto& x = c.at("x").data;
    const int64_t n = x.size();
    Buf<> bx(b, x), by(b, n), bdy(b, c.at("dy").data), bdx(b, n);
    ops::activation_forward(b, p, n, bx.data(), by.data());
    ops::activation_backward(b, p, n, bx.data(), bdy.data(), bdx.data());
    ExpectAllClose(by.host(), c.at("y").data, tol::kGolden);
    ExpectAllClose(bdx.host(), c.at("dx").data, tol::kGolden);
  }
}

INSTANTIATE_TEST_SUITE_P(All, ActivationBackends,
                         ::testing::Values(Backend::Reference, Backend::Cpu, Backend::Cuda, Backend::Cudnn),
                         BackendParamName);

}  // namespace
}  // namespace vigil::test
