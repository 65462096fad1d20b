// Element-wise ops tests: hand-computed, gradient checks, accumulation, backends, float16/bfloat16, golden.
#include "elementwise/elementwise.h"
#include "elementwise/elementwise_ref.h"
#include "elementwise/half.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <memory>

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

constexpr float kInf = std::numeric_limits<float>::infinity();

float from_bits(uint32_t u) {
  float f;
  std::memcpy(&f, &u, sizeof(f));
  return f;
}
uint32_t to_bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof(u));
  return u;
}

// ---- reference: hand-computed values ----

TEST(ElementwiseRef, HandComputedMaps) {
  const std::vector<float> a = {1.f, -2.f, 0.5f}, b = {4.f, 0.25f, -3.f};
  std::vector<float> y(3);
  ops::ref::add<float>(3, a.data(), b.data(), y.data());
  EXPECT_EQ(y, (std::vector<float>{5.f, -1.75f, -2.5f}));
  ops::ref::mul<float>(3, a.data(), b.data(), y.data());
  EXPECT_EQ(y, (std::vector<float>{4.f, -0.5f, -1.5f}));
  ops::ref::scale<float>(3, -2.f, a.data(), y.data());
  EXPECT_EQ(y, (std::vector<float>{-2.f, 4.f, -1.f}));
  ops::ref::fill<float>(3, 7.f, y.data());
  EXPECT_EQ(y, (std::vector<float>{7.f, 7.f, 7.f}));
  ops::ref::axpy<float>(3, 0.5f, b.data(), y.data());
  EXPECT_EQ(y, (std::vector<float>{9.f, 7.125f, 5.5f}));
  ops::ref::copy<float>(3, a.data(), y.data());
  EXPECT_EQ(y, a);
  ops::ref::add<float>(3, y.data(), b.data(), y.data());  // y aliases a
  EXPECT_EQ(y, (std::vector<float>{5.f, -1.75f, -2.5f}));
}

TEST(ElementwiseRef, HandComputedReductionsAndChannels) {
  const std::vector<float> x = {1.f, 2.f, 3.f, -4.f};
  float out = 99.f;
  ops::ref::sum<float>(4, x.data(), &out);
  EXPECT_EQ(out, 2.f);
  ops::ref::sum_squares<float>(4, x.data(), &out);
  EXPECT_EQ(out, 30.f);
  ops::ref::sum<float>(0, nullptr, &out);
  EXPECT_EQ(out, 0.f);
  // x (N=2, C=2, HW=2) = [[[1, 2], [3, 4]], [[5, 6], [7, 8]]]
  std::vector<float> t = {1, 2, 3, 4, 5, 6, 7, 8};
  std::vector<float> sums = {9.f, 9.f};
  ops::ref::channel_sum<float>(2, 2, 2, t.data(), sums.data());
  EXPECT_EQ(sums, (std::vector<float>{9.f + 14.f, 9.f + 22.f}));
  const std::vector<float> bias = {10.f, -1.f};
  ops::ref::add_channel_bias<float>(2, 2, 2, bias.data(), t.data());
  EXPECT_EQ(t, (std::vector<float>{11, 12, 2, 3, 15, 16, 6, 7}));
}

TEST(ElementwiseRef, BackwardsAccumulate) {
  const std::vector<float> a = {2.f, -1.f}, b = {3.f, 4.f}, dy = {1.f, 0.5f};
  std::vector<float> da = {9.f, 9.f}, db = {9.f, 9.f};
  ops::ref::mul_backward<float>(2, a.data(), b.data(), dy.data(), da.data(), db.data());
  EXPECT_EQ(da, (std::vector<float>{12.f, 11.f}));
  EXPECT_EQ(db, (std::vector<float>{11.f, 8.5f}));
  ops::ref::mul_backward<float>(2, a.data(), b.data(), dy.data(), nullptr, db.data());  // da not wanted
  EXPECT_EQ(db, (std::vector<float>{13.f, 8.f}));
  ops::ref::mul_backward<float>(2, a.data(), b.data(), dy.data(), da.data(), nullptr);
  EXPECT_EQ(da, (std::vector<float>{15.f, 13.f}));
}

// ---- reference: gradient checks in double of the pairs layers use as forward/backward ----

TEST(ElementwiseRef, GradCheckDouble) {
  const int64_t n = 23;
  const auto a = random_uniform<double>(n, -2, 2, 1), b = random_uniform<double>(n, -2, 2, 2);
  const auto r = random_uniform<double>(n, -1, 1, 3);
  // y = a * b: mul_backward.
  std::vector<double> da(n, 0.0), db(n, 0.0);
  ops::ref::mul_backward<double>(n, a.data(), b.data(), r.data(), da.data(), db.data());
  auto mul_loss = [&](const std::vector<double>& lhs, const std::vector<double>& rhs) {
    std::vector<double> y(n);
    ops::ref::mul<double>(n, lhs.data(), rhs.data(), y.data());
    return dot(y, r);
  };
  ExpectGradClose(da, numeric_gradient([&](const std::vector<double>& v) { return mul_loss(v, b); }, a));
  ExpectGradClose(db, numeric_gradient([&](const std::vector<double>& v) { return mul_loss(a, v); }, b));
  // y = alpha * x: the gradient is axpy(alpha, dy).
  const double alpha = -1.25;
  std::vector<double> dx(n, 0.0);
  ops::ref::axpy<double>(n, alpha, r.data(), dx.data());
  ExpectGradClose(dx, numeric_gradient(
                          [&](const std::vector<double>& v) {
                            std::vector<double> y(n);
                            ops::ref::scale<double>(n, alpha, v.data(), y.data());
                            return dot(y, r);
                          },
                          a));
  // x += bias[c]: the bias gradient is channel_sum(dy).
  const int64_t N = 2, C = 3, HW = 5;
  const auto x = random_uniform<double>(N * C * HW, -1, 1, 4), rx = random_uniform<double>(N * C * HW, -1, 1, 5);
  const auto bias = random_uniform<double>(C, -1, 1, 6);
  std::vector<double> dbias(C, 0.0);
  ops::ref::channel_sum<double>(N, C, HW, rx.data(), dbias.data());
  ExpectGradClose(dbias, numeric_gradient(
                             [&](const std::vector<double>& bv) {
                               std::vector<double> y = x;
                               ops::ref::add_channel_bias<double>(N, C, HW, bv.data(), y.data());
                               return dot(y, rx);
                             },
                             bias));
  // y = sum(x) and sum of squares: gradients 1 and 2x.
  auto sum_loss = [&](const std::vector<double>& v) {
    double s;
    ops::ref::sum<double>(n, v.data(), &s);
    return 3.0 * s;
  };
  ExpectGradClose(std::vector<double>(n, 3.0), numeric_gradient(sum_loss, a));
  std::vector<double> two_a(n);
  ops::ref::scale<double>(n, 2.0, a.data(), two_a.data());
  ExpectGradClose(two_a, numeric_gradient(
                             [&](const std::vector<double>& v) {
                               double s;
                               ops::ref::sum_squares<double>(n, v.data(), &s);
                               return s;
                             },
                             a));
}

// ---- float16 / bfloat16 conversions (shared host/device code in half.h) ----

TEST(Half, KnownValues) {
  using ops::float_to_half_bits;
  EXPECT_EQ(float_to_half_bits(0.f), 0x0000);
  EXPECT_EQ(float_to_half_bits(-0.f), 0x8000);
  EXPECT_EQ(float_to_half_bits(1.f), 0x3c00);
  EXPECT_EQ(float_to_half_bits(-2.f), 0xc000);
  EXPECT_EQ(float_to_half_bits(65504.f), 0x7bff);        // largest finite
  EXPECT_EQ(float_to_half_bits(65519.99f), 0x7bff);      // just below the rounding midpoint
  EXPECT_EQ(float_to_half_bits(65520.f), 0x7c00);        // midpoint rounds to even = Inf
  EXPECT_EQ(float_to_half_bits(1e10f), 0x7c00);
  EXPECT_EQ(float_to_half_bits(-kInf), 0xfc00);
  EXPECT_EQ(float_to_half_bits(std::ldexp(1.f, -14)), 0x0400);  // smallest normal
  EXPECT_EQ(float_to_half_bits(std::ldexp(1.f, -24)), 0x0001);  // smallest subnormal
  EXPECT_EQ(float_to_half_bits(std::ldexp(1.f, -25)), 0x0000);  // tie to even: 0
  EXPECT_EQ(float_to_half_bits(std::ldexp(1.5f, -25)), 0x0001);
  EXPECT_EQ(float_to_half_bits(std::ldexp(3.f, -25)), 0x0002);  // 1.5 ulp: tie to even 2
  EXPECT_EQ(float_to_half_bits(std::ldexp(5.f, -25)), 0x0002);  // 2.5 ulp: tie to even 2
  EXPECT_EQ(float_to_half_bits(std::ldexp(1023.5f, -24)), 0x0400);  // subnormal rounds up into the normals
  EXPECT_EQ(float_to_half_bits(1.f + std::ldexp(1.f, -11)), 0x3c00);      // tie to even
  EXPECT_EQ(float_to_half_bits(1.f + std::ldexp(3.f, -11)), 0x3c02);      // tie to even (up)
  EXPECT_EQ(float_to_half_bits(std::numeric_limits<float>::denorm_min()), 0x0000);
  EXPECT_EQ(float_to_half_bits(std::numeric_limits<float>::quiet_NaN()) & 0x7e00, 0x7e00);
  EXPECT_EQ(float_to_half_bits(from_bits(0xff800001u)), 0xfe00);  // payload only in the low bits: quieted
  EXPECT_EQ(ops::half_bits_to_float(0x0001), std::ldexp(1.f, -24));
  EXPECT_EQ(ops::half_bits_to_float(0x03ff), std::ldexp(1023.f, -24));
  EXPECT_EQ(ops::half_bits_to_float(0xfbff), -65504.f);
  EXPECT_EQ(ops::half_bits_to_float(0x7c00), kInf);
  EXPECT_TRUE(std::isnan(ops::half_bits_to_float(0x7c01)));

  using ops::float_to_bfloat16_bits;
  EXPECT_EQ(float_to_bfloat16_bits(1.f), 0x3f80);
  EXPECT_EQ(float_to_bfloat16_bits(-0.f), 0x8000);
  EXPECT_EQ(float_to_bfloat16_bits(1.f + std::ldexp(1.f, -8)), 0x3f80);  // tie to even
  EXPECT_EQ(float_to_bfloat16_bits(1.f + std::ldexp(3.f, -8)), 0x3f82);  // tie to even (up)
  EXPECT_EQ(float_to_bfloat16_bits(std::numeric_limits<float>::max()), 0x7f80);  // overflow to Inf
  EXPECT_EQ(float_to_bfloat16_bits(-std::numeric_limits<float>::max()), 0xff80);
  EXPECT_EQ(float_to_bfloat16_bits(from_bits(0x7f7f7fffu)), 0x7f7f);  // below the midpoint: largest finite
  EXPECT_EQ(float_to_bfloat16_bits(from_bits(0x00018000u)), 0x0002);  // subnormal tie rounds to even (up)
  EXPECT_EQ(float_to_bfloat16_bits(from_bits(0x7f800001u)), 0x7fc0);  // NaN payload only in the low bits
  EXPECT_EQ(float_to_bfloat16_bits(from_bits(0xffc12345u)), 0xffc1);  // NaN: sign and top payload kept
  EXPECT_EQ(ops::bfloat16_bits_to_float(0x0001), from_bits(0x00010000u));
}

// Every 16-bit pattern decodes to the float it denotes and encodes back to itself (NaNs keep their payload).
TEST(Half, ExhaustiveRoundTrip) {
  for (uint32_t h = 0; h < 65536; ++h) {
    const uint16_t bits = static_cast<uint16_t>(h);
    const float f = ops::half_bits_to_float(bits);
    const uint32_t exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
    const double mag = exp == 0 ? std::ldexp(static_cast<double>(mant), -24)
                                : std::ldexp(1.0 + mant / 1024.0, static_cast<int>(exp) - 15);
    if (exp == 0x1f) {
      ASSERT_EQ(std::isnan(f), mant != 0) << h;
    } else {
      ASSERT_EQ(static_cast<double>(f), (h & 0x8000) ? -mag : mag) << h;
    }
    ASSERT_EQ(ops::float_to_half_bits(f), bits) << h;
    const float fb = ops::bfloat16_bits_to_float(bits);
    ASSERT_EQ(to_bits(fb), h << 16) << h;
    ASSERT_EQ(ops::float_to_bfloat16_bits(fb), bits) << h;
  }
}

// Rounding to nearest even, checked against the decoded neighbours for floats sampled across all 2^32
// patterns (every exponent, both signs, and the exact midpoints of adjacent 16-bit values).
TEST(Half, NearestEvenOverSampledFloats) {
  auto check = [](float x, uint16_t (*enc)(float), float (*dec)(uint16_t), float max_finite, double ulp_at_max) {
    if (std::isnan(x)) return ::testing::AssertionResult(std::isnan(dec(enc(x))));
    const uint16_t b = enc(x);
    const double r = dec(b), xd = x;
    const double limit = static_cast<double>(max_finite) + ulp_at_max / 2;  // midpoint above the max rounds to Inf
    if (std::fabs(xd) >= limit) {
      if (std::isinf(r) && std::signbit(r) == std::signbit(xd)) return ::testing::AssertionSuccess();
      return ::testing::AssertionFailure() << x << " should overflow";
    }
    if (std::signbit(r) != std::signbit(xd) || std::isinf(r))
      return ::testing::AssertionFailure() << x << " -> " << r;
    // The neighbours one 16-bit step up and down in magnitude (b +- 1 within the sign's range).
    const uint16_t mag = b & 0x7fff;
    const double up = dec(static_cast<uint16_t>(b + 1));
    const double down = mag ? dec(static_cast<uint16_t>(b - 1)) : -r;
    const double err = std::fabs(xd - r);
    const double err_up = std::isinf(up) ? INFINITY : std::fabs(xd - up);
    const double err_down = std::fabs(xd - down);
    if (err > err_up || err > err_down) return ::testing::AssertionFailure() << x << " not rounded to nearest: " << r;
    if ((err == err_up || (mag && err == err_down)) && (b & 1))
      return ::testing::AssertionFailure() << x << " tie not rounded to even: " << r;
    return ::testing::AssertionSuccess();
  };
  const float half_max = 65504.f, bf16_max = ops::bfloat16_bits_to_float(0x7f7f);
  const double half_ulp_max = 32.0, bf16_ulp_max = std::ldexp(1.0, 127 - 7);
  for (uint64_t u = 0; u < (uint64_t(1) << 32); u += 4093) {
    const float x = from_bits(static_cast<uint32_t>(u));
    ASSERT_TRUE(check(x, ops::float_to_half_bits, ops::half_bits_to_float, half_max, half_ulp_max));
    ASSERT_TRUE(check(x, ops::float_to_bfloat16_bits, ops::bfloat16_bits_to_float, bf16_max, bf16_ulp_max));
  }
  // Exact midpoints between adjacent finite 16-bit values, which must go to the even neighbour.
  for (uint32_t h = 0; h < 0x7bff; ++h) {
    const double mid = 0.5 * (static_cast<double>(ops::half_bits_to_float(static_cast<uint16_t>(h))) +
                              ops::half_bits_to_float(static_cast<uint16_t>(h + 1)));
    ASSERT_EQ(ops::float_to_half_bits(static_cast<float>(mid)), (h & 1) ? h + 1 : h) << h;
  }
  for (uint32_t h = 0; h < 0x7f7f; ++h) {
    const double mid = 0.5 * (static_cast<double>(ops::bfloat16_bits_to_float(static_cast<uint16_t>(h))) +
                              ops::bfloat16_bits_to_float(static_cast<uint16_t>(h + 1)));
    ASSERT_EQ(ops::float_to_bfloat16_bits(static_cast<float>(mid)), (h & 1) ? h + 1 : h) << h;
  }
}

// ---- every backend against the reference ----

class ElementwiseBackends : public ::testing::TestWithParam<Backend> {};

// Launch configurations for the device backends: the default, and small blocks with a capped grid (so the
// grid-stride loops and the multi-warp block reductions iterate).
std::vector<int> block_overrides(Backend b) {
  return is_device_backend(b) ? std::vector<int>{0, 64, 96} : std::vector<int>{0};
}

std::unique_ptr<launch::BlockSizeOverride> override_for(int block) {
  return block ? std::make_unique<launch::BlockSizeOverride>(block) : nullptr;
}

TEST_P(ElementwiseBackends, MapsMatchReference) {
  const Backend b = GetParam();
  VIGIL_SKIP_IF_UNAVAILABLE(b);
  for (int64_t n : {0, 1, 7, 1000, 70001, 1032256 /* 16 x 254 x 254: the seed net's first conv output */}) {
    for (int block : block_overrides(b)) {
      SCOPED_TRACE(::testing::Message() << "n " << n << " block " << block);
      const auto guard = override_for(block);
      const auto a = random_uniform(n, -2, 2, 1), bb = random_uniform(n, -2, 2, 2);
      const auto dy = random_uniform(n, -1, 1, 3), y0 = random_uniform(n, -1, 1, 4);
      const float alpha = -0.75f;
      std::vector<float> add_ref(n), mul_ref(n), scale_ref(n), axpy_ref = y0, fill_ref(n), da_ref = y0, db_ref = a;
      ops::ref::add<float>(n, a.data(), bb.data(), add_ref.data());
      ops::ref::mul<float>(n, a.data(), bb.data(), mul_ref.data());
      ops::ref::scale<float>(n, alpha, a.data(), scale_ref.data());
      ops::ref::axpy<float>(n, alpha, a.data(), axpy_ref.data());
      ops::ref::fill<float>(n, 3.5f, fill_ref.data());
      ops::ref::mul_backward<float>(n, a.data(), bb.data(), dy.data(), da_ref.data(), db_ref.data());

      Buf<> ba(b, a), bbb(b, bb), bdy(b, dy), by(b, n), bz(b, y0), bda(b, y0), bdb(b, a);
      ops::add(b, n, ba.data(), bbb.data(), by.data());
      ExpectAllClose(by.host(), add_ref, tol::kExact);
      ops::mul(b, n, ba.data(), bbb.data(), by.data());
      ExpectAllClose(by.host(), mul_ref, tol::kExact);
      ops::scale(b, n, alpha, ba.data(), by.data());
      ExpectAllClose(by.host(), scale_ref, tol::kExact);
      ops::copy(b, n, ba.data(), by.data());
      ExpectAllClose(by.host(), a, tol::kExact);
      ops::fill(b, n, 3.5f, by.data());
      ExpectAllClose(by.host(), fill_ref, tol::kExact);
      ops::axpy(b, n, alpha, ba.data(), bz.data());  // accumulates into y0
      ExpectAllClose(bz.host(), axpy_ref, tol::kElementwise);
      ops::mul_backward(b, n, ba.data(), bbb.data(), bdy.data(), bda.data(), bdb.data());  // accumulate into y0, a
      ExpectAllClose(bda.host(), da_ref, tol::kElementwise);
      ExpectAllClose(bdb.host(), db_ref, tol::kElementwise);
      // One gradient only, and y aliasing an input.
      ops::mul_backward(b, n, ba.data(), bbb.data(), bdy.data(), nullptr, bdb.data());
      ops::ref::mul_backward<float>(n, a.data(), bb.data(), dy.data(), nullptr, db_ref.data());
      ExpectAllClose(bdb.host(), db_ref, tol::kElementwise);
      ops::add(b, n, ba.data(), bbb.data(), ba.data());
      ExpectAllClose(ba.host(), add_ref, tol::kExact);
    }
  }
}

TEST_P(ElementwiseBackends, ReductionsMatchReference) {
  const Backend b = GetParam();
  VIGIL_SKIP_IF_UNAVAILABLE(b);
  // 1e6 + 1: large and not a multiple of any block; 70001, 257: odd sizes around block multiples.
  for (int64_t n : {0, 1, 31, 257, 70001, 1000001}) {
    for (int block : block_overrides(b)) {
      SCOPED_TRACE(::testing::Message() << "n " << n << " block " << block);
      const auto guard = override_for(block);
      const auto x = random_uniform(n, -1, 2, 7);  // mean 0.5: the sum does not cancel to ~0
      float sum_ref = 0, sq_ref = 0;
      ops::ref::sum<float>(n, x.data(), &sum_ref);
      ops::ref::sum_squares<float>(n, x.data(), &sq_ref);
      Buf<> bx(b, x), bout(b, 1, 123.f);
      ops::sum(b, n, bx.data(), bout.data());
      const auto s1 = bout.host();
      ExpectAllClose(s1, std::vector<float>{sum_ref}, tol::kReduction);
      ops::sum(b, n, bx.data(), bout.data());
      EXPECT_EQ(to_bits(bout.host()[0]), to_bits(s1[0])) << "sum is not deterministic";
      ops::sum_squares(b, n, bx.data(), bout.data());
      const auto q1 = bout.host();
      ExpectAllClose(q1, std::vector<float>{sq_ref}, tol::kReduction);
      ops::sum_squares(b, n, bx.data(), bout.data());
      EXPECT_EQ(to_bits(bout.host()[0]), to_bits(q1[0])) << "sum_squares is not deterministic";
    }
  }
}

// The Cpu reductions sum fixed chunks in a fixed order: the same bits with one thread as with several.
TEST(ElementwiseCpu, ReductionsIndependentOfThreadCount) {
  const int64_t n = 1000001, c = 16, hw = 254 * 254;
  const auto x = random_uniform(n, -1, 2, 11), t = random_uniform(c * hw, -1, 2, 12);
  auto run = [&] {
    std::vector<float> out(2 + c, 0.f);
    ops::sum(Backend::Cpu, n, x.data(), &out[0]);
    ops::sum_squares(Backend::Cpu, n, x.data(), &out[1]);
    ops::channel_sum(Backend::Cpu, 1, c, hw, t.data(), &out[2]);
    return out;
  };
  const int saved = cpu::num_threads();
  const auto many = run();
  cpu::set_num_threads(1);
  const auto one = run();
  cpu::set_num_threads(saved);
  EXPECT_EQ(0, std::memcmp(many.data(), one.data(), many.size() * sizeof(float)));
}

struct ChannelShape {
  int64_t n, c, hw;
};

TEST_P(ElementwiseBackends, ChannelOpsMatchReference) {
  const Backend b = GetParam();
  VIGIL_SKIP_IF_UNAVAILABLE(b);
  const ChannelShape shapes[] = {
      {1, 1, 1}, {3, 5, 7}, {2, 3, 0}, {0, 4, 9}, {7, 10, 1} /* linear-layer bias */, {1, 1, 70001},
      // the seed net's conv outputs (3x512x512 input, 7x7/2 pad 1, then 3x3 pad 1 after each 2x2 pool)
      {1, 16, 254 * 254}, {2, 32, 127 * 127}, {2, 64, 63 * 63}, {2, 128, 31 * 31}, {2, 256, 15 * 15},
      {1, 3000, 2} /* more channels than the pass-1 budget */};
  for (const auto& s : shapes) {
    for (int block : block_overrides(b)) {
      SCOPED_TRACE(::testing::Message() << "(" << s.n << ", " << s.c << ", " << s.hw << ") block " << block);
      const auto guard = override_for(block);
      const int64_t total = s.n * s.c * s.hw;
      const auto x = random_uniform(total, -1, 2, 8);
      const auto bias = random_uniform(s.c, -1, 1, 9), out0 = random_uniform(s.c, -5, 5, 10);
      std::vector<float> biased_ref = x, sum_ref = out0;
      ops::ref::add_channel_bias<float>(s.n, s.c, s.hw, bias.data(), biased_ref.data());
      ops::ref::channel_sum<float>(s.n, s.c, s.hw, x.data(), sum_ref.data());

      Buf<> bx(b, x), bbias(b, bias), bout(b, out0);
      ops::channel_sum(b, s.n, s.c, s.hw, bx.data(), bout.data());  // accumulates into out0
      const auto first = bout.host();
      ExpectAllClose(first, sum_ref, tol::kReduction);
      Buf<> bout2(b, out0);
      ops::channel_sum(b, s.n, s.c, s.hw, bx.data(), bout2.data());
      EXPECT_EQ(bout2.host(), first) << "channel_sum is not deterministic";
      ops::add_channel_bias(b, s.n, s.c, s.hw, bbias.data(), bx.data());
      ExpectAllClose(bx.host(), biased_ref, tol::kExact);
    }
  }
}

// All 65536 patterns through every backend: bit-identical to the reference (shared half.h code), which the
// Half tests above pin down exactly; plus floats sampled across all 2^32 patterns the other way.
TEST_P(ElementwiseBackends, ConversionsMatchReferenceBitForBit) {
  const Backend b = GetParam();
  VIGIL_SKIP_IF_UNAVAILABLE(b);
  std::vector<uint16_t> all(65536);
  for (uint32_t h = 0; h < 65536; ++h) all[h] = static_cast<uint16_t>(h);
  std::vector<float> floats;
  for (uint64_t u = 0; u < (uint64_t(1) << 32); u += 65521) floats.push_back(from_bits(static_cast<uint32_t>(u)));
  for (int block : block_overrides(b)) {
    SCOPED_TRACE(::testing::Message() << "block " << block);
    const auto guard = override_for(block);
    const int64_t n16 = all.size(), n32 = floats.size();
    std::vector<float> hf(n16), bf(n16);
    std::vector<uint16_t> fh(n32), fb(n32);
    ops::ref::half_to_float(n16, all.data(), hf.data());
    ops::ref::bfloat16_to_float(n16, all.data(), bf.data());
    ops::ref::float_to_half(n32, floats.data(), fh.data());
    ops::ref::float_to_bfloat16(n32, floats.data(), fb.data());

    Buf<uint16_t> b16(b, all), bout16(b, n32);
    Buf<float> bf32(b, floats), bout32(b, n16);
    ops::half_to_float(b, n16, b16.data(), bout32.data());
    auto got = bout32.host();
    EXPECT_EQ(0, std::memcmp(got.data(), hf.data(), n16 * sizeof(float))) << "half_to_float";
    ops::float_to_half(b, n16, bout32.data(), b16.data());  // back again: the identity on every pattern
    EXPECT_EQ(b16.host(), all) << "float16 round trip";
    ops::bfloat16_to_float(b, n16, b16.data(), bout32.data());
    got = bout32.host();
    EXPECT_EQ(0, std::memcmp(got.data(), bf.data(), n16 * sizeof(float))) << "bfloat16_to_float";
    ops::float_to_bfloat16(b, n16, bout32.data(), b16.data());
    EXPECT_EQ(b16.host(), all) << "bfloat16 round trip";
    ops::float_to_half(b, n32, bf32.data(), bout16.data());
    EXPECT_EQ(bout16.host(), fh) << "float_to_half";
    ops::float_to_bfloat16(b, n32, bf32.data(), bout16.data());
    EXPECT_EQ(bout16.host(), fb) << "float_to_bfloat16";
  }
}

TEST_P(ElementwiseBackends, MatchesPyTorch) {
  const Backend b = GetParam();
  VIGIL_SKIP_IF_UNAVAILABLE(b);
  for (const auto& c : load_golden("elementwise")) {
    SCOPED_TRACE(c.name);
    if (c.name.rfind("maps", 0) == 0) {
      const float alpha = c.params.at("alpha").get<float>();
      const auto& a = c.at("a").data;
      const int64_t n = a.size();
      Buf<> ba(b, a), bb(b, c.at("b").data), bdy(b, c.at("dy").data), by(b, n), bz(b, c.at("y0").data);
      Buf<> bda(b, c.at("da0").data), bdb(b, c.at("db0").data);
      ops::add(b, n, ba.data(), bb.data(), by.data());
      ExpectAllClose(by.host(), c.at("add").data, tol::kGolden);
      ops::mul(b, n, ba.data(), bb.data(), by.data());
      ExpectAllClose(by.host(), c.at("mul").data, tol::kGolden);
      ops::scale(b, n, alpha, ba.data(), by.data());
      ExpectAllClose(by.host(), c.at("scale").data, tol::kGolden);
      ops::axpy(b, n, alpha, ba.data(), bz.data());
      ExpectAllClose(bz.host(), c.at("axpy").data, tol::kGolden);
      ops::mul_backward(b, n, ba.data(), bb.data(), bdy.data(), bda.data(), bdb.data());
      ExpectAllClose(bda.host(), c.at("da").data, tol::kGolden);
      ExpectAllClose(bdb.host(), c.at("db").data, tol::kGolden);
    } else if (c.name.rfind("reductions", 0) == 0) {
      const auto& x = c.at("x").data;
      Buf<> bx(b, x), bout(b, 1);
      ops::sum(b, x.size(), bx.data(), bout.data());
      ExpectAllClose(bout.host(), c.at("sum").data, tol::kGolden);
      ops::sum_squares(b, x.size(), bx.data(), bout.data());
      ExpectAllClose(bout.host(), c.at("sum_squares").data, tol::kGolden);
    } else if (c.name.rfind("channels", 0) == 0) {
      const int64_t n = c.params.at("n"), ch = c.params.at("c"), hw = c.params.at("hw");
      Buf<> bx(b, c.at("x").data), bbias(b, c.at("bias").data), bout(b, c.at("out0").data);
      ops::channel_sum(b, n, ch, hw, bx.data(), bout.data());
      ExpectAllClose(bout.host(), c.at("channel_sum").data, tol::kGolden);
      ops::add_channel_bias(b, n, ch, hw, bbias.data(), bx.data());
      ExpectAllClose(bx.host(), c.at("biased").data, tol::kGolden);
    } else {
      const bool half = c.name == "float16";
      ASSERT_TRUE(half || c.name == "bfloat16");
      const auto& x = c.at("x").data;
      const int64_t n = x.size();
      Buf<> bx(b, x), by(b, n);
      Buf<uint16_t> bits(b, n);
      if (half) {
        ops::float_to_half(b, n, bx.data(), bits.data());
        ops::half_to_float(b, n, bits.data(), by.data());
      } else {
        ops::float_to_bfloat16(b, n, bx.data(), bits.data());
        ops::bfloat16_to_float(b, n, bits.data(), by.data());
      }
      const auto y = by.host();
      ExpectAllClose(y, c.at("y").data, tol::kExact);
      for (int64_t i = 0; i < n; ++i)  // signed zeros too
        EXPECT_EQ(std::signbit(y[i]), std::signbit(c.at("y").data[i])) << "at " << i;
    }
  }
}

TEST(Elementwise, RejectsBadArguments) {
  float v = 0;
  EXPECT_THROW(ops::fill(Backend::Cpu, -1, 0.f, &v), Error);
  EXPECT_THROW(ops::add(Backend::Cpu, 1, &v, nullptr, &v), Error);
  EXPECT_THROW(ops::sum(Backend::Cpu, 1, &v, nullptr), Error);
  EXPECT_THROW(ops::channel_sum(Backend::Cpu, 1, -2, 1, &v, &v), Error);
  EXPECT_THROW(ops::mul_backward(Backend::Cpu, 1, &v, nullptr, &v, &v, nullptr), Error);  // da needs b
  EXPECT_NO_THROW(ops::mul_backward(Backend::Reference, 1, nullptr, &v, &v, &v, nullptr));  // ... but not a
  EXPECT_NO_THROW(ops::mul_backward(Backend::Cpu, 1, nullptr, &v, &v, &v, nullptr));
  EXPECT_NO_THROW(ops::copy(Backend::Cpu, 0, nullptr, nullptr));
}

INSTANTIATE_TEST_SUITE_P(All, ElementwiseBackends,
                         ::testing::Values(Backend::Reference, Backend::Cpu, Backend::Cuda, Backend::Cudnn),
                         BackendParamName);

}  // namespace
}  // namespace vigil::test
