// Conv2d: shape rules, hand-computed values, double gradient checks, += accumulation, and every backend (each
// algorithm and two CUDA launch configurations) against the double reference and PyTorch golden values; the
// depthwise algorithm on a table of depthwise edge cases, its shape check and its deterministic weight gradient.
#include "conv2d/conv2d.h"
#include "conv2d/conv2d_ref.h"

#include <gtest/gtest.h>

#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/launch.h"
#include "common/parallel.h"
#include "support/allclose.h"
#include "support/backends.h"
#include "support/golden.h"
#include "support/gradcheck.h"
#include "support/random.h"

namespace vigil::test {
namespace {

using ops::Conv2dAlgo;
using ops::Conv2dShape;

Conv2dShape make_shape(int n, int c_in, int h, int w, int c_out, int kh, int kw, int stride = 1, int pad = 0,
                       int dil = 1, int groups = 1) {
  Conv2dShape s;
  s.n = n, s.c_in = c_in, s.h = h, s.w = w, s.c_out = c_out, s.kh = kh, s.kw = kw;
  s.stride_h = s.stride_w = stride;
  s.pad_h = s.pad_w = pad;
  s.dil_h = s.dil_w = dil;
  s.groups = groups;
  return s;
}

// ---- shape rules -------------------------------------------------------------------------------------------

TEST(Conv2dShape, OutputSizeFollowsPyTorch) {
  Conv2dShape s = make_shape(1, 3, 512, 512, 16, 7, 7, 2, 1);
  EXPECT_EQ(s.out_h(), 254);
  EXPECT_EQ(s.out_w(), 254);
  s = make_shape(1, 1, 10, 9, 1, 3, 3, 1, 1, 2);  // dilated 3x3 spans 5
  EXPECT_EQ(s.out_h(), 8);
  EXPECT_EQ(s.out_w(), 7);
  s = make_shape(1, 1, 8, 7, 1, 3, 2, 3, 0);
  EXPECT_EQ(s.out_h(), 2);
  EXPECT_EQ(s.out_w(), 2);
  EXPECT_NO_THROW(s.validate());
}

TEST(Conv2dShape, InvalidShapesThrowBeforeAnyBackendRuns) {
  std::vector<Conv2dShape> bad = {
      make_shape(1, 6, 8, 8, 4, 3, 3, 1, 1, 1, 4),  // groups does not divide c_in
      make_shape(1, 4, 8, 8, 6, 3, 3, 1, 1, 1, 4),  // groups does not divide c_out
      make_shape(1, 3, 2, 2, 4, 3, 3),               // kernel larger than the input
      make_shape(1, 3, 5, 5, 4, 3, 3, 0),            // stride 0
      make_shape(1, 3, 5, 5, 4, 3, 3, 1, -1),        // negative padding
      make_shape(1, 3, 5, 5, 4, 3, 3, 1, 0, 0),      // dilation 0
      make_shape(0, 3, 5, 5, 4, 3, 3),               // empty batch
      make_shape(1, 3, 9, 9, 4, 3, 3, 1, 0, 5),      // dilated kernel (11) larger than the input
  };
  float dummy[1] = {0.f};
  for (const Conv2dShape& s : bad) {
    SCOPED_TRACE(s.str());
    EXPECT_THROW(s.validate(), Error);
    // Every backend validates first, so even an unavailable GPU backend reports the shape error.
    for (Backend b : {Backend::Reference, Backend::Cpu, Backend::Cuda, Backend::Cudnn}) {
      try {
        ops::conv2d_forward(b, s, dummy, dummy, nullptr, dummy);
        ADD_FAILURE() << "no error for " << backend_name(b);
      } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("conv2d"), std::string::npos) << e.what();
      }
      EXPECT_THROW(ops::conv2d_backward_data(b, s, dummy, dummy, dummy), Error);
      EXPECT_THROW(ops::conv2d_backward_weight(b, s, dummy, dummy, dummy), Error);
      EXPECT_THROW(ops::conv2d_backward_bias(b, s, dummy, dummy), Error);
    }
  }
  EXPECT_THROW(ops::conv2d_forward(Backend::Cpu, make_shape(1, 1, 3, 3, 1, 1, 1), nullptr, dummy, nullptr, dummy),
               Error);
}

TEST(Conv2dShape, AutoAlgorithm) {
  EXPECT_EQ(ops::conv2d_resolve_algo(make_shape(1, 16, 8, 8, 32, 3, 3), Conv2dAlgo::Auto), Conv2dAlgo::Im2col);
  // groups == c_in == c_out (a single channel too) is depthwise.
  EXPECT_EQ(ops::conv2d_resolve_algo(make_shape(1, 16, 8, 8, 16, 3, 3, 1, 1, 1, 16), Conv2dAlgo::Auto),
            Conv2dAlgo::Depthwise);
  EXPECT_EQ(ops::conv2d_resolve_algo(make_shape(1, 1, 8, 8, 1, 5, 5), Conv2dAlgo::Auto), Conv2dAlgo::Depthwise);
  // A channel multiplier is not depthwise: its tiny per-group GEMM still goes to Direct.
  EXPECT_EQ(ops::conv2d_resolve_algo(make_shape(1, 16, 8, 8, 32, 3, 3, 1, 1, 1, 16), Conv2dAlgo::Auto),
            Conv2dAlgo::Direct);
  EXPECT_EQ(ops::conv2d_resolve_algo(make_shape(1, 16, 8, 8, 16, 3, 3, 1, 1, 1, 16), Conv2dAlgo::Im2col),
            Conv2dAlgo::Im2col);
  EXPECT_EQ(ops::conv2d_resolve_algo(make_shape(1, 16, 8, 8, 16, 3, 3, 1, 1, 1, 16), Conv2dAlgo::Depthwise),
            Conv2dAlgo::Depthwise);
  EXPECT_STREQ(ops::conv2d_algo_name(Conv2dAlgo::Depthwise), "depthwise");
}

// Depthwise asked for explicitly on a shape that is not depthwise is an error on every backend and pass (even on a
// backend this machine lacks: the algorithm is checked before dispatch), never a silent fallback.
TEST(Conv2dShape, DepthwiseOnNonDepthwiseShapeThrows) {
  const std::vector<Conv2dShape> shapes = {
      make_shape(1, 3, 6, 6, 4, 3, 3, 1, 1),           // dense
      make_shape(1, 4, 6, 6, 4, 3, 3, 1, 1, 1, 2),     // grouped, 2 channels per group
      make_shape(1, 4, 6, 6, 8, 3, 3, 1, 1, 1, 4),     // depthwise with channel multiplier 2
  };
  std::vector<float> buf(4096, 0.f);
  float* p = buf.data();
  auto expect_depthwise_error = [](const std::function<void()>& fn, const std::string& what) {
    try {
      fn();
      ADD_FAILURE() << what << ": no error";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("depthwise"), std::string::npos) << what << ": " << e.what();
    }
  };
  for (const Conv2dShape& s : shapes) {
    SCOPED_TRACE(s.str());
    expect_depthwise_error([&] { ops::conv2d_resolve_algo(s, Conv2dAlgo::Depthwise); }, "resolve");
    for (Backend b : {Backend::Reference, Backend::Cpu, Backend::Cuda, Backend::Cudnn}) {
      const std::string name = backend_name(b);
      expect_depthwise_error([&] { ops::conv2d_forward(b, s, p, p, nullptr, p, Conv2dAlgo::Depthwise); },
                             name + " forward");
      expect_depthwise_error([&] { ops::conv2d_backward_data(b, s, p, p, p, Conv2dAlgo::Depthwise); },
                             name + " backward_data");
      expect_depthwise_error([&] { ops::conv2d_backward_weight(b, s, p, p, p, Conv2dAlgo::Depthwise); },
                             name + " backward_weight");
    }
  }
}

// ---- reference: gradient checks in double ------------------------------------------------------------------

TEST(Conv2dRef, GradCheckDouble) {
  Conv2dShape grouped = make_shape(1, 4, 7, 7, 6, 3, 2, 1, 0, 2, 2);
  grouped.pad_h = 2, grouped.pad_w = 1, grouped.stride_w = 2;
  Conv2dShape depthwise = make_shape(2, 3, 6, 7, 3, 3, 3, 1, 1, 1, 3);
  depthwise.stride_w = 2;
  for (const Conv2dShape& s : {make_shape(2, 3, 5, 6, 4, 3, 3, 2, 1), grouped, depthwise}) {
    SCOPED_TRACE(s.str());
    const auto x = random_uniform<double>(s.x_numel(), -1, 1, 11);
    const auto w = random_uniform<double>(s.w_numel(), -1, 1, 12);
    const auto b = random_uniform<double>(s.c_out, -1, 1, 13);
    const auto r = random_uniform<double>(s.y_numel(), -1, 1, 14);
    auto loss = [&](const std::vector<double>& xs, const std::vector<double>& ws, const std::vector<double>& bs) {
      std::vector<double> y(s.y_numel());
      ops::ref::conv2d_forward(s, xs.data(), ws.data(), bs.data(), y.data());
      return dot(y, r);
    };
    std::vector<double> dx(x.size(), 0.0), dw(w.size(), 0.0), db(b.size(), 0.0);
    ops::ref::conv2d_backward_data(s, r.data(), w.data(), dx.data());
    ops::ref::conv2d_backward_weight(s, x.data(), r.data(), dw.data());
    ops::ref::conv2d_backward_bias(s, r.data(), db.data());
    ExpectGradClose(dx, numeric_gradient([&](const std::vector<double>& v) { return loss(v, w, b); }, x));
    ExpectGradClose(dw, numeric_gradient([&](const std::vector<double>& v) { return loss(x, v, b); }, w));
    ExpectGradClose(db, numeric_gradient([&](const std::vector<double>& v) { return loss(x, w, v); }, b));
  }
}

// ---- every backend -----------------------------------------------------------------------------------------

// One way to run a backend: the algorithm for Cpu/Cuda, and a CUDA block size (0 = the launcher's default; a
// non-zero size also shrinks the grid so the grid-stride loops really iterate).
struct Config {
  Conv2dAlgo algo;
  int block;
};

bool is_depthwise(const Conv2dShape& s) { return s.groups == s.c_in && s.groups == s.c_out; }

std::vector<Config> all_configs(Backend b) {
  switch (b) {
    case Backend::Cpu:
      return {{Conv2dAlgo::Auto, 0}, {Conv2dAlgo::Direct, 0}, {Conv2dAlgo::Im2col, 0}, {Conv2dAlgo::Depthwise, 0}};
    case Backend::Cuda:
      return {{Conv2dAlgo::Im2col, 0}, {Conv2dAlgo::Im2col, 64},    {Conv2dAlgo::Direct, 0},
              {Conv2dAlgo::Direct, 96}, {Conv2dAlgo::Depthwise, 0}, {Conv2dAlgo::Depthwise, 64}};
    default: return {{Conv2dAlgo::Auto, 0}};
  }
}

// Every configuration of backend b that applies to shape s (Depthwise only to depthwise shapes).
std::vector<Config> configs_for(Backend b, const Conv2dShape& s) {
  std::vector<Config> out;
  for (const Config& c : all_configs(b))
    if (c.algo != Conv2dAlgo::Depthwise || is_depthwise(s)) out.push_back(c);
  return out;
}

std::string config_name(Backend b, const Config& c) {
  return std::string(backend_name(b)) + "/" + ops::conv2d_algo_name(c.algo) + "/block " + std::to_string(c.block);
}

struct Outputs {
  std::vector<float> y, dx, dw, db;
};

// Runs the four passes on backend b. bias may be empty (no bias); dx0/dw0/db0 are what the gradient buffers
// hold before the backward passes add to them. y starts as NaN, so a forward that does not overwrite it fails.
Outputs run(Backend b, const Config& cfg, const Conv2dShape& s, const std::vector<float>& x,
            const std::vector<float>& w, const std::vector<float>& bias, const std::vector<float>& dy,
            const std::vector<float>& dx0, const std::vector<float>& dw0, const std::vector<float>& db0) {
  std::unique_ptr<launch::BlockSizeOverride> guard;
  if (cfg.block) guard = std::make_unique<launch::BlockSizeOverride>(cfg.block);
  Buf<> bx(b, x), bw(b, w), bb(b, bias.empty() ? std::vector<float>(1) : bias), bdy(b, dy);
  Buf<> by(b, s.y_numel(), std::numeric_limits<float>::quiet_NaN()), bdx(b, dx0), bdw(b, dw0), bdb(b, db0);
  ops::conv2d_forward(b, s, bx.data(), bw.data(), bias.empty() ? nullptr : bb.data(), by.data(), cfg.algo);
  ops::conv2d_backward_data(b, s, bdy.data(), bw.data(), bdx.data(), cfg.algo);
  ops::conv2d_backward_weight(b, s, bx.data(), bdy.data(), bdw.data(), cfg.algo);
  ops::conv2d_backward_bias(b, s, bdy.data(), bdb.data());
  return Outputs{by.host(), bdx.host(), bdw.host(), bdb.host()};
}

class Conv2dBackends : public ::testing::TestWithParam<Backend> {};

// Small integer cases worked out by hand; the gradient buffers start at 9 to check accumulation.
TEST_P(Conv2dBackends, HandComputed) {
  const Backend b = GetParam();
  VIGIL_SKIP_IF_UNAVAILABLE(b);
  const std::vector<float> x9 = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  // Every case below is single-channel or one filter per channel, so Depthwise runs them all.
  for (const Config& cfg : configs_for(b, make_shape(1, 1, 3, 3, 1, 2, 2))) {
    SCOPED_TRACE(config_name(b, cfg));
    {  // 2x2 kernel [[1, 0], [0, -1]] with bias 0.5 on a 3x3 ramp: every output is x[i][j] - x[i+1][j+1] + 0.5.
      const Conv2dShape s = make_shape(1, 1, 3, 3, 1, 2, 2);
      const Outputs o = run(b, cfg, s, x9, {1, 0, 0, -1}, {0.5f}, {1, 1, 1, 1}, std::vector<float>(9, 9.f),
                            {9, 9, 9, 9}, {9});
      ExpectAllClose(o.y, (std::vector<float>{-3.5f, -3.5f, -3.5f, -3.5f}), scaled(tol::kDotProduct, 4));
      // dx: the kernel's +1 tap hits the top-left 2x2, the -1 tap the bottom-right 2x2.
      ExpectAllClose(o.dx, (std::vector<float>{10, 10, 9, 10, 9, 8, 9, 8, 8}), scaled(tol::kDotProduct, 10));
      // dw[kh][kw] = sum of the 2x2 block of x starting at (kh, kw).
      ExpectAllClose(o.dw, (std::vector<float>{9 + 12, 9 + 16, 9 + 24, 9 + 28}), scaled(tol::kWeightGrad, 37));
      ExpectAllClose(o.db, (std::vector<float>{13}), scaled(tol::kWeightGrad, 13));
    }
    {  // 3x3 ones, padding 1, stride 2: the four windows cover rows/cols {0,1} or {1,2}.
      const Conv2dShape s = make_shape(1, 1, 3, 3, 1, 3, 3, 2, 1);
      const Outputs o = run(b, cfg, s, x9, std::vector<float>(9, 1.f), {}, {1, 1, 1, 1},
                            std::vector<float>(9, 9.f), std::vector<float>(9, 9.f), {9});
      ExpectAllClose(o.y, (std::vector<float>{12, 16, 24, 28}), scaled(tol::kDotProduct, 28));
      // dx counts the windows covering each pixel: [1 2 1] x [1 2 1].
      ExpectAllClose(o.dx, (std::vector<float>{10, 11, 10, 11, 13, 11, 10, 11, 10}), scaled(tol::kDotProduct, 13));
      // dw[kh][kw] = sum of x over rows {1} / {0,2} / {1} for kh = 0 / 1 / 2, likewise columns.
      ExpectAllClose(o.dw, (std::vector<float>{14, 19, 14, 19, 29, 19, 14, 19, 14}), scaled(tol::kWeightGrad, 29));
      ExpectAllClose(o.db, (std::vector<float>{13}), scaled(tol::kWeightGrad, 13));
    }
    {  // Two groups of 1x1: y = (10 * 2, 100 * 3).
      const Conv2dShape s = make_shape(1, 2, 1, 1, 2, 1, 1, 1, 0, 1, 2);
      const Outputs o = run(b, cfg, s, {2, 3}, {10, 100}, {}, {1, 2}, {9, 9}, {9, 9}, {9, 9});
      ExpectAllClose(o.y, (std::vector<float>{20, 300}), scaled(tol::kDotProduct, 300));
      ExpectAllClose(o.dx, (std::vector<float>{19, 209}), scaled(tol::kDotProduct, 209));
      ExpectAllClose(o.dw, (std::vector<float>{11, 15}), scaled(tol::kWeightGrad, 15));
      ExpectAllClose(o.db, (std::vector<float>{10, 11}), scaled(tol::kWeightGrad, 11));
    }
    {  // Width-2 kernel [1, 1] with dilation 2 along a row of 5: y[j] = x[j] + x[j + 2].
      Conv2dShape s = make_shape(1, 1, 1, 5, 1, 1, 2);
      s.dil_w = 2;
      const Outputs o = run(b, cfg, s, {1, 2, 3, 4, 5}, {1, 1}, {}, {1, 1, 1}, {9, 9, 9, 9, 9}, {9, 9}, {9});
      ExpectAllClose(o.y, (std::vector<float>{4, 6, 8}), scaled(tol::kDotProduct, 8));
      ExpectAllClose(o.dx, (std::vector<float>{10, 10, 11, 10, 10}), scaled(tol::kDotProduct, 11));
      ExpectAllClose(o.dw, (std::vector<float>{9 + 6, 9 + 12}), scaled(tol::kWeightGrad, 21));
      ExpectAllClose(o.db, (std::vector<float>{12}), scaled(tol::kWeightGrad, 12));
    }
  }
}

struct ConvCase {
  std::string name;
  Conv2dShape s;
  bool bias;
};

std::vector<ConvCase> shape_table() {
  Conv2dShape rect = make_shape(1, 5, 11, 9, 6, 3, 5, 2, 1);
  rect.pad_w = 2, rect.stride_w = 1;
  Conv2dShape asym_dil = make_shape(2, 3, 10, 11, 4, 3, 3, 1, 2, 2);
  asym_dil.dil_w = 1, asym_dil.pad_w = 0;
  return {
      {"3x3_pad1", make_shape(2, 3, 7, 6, 4, 3, 3, 1, 1), true},
      {"odd_rect_kernel_stride2", rect, false},
      {"pointwise", make_shape(2, 8, 5, 7, 12, 1, 1), true},
      {"pointwise_stride2", make_shape(1, 4, 9, 9, 3, 1, 1, 2), false},
      {"dilated", asym_dil, true},
      {"grouped_stride2", make_shape(2, 6, 8, 8, 9, 3, 3, 2, 1, 1, 3), true},
      {"grouped_pointwise", make_shape(2, 8, 4, 5, 12, 1, 1, 1, 0, 1, 4), false},
      {"depthwise", make_shape(2, 8, 9, 10, 8, 3, 3, 1, 1, 1, 8), true},
      {"depthwise_mult2_5x5_s2", make_shape(1, 4, 11, 10, 8, 5, 5, 2, 2, 1, 4), false},
      {"depthwise_3x3_s2_odd", make_shape(2, 6, 15, 13, 6, 3, 3, 2, 1, 1, 6), true},
      {"depthwise_5x5_p2", make_shape(2, 5, 14, 17, 5, 5, 5, 1, 2, 1, 5), false},
      {"depthwise_7x7_s2_p3", make_shape(1, 3, 19, 22, 3, 7, 7, 2, 3, 1, 3), true},
      {"kernel_covers_input", make_shape(3, 2, 6, 6, 3, 6, 6), true},
      {"pad_wider_than_kernel", make_shape(1, 2, 4, 5, 3, 3, 3, 3, 3), true},
      // Big enough for the CPU path to split the column matrix into several row tiles (the last one ragged).
      {"grouped_multi_tile", make_shape(1, 8, 96, 88, 6, 3, 3, 1, 1, 1, 2), true},
      {"dilated_stride2_multi_tile", make_shape(2, 4, 200, 180, 4, 5, 5, 2, 3, 2), false},
      // The seed net: 3x512x512 -> 7x7/2 pad 1 -> 16, then 3x3 pad 1 16->32->64->128->256 after 2x2 pools.
      {"seed_conv1_7x7s2", make_shape(1, 3, 512, 512, 16, 7, 7, 2, 1), true},
      {"seed_conv2", make_shape(1, 16, 127, 127, 32, 3, 3, 1, 1), true},
      {"seed_conv3", make_shape(1, 32, 63, 63, 64, 3, 3, 1, 1), false},
      {"seed_conv4", make_shape(1, 64, 31, 31, 128, 3, 3, 1, 1), true},
      {"seed_conv5", make_shape(1, 128, 15, 15, 256, 3, 3, 1, 1), true},
  };
}

TEST_P(Conv2dBackends, MatchesReference) {
  const Backend b = GetParam();
  VIGIL_SKIP_IF_UNAVAILABLE(b);
  uint32_t seed = 100;
  for (const ConvCase& c : shape_table()) {
    SCOPED_TRACE(c.name + ": " + c.s.str());
    const Conv2dShape& s = c.s;
    const auto x = random_uniform(s.x_numel(), -1, 1, ++seed);
    const auto w = random_uniform(s.w_numel(), -1, 1, ++seed);
    const auto bias = c.bias ? random_uniform(s.c_out, -1, 1, ++seed) : std::vector<float>();
    const auto dy = random_uniform(s.y_numel(), -1, 1, ++seed);
    const auto dx0 = random_uniform(s.x_numel(), -1, 1, ++seed);
    const auto dw0 = random_uniform(s.w_numel(), -1, 1, ++seed);
    const auto db0 = random_uniform(s.c_out, -1, 1, ++seed);

    // Ground truth: the reference in double on the same (float) inputs.
    const auto xd = cast<double>(x), wd = cast<double>(w), bd = cast<double>(bias), dyd = cast<double>(dy);
    std::vector<double> y_ref(s.y_numel()), dx_ref = cast<double>(dx0), dw_ref = cast<double>(dw0),
                        db_ref = cast<double>(db0);
    ops::ref::conv2d_forward(s, xd.data(), wd.data(), c.bias ? bd.data() : nullptr, y_ref.data());
    ops::ref::conv2d_backward_data(s, dyd.data(), wd.data(), dx_ref.data());
    ops::ref::conv2d_backward_weight(s, xd.data(), dyd.data(), dw_ref.data());
    ops::ref::conv2d_backward_bias(s, dyd.data(), db_ref.data());

    for (const Config& cfg : configs_for(b, s)) {
      SCOPED_TRACE(config_name(b, cfg));
      const Outputs o = run(b, cfg, s, x, w, bias, dy, dx0, dw0, db0);
      ExpectAllClose(o.y, y_ref, scaled(tol::kDotProduct, max_abs(y_ref)));
      ExpectAllClose(o.dx, dx_ref, scaled(tol::kDotProduct, max_abs(dx_ref)));
      ExpectAllClose(o.dw, dw_ref, scaled(tol::kWeightGrad, max_abs(dw_ref)));
      ExpectAllClose(o.db, db_ref, scaled(tol::kWeightGrad, max_abs(db_ref)));
    }
  }
}

TEST_P(Conv2dBackends, MatchesPyTorch) {
  const Backend b = GetParam();
  VIGIL_SKIP_IF_UNAVAILABLE(b);
  for (const auto& c : load_golden("conv2d")) {
    SCOPED_TRACE(c.name);
    const auto& p = c.params;
    Conv2dShape s;
    s.n = p.at("n"), s.c_in = p.at("c_in"), s.h = p.at("h"), s.w = p.at("w"), s.c_out = p.at("c_out");
    s.kh = p.at("kh"), s.kw = p.at("kw"), s.stride_h = p.at("stride_h"), s.stride_w = p.at("stride_w");
    s.pad_h = p.at("pad_h"), s.pad_w = p.at("pad_w"), s.dil_h = p.at("dil_h"), s.dil_w = p.at("dil_w");
    s.groups = p.at("groups");
    const bool has_bias = p.at("bias");
    ASSERT_EQ(c.at("y").data.size(), static_cast<size_t>(s.y_numel()));
    const std::vector<float> bias = has_bias ? c.at("b").data : std::vector<float>();
    for (const Config& cfg : configs_for(b, s)) {
      SCOPED_TRACE(config_name(b, cfg));
      const Outputs o = run(b, cfg, s, c.at("x").data, c.at("w").data, bias, c.at("dy").data,
                            std::vector<float>(s.x_numel()), std::vector<float>(s.w_numel()),
                            std::vector<float>(s.c_out));
      ExpectAllClose(o.y, c.at("y").data, scaled(tol::kGolden, max_abs(c.at("y").data)));
      ExpectAllClose(o.dx, c.at("dx").data, scaled(tol::kGolden, max_abs(c.at("dx").data)));
      ExpectAllClose(o.dw, c.at("dw").data, scaled(tol::kGolden, max_abs(c.at("dw").data)));
      if (has_bias) {
        ExpectAllClose(o.db, c.at("db").data, scaled(tol::kGolden, max_abs(c.at("db").data)));
      }
    }
  }
}

// ---- CPU batch splitting -----------------------------------------------------------------------------------

// Sets the CPU thread count for one scope and restores the previous one.
class ThreadCount {
 public:
  explicit ThreadCount(int n) : saved_(cpu::num_threads()) { cpu::set_num_threads(n); }
  ~ThreadCount() { cpu::set_num_threads(saved_); }
  ThreadCount(const ThreadCount&) = delete;
  ThreadCount& operator=(const ThreadCount&) = delete;

 private:
  int saved_;
};

// Shapes for the batch tests; batch size is set per run. One is big enough for several im2col row tiles.
std::vector<ConvCase> batch_shapes() {
  return {
      {"3x3_pad1", make_shape(1, 3, 9, 8, 5, 3, 3, 1, 1), true},
      {"grouped_stride2", make_shape(1, 6, 10, 9, 4, 3, 3, 2, 1, 1, 2), false},
      {"pointwise", make_shape(1, 8, 6, 5, 7, 1, 1), true},
      {"multi_tile", make_shape(1, 8, 96, 88, 6, 3, 3, 1, 1), true},
  };
}

// The CPU im2col path splits batches with at least one image per thread over threads: every batch size (fewer
// images than threads, exactly as many, ragged chunks) and thread count must match the double reference, with
// gradients accumulating into non-zero buffers.
TEST(Conv2dCpuBatch, SplitOverImagesMatchesReference) {
  uint32_t seed = 700;
  for (const ConvCase& c : batch_shapes()) {
    for (int n : {1, 2, 3, 7}) {
      Conv2dShape s = c.s;
      s.n = n;
      SCOPED_TRACE(c.name + ": " + s.str());
      const auto x = random_uniform(s.x_numel(), -1, 1, ++seed);
      const auto w = random_uniform(s.w_numel(), -1, 1, ++seed);
      const auto bias = c.bias ? random_uniform(s.c_out, -1, 1, ++seed) : std::vector<float>();
      const auto dy = random_uniform(s.y_numel(), -1, 1, ++seed);
      const auto dx0 = random_uniform(s.x_numel(), -1, 1, ++seed);
      const auto dw0 = random_uniform(s.w_numel(), -1, 1, ++seed);
      const auto db0 = random_uniform(s.c_out, -1, 1, ++seed);
      const auto xd = cast<double>(x), wd = cast<double>(w), bd = cast<double>(bias), dyd = cast<double>(dy);
      std::vector<double> y_ref(s.y_numel()), dx_ref = cast<double>(dx0), dw_ref = cast<double>(dw0);
      ops::ref::conv2d_forward(s, xd.data(), wd.data(), c.bias ? bd.data() : nullptr, y_ref.data());
      ops::ref::conv2d_backward_data(s, dyd.data(), wd.data(), dx_ref.data());
      ops::ref::conv2d_backward_weight(s, xd.data(), dyd.data(), dw_ref.data());
      for (int threads : {1, 2, 3}) {
        SCOPED_TRACE("threads " + std::to_string(threads));
        ThreadCount tc(threads);
        const Outputs o = run(Backend::Cpu, {Conv2dAlgo::Im2col, 0}, s, x, w, bias, dy, dx0, dw0, db0);
        ExpectAllClose(o.y, y_ref, scaled(tol::kDotProduct, max_abs(y_ref)));
        ExpectAllClose(o.dx, dx_ref, scaled(tol::kDotProduct, max_abs(dx_ref)));
        ExpectAllClose(o.dw, dw_ref, scaled(tol::kWeightGrad, max_abs(dw_ref)));
      }
    }
  }
}

// The weight gradient of a split batch is summed per chunk and reduced in a fixed order: repeated runs at the
// same thread count give bit-identical results (training resume compares losses bit for bit).
TEST(Conv2dCpuBatch, WeightGradientIsDeterministic) {
  ThreadCount tc(2);
  Conv2dShape s = make_shape(9, 8, 40, 36, 12, 3, 3, 1, 1);
  const auto x = random_uniform(s.x_numel(), -1, 1, 801);
  const auto dy = random_uniform(s.y_numel(), -1, 1, 802);
  const auto dw0 = random_uniform(s.w_numel(), -1, 1, 803);
  std::vector<float> first;
  for (int rep = 0; rep < 4; ++rep) {
    std::vector<float> dw = dw0;
    ops::conv2d_backward_weight(Backend::Cpu, s, x.data(), dy.data(), dw.data(), Conv2dAlgo::Im2col);
    if (rep == 0) {
      first = dw;
      EXPECT_NE(first, dw0);
    } else {
      EXPECT_EQ(dw, first) << "repeat " << rep;
    }
  }
}

// ---- depthwise ----------------------------------------------------------------------------------------------

// Depthwise edge cases (groups == c_in == c_out): the compiled kernel sizes at stride 1 and 2 and odd ones, padding
// from none to wider than the kernel, asymmetric strides and padding, planes narrower than a vector or than the
// kernel, widths that are and are not multiples of 4, dilation and a kernel too tall for the CPU row kernels.
std::vector<ConvCase> depthwise_table() {
  auto dw = [](int n, int c, int h, int w, int kh, int kw, int stride, int pad) {
    return make_shape(n, c, h, w, c, kh, kw, stride, pad, 1, c);
  };
  Conv2dShape asym_stride = dw(2, 3, 12, 11, 3, 3, 1, 1);
  asym_stride.stride_w = 2;
  Conv2dShape asym_stride2 = dw(1, 4, 13, 16, 5, 5, 2, 2);
  asym_stride2.stride_w = 1;
  Conv2dShape asym_pad = dw(2, 3, 9, 10, 3, 3, 1, 0);
  asym_pad.pad_w = 2;
  Conv2dShape dilated = dw(2, 3, 11, 12, 3, 3, 1, 2);
  dilated.dil_h = dilated.dil_w = 2;
  return {
      {"k3_s1_p1", dw(3, 5, 16, 16, 3, 3, 1, 1), true},
      {"k3_s1_p1_ragged", dw(2, 4, 13, 18, 3, 3, 1, 1), false},
      {"k3_s1_p0", dw(2, 3, 9, 11, 3, 3, 1, 0), true},
      {"k3_s2_p1_even", dw(2, 4, 16, 20, 3, 3, 2, 1), true},
      {"k3_s2_p1_odd", dw(1, 3, 17, 15, 3, 3, 2, 1), false},
      {"k3_s2_p0", dw(1, 3, 12, 13, 3, 3, 2, 0), true},
      {"k5_s1_p2", dw(2, 4, 14, 14, 5, 5, 1, 2), true},
      {"k5_s2_p2", dw(2, 4, 28, 27, 5, 5, 2, 2), false},
      {"k5_s2_p1", dw(1, 3, 11, 12, 5, 5, 2, 1), true},
      {"k7_s1_p3", dw(1, 3, 15, 14, 7, 7, 1, 3), true},
      {"k7_s2_p3", dw(1, 2, 18, 21, 7, 7, 2, 3), false},
      {"k1", dw(2, 3, 5, 6, 1, 1, 1, 0), true},
      {"k1_s2", dw(1, 3, 7, 7, 1, 1, 2, 0), false},
      {"k2_even_kernel", dw(2, 3, 8, 9, 2, 2, 1, 1), true},
      {"k3x5_rect", dw(2, 3, 10, 12, 3, 5, 1, 1), false},
      {"k4_s3", dw(1, 3, 14, 13, 4, 4, 3, 1), true},
      {"pad_wider_than_kernel", dw(1, 3, 6, 7, 3, 3, 1, 3), true},
      {"pad_wider_s2", dw(1, 2, 6, 5, 3, 3, 2, 3), false},
      {"tiny_7x7_k5", dw(3, 6, 7, 7, 5, 5, 1, 2), true},
      {"one_pixel", dw(2, 3, 1, 1, 3, 3, 1, 1), true},
      {"single_column", dw(2, 3, 9, 1, 3, 3, 1, 1), false},
      {"kernel_covers_input", dw(2, 3, 5, 5, 5, 5, 1, 0), true},
      {"asym_stride_1x2", asym_stride, true},
      {"asym_stride_2x1", asym_stride2, false},
      {"asym_pad_0x2", asym_pad, true},
      {"dilated", dilated, true},
      {"tall_kernel_17x3", dw(1, 2, 20, 9, 17, 3, 1, 1), false},
  };
}

// Depthwise forced and Auto (which picks it) on every depthwise edge case, against the reference in double: y
// starts as NaN, the gradients at 9 (they must accumulate).
TEST_P(Conv2dBackends, DepthwiseMatchesDoubleReference) {
  const Backend b = GetParam();
  VIGIL_SKIP_IF_UNAVAILABLE(b);
  std::vector<Config> cfgs = {{Conv2dAlgo::Auto, 0}};
  if (b == Backend::Cpu || b == Backend::Cuda) cfgs.push_back({Conv2dAlgo::Depthwise, 0});
  if (b == Backend::Cuda) cfgs.push_back({Conv2dAlgo::Depthwise, 64});
  uint32_t seed = 900;
  for (const ConvCase& c : depthwise_table()) {
    const Conv2dShape& s = c.s;
    SCOPED_TRACE(c.name + ": " + s.str());
    ASSERT_TRUE(is_depthwise(s));
    ASSERT_EQ(ops::conv2d_resolve_algo(s, Conv2dAlgo::Auto), Conv2dAlgo::Depthwise);
    const auto x = random_uniform(s.x_numel(), -1, 1, ++seed);
    const auto w = random_uniform(s.w_numel(), -1, 1, ++seed);
    const auto bias = c.bias ? random_uniform(s.c_out, -1, 1, ++seed) : std::vector<float>();
    const auto dy = random_uniform(s.y_numel(), -1, 1, ++seed);
    const std::vector<float> dx0(s.x_numel(), 9.f), dw0(s.w_numel(), 9.f), db0(s.c_out, 9.f);
    const auto xd = cast<double>(x), wd = cast<double>(w), bd = cast<double>(bias), dyd = cast<double>(dy);
    std::vector<double> y_ref(s.y_numel()), dx_ref = cast<double>(dx0), dw_ref = cast<double>(dw0);
    ops::ref::conv2d_forward(s, xd.data(), wd.data(), c.bias ? bd.data() : nullptr, y_ref.data());
    ops::ref::conv2d_backward_data(s, dyd.data(), wd.data(), dx_ref.data());
    ops::ref::conv2d_backward_weight(s, xd.data(), dyd.data(), dw_ref.data());
    for (const Config& cfg : cfgs) {
      SCOPED_TRACE(config_name(b, cfg));
      const Outputs o = run(b, cfg, s, x, w, bias, dy, dx0, dw0, db0);
      ExpectAllClose(o.y, y_ref, scaled(tol::kDotProduct, max_abs(y_ref)));
      ExpectAllClose(o.dx, dx_ref, scaled(tol::kDotProduct, max_abs(dx_ref)));
      ExpectAllClose(o.dw, dw_ref, scaled(tol::kWeightGrad, max_abs(dw_ref)));
    }
  }
}

// Runs Depthwise's weight gradient into a copy of dw0 on backend b.
std::vector<float> depthwise_weight_grad(Backend b, const Conv2dShape& s, const std::vector<float>& x,
                                         const std::vector<float>& dy, const std::vector<float>& dw0) {
  Buf<> bx(b, x), bdy(b, dy), bdw(b, dw0);
  ops::conv2d_backward_weight(b, s, bx.data(), bdy.data(), bdw.data(), Conv2dAlgo::Depthwise);
  return bdw.host();
}

class Conv2dDepthwiseDeterminism : public ::testing::TestWithParam<Backend> {};

// Repeated runs of the depthwise weight gradient give bit-identical results (training resume compares losses bit
// for bit); on the CPU also at every thread count, since each channel's sum has one fixed order.
TEST_P(Conv2dDepthwiseDeterminism, WeightGradientIsBitIdentical) {
  const Backend b = GetParam();
  VIGIL_SKIP_IF_UNAVAILABLE(b);
  for (const Conv2dShape& s : {make_shape(9, 12, 30, 28, 12, 3, 3, 1, 1, 1, 12),
                               make_shape(7, 8, 27, 26, 8, 5, 5, 2, 2, 1, 8)}) {
    SCOPED_TRACE(s.str());
    const auto x = random_uniform(s.x_numel(), -1, 1, 811);
    const auto dy = random_uniform(s.y_numel(), -1, 1, 812);
    const auto dw0 = random_uniform(s.w_numel(), -1, 1, 813);
    const std::vector<float> first = depthwise_weight_grad(b, s, x, dy, dw0);
    EXPECT_NE(first, dw0);
    const std::vector<int> thread_counts = b == Backend::Cpu ? std::vector<int>{1, 2, 3} : std::vector<int>{0};
    for (int threads : thread_counts) {
      SCOPED_TRACE("threads " + std::to_string(threads));
      std::unique_ptr<ThreadCount> tc;
      if (threads > 0) tc = std::make_unique<ThreadCount>(threads);
      for (int rep = 0; rep < 2; ++rep) EXPECT_EQ(depthwise_weight_grad(b, s, x, dy, dw0), first) << "repeat " << rep;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(All, Conv2dDepthwiseDeterminism, ::testing::Values(Backend::Cpu, Backend::Cuda),
                         BackendParamName);

INSTANTIATE_TEST_SUITE_P(All, Conv2dBackends,
                         ::testing::Values(Backend::Reference, Backend::Cpu, Backend::Cuda, Backend::Cudnn),
                         BackendParamName);

}  // namespace
}  // namespace vigil::test
