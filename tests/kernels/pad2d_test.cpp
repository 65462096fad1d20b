// 2-D zero padding: hand-computed values, shape validation, double gradient check, every backend vs the
// reference (NaN-poisoned outputs, accumulating backward, two CUDA launch configurations), PyTorch golden.
#include "pad2d/pad2d.h"
#include "pad2d/pad2d_ref.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/launch.h"
#include "support/allclose.h"
#include "support/backends.h"
#include "support/golden.h"
#include "support/gradcheck.h"
#include "support/random.h"

namespace vigil::test {
namespace {

using ops::Pad2dShape;

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

Pad2dShape shape(int n, int c, int h, int w, int top, int bottom, int left, int right) {
  Pad2dShape s;
  s.n = n, s.c = c, s.h = h, s.w = w;
  s.top = top, s.bottom = bottom, s.left = left, s.right = right;
  return s;
}

// ---------------------------------------------------------------------------------------------------------
// Shape

TEST(Pad2dShape, SizesAndStr) {
  const Pad2dShape s = shape(2, 3, 7, 7, 0, 1, 0, 1);
  EXPECT_EQ(s.out_h(), 8);
  EXPECT_EQ(s.out_w(), 8);
  EXPECT_EQ(s.x_numel(), 2 * 3 * 7 * 7);
  EXPECT_EQ(s.y_numel(), 2 * 3 * 8 * 8);
  EXPECT_EQ(s.str(), "2x3x7x7 pad t0 b1 l0 r1");
  EXPECT_EQ(shape(1, 2, 3, 4, 5, 6, 7, 8).out_h(), 14);
  EXPECT_EQ(shape(1, 2, 3, 4, 5, 6, 7, 8).out_w(), 19);
  EXPECT_NO_THROW(s.validate());
}

// validate() throws vigil::Error whose message names the bad field.
void ExpectRejected(const Pad2dShape& s, const std::string& field) {
  try {
    s.validate();
    ADD_FAILURE() << "validate() accepted " << s.str();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(field), std::string::npos) << "message does not name " << field << ": "
                                                                    << e.what();
  }
}

TEST(Pad2dShape, ValidateRejectsBadFields) {
  ExpectRejected(shape(0, 1, 2, 2, 0, 0, 0, 0), "n must be positive");
  ExpectRejected(shape(1, 0, 2, 2, 0, 0, 0, 0), "c must be positive");
  ExpectRejected(shape(1, 1, 0, 2, 0, 0, 0, 0), "h must be positive");
  ExpectRejected(shape(1, 1, 2, -3, 0, 0, 0, 0), "w must be positive");
  ExpectRejected(shape(1, 1, 2, 2, -1, 0, 0, 0), "top pad");
  ExpectRejected(shape(1, 1, 2, 2, 0, -1, 0, 0), "bottom pad");
  ExpectRejected(shape(1, 1, 2, 2, 0, 0, -1, 0), "left pad");
  ExpectRejected(shape(1, 1, 2, 2, 0, 0, 0, -2), "right pad");
  const int big = std::numeric_limits<int>::max() - 1;
  ExpectRejected(shape(1, 1, 2, 2, big, 0, 0, 0), "output height");
  ExpectRejected(shape(1, 1, 2, 2, 0, 0, 0, big), "output width");
}

TEST(Pad2d, RejectsBadArgumentsOnEveryBackend) {
  for (Backend b : {Backend::Reference, Backend::Cpu, Backend::Cuda, Backend::Cudnn}) {
    SCOPED_TRACE(backend_name(b));
    float x = 1, y[9] = {}, dx = 0;
    // The shape and pointers are checked before any backend runs, so this holds without a GPU too.
    EXPECT_THROW(ops::pad2d_forward(b, shape(1, 1, 1, 1, -1, 0, 0, 0), &x, y), Error);
    EXPECT_THROW(ops::pad2d_forward(b, shape(1, 0, 1, 1, 0, 0, 0, 0), &x, y), Error);
    EXPECT_THROW(ops::pad2d_backward(b, shape(1, 1, 1, 1, 0, 0, 0, -1), y, &dx), Error);
    EXPECT_THROW(ops::pad2d_backward(b, shape(1, 1, 0, 1, 0, 0, 0, 0), y, &dx), Error);
    EXPECT_THROW(ops::pad2d_forward(b, shape(1, 1, 1, 1, 1, 1, 0, 0), nullptr, y), Error);
    EXPECT_THROW(ops::pad2d_backward(b, shape(1, 1, 1, 1, 1, 1, 0, 0), y, nullptr), Error);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Reference

TEST(Pad2dRef, HandComputed) {
  const std::vector<float> x = {1.f, 2.f, 3.f, 4.f};  // 1x1x2x2
  std::vector<float> y(9, kNaN);
  ops::ref::pad2d_forward(shape(1, 1, 2, 2, 0, 1, 0, 1), x.data(), y.data());  // TF "SAME": bottom/right
  EXPECT_EQ(y, (std::vector<float>{1.f, 2.f, 0.f,  //
                                   3.f, 4.f, 0.f,  //
                                   0.f, 0.f, 0.f}));
  std::fill(y.begin(), y.end(), kNaN);
  ops::ref::pad2d_forward(shape(1, 1, 2, 2, 1, 0, 1, 0), x.data(), y.data());  // top/left
  EXPECT_EQ(y, (std::vector<float>{0.f, 0.f, 0.f,  //
                                   0.f, 1.f, 2.f,  //
                                   0.f, 3.f, 4.f}));
  // Two planes, pads on every side: 1x2x1x2 with t1 b0 l2 r1 -> 1x2x2x5.
  const std::vector<float> x2 = {1.f, 2.f, 3.f, 4.f};
  std::vector<float> y2(20, kNaN);
  ops::ref::pad2d_forward(shape(1, 2, 1, 2, 1, 0, 2, 1), x2.data(), y2.data());
  EXPECT_EQ(y2, (std::vector<float>{0.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f, 1.f, 2.f, 0.f,  //
                                    0.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f, 3.f, 4.f, 0.f}));
}

TEST(Pad2dRef, BackwardAccumulates) {
  const std::vector<float> dy = {1.f, 2.f, 3.f, 4.f, 5.f, 6.f, 7.f, 8.f, 9.f};  // 1x1x3x3
  std::vector<float> dx(4, 9.f);
  const Pad2dShape s = shape(1, 1, 2, 2, 0, 1, 0, 1);
  ops::ref::pad2d_backward(s, dy.data(), dx.data());
  EXPECT_EQ(dx, (std::vector<float>{10.f, 11.f, 13.f, 14.f}));
  ops::ref::pad2d_backward(s, dy.data(), dx.data());  // a second call adds again
  EXPECT_EQ(dx, (std::vector<float>{11.f, 13.f, 17.f, 19.f}));
  std::vector<float> dx2(4, 9.f);
  ops::ref::pad2d_backward(shape(1, 1, 2, 2, 1, 0, 1, 0), dy.data(), dx2.data());
  EXPECT_EQ(dx2, (std::vector<float>{14.f, 15.f, 17.f, 18.f}));
}

TEST(Pad2dRef, GradCheckDouble) {
  for (const Pad2dShape& s : {shape(2, 3, 4, 5, 0, 1, 0, 1), shape(1, 2, 3, 3, 2, 1, 1, 3),
                              shape(1, 1, 1, 1, 0, 0, 0, 0)}) {
    SCOPED_TRACE(s.str());
    const auto x = random_uniform<double>(s.x_numel(), -2, 2, 1);
    const auto r = random_uniform<double>(s.y_numel(), -1, 1, 2);
    auto loss = [&](const std::vector<double>& xs) {
      std::vector<double> y(s.y_numel());
      ops::ref::pad2d_forward(s, xs.data(), y.data());
      return dot(y, r);
    };
    std::vector<double> dx(x.size(), 0.0);
    ops::ref::pad2d_backward(s, r.data(), dx.data());
    ExpectGradClose(dx, numeric_gradient(loss, x));
  }
}

// ---------------------------------------------------------------------------------------------------------
// Every backend

class Pad2dBackends : public ::testing::TestWithParam<Backend> {};

// Launch configurations: the launcher's default (0) and 64 threads with a small grid (the grid-stride path).
std::vector<int> block_sizes(Backend b) { return is_device_backend(b) ? std::vector<int>{0, 64} : std::vector<int>{0}; }

// Forward into a NaN-poisoned y and backward onto dx0 on backend b.
struct Outputs {
  std::vector<float> y, dx;
};

Outputs run_backend(Backend b, const Pad2dShape& s, const std::vector<float>& x, const std::vector<float>& dy,
                    const std::vector<float>& dx0) {
  Buf<> bx(b, x), by(b, static_cast<size_t>(s.y_numel()), kNaN), bdy(b, dy), bdx(b, dx0);
  ops::pad2d_forward(b, s, bx.data(), by.data());
  ops::pad2d_backward(b, s, bdy.data(), bdx.data());
  return Outputs{by.host(), bdx.host()};
}

// Odd sizes, pads on one or every side, pads larger than the input, wide and tall planes, many planes, and
// 2x16x47x47 (70,688 input elements; 73,728 output elements) as a stride-2 TF "SAME" convolution pads it.
const std::vector<Pad2dShape> kShapes = {
    shape(1, 1, 2, 2, 0, 1, 0, 1),     shape(1, 1, 1, 1, 0, 0, 0, 0),   shape(1, 1, 1, 1, 3, 4, 5, 2),
    shape(3, 5, 7, 9, 1, 2, 3, 0),     shape(2, 3, 5, 4, 0, 0, 2, 2),   shape(1, 2, 3, 3, 17, 9, 11, 23),
    shape(1, 1, 1, 301, 1, 0, 0, 1),   shape(1, 1, 257, 1, 0, 3, 2, 0), shape(64, 33, 3, 5, 1, 1, 1, 1),
    shape(2, 16, 47, 47, 0, 1, 0, 1),  shape(1, 3, 113, 113, 2, 3, 2, 3),
};

TEST_P(Pad2dBackends, MatchesReference) {
  const Backend b = GetParam();
  VIGIL_SKIP_IF_UNAVAILABLE(b);
  for (const Pad2dShape& s : kShapes) {
    const auto x = random_uniform(s.x_numel(), -2, 2, 3);
    const auto dy = random_uniform(s.y_numel(), -1, 1, 4);
    const auto dx0 = random_uniform(s.x_numel(), -1, 1, 5);
    std::vector<float> y_ref(s.y_numel(), kNaN), dx_ref = dx0;
    ops::ref::pad2d_forward(s, x.data(), y_ref.data());
    ops::ref::pad2d_backward(s, dy.data(), dx_ref.data());
    for (int block : block_sizes(b)) {
      SCOPED_TRACE(::testing::Message() << s.str() << " block " << block);
      std::unique_ptr<launch::BlockSizeOverride> guard;
      if (block) guard = std::make_unique<launch::BlockSizeOverride>(block);
      const Outputs r = run_backend(b, s, x, dy, dx0);
      ExpectAllClose(r.y, y_ref, tol::kExact);    // a copy or a zero: exact, and no NaN left behind
      ExpectAllClose(r.dx, dx_ref, tol::kExact);  // one float add per element on every backend
    }
  }
}

TEST_P(Pad2dBackends, ZeroPadsCopy) {
  const Backend b = GetParam();
  VIGIL_SKIP_IF_UNAVAILABLE(b);
  for (const Pad2dShape& s : {shape(1, 1, 1, 1, 0, 0, 0, 0), shape(2, 3, 5, 7, 0, 0, 0, 0)}) {
    SCOPED_TRACE(s.str());
    const auto x = random_uniform(s.x_numel(), -2, 2, 6);
    const auto dy = random_uniform(s.y_numel(), -1, 1, 7);
    const std::vector<float> dx0(s.x_numel(), 9.f);
    std::vector<float> dx_expect(s.x_numel());
    for (size_t i = 0; i < dx_expect.size(); ++i) dx_expect[i] = 9.f + dy[i];
    const Outputs r = run_backend(b, s, x, dy, dx0);
    ExpectAllClose(r.y, x, tol::kExact);
    ExpectAllClose(r.dx, dx_expect, tol::kExact);
  }
}

TEST_P(Pad2dBackends, HandComputed) {
  const Backend b = GetParam();
  VIGIL_SKIP_IF_UNAVAILABLE(b);
  const Outputs r = run_backend(b, shape(1, 1, 2, 2, 0, 1, 0, 1), {1.f, 2.f, 3.f, 4.f},
                                {1.f, 2.f, 3.f, 4.f, 5.f, 6.f, 7.f, 8.f, 9.f}, std::vector<float>(4, 9.f));
  EXPECT_EQ(r.y, (std::vector<float>{1.f, 2.f, 0.f, 3.f, 4.f, 0.f, 0.f, 0.f, 0.f}));
  EXPECT_EQ(r.dx, (std::vector<float>{10.f, 11.f, 13.f, 14.f}));
}

TEST_P(Pad2dBackends, MatchesPyTorch) {
  const Backend b = GetParam();
  VIGIL_SKIP_IF_UNAVAILABLE(b);
  for (const auto& c : load_golden("pad2d")) {
    SCOPED_TRACE(c.name);
    const auto& p = c.params;
    const Pad2dShape s = shape(p.at("n"), p.at("c"), p.at("h"), p.at("w"), p.at("top"), p.at("bottom"),
                               p.at("left"), p.at("right"));
    ASSERT_EQ(static_cast<int64_t>(c.at("x").data.size()), s.x_numel());
    ASSERT_EQ(static_cast<int64_t>(c.at("y").data.size()), s.y_numel());
    const Outputs r = run_backend(b, s, c.at("x").data, c.at("dy").data, std::vector<float>(s.x_numel(), 0.f));
    ExpectAllClose(r.y, c.at("y").data, tol::kExact);  // torch copies and zero-fills too
    ExpectAllClose(r.dx, c.at("dx").data, tol::kExact);
  }
}

INSTANTIATE_TEST_SUITE_P(All, Pad2dBackends,
                         ::testing::Values(Backend::Reference, Backend::Cpu, Backend::Cuda, Backend::Cudnn),
                         BackendParamName);

}  // namespace
}  // namespace vigil::test
