// Batch norm: hand-computed values, double gradient checks, validation, every backend vs the reference, PyTorch golden.
#include "batchnorm/batchnorm.h"
#include "batchnorm/batchnorm_ref.h"

#include <gtest/gtest.h>

#include <limits>
#include <memory>
#include <string>
#include <utility>

#include "common/error.h"
#include "common/launch.h"
#include "support/allclose.h"
#include "support/backends.h"
#include "support/golden.h"
#include "support/gradcheck.h"
#include "support/random.h"

namespace vigil::test {
namespace {

using ops::BatchNormShape;

// ---------------------------------------------------------------------------------------------------------------
// Running every entry point on one backend.

// Host copies of every input of the four entry points. dx0/dgamma0/dbeta0 pre-fill the gradient outputs, so
// every comparison also checks that the backward passes accumulate (+=).
struct BnInputs {
  std::vector<float> x, gamma, beta, running_mean, running_var, dy, dx0, dgamma0, dbeta0;
};

BnInputs make_inputs(const BatchNormShape& s, double offset, uint32_t seed) {
  const size_t total = static_cast<size_t>(s.n * s.c * s.hw), c = static_cast<size_t>(s.c);
  BnInputs in;
  in.x = random_uniform(total, offset - 2, offset + 2, seed);
  in.gamma = random_uniform(c, 0.25, 1.75, seed + 1);
  in.beta = random_uniform(c, -1, 1, seed + 2);
  in.running_mean = random_uniform(c, -0.5, 0.5, seed + 3);
  in.running_var = random_uniform(c, 0.5, 1.5, seed + 4);
  in.dy = random_uniform(total, -1, 1, seed + 5);
  in.dx0 = random_uniform(total, -1, 1, seed + 6);
  in.dgamma0 = random_uniform(c, -1, 1, seed + 7);
  in.dbeta0 = random_uniform(c, -1, 1, seed + 8);
  return in;
}

// Every output; the field names match the tensor names of the PyTorch golden fixture.
struct BnOutputs {
  std::vector<float> y, running_mean_out, running_var_out, save_mean, save_invstd, dx, dgamma, dbeta;
  std::vector<float> y_eval, dx_eval, dgamma_eval, dbeta_eval;
};

using Field = std::pair<const char*, std::vector<float> BnOutputs::*>;
const std::vector<Field>& output_fields() {
  static const std::vector<Field> fields = {
      {"y", &BnOutputs::y},
      {"running_mean_out", &BnOutputs::running_mean_out},
      {"running_var_out", &BnOutputs::running_var_out},
      {"save_mean", &BnOutputs::save_mean},
      {"save_invstd", &BnOutputs::save_invstd},
      {"dx", &BnOutputs::dx},
      {"dgamma", &BnOutputs::dgamma},
      {"dbeta", &BnOutputs::dbeta},
      {"y_eval", &BnOutputs::y_eval},
      {"dx_eval", &BnOutputs::dx_eval},
      {"dgamma_eval", &BnOutputs::dgamma_eval},
      {"dbeta_eval", &BnOutputs::dbeta_eval}};
  return fields;
}

// Training forward + backward, then eval forward + backward with the initial running statistics.
BnOutputs run_all(Backend b, const BatchNormShape& s, const BnInputs& in) {
  const size_t total = in.x.size(), c = in.gamma.size();
  Buf<> x(b, in.x), gamma(b, in.gamma), beta(b, in.beta), dy(b, in.dy);
  Buf<> rm(b, in.running_mean), rv(b, in.running_var), y(b, total), sm(b, c), si(b, c);
  Buf<> dx(b, in.dx0), dg(b, in.dgamma0), db(b, in.dbeta0);
  ops::batchnorm_forward_train(b, s, x.data(), gamma.data(), beta.data(), y.data(), rm.data(), rv.data(), sm.data(),
                               si.data());
  ops::batchnorm_backward(b, s, x.data(), dy.data(), gamma.data(), sm.data(), si.data(), dx.data(), dg.data(),
                          db.data());
  Buf<> rm0(b, in.running_mean), rv0(b, in.running_var), ye(b, total);
  Buf<> dxe(b, in.dx0), dge(b, in.dgamma0), dbe(b, in.dbeta0);
  ops::batchnorm_forward_eval(b, s, x.data(), gamma.data(), beta.data(), rm0.data(), rv0.data(), ye.data());
  ops::batchnorm_backward_eval(b, s, x.data(), dy.data(), gamma.data(), rm0.data(), rv0.data(), dxe.data(),
                               dge.data(), dbe.data());
  return {y.host(),  rm.host(),  rv.host(),  sm.host(),  si.host(),  dx.host(),
          dg.host(), db.host(), ye.host(), dxe.host(), dge.host(), dbe.host()};
}

void expect_outputs_close(const BnOutputs& actual, const BnOutputs& want, Tol tol) {
  for (const auto& [name, field] : output_fields()) {
    SCOPED_TRACE(name);
    ExpectAllClose(actual.*field, want.*field, tol);
  }
}

template <typename Fn>
std::string error_message(const Fn& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error thrown)";
}

// ---------------------------------------------------------------------------------------------------------------
// Reference only: gradient checks in double.

struct GradShape {
  int64_t n, c, hw;
};
const GradShape kGradShapes[] = {{2, 3, 5}, {1, 2, 7}, {5, 2, 1}};

TEST(BatchNormRef, GradCheckTrainDouble) {
  uint32_t seed = 10;
  for (const GradShape& g : kGradShapes) {
    const BatchNormShape s{g.n, g.c, g.hw, 1e-3f, 0.1f};
    SCOPED_TRACE(testing::Message() << "n=" << s.n << " c=" << s.c << " hw=" << s.hw);
    const size_t total = static_cast<size_t>(s.n * s.c * s.hw), c = static_cast<size_t>(s.c);
    const auto x = random_uniform<double>(total, -2, 2, seed++);
    const auto gamma = random_uniform<double>(c, 0.5, 1.5, seed++);
    const auto beta = random_uniform<double>(c, -1, 1, seed++);
    const auto r = random_uniform<double>(total, -1, 1, seed++);
    // loss = <y(x, gamma, beta), r>, with fresh running statistics each time so the loss is a pure function.
    auto loss = [&](const std::vector<double>& xs, const std::vector<double>& gs, const std::vector<double>& bs) {
      std::vector<double> y(total), rm(c, 0.0), rv(c, 1.0), sm(c), si(c);
      ops::ref::batchnorm_forward_train(s, xs.data(), gs.data(), bs.data(), y.data(), rm.data(), rv.data(),
                                        sm.data(), si.data());
      return dot(y, r);
    };
    std::vector<double> y(total), rm(c, 0.0), rv(c, 1.0), sm(c), si(c);
    ops::ref::batchnorm_forward_train(s, x.data(), gamma.data(), beta.data(), y.data(), rm.data(), rv.data(),
                                      sm.data(), si.data());
    std::vector<double> dx(total, 0.0), dgamma(c, 0.0), dbeta(c, 0.0);
    ops::ref::batchnorm_backward(s, x.data(), r.data(), gamma.data(), sm.data(), si.data(), dx.data(),
                                 dgamma.data(), dbeta.data());
    ExpectGradClose(dx, numeric_gradient([&](const std::vector<double>& v) { return loss(v, gamma, beta); }, x));
    ExpectGradClose(dgamma, numeric_gradient([&](const std::vector<double>& v) { return loss(x, v, beta); }, gamma));
    ExpectGradClose(dbeta, numeric_gradient([&](const std::vector<double>& v) { return loss(x, gamma, v); }, beta));
  }
}

TEST(BatchNormRef, GradCheckEvalDouble) {
  uint32_t seed = 40;
  for (const GradShape& g : kGradShapes) {
    const BatchNormShape s{g.n, g.c, g.hw, 1e-3f, 0.1f};
    SCOPED_TRACE(testing::Message() << "n=" << s.n << " c=" << s.c << " hw=" << s.hw);
    const size_t total = static_cast<size_t>(s.n * s.c * s.hw), c = static_cast<size_t>(s.c);
    const auto x = random_uniform<double>(total, -2, 2, seed++);
    const auto gamma = random_uniform<double>(c, 0.5, 1.5, seed++);
    const auto beta = random_uniform<double>(c, -1, 1, seed++);
    const auto rm = random_uniform<double>(c, -0.5, 0.5, seed++);
    const auto rv = random_uniform<double>(c, 0.5, 1.5, seed++);
    const auto r = random_uniform<double>(total, -1, 1, seed++);
    auto loss = [&](const std::vector<double>& xs, const std::vector<double>& gs, const std::vector<double>& bs) {
      std::vector<double> y(total);
      ops::ref::batchnorm_forward_eval(s, xs.data(), gs.data(), bs.data(), rm.data(), rv.data(), y.data());
      return dot(y, r);
    };
    std::vector<double> dx(total, 0.0), dgamma(c, 0.0), dbeta(c, 0.0);
    ops::ref::batchnorm_backward_eval(s, x.data(), r.data(), gamma.data(), rm.data(), rv.data(), dx.data(),
                                      dgamma.data(), dbeta.data());
    ExpectGradClose(dx, numeric_gradient([&](const std::vector<double>& v) { return loss(v, gamma, beta); }, x));
    ExpectGradClose(dgamma, numeric_gradient([&](const std::vector<double>& v) { return loss(x, v, beta); }, gamma));
    ExpectGradClose(dbeta, numeric_gradient([&](const std::vector<double>& v) { return loss(x, gamma, v); }, beta));
  }
}

// The running variance uses the unbiased estimate: with two values per channel it is twice the biased one.
TEST(BatchNormRef, RunningVarianceIsUnbiased) {
  const BatchNormShape s{2, 1, 1, 0.f, 1.f};  // momentum 1: running stats become the batch statistics
  const std::vector<double> x = {1.0, 3.0}, gamma = {1.0}, beta = {0.0};
  std::vector<double> y(2), rm = {5.0}, rv = {5.0}, sm(1), si(1);
  ops::ref::batchnorm_forward_train(s, x.data(), gamma.data(), beta.data(), y.data(), rm.data(), rv.data(),
                                    sm.data(), si.data());
  EXPECT_EQ(rm[0], 2.0);
  EXPECT_EQ(rv[0], 2.0);  // biased variance 1, times m / (m - 1) = 2
  EXPECT_EQ(si[0], 1.0);  // 1 / sqrt(biased variance + 0)
  EXPECT_EQ(y, (std::vector<double>{-1.0, 1.0}));
}

TEST(BatchNormShape, RejectsBadParameters) {
  const BatchNormShape bad[] = {{0, 1, 4},
                                {2, 0, 4},
                                {2, 3, -1},
                                {2, 3, 4, -1e-5f},
                                {2, 3, 4, std::numeric_limits<float>::quiet_NaN()},
                                {2, 3, 4, 1e-5f, 1.5f},
                                {2, 3, 4, 1e-5f, -0.1f},
                                {int64_t(1) << 40, int64_t(1) << 20, int64_t(1) << 10}};
  for (const BatchNormShape& s : bad) EXPECT_THROW(s.validate(), Error);
  EXPECT_NO_THROW((BatchNormShape{1, 1, 1, 0.f, 0.f}.validate()));
  EXPECT_NO_THROW((BatchNormShape{2, 3, 4, 1e-5f, 1.f}.validate()));
}

// ---------------------------------------------------------------------------------------------------------------
// Every backend.

class BatchNormBackends : public ::testing::TestWithParam<Backend> {};

// n=2, c=2, hw=2, eps=0. Channel 0 holds {-1, 1, 1, -1} (mean 0, var 1), channel 1 {2, 6, 2, 6} (mean 4, var 4).
TEST_P(BatchNormBackends, HandComputed) {
  const Backend b = GetParam();
  VIGIL_SKIP_IF_UNAVAILABLE(b);
  const BatchNormShape s{2, 2, 2, 0.f, 0.1f};
  BnInputs in;
  in.x = {-1, 1, 2, 6, 1, -1, 2, 6};
  in.gamma = {2, -1};
  in.beta = {0.5f, 3};
  in.running_mean = {0, 4};  // the eval pass sees statistics equal to the batch's
  in.running_var = {1, 4};
  in.dy = {1, 0, 1, 1, 0, 0, 1, 1};
  in.dx0 = std::vector<float>(8, 9.f);
  in.dgamma0 = {9, 9};
  in.dbeta0 = {9, 9};
  const BnOutputs out = run_all(b, s, in);
  const std::vector<float> y = {-1.5f, 2.5f, 4, 2, 2.5f, -1.5f, 4, 2};
  ExpectAllClose(out.y, y, tol::kElementwise);
  ExpectAllClose(out.save_mean, (std::vector<float>{0, 4}), tol::kElementwise);
  ExpectAllClose(out.save_invstd, (std::vector<float>{1, 0.5f}), tol::kElementwise);
  // running = 0.9 * running + 0.1 * stat, var unbiased: 4/3 and 16/3.
  ExpectAllClose(out.running_mean_out, (std::vector<float>{0.f, 0.9f * 4 + 0.4f}), tol::kElementwise);
  ExpectAllClose(out.running_var_out, (std::vector<float>{0.9f + 0.4f / 3, 3.6f + 1.6f / 3}), tol::kElementwise);
  // Channel 0: sum dy = 1, sum dy*xhat = -1, dx = 2 * (dy - 1/4 + xhat/4); channel 1: sum dy = 4, sum dy*xhat = 0,
  // dx = 0. All on top of the pre-filled 9.
  ExpectAllClose(out.dx, (std::vector<float>{10, 9, 9, 9, 9, 8, 9, 9}), tol::kElementwise);
  ExpectAllClose(out.dgamma, (std::vector<float>{8, 9}), tol::kElementwise);
  ExpectAllClose(out.dbeta, (std::vector<float>{10, 13}), tol::kElementwise);
  // Eval with the same statistics: same y; dx += gamma * invstd * dy = 2 dy (channel 0), -0.5 dy (channel 1).
  ExpectAllClose(out.y_eval, y, tol::kElementwise);
  ExpectAllClose(out.dx_eval, (std::vector<float>{11, 9, 8.5f, 8.5f, 9, 9, 8.5f, 8.5f}), tol::kElementwise);
  ExpectAllClose(out.dgamma_eval, (std::vector<float>{8, 9}), tol::kElementwise);
  ExpectAllClose(out.dbeta_eval, (std::vector<float>{10, 13}), tol::kElementwise);
}

// Validation runs before any backend (so this holds even where the backend is missing); eval accepts n*hw == 1.
TEST_P(BatchNormBackends, TrainingNeedsMoreThanOneValuePerChannel) {
  const Backend b = GetParam();
  const BatchNormShape s{1, 3, 1};
  std::vector<float> h(3, 1.f), out(3), r1(3), r2(3), r3(3);
  const std::string fwd = error_message([&] {
    ops::batchnorm_forward_train(b, s, h.data(), h.data(), h.data(), out.data(), r1.data(), r2.data(), r3.data(),
                                 out.data());
  });
  EXPECT_NE(fwd.find("Expected more than 1 value per channel"), std::string::npos) << fwd;
  const std::string bwd = error_message([&] {
    ops::batchnorm_backward(b, s, h.data(), h.data(), h.data(), h.data(), h.data(), out.data(), r1.data(), r2.data());
  });
  EXPECT_NE(bwd.find("Expected more than 1 value per channel"), std::string::npos) << bwd;
  const std::string bad = error_message([&] {
    ops::batchnorm_forward_eval(b, BatchNormShape{1, 3, 1, -1.f}, h.data(), h.data(), h.data(), h.data(), h.data(),
                                out.data());
  });
  EXPECT_NE(bad.find("eps"), std::string::npos) << bad;

  VIGIL_SKIP_IF_UNAVAILABLE(b);
  BnInputs in = make_inputs(s, 0, 90);
  Buf<> x(b, in.x), g(b, in.gamma), be(b, in.beta), rm(b, in.running_mean), rv(b, in.running_var), y(b, 3);
  ops::batchnorm_forward_eval(b, s, x.data(), g.data(), be.data(), rm.data(), rv.data(), y.data());
  std::vector<float> want(3);
  ops::ref::batchnorm_forward_eval(s, in.x.data(), in.gamma.data(), in.beta.data(), in.running_mean.data(),
                                   in.running_var.data(), want.data());
  ExpectAllClose(y.host(), want, tol::kBatchNorm);
}

struct BnCase {
  int64_t n, c, hw;
  float eps, momentum;
  double offset;  // inputs are uniform in [offset - 2, offset + 2]
  const char* what;
};

// Seed net on a 3x512x512 input: conv 7x7/2 pad 1 gives 16x254x254, each 2x2 max-pool halves (floor) the side.
const BnCase kCases[] = {
    {2, 1, 1, 1e-5f, 0.1f, 0, "smallest training batch: two values per channel"},
    {2, 3, 5, 1e-5f, 0.1f, 0, "odd sizes"},
    {1, 4, 37, 1e-5f, 0.1f, 0, "batch 1, hw > 1"},
    {64, 10, 1, 1e-5f, 0.1f, 0, "hw = 1: batch norm after a linear layer"},
    {130, 3, 3, 1e-5f, 0.1f, 0, "hw < block: rows straddle the block stride"},
    {3, 7, 33 * 17, 1e-5f, 0.1f, 0, "odd plane"},
    {1, 1, 1100, 1e-5f, 0.1f, 0, "one channel, hw > every block size"},
    {4, 5, 50, 1e-3f, 0.3f, 20, "mean far from zero (two-pass variance), other eps and momentum"},
    {2, 16, 64 * 64, 1e-5f, 0.1f, 0, "seed net width 16 at a small spatial size"},
    {1, 16, 254 * 254, 1e-5f, 0.1f, 0, "seed net block 1 (16x254x254)"},
    {1, 32, 127 * 127, 1e-5f, 0.1f, 0, "seed net block 2 (32x127x127)"},
    {1, 64, 63 * 63, 1e-5f, 0.1f, 0, "seed net block 3 (64x63x63)"},
    {2, 128, 31 * 31, 1e-5f, 0.1f, 0, "seed net block 4 (128x31x31)"},
    {2, 256, 15 * 15, 1e-5f, 0.1f, 0, "seed net block 5 (256x15x15)"},
};

// Block sizes for the device backends: 0 = the launchers' defaults; 32 and 1024 (with the small grid that a
// BlockSizeOverride implies) exercise the block- and grid-stride loops and the largest reduction.
std::vector<int> block_configs(Backend b) {
  if (is_device_backend(b)) return {0, 32, 1024};
  return {0};
}

TEST_P(BatchNormBackends, MatchesReference) {
  const Backend b = GetParam();
  VIGIL_SKIP_IF_UNAVAILABLE(b);
  uint32_t seed = 100;
  for (const BnCase& k : kCases) {
    SCOPED_TRACE(testing::Message() << k.what << ": n=" << k.n << " c=" << k.c << " hw=" << k.hw);
    const BatchNormShape s{k.n, k.c, k.hw, k.eps, k.momentum};
    const BnInputs in = make_inputs(s, k.offset, seed);
    seed += 10;
    const BnOutputs want = run_all(Backend::Reference, s, in);
    for (int block : block_configs(b)) {
      SCOPED_TRACE(testing::Message() << "block override " << block);
      std::unique_ptr<launch::BlockSizeOverride> guard;
      if (block) guard = std::make_unique<launch::BlockSizeOverride>(block);
      expect_outputs_close(run_all(b, s, in), want, tol::kBatchNorm);
    }
  }
}

// y may alias x in both forward modes.
TEST_P(BatchNormBackends, ForwardInPlace) {
  const Backend b = GetParam();
  VIGIL_SKIP_IF_UNAVAILABLE(b);
  const BatchNormShape s{3, 4, 10};
  const BnInputs in = make_inputs(s, 0.5, 200);
  const BnOutputs want = run_all(Backend::Reference, s, in);
  Buf<> x(b, in.x), g(b, in.gamma), be(b, in.beta), rm(b, in.running_mean), rv(b, in.running_var), sm(b, 4), si(b, 4);
  ops::batchnorm_forward_train(b, s, x.data(), g.data(), be.data(), x.data(), rm.data(), rv.data(), sm.data(),
                               si.data());
  ExpectAllClose(x.host(), want.y, tol::kBatchNorm);
  Buf<> x2(b, in.x), rm0(b, in.running_mean), rv0(b, in.running_var);
  ops::batchnorm_forward_eval(b, s, x2.data(), g.data(), be.data(), rm0.data(), rv0.data(), x2.data());
  ExpectAllClose(x2.host(), want.y_eval, tol::kBatchNorm);
}

TEST_P(BatchNormBackends, MatchesPyTorch) {
  const Backend b = GetParam();
  VIGIL_SKIP_IF_UNAVAILABLE(b);
  for (const auto& c : load_golden("batchnorm")) {
    SCOPED_TRACE(c.name);
    const BatchNormShape s{c.params.at("n").get<int64_t>(), c.params.at("c").get<int64_t>(),
                           c.params.at("hw").get<int64_t>(), c.params.at("eps").get<float>(),
                           c.params.at("momentum").get<float>()};
    BnInputs in;
    in.x = c.at("x").data;
    in.gamma = c.at("gamma").data;
    in.beta = c.at("beta").data;
    in.running_mean = c.at("running_mean").data;
    in.running_var = c.at("running_var").data;
    in.dy = c.at("dy").data;
    in.dx0 = std::vector<float>(in.x.size(), 0.f);
    in.dgamma0 = in.dbeta0 = std::vector<float>(in.gamma.size(), 0.f);
    const BnOutputs out = run_all(b, s, in);
    for (const auto& [name, field] : output_fields()) {
      SCOPED_TRACE(name);
      ExpectAllClose(out.*field, c.at(name).data, tol::kGolden);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(All, BatchNormBackends,
                         ::testing::Values(Backend::Reference, Backend::Cpu, Backend::Cuda, Backend::Cudnn),
                         BackendParamName);

}  // namespace
}  // namespace vigil::test
