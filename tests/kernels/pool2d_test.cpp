// Pooling: hand-computed values, shape rules, double gradient checks, "+=" backward, every backend vs the
// reference over a shape table (incl. the seed net's pooling layers), PyTorch golden.
#include "pool2d/pool2d.h"
#include "pool2d/pool2d_ref.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
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

using ops::PoolKind;
using ops::Pool2dShape;

Pool2dShape shape(int n, int c, int h, int w, int kh, int kw, int sh, int sw, int ph, int pw, PoolKind kind,
                  bool include_pad = true) {
  return Pool2dShape{n, c, h, w, kh, kw, sh, sw, ph, pw, kind, include_pad};
}

int64_t in_size(const Pool2dShape& s) { return static_cast<int64_t>(s.n) * s.c * s.h * s.w; }
int64_t out_size(const Pool2dShape& s) { return static_cast<int64_t>(s.n) * s.c * s.out_h() * s.out_w(); }

std::string describe(const Pool2dShape& s) {
  return std::to_string(s.n) + "x" + std::to_string(s.c) + "x" + std::to_string(s.h) + "x" + std::to_string(s.w) +
         (s.kind == PoolKind::Max ? " max " : s.count_include_pad ? " avg(incl) " : " avg(excl) ") +
         std::to_string(s.kh) + "x" + std::to_string(s.kw) + "/" + std::to_string(s.stride_h) + "," +
         std::to_string(s.stride_w) + " pad " + std::to_string(s.pad_h) + "," + std::to_string(s.pad_w);
}

// Max inputs are tie-free so the "first maximum" rule cannot differ between backends.
template <typename T = float>
std::vector<T> pool_input(const Pool2dShape& s, uint32_t seed) {
  return s.kind == PoolKind::Max ? random_distinct<T>(in_size(s), seed) : random_uniform<T>(in_size(s), -2, 2, seed);
}

TEST(Pool2dRef, HandComputedMax) {
  // 4x4 plane 0..15 with two values swapped so maxima are not always bottom-right.
  std::vector<float> x = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
  std::swap(x[0], x[5]);  // top-left window: {5, 1, 4, 0} -> max 5 at (0, 0)
  std::vector<float> y(4);
  const Pool2dShape s2 = shape(1, 1, 4, 4, 2, 2, 2, 2, 0, 0, PoolKind::Max);
  ops::ref::pool2d_forward(s2, x.data(), y.data());
  EXPECT_EQ(y, (std::vector<float>{5, 7, 13, 15}));

  std::vector<float> dx(16, 0.f);
  const std::vector<float> dy = {1, 2, 3, 4};
  ops::ref::pool2d_backward(s2, x.data(), dy.data(), dx.data());
  EXPECT_EQ(dx, (std::vector<float>{1, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 3, 0, 4}));

  // 3x3 stride 2 pad 1 on the same plane: out 2x2, windows rows/cols {-1..1} and {1..3}.
  const Pool2dShape s3 = shape(1, 1, 4, 4, 3, 3, 2, 2, 1, 1, PoolKind::Max);
  ASSERT_EQ(s3.out_h(), 2);
  ops::ref::pool2d_forward(s3, x.data(), y.data());
  EXPECT_EQ(y, (std::vector<float>{5, 7, 13, 15}));

  // All equal: the gradient goes to the first element of each window in row-major order.
  const std::vector<float> same(16, 1.f);
  std::fill(dx.begin(), dx.end(), 0.f);
  ops::ref::pool2d_backward(s3, same.data(), dy.data(), dx.data());
  EXPECT_EQ(dx, (std::vector<float>{1, 2, 0, 0, 3, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}));
}

TEST(Pool2dRef, HandComputedAvgPadding) {
  // 3x3 plane 1..9, 3x3 window, stride 1, pad 1: the corner output sees {1, 2, 4, 5} (sum 12).
  const std::vector<float> x = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  std::vector<float> y(9);
  ops::ref::pool2d_forward(shape(1, 1, 3, 3, 3, 3, 1, 1, 1, 1, PoolKind::Avg, true), x.data(), y.data());
  EXPECT_FLOAT_EQ(y[0], 12.f / 9.f);
  EXPECT_FLOAT_EQ(y[1], 21.f / 9.f);  // {1..6}
  EXPECT_FLOAT_EQ(y[4], 45.f / 9.f);
  ops::ref::pool2d_forward(shape(1, 1, 3, 3, 3, 3, 1, 1, 1, 1, PoolKind::Avg, false), x.data(), y.data());
  EXPECT_FLOAT_EQ(y[0], 12.f / 4.f);
  EXPECT_FLOAT_EQ(y[1], 21.f / 6.f);
  EXPECT_FLOAT_EQ(y[4], 45.f / 9.f);

  // Backward, excluding padding: the centre input is in all 9 windows.
  std::vector<float> dx(9, 0.f);
  const std::vector<float> dy(9, 1.f);
  ops::ref::pool2d_backward(shape(1, 1, 3, 3, 3, 3, 1, 1, 1, 1, PoolKind::Avg, false), x.data(), dy.data(),
                            dx.data());
  // centre: 4 corner windows (1/4) + 4 edge windows (1/6) + centre window (1/9)
  EXPECT_NEAR(dx[4], 4.0 / 4 + 4.0 / 6 + 1.0 / 9, 1e-6);
  // corner: its own corner window, two edge windows, the centre
  EXPECT_NEAR(dx[0], 1.0 / 4 + 2.0 / 6 + 1.0 / 9, 1e-6);
}

TEST(Pool2dRef, ShapeRules) {
  EXPECT_EQ(shape(1, 1, 253, 253, 2, 2, 2, 2, 0, 0, PoolKind::Max).out_h(), 126);  // floor mode
  EXPECT_EQ(shape(1, 1, 8, 9, 3, 3, 2, 2, 1, 1, PoolKind::Max).out_w(), 5);
  EXPECT_NO_THROW(shape(1, 1, 1, 1, 1, 1, 1, 1, 0, 0, PoolKind::Avg).validate());
  EXPECT_THROW(shape(1, 1, 8, 8, 3, 3, 1, 1, 2, 2, PoolKind::Max).validate(), Error);  // pad > kernel / 2
  EXPECT_THROW(shape(1, 1, 8, 8, 2, 2, 0, 2, 0, 0, PoolKind::Max).validate(), Error);  // stride 0
  EXPECT_THROW(shape(1, 1, 2, 8, 5, 2, 1, 1, 1, 0, PoolKind::Max).validate(), Error);  // kernel > padded input
  EXPECT_THROW(shape(0, 1, 8, 8, 2, 2, 2, 2, 0, 0, PoolKind::Max).validate(), Error);
  EXPECT_THROW(shape(1, 1, 8, 8, 2, 2, 2, 2, -1, 0, PoolKind::Max).validate(), Error);
  // The public functions validate before any backend runs (so this fails on the shape even without a GPU).
  const Pool2dShape bad = shape(1, 1, 8, 8, 3, 3, 1, 1, 2, 2, PoolKind::Max);
  try {
    ops::pool2d_forward(Backend::Cuda, bad, nullptr, nullptr);
    ADD_FAILURE() << "no error for pad > kernel / 2";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("padding"), std::string::npos) << e.what();
  }
  EXPECT_THROW(ops::pool2d_backward(Backend::Cudnn, bad, nullptr, nullptr, nullptr, nullptr), Error);
  EXPECT_THROW(ops::global_avg_pool_forward(Backend::Cpu, 1, 1, 0, nullptr, nullptr), Error);
  EXPECT_THROW(ops::global_avg_pool_backward(Backend::Cpu, 0, 1, 4, nullptr, nullptr), Error);
}

TEST(Pool2dRef, BackwardAccumulates) {
  for (PoolKind kind : {PoolKind::Max, PoolKind::Avg}) {
    const Pool2dShape s = shape(1, 2, 5, 5, 3, 3, 2, 2, 1, 1, kind, false);
    const auto x = pool_input(s, 11);
    const auto dy = random_uniform(out_size(s), -1, 1, 12);
    std::vector<float> dx_zero(in_size(s), 0.f), dx_nine(in_size(s), 9.f);
    ops::ref::pool2d_backward(s, x.data(), dy.data(), dx_zero.data());
    ops::pool2d_backward(Backend::Cpu, s, x.data(), nullptr, dy.data(), dx_nine.data());
    for (auto& v : dx_zero) v += 9.f;
    ExpectAllClose(dx_nine, dx_zero, tol::kElementwise);
  }
  std::vector<float> dx = {9, 9, 9, 9, 9, 9};
  const std::vector<float> dy = {2, -4};
  ops::ref::global_avg_pool_backward<float>(1, 2, 3, dy.data(), dx.data());
  ExpectAllClose(dx, (std::vector<float>{9 + 2.f / 3, 9 + 2.f / 3, 9 + 2.f / 3, 9 - 4.f / 3, 9 - 4.f / 3,
                                         9 - 4.f / 3}),
                 tol::kElementwise);
}

TEST(Pool2dRef, GlobalAvgHandComputed) {
  const std::vector<float> x = {1, 2, 3, 4, -1, -2, -3, 10};
  std::vector<float> y(2);
  ops::ref::global_avg_pool_forward<float>(1, 2, 4, x.data(), y.data());
  EXPECT_EQ(y, (std::vector<float>{2.5f, 1.f}));
}

TEST(Pool2dRef, GradCheckDouble) {
  const Pool2dShape shapes[] = {
      shape(2, 2, 5, 6, 3, 3, 2, 2, 1, 1, PoolKind::Max),
      shape(1, 2, 6, 7, 2, 2, 2, 2, 0, 0, PoolKind::Max),
      shape(1, 1, 5, 5, 3, 2, 1, 2, 1, 1, PoolKind::Max),
      shape(2, 2, 5, 6, 3, 3, 1, 1, 1, 1, PoolKind::Avg, true),
      shape(2, 2, 5, 6, 3, 3, 1, 1, 1, 1, PoolKind::Avg, false),
      shape(1, 2, 7, 6, 3, 3, 2, 2, 1, 1, PoolKind::Avg, false),
  };
  for (const Pool2dShape& s : shapes) {
    SCOPED_TRACE(describe(s));
    const auto x = pool_input<double>(s, 21);
    const auto r = random_uniform<double>(out_size(s), -1, 1, 22);
    auto loss = [&](const std::vector<double>& xs) {
      std::vector<double> y(out_size(s));
      ops::ref::pool2d_forward(s, xs.data(), y.data());
      return dot(y, r);
    };
    std::vector<double> dx(x.size(), 0.0);
    ops::ref::pool2d_backward(s, x.data(), r.data(), dx.data());
    ExpectGradClose(dx, numeric_gradient(loss, x));
  }
  const int64_t n = 2, c = 3, hw = 5;
  const auto x = random_uniform<double>(n * c * hw, -2, 2, 23);
  const auto r = random_uniform<double>(n * c, -1, 1, 24);
  auto loss = [&](const std::vector<double>& xs) {
    std::vector<double> y(n * c);
    ops::ref::global_avg_pool_forward(n, c, hw, xs.data(), y.data());
    return dot(y, r);
  };
  std::vector<double> dx(x.size(), 0.0);
  ops::ref::global_avg_pool_backward(n, c, hw, r.data(), dx.data());
  ExpectGradClose(dx, numeric_gradient(loss, x));
}

// Geometry (kind is set per run): edge cases first, then the seed net's 2x2/2 max-pool layers (3x512x512 input,
// conv 7x7/2 pad 1 -> 16x253x253, then 3x3 pad 1 convs to 32, 64, 128, 256 channels), batch 1.
const Pool2dShape kGeometries[] = {
    shape(1, 1, 1, 1, 1, 1, 1, 1, 0, 0, PoolKind::Max),      // 1x1 everything
    shape(2, 3, 5, 4, 1, 1, 1, 1, 0, 0, PoolKind::Max),      // 1x1 window: identity
    shape(2, 3, 7, 9, 2, 2, 2, 2, 0, 0, PoolKind::Max),      // odd sizes drop the last row / column
    shape(1, 2, 8, 8, 3, 3, 2, 2, 1, 1, PoolKind::Max),      // 3x3/2 pad 1 (ResNet stem)
    shape(2, 3, 5, 7, 3, 3, 1, 1, 1, 1, PoolKind::Max),      // overlapping, every input in up to 9 windows
    shape(1, 2, 6, 5, 3, 2, 2, 1, 1, 0, PoolKind::Max),      // asymmetric kernel, stride and padding
    shape(1, 2, 9, 9, 3, 3, 3, 3, 0, 0, PoolKind::Max),      // stride == kernel
    shape(1, 1, 10, 11, 2, 2, 3, 3, 0, 0, PoolKind::Max),    // stride > kernel: some inputs in no window
    shape(1, 4, 4, 4, 4, 4, 1, 1, 0, 0, PoolKind::Max),      // window == plane
    shape(3, 2, 1, 5, 1, 3, 1, 1, 0, 1, PoolKind::Max),      // H = 1
    shape(1, 2, 11, 13, 5, 5, 2, 2, 2, 2, PoolKind::Max),    // 5x5/2 pad 2
    shape(1, 16, 253, 253, 2, 2, 2, 2, 0, 0, PoolKind::Max),  // seed net
    shape(1, 32, 126, 126, 2, 2, 2, 2, 0, 0, PoolKind::Max),
    shape(1, 64, 63, 63, 2, 2, 2, 2, 0, 0, PoolKind::Max),
    shape(1, 128, 31, 31, 2, 2, 2, 2, 0, 0, PoolKind::Max),
    shape(1, 256, 15, 15, 2, 2, 2, 2, 0, 0, PoolKind::Max),
    shape(2, 256, 14, 14, 2, 2, 2, 2, 0, 0, PoolKind::Max),
};

// Launch configurations: 0 = the launchers' defaults; 96 threads (3 warps) with BlockSizeOverride's small grid
// makes the grid-stride loops iterate and the block reduction combine a partial set of warps.
std::vector<int> block_configs(Backend b) {
  return is_device_backend(b) ? std::vector<int>{0, 96} : std::vector<int>{0};
}

class Pool2dBackends : public ::testing::TestWithParam<Backend> {};

TEST_P(Pool2dBackends, MatchesReference) {
  const Backend b = GetParam();
  VIGIL_SKIP_IF_UNAVAILABLE(b);
  uint32_t seed = 100;
  for (const Pool2dShape& geometry : kGeometries) {
    for (int mode = 0; mode < 3; ++mode) {
      Pool2dShape s = geometry;
      s.kind = mode == 0 ? PoolKind::Max : PoolKind::Avg;
      s.count_include_pad = mode != 2;
      if (mode == 2 && s.pad_h == 0 && s.pad_w == 0) continue;  // same as mode 1 without padding
      SCOPED_TRACE(describe(s));
      const auto x = pool_input(s, ++seed);
      const auto dy = random_uniform(out_size(s), -1, 1, ++seed);
      const auto dx0 = random_uniform(in_size(s), -1, 1, ++seed);
      std::vector<float> y_ref(out_size(s)), dx_ref = dx0;
      ops::ref::pool2d_forward(s, x.data(), y_ref.data());
      ops::ref::pool2d_backward(s, x.data(), dy.data(), dx_ref.data());
      // Max picks one input exactly; averages may divide differently (cuDNN) and gradients meeting in one
      // input may be summed in another order.
      const Tol fwd_tol = s.kind == PoolKind::Max ? tol::kExact : tol::kReduction;
      for (int block : block_configs(b)) {
        SCOPED_TRACE("block " + std::to_string(block));
        std::unique_ptr<launch::BlockSizeOverride> guard;
        if (block) guard = std::make_unique<launch::BlockSizeOverride>(block);
        Buf<> bx(b, x), by(b, out_size(s), -7.f), bdy(b, dy), bdx(b, dx0);
        ops::pool2d_forward(b, s, bx.data(), by.data());
        ops::pool2d_backward(b, s, bx.data(), by.data(), bdy.data(), bdx.data());
        ExpectAllClose(by.host(), y_ref, fwd_tol);
        ExpectAllClose(bdx.host(), dx_ref, tol::kReduction);
      }
    }
  }
}

// Inputs full of ties: the vigil backends all send each gradient to the window's first maximum. cuDNN breaks
// ties its own way, which is why every other max-pool test uses tie-free inputs.
TEST_P(Pool2dBackends, TiesGoToFirstMaximum) {
  const Backend b = GetParam();
  VIGIL_SKIP_IF_UNAVAILABLE(b);
  if (b == Backend::Cudnn) GTEST_SKIP() << "cuDNN's tie-breaking is not specified";
  for (const Pool2dShape& s : {shape(2, 3, 7, 9, 2, 2, 2, 2, 0, 0, PoolKind::Max),
                               shape(1, 2, 8, 7, 3, 3, 2, 2, 1, 1, PoolKind::Max),
                               shape(1, 2, 6, 6, 3, 3, 1, 1, 1, 1, PoolKind::Max)}) {
    SCOPED_TRACE(describe(s));
    auto x = random_uniform(in_size(s), 0, 3, 41);
    for (auto& v : x) v = std::floor(v);  // values 0, 1, 2
    const auto dy = random_uniform(out_size(s), -1, 1, 42);
    const auto dx0 = random_uniform(in_size(s), -1, 1, 43);
    std::vector<float> y_ref(out_size(s)), dx_ref = dx0;
    ops::ref::pool2d_forward(s, x.data(), y_ref.data());
    ops::ref::pool2d_backward(s, x.data(), dy.data(), dx_ref.data());
    Buf<> bx(b, x), by(b, out_size(s)), bdy(b, dy), bdx(b, dx0);
    ops::pool2d_forward(b, s, bx.data(), by.data());
    ops::pool2d_backward(b, s, bx.data(), by.data(), bdy.data(), bdx.data());
    ExpectAllClose(by.host(), y_ref, tol::kExact);
    ExpectAllClose(bdx.host(), dx_ref, tol::kReduction);
  }
}

TEST_P(Pool2dBackends, PropagatesNaN) {
  const Backend b = GetParam();
  VIGIL_SKIP_IF_UNAVAILABLE(b);
  for (PoolKind kind : {PoolKind::Max, PoolKind::Avg}) {
    const Pool2dShape s = shape(1, 2, 6, 7, 3, 3, 2, 2, 1, 1, kind);
    auto x = pool_input(s, 31);
    x[8] = x[50] = x[51] = std::nanf("");  // (0, 1, 1) is in four windows; (1, 1, 1..2) in plane 1
    std::vector<float> y_ref(out_size(s));
    ops::ref::pool2d_forward(s, x.data(), y_ref.data());
    ASSERT_TRUE(std::isnan(y_ref[0]));
    Buf<> bx(b, x), by(b, out_size(s));
    ops::pool2d_forward(b, s, bx.data(), by.data());
    ExpectAllClose(by.host(), y_ref, kind == PoolKind::Max ? tol::kExact : tol::kReduction);
  }
}

TEST_P(Pool2dBackends, GlobalAvgMatchesReference) {
  const Backend b = GetParam();
  VIGIL_SKIP_IF_UNAVAILABLE(b);
  struct Dims {
    int64_t n, c, hw;
  };
  // hw <= 1024 takes the warp-per-plane CUDA kernel, larger the block-per-plane one; 256x7x7 is the seed net's
  // last feature map.
  const Dims dims[] = {{1, 1, 1}, {3, 5, 1}, {2, 3, 31}, {2, 256, 49}, {1, 3, 1024}, {2, 3, 1025}, {1, 2, 63001}};
  uint32_t seed = 200;
  for (const Dims& d : dims) {
    SCOPED_TRACE(std::to_string(d.n) + "x" + std::to_string(d.c) + "x" + std::to_string(d.hw));
    const auto x = random_uniform(d.n * d.c * d.hw, -2, 2, ++seed);
    const auto dy = random_uniform(d.n * d.c, -1, 1, ++seed);
    const auto dx0 = random_uniform(d.n * d.c * d.hw, -1, 1, ++seed);
    std::vector<float> y_ref(d.n * d.c), dx_ref = dx0;
    ops::ref::global_avg_pool_forward(d.n, d.c, d.hw, x.data(), y_ref.data());
    ops::ref::global_avg_pool_backward(d.n, d.c, d.hw, dy.data(), dx_ref.data());
    for (int block : block_configs(b)) {
      SCOPED_TRACE("block " + std::to_string(block));
      std::unique_ptr<launch::BlockSizeOverride> guard;
      if (block) guard = std::make_unique<launch::BlockSizeOverride>(block);
      Buf<> bx(b, x), by(b, d.n * d.c, -7.f), bdy(b, dy), bdx(b, dx0);
      ops::global_avg_pool_forward(b, d.n, d.c, d.hw, bx.data(), by.data());
      ops::global_avg_pool_backward(b, d.n, d.c, d.hw, bdy.data(), bdx.data());
      ExpectAllClose(by.host(), y_ref, tol::kReduction);
      ExpectAllClose(bdx.host(), dx_ref, tol::kReduction);
    }
  }
}

TEST_P(Pool2dBackends, MatchesPyTorch) {
  const Backend b = GetParam();
  VIGIL_SKIP_IF_UNAVAILABLE(b);
  for (const auto& c : load_golden("pool2d")) {
    SCOPED_TRACE(c.name);
    const auto& gx = c.at("x");
    ASSERT_EQ(gx.shape.size(), 4u);
    const int n = static_cast<int>(gx.shape[0]), ch = static_cast<int>(gx.shape[1]);
    const int h = static_cast<int>(gx.shape[2]), w = static_cast<int>(gx.shape[3]);
    const std::string kind = c.params.at("kind");
    Buf<> bx(b, gx.data), by(b, c.at("y").data.size()), bdy(b, c.at("dy").data), bdx(b, gx.data.size());
    if (kind == "global_avg") {
      ops::global_avg_pool_forward(b, n, ch, int64_t{h} * w, bx.data(), by.data());
      ops::global_avg_pool_backward(b, n, ch, int64_t{h} * w, bdy.data(), bdx.data());
    } else {
      const auto& p = c.params;
      const Pool2dShape s = shape(n, ch, h, w, p.at("kh").get<int>(), p.at("kw").get<int>(),
                                  p.at("stride_h").get<int>(), p.at("stride_w").get<int>(), p.at("pad_h").get<int>(),
                                  p.at("pad_w").get<int>(), kind == "max" ? PoolKind::Max : PoolKind::Avg,
                                  p.at("count_include_pad").get<bool>());
      ASSERT_EQ(out_size(s), static_cast<int64_t>(c.at("y").data.size()));
      ops::pool2d_forward(b, s, bx.data(), by.data());
      ops::pool2d_backward(b, s, bx.data(), by.data(), bdy.data(), bdx.data());
    }
    ExpectAllClose(by.host(), c.at("y").data, tol::kGolden);
    ExpectAllClose(bdx.host(), c.at("dx").data, tol::kGolden);
  }
}

INSTANTIATE_TEST_SUITE_P(All, Pool2dBackends,
                         ::testing::Values(Backend::Reference, Backend::Cpu, Backend::Cuda, Backend::Cudnn),
                         BackendParamName);

}  // namespace
}  // namespace vigil::test
