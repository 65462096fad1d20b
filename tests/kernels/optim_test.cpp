// Optimizer tests: closed-form steps, several steps vs double PyTorch formulas, backends, golden.
#include "optim/optim.h"
#include "optim/optim_ref.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <memory>
#include <string>

#include "common/error.h"
#include "common/launch.h"
#include "support/allclose.h"
#include "support/backends.h"
#include "support/golden.h"
#include "support/random.h"

namespace vigil::test {
namespace {

using ops::AdamParams;
using ops::SgdParams;

// ---- an independent double implementation, written straight from torch/optim/{sgd,adam,adamw}.py ----

struct SgdState {
  std::vector<double> w, buf;
  bool has_buf = false;
};

void torch_sgd(const SgdParams& p, SgdState& s, const std::vector<double>& g) {
  for (size_t i = 0; i < s.w.size(); ++i) {
    double d = g[i];
    if (p.weight_decay != 0) d += p.weight_decay * s.w[i];
    if (p.momentum != 0) {
      s.buf[i] = s.has_buf ? p.momentum * s.buf[i] + (1.0 - p.dampening) * d : d;
      d = p.nesterov ? d + p.momentum * s.buf[i] : s.buf[i];
    }
    s.w[i] -= p.lr * d;
  }
  s.has_buf = true;
}

struct AdamState {
  std::vector<double> w, m, v;
  int64_t step = 0;
};

void torch_adam(const AdamParams& p, AdamState& s, const std::vector<double>& g) {
  ++s.step;
  const double bc1 = 1.0 - std::pow(static_cast<double>(p.beta1), s.step);
  const double bc2 = 1.0 - std::pow(static_cast<double>(p.beta2), s.step);
  for (size_t i = 0; i < s.w.size(); ++i) {
    double gi = g[i];
    if (p.decoupled) {
      s.w[i] *= 1.0 - static_cast<double>(p.lr) * p.weight_decay;
    } else {
      gi += p.weight_decay * s.w[i];
    }
    s.m[i] = p.beta1 * s.m[i] + (1.0 - p.beta1) * gi;
    s.v[i] = p.beta2 * s.v[i] + (1.0 - p.beta2) * gi * gi;
    s.w[i] -= p.lr / bc1 * s.m[i] / (std::sqrt(s.v[i]) / std::sqrt(bc2) + p.eps);
  }
}

// ---- closed-form single steps ----

TEST(OptimRef, SgdClosedForm) {
  std::vector<float> w = {1.f, -2.f}, g = {0.5f, 4.f};
  ops::ref::sgd_step<float>(SgdParams{0.1f}, 2, w.data(), g.data(), nullptr, true);
  ExpectAllClose(w, (std::vector<float>{0.95f, -2.4f}), tol::kOptimizer);

  // Weight decay: g' = g + 0.5 * w.
  w = {1.f, -2.f};
  ops::ref::sgd_step<float>(SgdParams{0.1f, 0.f, 0.f, 0.5f}, 2, w.data(), g.data(), nullptr, true);
  ExpectAllClose(w, (std::vector<float>{1.f - 0.1f * 1.f, -2.f - 0.1f * 3.f}), tol::kOptimizer);

  // Momentum 0.9, dampening 0.5: the first step copies g' into the buffer (no dampening), ignoring its content.
  const SgdParams mom{0.1f, 0.9f, 0.5f};
  w = {1.f, -2.f};
  std::vector<float> buf = {std::numeric_limits<float>::quiet_NaN(), 7.f};
  ops::ref::sgd_step<float>(mom, 2, w.data(), g.data(), buf.data(), true);
  ExpectAllClose(buf, g, tol::kExact);
  ExpectAllClose(w, (std::vector<float>{0.95f, -2.4f}), tol::kOptimizer);
  // Second step: buf = 0.9 * buf + 0.5 * g.
  const std::vector<float> g2 = {1.f, -1.f};
  ops::ref::sgd_step<float>(mom, 2, w.data(), g2.data(), buf.data(), false);
  ExpectAllClose(buf, (std::vector<float>{0.95f, 3.1f}), tol::kOptimizer);
  ExpectAllClose(w, (std::vector<float>{0.95f - 0.095f, -2.4f - 0.31f}), tol::kOptimizer);

  // Nesterov: step = g' + momentum * buf; on the first step buf = g', so step = 1.9 g.
  w = {1.f, -2.f};
  ops::ref::sgd_step<float>(SgdParams{0.1f, 0.9f, 0.f, 0.f, true}, 2, w.data(), g.data(), buf.data(), true);
  ExpectAllClose(w, (std::vector<float>{1.f - 0.1f * 1.9f * 0.5f, -2.f - 0.1f * 1.9f * 4.f}), tol::kOptimizer);

  // momentum == 0 never touches a buffer that happens to be passed.
  buf = {5.f, 6.f};
  ops::ref::sgd_step<float>(SgdParams{0.1f}, 2, w.data(), g.data(), buf.data(), false);
  EXPECT_EQ(buf, (std::vector<float>{5.f, 6.f}));
}

TEST(OptimRef, AdamClosedForm) {
  // Step 1 from m = v = 0: m_hat = g and v_hat = g^2, so w -= lr * g / (|g| + eps).
  const std::vector<float> g = {0.5f, -4.f, 1e-3f};
  const float lr = 0.01f, eps = 1e-8f;
  auto expected = [&](const std::vector<float>& w0, float decay) {
    std::vector<float> e(w0.size());
    for (size_t i = 0; i < w0.size(); ++i) e[i] = w0[i] * decay - lr * g[i] / (std::fabs(g[i]) + eps);
    return e;
  };
  const std::vector<float> w0 = {1.f, -2.f, 0.25f};
  std::vector<float> w = w0, m(3, 0.f), v(3, 0.f);
  ops::ref::adam_step<float>(AdamParams{lr}, 3, w.data(), g.data(), m.data(), v.data());
  ExpectAllClose(w, expected(w0, 1.f), tol::kOptimizer);
  ExpectAllClose(m, (std::vector<float>{0.05f, -0.4f, 1e-4f}), tol::kOptimizer);
  const float one_minus_beta2 = 1.f - 0.999f;  // exact in float; not quite 1e-3
  ExpectAllClose(v, (std::vector<float>{one_minus_beta2 * 0.25f, one_minus_beta2 * 16.f, one_minus_beta2 * 1e-6f}),
                 tol::kOptimizer);

  // AdamW: w *= 1 - lr * wd first, the gradient is untouched.
  AdamParams adamw{lr};
  adamw.weight_decay = 0.5f;
  adamw.decoupled = true;
  w = w0, m.assign(3, 0.f), v.assign(3, 0.f);
  ops::ref::adam_step<float>(adamw, 3, w.data(), g.data(), m.data(), v.data());
  ExpectAllClose(w, expected(w0, 1.f - lr * 0.5f), tol::kOptimizer);

  // Adam (L2): g' = g + wd * w enters the moments.
  AdamParams l2{lr};
  l2.weight_decay = 0.5f;
  w = w0, m.assign(3, 0.f), v.assign(3, 0.f);
  ops::ref::adam_step<float>(l2, 3, w.data(), g.data(), m.data(), v.data());
  ExpectAllClose(m, (std::vector<float>{0.1f * (0.5f + 0.5f), 0.1f * (-4.f - 1.f), 0.1f * (1e-3f + 0.125f)}),
                 tol::kOptimizer);
  ExpectAllClose(w, (std::vector<float>{1.f - lr, -2.f + lr, 0.25f - lr * 0.126f / (0.126f + eps)}),
                 tol::kOptimizer);
}

// ---- several steps: reference (float and double) against the independent double implementation ----

std::vector<SgdParams> sgd_configs() {
  return {SgdParams{0.1f},
          SgdParams{0.1f, 0.f, 0.f, 0.01f},
          SgdParams{0.05f, 0.9f},
          SgdParams{0.05f, 0.9f, 0.1f, 0.01f},
          SgdParams{0.05f, 0.9f, 0.f, 0.01f, true}};
}

std::vector<AdamParams> adam_configs() {
  AdamParams plain{0.01f}, l2{0.01f}, adamw{0.01f}, betas{0.001f};
  l2.weight_decay = 0.1f;
  adamw.weight_decay = 0.1f;
  adamw.decoupled = true;
  betas.beta1 = 0.8f, betas.beta2 = 0.99f, betas.eps = 1e-3f;
  return {plain, l2, adamw, betas};
}

std::string describe(const SgdParams& p) {
  return "sgd lr " + std::to_string(p.lr) + " momentum " + std::to_string(p.momentum) + " dampening " +
         std::to_string(p.dampening) + " wd " + std::to_string(p.weight_decay) + (p.nesterov ? " nesterov" : "");
}
std::string describe(const AdamParams& p) {
  return std::string(p.decoupled ? "adamw" : "adam") + " lr " + std::to_string(p.lr) + " betas " +
         std::to_string(p.beta1) + "," + std::to_string(p.beta2) + " eps " + std::to_string(p.eps) + " wd " +
         std::to_string(p.weight_decay);
}

constexpr int kSteps = 5;
constexpr int64_t kN = 101;

std::vector<double> step_grad(int step, int64_t n) { return random_uniform<double>(n, -1, 1, 100 + step); }

TEST(OptimRef, SgdSeveralStepsMatchDouble) {
  for (const SgdParams& p : sgd_configs()) {
    SCOPED_TRACE(describe(p));
    SgdState truth{random_uniform<double>(kN, -1, 1, 1), std::vector<double>(kN, 0.0)};
    std::vector<float> wf = cast<float>(truth.w), buff(kN);
    std::vector<double> wd = truth.w, bufd(kN);
    for (int s = 0; s < kSteps; ++s) {
      const auto g = step_grad(s, kN);
      const auto gf = cast<float>(g);
      const bool first = s == 0;
      ops::ref::sgd_step<double>(p, kN, wd.data(), g.data(), p.momentum != 0 ? bufd.data() : nullptr, first);
      ops::ref::sgd_step<float>(p, kN, wf.data(), gf.data(), p.momentum != 0 ? buff.data() : nullptr, first);
      torch_sgd(p, truth, g);
      ExpectAllClose(wd, truth.w, tol::kOptimizer);  // double: only the float-rounded hyper-parameters differ
      ExpectAllClose(wf, truth.w, tol::kOptimizer);
    }
  }
}

TEST(OptimRef, AdamSeveralStepsMatchDouble) {
  for (const AdamParams& base : adam_configs()) {
    SCOPED_TRACE(describe(base));
    AdamState truth{random_uniform<double>(kN, -1, 1, 2), std::vector<double>(kN, 0.0), std::vector<double>(kN, 0.0)};
    std::vector<float> wf = cast<float>(truth.w), mf(kN, 0.f), vf(kN, 0.f);
    std::vector<double> wd = truth.w, md(kN, 0.0), vd(kN, 0.0);
    for (int s = 0; s < kSteps; ++s) {
      const auto g = step_grad(s, kN);
      const auto gf = cast<float>(g);
      AdamParams p = base;
      p.step = s + 1;
      ops::ref::adam_step<double>(p, kN, wd.data(), g.data(), md.data(), vd.data());
      ops::ref::adam_step<float>(p, kN, wf.data(), gf.data(), mf.data(), vf.data());
      torch_adam(p, truth, g);
      ExpectAllClose(wd, truth.w, tol::kOptimizer);
      ExpectAllClose(md, truth.m, tol::kOptimizer);
      ExpectAllClose(vd, truth.v, tol::kOptimizer);
      ExpectAllClose(wf, truth.w, tol::kOptimizer);
      ExpectAllClose(mf, truth.m, tol::kOptimizer);
      ExpectAllClose(vf, truth.v, tol::kOptimizer);
    }
  }
}

// ---- argument checks (made before any backend runs) ----

TEST(Optim, RejectsBadArguments) {
  float w = 1.f, g = 1.f, buf = 0.f, m = 0.f, v = 0.f;
  const Backend b = Backend::Cpu;
  EXPECT_THROW(ops::sgd_step(b, SgdParams{-0.1f}, 1, &w, &g, nullptr, true), Error);
  EXPECT_THROW(ops::sgd_step(b, SgdParams{0.1f, 0.9f}, 1, &w, &g, nullptr, true), Error);  // momentum, no buffer
  EXPECT_THROW(ops::sgd_step(b, SgdParams{0.1f, 0.f, 0.f, 0.f, true}, 1, &w, &g, &buf, true), Error);
  EXPECT_THROW(ops::sgd_step(b, SgdParams{0.1f, 0.9f, 0.1f, 0.f, true}, 1, &w, &g, &buf, true), Error);
  EXPECT_THROW(ops::sgd_step(b, SgdParams{0.1f, 0.f, 0.f, -1.f}, 1, &w, &g, nullptr, true), Error);
  EXPECT_THROW(ops::sgd_step(b, SgdParams{0.1f}, -1, &w, &g, nullptr, true), Error);
  EXPECT_NO_THROW(ops::sgd_step(b, SgdParams{0.1f}, 0, nullptr, nullptr, nullptr, true));
  AdamParams p{0.01f};
  p.step = 0;
  EXPECT_THROW(ops::adam_step(b, p, 1, &w, &g, &m, &v), Error);
  p = AdamParams{0.01f};
  p.beta1 = 1.f;
  EXPECT_THROW(ops::adam_step(b, p, 1, &w, &g, &m, &v), Error);
  p = AdamParams{0.01f};
  p.eps = -1.f;
  EXPECT_THROW(ops::adam_step(b, p, 1, &w, &g, &m, &v), Error);
  EXPECT_THROW(ops::adam_step(b, AdamParams{0.01f}, 1, &w, &g, nullptr, &v), Error);
  EXPECT_EQ(w, 1.f);  // nothing ran
}

// ---- every backend against the reference ----

class OptimBackends : public ::testing::TestWithParam<Backend> {};

constexpr int kBackendSteps = 3;

std::vector<int> block_overrides(Backend b) {
  return is_device_backend(b) ? std::vector<int>{0, 64} : std::vector<int>{0};
}

TEST_P(OptimBackends, MatchesReference) {
  const Backend b = GetParam();
  VIGIL_SKIP_IF_UNAVAILABLE(b);
  // Odd sizes, one element, and the seed net's conv weight count (3->16 7x7, then 3x3 16->32->64->128->256).
  for (int64_t n : {1, 7, 1000, 70001, 16 * 3 * 49 + 9 * (16 * 32 + 32 * 64 + 64 * 128 + 128 * 256)}) {
    for (int block : block_overrides(b)) {
      SCOPED_TRACE(::testing::Message() << "n " << n << " block " << block);
      std::unique_ptr<launch::BlockSizeOverride> guard;
      if (block) guard = std::make_unique<launch::BlockSizeOverride>(block);
      const auto w0 = random_uniform(n, -1, 1, 1);
      std::vector<std::vector<float>> grads;
      std::vector<std::unique_ptr<Buf<>>> bgrads;
      for (int s = 0; s < kBackendSteps; ++s) {
        grads.push_back(random_uniform(n, -1, 1, 10 + s));
        bgrads.push_back(std::make_unique<Buf<>>(b, grads.back()));
      }
      for (const SgdParams& p : sgd_configs()) {
        SCOPED_TRACE(describe(p));
        const bool mom = p.momentum != 0;
        std::vector<float> w = w0, buf(n, 0.f);
        Buf<> bw(b, w0), bbuf(b, n);
        for (int s = 0; s < kBackendSteps; ++s) {
          ops::ref::sgd_step<float>(p, n, w.data(), grads[s].data(), mom ? buf.data() : nullptr, s == 0);
          ops::sgd_step(b, p, n, bw.data(), bgrads[s]->data(), mom ? bbuf.data() : nullptr, s == 0);
        }
        ExpectAllClose(bw.host(), w, tol::kOptimizer);
        if (mom) {
          ExpectAllClose(bbuf.host(), buf, tol::kOptimizer);
        }
      }
      for (const AdamParams& base : adam_configs()) {
        SCOPED_TRACE(describe(base));
        std::vector<float> w = w0, m(n, 0.f), v(n, 0.f);
        Buf<> bw(b, w0), bm(b, n), bv(b, n);
        for (int s = 0; s < kBackendSteps; ++s) {
          AdamParams p = base;
          p.step = s + 1;
          ops::ref::adam_step<float>(p, n, w.data(), grads[s].data(), m.data(), v.data());
          ops::adam_step(b, p, n, bw.data(), bgrads[s]->data(), bm.data(), bv.data());
        }
        ExpectAllClose(bw.host(), w, tol::kOptimizer);
        ExpectAllClose(bm.host(), m, tol::kOptimizer);
        ExpectAllClose(bv.host(), v, tol::kOptimizer);
      }
    }
  }
}

TEST_P(OptimBackends, MatchesPyTorch) {
  const Backend b = GetParam();
  VIGIL_SKIP_IF_UNAVAILABLE(b);
  for (const auto& c : load_golden("optim")) {
    SCOPED_TRACE(c.name);
    const std::string kind = c.params.at("kind");
    const auto& w0 = c.at("w0").data;
    const int64_t n = w0.size();
    Buf<> bw(b, w0), bs1(b, n), bs2(b, n);  // state: momentum buffer, or Adam's m and v
    for (int s = 1; c.tensors.count("g" + std::to_string(s)); ++s) {
      SCOPED_TRACE(::testing::Message() << "step " << s);
      Buf<> bg(b, c.at("g" + std::to_string(s)).data);
      if (kind == "sgd") {
        SgdParams p;
        p.lr = c.params.at("lr");
        p.momentum = c.params.value("momentum", 0.f);
        p.dampening = c.params.value("dampening", 0.f);
        p.weight_decay = c.params.value("weight_decay", 0.f);
        p.nesterov = c.params.value("nesterov", false);
        ops::sgd_step(b, p, n, bw.data(), bg.data(), p.momentum != 0 ? bs1.data() : nullptr, s == 1);
      } else {
        ASSERT_TRUE(kind == "adam" || kind == "adamw") << kind;
        AdamParams p;
        p.lr = c.params.at("lr");
        p.beta1 = c.params.value("beta1", 0.9f);
        p.beta2 = c.params.value("beta2", 0.999f);
        p.eps = c.params.value("eps", 1e-8f);
        p.weight_decay = c.params.value("weight_decay", 0.f);
        p.decoupled = kind == "adamw";
        p.step = s;
        ops::adam_step(b, p, n, bw.data(), bg.data(), bs1.data(), bs2.data());
      }
      ExpectAllClose(bw.host(), c.at("w" + std::to_string(s)).data, tol::kGolden);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(All, OptimBackends,
                         ::testing::Values(Backend::Reference, Backend::Cpu, Backend::Cuda, Backend::Cudnn),
                         BackendParamName);

}  // namespace
}  // namespace vigil::test
