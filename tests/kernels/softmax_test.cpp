// Softmax / log-softmax / softmax + cross-entropy: hand-computed values, double gradient checks, "+=" checks,
// every backend vs the reference over a shape table and launch configurations, large logits, PyTorch golden.
#include "softmax/softmax.h"
#include "softmax/softmax_ref.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <memory>
#include <string>

#include "common/error.h"
#include "common/launch.h"
#include "support/allclose.h"
#include "support/backends.h"
#include "support/golden.h"
#include "support/gradcheck.h"
#include "support/random.h"

namespace vigil::test {
namespace {

using ops::CrossEntropyParams;

// The golden files store labels as floats; the ops take int32.
std::vector<int32_t> to_labels(const std::vector<float>& v) { return std::vector<int32_t>(v.begin(), v.end()); }

std::vector<int32_t> random_labels(int64_t rows, int64_t cols, uint32_t seed) {
  const auto u = random_uniform<double>(rows, 0, static_cast<double>(cols), seed);
  std::vector<int32_t> out(rows);
  for (int64_t i = 0; i < rows; ++i) out[i] = std::min<int32_t>(static_cast<int32_t>(u[i]), cols - 1);
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Reference: hand-computed values.

TEST(SoftmaxRef, HandComputed) {
  // Row 0: exp(x) = {1, 2, 3} -> {1/6, 1/3, 1/2}; row 1: equal logits -> 1/3 each.
  const std::vector<double> x = {0.0, std::log(2.0), std::log(3.0), 5.0, 5.0, 5.0};
  std::vector<double> y(6), ylog(6);
  ops::ref::softmax_forward(2, 3, x.data(), y.data());
  ops::ref::log_softmax_forward(2, 3, x.data(), ylog.data());
  const std::vector<double> expect = {1 / 6.0, 1 / 3.0, 1 / 2.0, 1 / 3.0, 1 / 3.0, 1 / 3.0};
  ExpectAllClose(y, expect, (Tol{1e-15, 1e-14}));
  std::vector<double> expect_log(6);
  for (int i = 0; i < 6; ++i) expect_log[i] = std::log(expect[i]);
  ExpectAllClose(ylog, expect_log, (Tol{1e-15, 1e-14}));

  // softmax backward with y = {1/2, 1/2}, dy = {1, 0}: sum dy*y = 1/2, dx = {1/4, -1/4}.
  const std::vector<float> y2 = {0.5f, 0.5f}, dy2 = {1.f, 0.f};
  std::vector<float> dx2(2, 0.f);
  ops::ref::softmax_backward(1, 2, y2.data(), dy2.data(), dx2.data());
  ExpectAllClose(dx2, (std::vector<float>{0.25f, -0.25f}), tol::kExact);
  // log-softmax backward with y = log{1/2, 1/2}, dy = {1, 3}: dx = dy - p * 4 = {-1, 1}.
  const std::vector<float> ylog2 = {std::log(0.5f), std::log(0.5f)}, dylog2 = {1.f, 3.f};
  std::vector<float> dxlog2(2, 0.f);
  ops::ref::log_softmax_backward(1, 2, ylog2.data(), dylog2.data(), dxlog2.data());
  ExpectAllClose(dxlog2, (std::vector<float>{-1.f, 1.f}), tol::kElementwise);
}

TEST(SoftmaxRef, CrossEntropyHandComputed) {
  // Row 0: p = {1/6, 1/3, 1/2}, label 2; row 1: p = 1/3 each, label 0. -log p: row 0 {ln 6, ln 3, ln 2},
  // row 1 {ln 3, ln 3, ln 3}.
  const std::vector<double> x = {0.0, std::log(2.0), std::log(3.0), 0.0, 0.0, 0.0};
  const std::vector<int32_t> labels = {2, 0};
  const float weights[3] = {1.f, 2.f, 3.f};
  const double l2 = std::log(2.0), l3 = std::log(3.0), l6 = std::log(6.0);
  // eps = 0.25 is exact in float, so the float parameter and these double expectations agree.
  const double k = 0.25 / 3;  // eps / C
  struct Case {
    CrossEntropyParams p;
    double loss;
  };
  const Case cases[] = {
      {CrossEntropyParams{}, (l2 + l3) / 2},
      {CrossEntropyParams{0.f, weights}, (3 * l2 + 1 * l3) / (3 + 1)},
      {CrossEntropyParams{0.25f, nullptr}, (0.75 * l2 + k * (l6 + l3 + l2) + 0.75 * l3 + k * (3 * l3)) / 2},
      // PyTorch: loss_i = (1-eps) w[y_i] nll_i + eps/C sum_c w[c] nll_ic, divided by sum_i w[y_i] = 3 + 1.
      {CrossEntropyParams{0.25f, weights},
       (0.75 * 3 * l2 + k * (1 * l6 + 2 * l3 + 3 * l2) + 0.75 * 1 * l3 + k * (1 + 2 + 3) * l3) / 4},
  };
  for (const Case& c : cases) {
    std::vector<double> probs(6), loss(1);
    ops::ref::softmax_cross_entropy_forward(c.p, 2, 3, x.data(), labels.data(), probs.data(), loss.data());
    ExpectAllClose(probs, (std::vector<double>{1 / 6.0, 1 / 3.0, 1 / 2.0, 1 / 3.0, 1 / 3.0, 1 / 3.0}),
                   (Tol{1e-15, 1e-14}));
    ExpectAllClose(loss, std::vector<double>{c.loss}, (Tol{1e-15, 1e-14}));
  }
}

TEST(SoftmaxRef, BackwardAccumulates) {
  const int64_t rows = 3, cols = 5, n = rows * cols;
  const auto x = random_uniform(n, -2, 2, 1), dy = random_uniform(n, -1, 1, 2);
  const auto labels = random_labels(rows, cols, 3);
  std::vector<float> y(n), ylog(n), probs(n), loss(1);
  ops::ref::softmax_forward(rows, cols, x.data(), y.data());
  ops::ref::log_softmax_forward(rows, cols, x.data(), ylog.data());
  ops::ref::softmax_cross_entropy_forward(CrossEntropyParams{}, rows, cols, x.data(), labels.data(), probs.data(),
                                          loss.data());
  auto expect_accumulates = [&](const std::function<void(float*)>& backward) {
    std::vector<float> fresh(n, 0.f), filled(n, 9.f), expect(n);
    backward(fresh.data());
    backward(filled.data());
    for (int64_t i = 0; i < n; ++i) expect[i] = 9.f + fresh[i];
    ExpectAllClose(filled, expect, tol::kElementwise);
  };
  expect_accumulates([&](float* dx) { ops::ref::softmax_backward(rows, cols, y.data(), dy.data(), dx); });
  expect_accumulates([&](float* dx) { ops::ref::log_softmax_backward(rows, cols, ylog.data(), dy.data(), dx); });
  expect_accumulates([&](float* dx) {
    ops::ref::softmax_cross_entropy_backward(CrossEntropyParams{}, rows, cols, probs.data(), labels.data(), 1.f, dx);
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Reference: central-difference gradient checks in double.

TEST(SoftmaxRef, GradCheckDouble) {
  const int64_t rows = 3, cols = 5, n = rows * cols;
  const auto x = random_uniform<double>(n, -2, 2, 4);
  const auto r = random_uniform<double>(n, -1, 1, 5);
  for (bool log : {false, true}) {
    SCOPED_TRACE(log ? "log_softmax" : "softmax");
    auto forward = [&](const std::vector<double>& xs, std::vector<double>& y) {
      if (log)
        ops::ref::log_softmax_forward(rows, cols, xs.data(), y.data());
      else
        ops::ref::softmax_forward(rows, cols, xs.data(), y.data());
    };
    auto loss = [&](const std::vector<double>& xs) {
      std::vector<double> y(n);
      forward(xs, y);
      return dot(y, r);
    };
    std::vector<double> y(n), dx(n, 0.0);
    forward(x, y);
    if (log)
      ops::ref::log_softmax_backward(rows, cols, y.data(), r.data(), dx.data());
    else
      ops::ref::softmax_backward(rows, cols, y.data(), r.data(), dx.data());
    ExpectGradClose(dx, numeric_gradient(loss, x));
  }
}

TEST(SoftmaxRef, CrossEntropyGradCheckDouble) {
  const int64_t rows = 4, cols = 5, n = rows * cols;
  const auto x = random_uniform<double>(n, -2, 2, 6);
  const auto labels = random_labels(rows, cols, 7);
  const auto weights = random_uniform<float>(cols, 0.2, 2.0, 8);
  const double dloss = 0.7;
  for (const CrossEntropyParams p : {CrossEntropyParams{}, CrossEntropyParams{0.15f, nullptr},
                                     CrossEntropyParams{0.f, weights.data()},
                                     CrossEntropyParams{0.15f, weights.data()}}) {
    SCOPED_TRACE(::testing::Message() << "eps " << p.label_smoothing << (p.class_weights ? " weighted" : ""));
    std::vector<double> probs(n), dx(n, 0.0);
    auto loss = [&](const std::vector<double>& xs) {
      std::vector<double> pr(n), l(1);
      ops::ref::softmax_cross_entropy_forward(p, rows, cols, xs.data(), labels.data(), pr.data(), l.data());
      return dloss * l[0];
    };
    std::vector<double> l(1);
    ops::ref::softmax_cross_entropy_forward(p, rows, cols, x.data(), labels.data(), probs.data(), l.data());
    ops::ref::softmax_cross_entropy_backward(p, rows, cols, probs.data(), labels.data(), dloss, dx.data());
    ExpectGradClose(dx, numeric_gradient(loss, x));
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Validation.

TEST(SoftmaxValidation, RejectsBadParameters) {
  std::vector<float> x(6, 0.f), y(6), loss(1);
  std::vector<int32_t> labels = {0, 1};
  EXPECT_THROW(ops::softmax_forward(Backend::Reference, 2, 0, x.data(), y.data()), Error);
  EXPECT_THROW(ops::log_softmax_forward(Backend::Cpu, -1, 3, x.data(), y.data()), Error);
  EXPECT_THROW(ops::softmax_backward(Backend::Cpu, 2, 3, x.data(), nullptr, y.data()), Error);
  EXPECT_THROW(ops::softmax_cross_entropy_forward(Backend::Cpu, CrossEntropyParams{1.5f, nullptr}, 2, 3, x.data(),
                                                  labels.data(), y.data(), loss.data()),
               Error);
  EXPECT_THROW(ops::softmax_cross_entropy_forward(Backend::Cpu, CrossEntropyParams{}, 0, 3, x.data(), labels.data(),
                                                  y.data(), loss.data()),
               Error);
  // Parameters are checked before the backend: even an unavailable backend reports the bad shape.
  try {
    ops::softmax_forward(Backend::Cuda, 2, 0, x.data(), y.data());
    ADD_FAILURE() << "expected vigil::Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("cols >= 1"), std::string::npos) << e.what();
  }
  // rows == 0 is an empty no-op for softmax.
  EXPECT_NO_THROW(ops::softmax_forward(Backend::Cpu, 0, 3, x.data(), y.data()));
}

TEST(SoftmaxValidation, HostBackendsRejectOutOfRangeLabels) {
  const int64_t rows = 3, cols = 4;
  std::vector<float> x(rows * cols, 0.f), probs(rows * cols, 0.f), dx(rows * cols, 0.f), loss(1, 0.f);
  for (Backend b : {Backend::Reference, Backend::Cpu}) {
    for (int32_t bad : {-1, 4}) {
      const std::vector<int32_t> labels = {0, bad, 2};
      try {
        ops::softmax_cross_entropy_forward(b, CrossEntropyParams{}, rows, cols, x.data(), labels.data(),
                                           probs.data(), loss.data());
        ADD_FAILURE() << "expected vigil::Error for label " << bad;
      } catch (const Error& e) {
        const std::string msg = e.what();
        EXPECT_NE(msg.find("row 1 is " + std::to_string(bad)), std::string::npos) << msg;
      }
      EXPECT_THROW(ops::softmax_cross_entropy_backward(b, CrossEntropyParams{}, rows, cols, probs.data(),
                                                       labels.data(), 1.f, dx.data()),
                   Error);
      // Nothing was written before the check.
      EXPECT_EQ(loss[0], 0.f);
      EXPECT_EQ(test::max_abs(probs), 0.0);
      EXPECT_EQ(test::max_abs(dx), 0.0);
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Every backend against the reference.

struct Shape {
  int64_t rows, cols;
};

// Odd sizes, batch 1, a single class, both sides of the CUDA warp-per-row limit (512 columns), rows longer than
// a block, the classifier head (3 classes, batch 1 and 32) and the benchmark's shapes.
const Shape kShapes[] = {{1, 1},   {1, 2},  {1, 3},   {32, 3},  {7, 10},   {17, 31},  {3, 33}, {5, 257},
                         {4, 512}, {4, 513}, {33, 1000}, {2, 4097}, {256, 3}, {256, 10}, {64, 1000}};

class SoftmaxBackends : public ::testing::TestWithParam<Backend> {
 protected:
  // Launch configurations: the launcher's default, and overrides with a tiny grid so the row loops iterate.
  std::vector<int> block_sizes() const {
    return is_device_backend(GetParam()) ? std::vector<int>{0, 64, 1024} : std::vector<int>{0};
  }
};

TEST_P(SoftmaxBackends, SoftmaxMatchesReference) {
  const Backend b = GetParam();
  VIGIL_SKIP_IF_UNAVAILABLE(b);
  for (const Shape& s : kShapes) {
    for (int block : block_sizes()) {
      SCOPED_TRACE(::testing::Message() << s.rows << "x" << s.cols << " block " << block);
      std::unique_ptr<launch::BlockSizeOverride> guard;
      if (block) guard = std::make_unique<launch::BlockSizeOverride>(block);
      const int64_t n = s.rows * s.cols;
      const auto x = random_uniform(n, -5, 5, 10 + static_cast<uint32_t>(n));
      const auto dy = random_uniform(n, -1, 1, 11);
      const auto dx0 = random_uniform(n, -1, 1, 12);  // "+=": gradients accumulate onto these
      for (bool log : {false, true}) {
        SCOPED_TRACE(log ? "log_softmax" : "softmax");
        std::vector<float> y_ref(n), dx_ref = dx0;
        if (log) {
          ops::ref::log_softmax_forward(s.rows, s.cols, x.data(), y_ref.data());
          ops::ref::log_softmax_backward(s.rows, s.cols, y_ref.data(), dy.data(), dx_ref.data());
        } else {
          ops::ref::softmax_forward(s.rows, s.cols, x.data(), y_ref.data());
          ops::ref::softmax_backward(s.rows, s.cols, y_ref.data(), dy.data(), dx_ref.data());
        }
        Buf<> bx(b, x), by(b, n), byr(b, y_ref), bdy(b, dy), bdx(b, dx0);
        if (log) {
          ops::log_softmax_forward(b, s.rows, s.cols, bx.data(), by.data());
          ops::log_softmax_backward(b, s.rows, s.cols, byr.data(), bdy.data(), bdx.data());
        } else {
          ops::softmax_forward(b, s.rows, s.cols, bx.data(), by.data());
          ops::softmax_backward(b, s.rows, s.cols, byr.data(), bdy.data(), bdx.data());
        }
        ExpectAllClose(by.host(), y_ref, tol::kReduction);
        ExpectAllClose(bdx.host(), dx_ref, tol::kReduction);
      }
    }
  }
}

TEST_P(SoftmaxBackends, CrossEntropyMatchesReference) {
  const Backend b = GetParam();
  VIGIL_SKIP_IF_UNAVAILABLE(b);
  for (const Shape& s : kShapes) {
    for (int block : block_sizes()) {
      SCOPED_TRACE(::testing::Message() << s.rows << "x" << s.cols << " block " << block);
      std::unique_ptr<launch::BlockSizeOverride> guard;
      if (block) guard = std::make_unique<launch::BlockSizeOverride>(block);
      const int64_t n = s.rows * s.cols;
      const auto x = random_uniform(n, -5, 5, 20 + static_cast<uint32_t>(n));
      const auto labels = random_labels(s.rows, s.cols, 21);
      const auto weights = random_uniform(s.cols, 0.2, 2.0, 22);
      const auto dx0 = random_uniform(n, -1, 1, 23);
      Buf<> bw(b, weights);
      for (float eps : {0.f, 0.1f}) {
        for (bool weighted : {false, true}) {
          SCOPED_TRACE(::testing::Message() << "eps " << eps << (weighted ? " weighted" : ""));
          const CrossEntropyParams p_host{eps, weighted ? weights.data() : nullptr};
          const CrossEntropyParams p_dev{eps, weighted ? bw.data() : nullptr};
          std::vector<float> probs_ref(n), loss_ref(1), dx_ref = dx0;
          ops::ref::softmax_cross_entropy_forward(p_host, s.rows, s.cols, x.data(), labels.data(), probs_ref.data(),
                                                  loss_ref.data());
          ops::ref::softmax_cross_entropy_backward(p_host, s.rows, s.cols, probs_ref.data(), labels.data(), 0.7f,
                                                   dx_ref.data());
          Buf<> bx(b, x), bprobs(b, n), bloss(b, 1), bprobs_ref(b, probs_ref), bdx(b, dx0);
          Buf<int32_t> blabels(b, labels);
          ops::softmax_cross_entropy_forward(b, p_dev, s.rows, s.cols, bx.data(), blabels.data(), bprobs.data(),
                                             bloss.data());
          ops::softmax_cross_entropy_backward(b, p_dev, s.rows, s.cols, bprobs_ref.data(), blabels.data(), 0.7f,
                                              bdx.data());
          ExpectAllClose(bprobs.host(), probs_ref, tol::kReduction);
          ExpectAllClose(bloss.host(), loss_ref, tol::kReduction);
          ExpectAllClose(bdx.host(), dx_ref, tol::kReduction);
        }
      }
    }
  }
}

// Logits of magnitude 1e4: exp(x) alone would overflow; max subtraction keeps everything finite and exact.
TEST_P(SoftmaxBackends, LargeLogitsStayFinite) {
  const Backend b = GetParam();
  VIGIL_SKIP_IF_UNAVAILABLE(b);
  const int64_t rows = 2, cols = 3;
  const std::vector<float> x = {1e4f, 1e4f - 1.f, -1e4f, -1e4f, -1e4f + 2.f, 1e4f - 5.f};
  const std::vector<int32_t> labels = {1, 0};
  Buf<> bx(b, x), by(b, 6), bylog(b, 6), bprobs(b, 6), bloss(b, 1);
  Buf<int32_t> blabels(b, labels);
  ops::softmax_forward(b, rows, cols, bx.data(), by.data());
  ops::log_softmax_forward(b, rows, cols, bx.data(), bylog.data());
  ops::softmax_cross_entropy_forward(b, CrossEntropyParams{0.25f, nullptr}, rows, cols, bx.data(), blabels.data(),
                                     bprobs.data(), bloss.data());
  const double e1 = std::exp(-1.0);
  const double lse0 = std::log1p(e1);  // row 0's log-normaliser log(1 + e^-1 + e^-2e4) relative to its max
  // Row 0: x - max = {0, -1, -2e4}; row 1: x - max = {-19995, -19993, 0} (normaliser 1 + e^-19993 + ...).
  const std::vector<double> y_expect = {1 / (1 + e1), e1 / (1 + e1), 0.0, 0.0, 0.0, 1.0};
  const std::vector<double> ylog_expect = {-lse0, -1 - lse0, -2e4 - lse0, -19995, -19993, 0.0};
  ExpectAllClose(by.host(), y_expect, tol::kReduction);
  ExpectAllClose(bprobs.host(), y_expect, tol::kReduction);
  ExpectAllClose(bylog.host(), ylog_expect, tol::kReduction);
  // eps = 0.25, C = 3. Row 0 (label 1): -log p = {lse0, 1 + lse0, 2e4 + lse0}; row 1 (label 0): {19995, 19993, 0}.
  const double row0 = 0.75 * (1 + lse0) + 0.25 / 3 * (3 * lse0 + 1 + 2e4);
  const double row1 = 0.75 * 19995 + 0.25 / 3 * (19995 + 19993);
  ExpectAllClose(bloss.host(), std::vector<double>{(row0 + row1) / 2}, tol::kReduction);
}

// GPU kernels treat a row with an out-of-range label as ignored (no loss, no weight, no gradient) instead of
// reading out of bounds; the host backends throw (checked above).
TEST_P(SoftmaxBackends, DeviceIgnoresOutOfRangeLabels) {
  const Backend b = GetParam();
  if (!is_device_backend(b)) GTEST_SKIP() << "host backends reject bad labels (HostBackendsRejectOutOfRangeLabels)";
  VIGIL_SKIP_IF_UNAVAILABLE(b);
  const int64_t rows = 4, cols = 6, n = rows * cols;
  const auto x = random_uniform(n, -3, 3, 30);
  const auto weights = random_uniform(cols, 0.2, 2.0, 31);
  const std::vector<int32_t> labels = {2, -1, 5, 6};  // rows 1 and 3 are invalid
  const auto dx0 = random_uniform(n, -1, 1, 32);
  const CrossEntropyParams p_host{0.1f, weights.data()};
  // Expected: the reference over the valid rows 0 and 2 only.
  std::vector<float> xv(x.begin(), x.begin() + cols);
  xv.insert(xv.end(), x.begin() + 2 * cols, x.begin() + 3 * cols);
  const std::vector<int32_t> labels_valid = {2, 5};
  std::vector<float> probs_v(2 * cols), loss_v(1), dx_v(2 * cols);
  for (int64_t c = 0; c < cols; ++c) {
    dx_v[c] = dx0[c];
    dx_v[cols + c] = dx0[2 * cols + c];
  }
  ops::ref::softmax_cross_entropy_forward(p_host, 2, cols, xv.data(), labels_valid.data(), probs_v.data(),
                                          loss_v.data());
  ops::ref::softmax_cross_entropy_backward(p_host, 2, cols, probs_v.data(), labels_valid.data(), 1.f, dx_v.data());

  Buf<> bx(b, x), bw(b, weights), bprobs(b, n), bloss(b, 1), bdx(b, dx0);
  Buf<int32_t> blabels(b, labels);
  const CrossEntropyParams p_dev{0.1f, bw.data()};
  ops::softmax_cross_entropy_forward(b, p_dev, rows, cols, bx.data(), blabels.data(), bprobs.data(), bloss.data());
  ops::softmax_cross_entropy_backward(b, p_dev, rows, cols, bprobs.data(), blabels.data(), 1.f, bdx.data());
  ExpectAllClose(bloss.host(), loss_v, tol::kReduction);
  const auto dx = bdx.host();
  std::vector<float> dx_expect = dx0;
  for (int64_t c = 0; c < cols; ++c) {
    dx_expect[c] = dx_v[c];
    dx_expect[2 * cols + c] = dx_v[cols + c];
  }
  ExpectAllClose(dx, dx_expect, tol::kReduction);
}

TEST_P(SoftmaxBackends, MatchesPyTorch) {
  const Backend b = GetParam();
  VIGIL_SKIP_IF_UNAVAILABLE(b);
  for (const auto& c : load_golden("softmax")) {
    SCOPED_TRACE(c.name);
    const int64_t rows = c.params.at("rows"), cols = c.params.at("cols");
    const int64_t n = rows * cols;
    if (c.tensors.count("x")) {
      Buf<> bx(b, c.at("x").data), bdy(b, c.at("dy").data), by(b, n), bylog(b, n), bdx(b, n), bdxlog(b, n);
      ops::softmax_forward(b, rows, cols, bx.data(), by.data());
      ops::softmax_backward(b, rows, cols, by.data(), bdy.data(), bdx.data());
      ops::log_softmax_forward(b, rows, cols, bx.data(), bylog.data());
      ops::log_softmax_backward(b, rows, cols, bylog.data(), bdy.data(), bdxlog.data());
      ExpectAllClose(by.host(), c.at("softmax").data, tol::kGolden);
      ExpectAllClose(bdx.host(), c.at("softmax_dx").data, tol::kGolden);
      ExpectAllClose(bylog.host(), c.at("log_softmax").data, tol::kGolden);
      ExpectAllClose(bdxlog.host(), c.at("log_softmax_dx").data, tol::kGolden);
    } else {
      const bool weighted = c.params.at("weighted");
      Buf<> bx(b, c.at("logits").data), bprobs(b, n), bloss(b, 1), bdx(b, n);
      Buf<> bw(b, weighted ? c.at("weight").data : std::vector<float>(cols, 1.f));
      Buf<int32_t> blabels(b, to_labels(c.at("labels").data));
      const CrossEntropyParams p{c.params.at("label_smoothing").get<float>(), weighted ? bw.data() : nullptr};
      ops::softmax_cross_entropy_forward(b, p, rows, cols, bx.data(), blabels.data(), bprobs.data(), bloss.data());
      ops::softmax_cross_entropy_backward(b, p, rows, cols, bprobs.data(), blabels.data(),
                                          c.params.at("dloss").get<float>(), bdx.data());
      ExpectAllClose(bprobs.host(), c.at("probs").data, tol::kGolden);
      ExpectAllClose(bloss.host(), c.at("loss").data, tol::kGolden);
      ExpectAllClose(bdx.host(), c.at("dlogits").data, tol::kGolden);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(All, SoftmaxBackends,
                         ::testing::Values(Backend::Reference, Backend::Cpu, Backend::Cuda, Backend::Cudnn),
                         BackendParamName);

}  // namespace
}  // namespace vigil::test
