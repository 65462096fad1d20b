// Inverted dropout: Philox known answers, hand-computed masks, double gradient check, mask statistics, every
// backend vs the reference (bit-identical Philox masks; cuDNN checked for consistency), PyTorch statistics.
#include "dropout/dropout.h"
#include "dropout/dropout_ref.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <memory>
#include <vector>

#include "common/error.h"
#include "common/launch.h"
#include "common/rng.h"
#include "support/allclose.h"
#include "support/backends.h"
#include "support/golden.h"
#include "support/gradcheck.h"
#include "support/random.h"

namespace vigil::test {
namespace {

using ops::DropoutParams;

// Kept counts are Binomial(n, 1-p). Accept |observed - expected| <= kSigmas standard deviations (+0.5 for
// discreteness): for a fair generator a failure by chance has probability below 1e-6 per check.
constexpr double kSigmas = 5.0;

::testing::AssertionResult KeptCountPlausible(int64_t kept, int64_t trials, double keep_prob) {
  const double expected = trials * keep_prob, sigma = std::sqrt(trials * keep_prob * (1 - keep_prob));
  if (std::fabs(kept - expected) <= kSigmas * sigma + 0.5) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << kept << " of " << trials << " kept, expected " << expected << " +- "
                                       << kSigmas << " * " << sigma;
}

// Backends whose mask is the shared Philox stream (bit-identical to the reference); Cudnn uses cuDNN's RNG.
bool philox_mask(Backend b) { return b != Backend::Cudnn; }

int64_t count_nonzero(const std::vector<float>& v) {
  int64_t c = 0;
  for (float f : v) c += f != 0.f;
  return c;
}

// ---------------------------------------------------------------------------------------------------------
// rng.h itself

TEST(PhiloxRng, KnownAnswerVectors) {
  // Philox4x32-10 test vectors (Salmon et al., Random123 kat_vectors). philox4x32(seed, stream, index) packs
  // key = (seed lo, seed hi) and counter = (index lo, index hi, stream lo, stream hi).
  const Philox4 zero = philox4x32(0, 0, 0);
  EXPECT_EQ(zero.v[0], 0x6627e8d5u);
  EXPECT_EQ(zero.v[1], 0xe169c58du);
  EXPECT_EQ(zero.v[2], 0xbc57ac4cu);
  EXPECT_EQ(zero.v[3], 0x9b00dbd8u);
  const uint64_t ones = ~uint64_t(0);
  const Philox4 full = philox4x32(ones, ones, ones);
  EXPECT_EQ(full.v[0], 0x408f276du);
  EXPECT_EQ(full.v[1], 0x41c83b0eu);
  EXPECT_EQ(full.v[2], 0xa20bc7c6u);
  EXPECT_EQ(full.v[3], 0x6d5451fdu);
}

TEST(PhiloxRng, UniformIndexingAndRange) {
  // Element i is word i % 4 of Philox call i / 4; the mapping keeps the top 24 bits and stays below 1.
  for (uint64_t i : {0ull, 1ull, 2ull, 3ull, 4ull, 7ull, 1000001ull, (1ull << 40) + 3}) {
    const Philox4 r = philox4x32(42, 9, i / 4);
    EXPECT_EQ(philox_uniform(42, 9, i), static_cast<float>(r.v[i % 4] >> 8) / 16777216.0f) << i;
  }
  EXPECT_EQ(uint_to_unit_float(0u), 0.f);
  EXPECT_EQ(uint_to_unit_float(0xffffffffu), 16777215.f / 16777216.f);
  EXPECT_LT(uint_to_unit_float(0xffffffffu), 1.f);
}

// ---------------------------------------------------------------------------------------------------------
// Reference

TEST(DropoutRef, HandComputed) {
  // seed 0, stream 0: elements 0..3 draw from philox4x32(0, 0, 0) = 6627e8d5 e169c58d bc57ac4c 9b00dbd8, i.e.
  // uniforms 0x6627e8/2^24 = 0.3990, 0xe169c5/2^24 = 0.8805, 0xbc57ac/2^24 = 0.7357, 0x9b00db/2^24 = 0.6055.
  const std::vector<float> x = {1.f, -2.f, 3.f, 4.f};
  std::vector<float> y(4);
  std::vector<uint8_t> mask(4, 7);
  ops::ref::dropout_forward(DropoutParams{0.5f, 0, 0}, 4, x.data(), y.data(), mask.data());
  EXPECT_EQ(mask, (std::vector<uint8_t>{0, 1, 1, 1}));
  EXPECT_EQ(y, (std::vector<float>{0.f, -4.f, 6.f, 8.f}));  // scale 1/(1-0.5) = 2
  ops::ref::dropout_forward(DropoutParams{0.75f, 0, 0}, 4, x.data(), y.data(), mask.data());
  EXPECT_EQ(mask, (std::vector<uint8_t>{0, 1, 0, 0}));
  EXPECT_EQ(y, (std::vector<float>{0.f, -8.f, 0.f, 0.f}));  // scale 4
  ops::ref::dropout_forward(DropoutParams{0.3f, 0, 0}, 4, x.data(), y.data(), mask.data());
  EXPECT_EQ(mask, (std::vector<uint8_t>{1, 1, 1, 1}));
  ExpectAllClose(y, (std::vector<float>{1.f / 0.7f, -2.f / 0.7f, 3.f / 0.7f, 4.f / 0.7f}), tol::kElementwise);
}

TEST(DropoutRef, BackwardAccumulates) {
  const std::vector<uint8_t> mask = {0, 1, 1, 0, 1};
  const std::vector<float> dy = {1.f, 1.f, -0.5f, 3.f, 2.f};
  std::vector<float> dx = {9.f, 9.f, 9.f, 9.f, 9.f};
  ops::ref::dropout_backward(DropoutParams{0.5f, 0, 0}, 5, dy.data(), mask.data(), dx.data());
  EXPECT_EQ(dx, (std::vector<float>{9.f, 11.f, 8.f, 9.f, 13.f}));
  // A second call adds again.
  ops::ref::dropout_backward(DropoutParams{0.5f, 0, 0}, 5, dy.data(), mask.data(), dx.data());
  EXPECT_EQ(dx, (std::vector<float>{9.f, 13.f, 7.f, 9.f, 17.f}));
}

TEST(DropoutRef, GradCheckDouble) {
  for (float p : {0.2f, 0.5f, 0.8f}) {
    const DropoutParams params{p, 1234, 5};
    const size_t n = 37;
    const auto x = random_uniform<double>(n, -2, 2, 1);
    const auto r = random_uniform<double>(n, -1, 1, 2);
    std::vector<uint8_t> mask(n);
    auto loss = [&](const std::vector<double>& xs) {  // fixed seed/stream: the mask is the same every call
      std::vector<double> y(xs.size());
      std::vector<uint8_t> m(xs.size());
      ops::ref::dropout_forward(params, xs.size(), xs.data(), y.data(), m.data());
      return dot(y, r);
    };
    std::vector<double> y(n);
    ops::ref::dropout_forward(params, n, x.data(), y.data(), mask.data());
    std::vector<double> dx(n, 0.0);
    ops::ref::dropout_backward(params, n, r.data(), mask.data(), dx.data());
    ExpectGradClose(dx, numeric_gradient(loss, x));
  }
}

TEST(DropoutRef, ZeroProbabilityIsIdentity) {
  const auto x = random_uniform(1001, -3, 3, 3);
  std::vector<float> y(x.size());
  std::vector<uint8_t> mask(x.size());
  ops::ref::dropout_forward(DropoutParams{0.f, 99, 3}, x.size(), x.data(), y.data(), mask.data());
  EXPECT_EQ(y, x);
  EXPECT_EQ(mask, std::vector<uint8_t>(x.size(), 1));
}

// Kept fraction overall, per Philox word (i % 4) and for adjacent pairs, over 1e6 elements.
TEST(DropoutRef, MaskStatistics) {
  const int64_t n = 1000000;
  const std::vector<float> x(n, 1.f);
  std::vector<float> y(n);
  std::vector<uint8_t> mask(n);
  for (float p : {0.1f, 0.3f, 0.5f, 0.9f}) {
    SCOPED_TRACE(p);
    ops::ref::dropout_forward(DropoutParams{p, 2024, 1}, n, x.data(), y.data(), mask.data());
    int64_t kept = 0, lane[4] = {0, 0, 0, 0}, pairs = 0;
    for (int64_t i = 0; i < n; ++i) {
      kept += mask[i];
      lane[i % 4] += mask[i];
      if (i % 2 == 0) pairs += mask[i] && mask[i + 1];
    }
    const double q = 1.0 - p;
    EXPECT_TRUE(KeptCountPlausible(kept, n, q));
    for (int k = 0; k < 4; ++k) EXPECT_TRUE(KeptCountPlausible(lane[k], n / 4, q)) << "word " << k;
    EXPECT_TRUE(KeptCountPlausible(pairs, n / 2, q * q)) << "adjacent pairs";
    // Inverted dropout is unbiased: sum(y) = kept * scale ~ n.
    double sum = 0;
    for (float v : y) sum += v;
    EXPECT_NEAR(sum, kept * static_cast<double>(ops::ref::dropout_scale(p)), 1e-6 * sum);
  }
}

TEST(DropoutRef, StreamsAndSeedsGiveDifferentMasks) {
  const int64_t n = 40000;
  const std::vector<float> x(n, 1.f);
  std::vector<float> y(n);
  auto mask_of = [&](const DropoutParams& p) {
    std::vector<uint8_t> m(n);
    ops::ref::dropout_forward(p, n, x.data(), y.data(), m.data());
    return m;
  };
  const float p = 0.5f;
  const auto base = mask_of({p, 7, 0});
  EXPECT_EQ(base, mask_of({p, 7, 0}));  // deterministic
  for (const DropoutParams& other : {DropoutParams{p, 7, 1}, DropoutParams{p, 7, uint64_t(1) << 32},
                                     DropoutParams{p, 8, 0}, DropoutParams{p, uint64_t(7) | (uint64_t(1) << 40), 0}}) {
    SCOPED_TRACE(::testing::Message() << "seed " << other.seed << " stream " << other.stream);
    const auto m = mask_of(other);
    int64_t both = 0;
    for (int64_t i = 0; i < n; ++i) both += base[i] && m[i];
    // Independent masks keep an element in both with probability (1-p)^2.
    EXPECT_TRUE(KeptCountPlausible(both, n, (1 - p) * (1 - p)));
  }
}

TEST(Dropout, RejectsBadParameters) {
  for (Backend b : {Backend::Reference, Backend::Cpu, Backend::Cuda, Backend::Cudnn}) {
    SCOPED_TRACE(backend_name(b));
    float y = 0, dx = 0;
    const float x = 1;
    uint8_t reserve = 0;
    // Parameters are validated before any backend runs, so this holds on machines without a GPU too.
    for (float p : {-0.1f, 1.f, 1.5f, NAN}) {
      EXPECT_THROW(ops::dropout_forward(b, DropoutParams{p, 0, 0}, 1, &x, &y, &reserve), Error);
      EXPECT_THROW(ops::dropout_backward(b, DropoutParams{p, 0, 0}, 1, &x, &reserve, &dx), Error);
    }
    EXPECT_THROW(ops::dropout_forward(b, DropoutParams{0.5f, 0, 0}, -1, &x, &y, &reserve), Error);
    EXPECT_THROW(ops::dropout_forward(b, DropoutParams{0.5f, 0, 0}, 4, nullptr, &y, &reserve), Error);
    EXPECT_THROW(ops::dropout_backward(b, DropoutParams{0.5f, 0, 0}, 4, &x, nullptr, &dx), Error);
    EXPECT_THROW(ops::dropout_reserve_bytes(b, -1), Error);
    if (b == Backend::Cudnn) {  // cuDNN tensor descriptors take int sizes
      EXPECT_THROW(ops::dropout_forward(b, DropoutParams{0.5f, 0, 0}, int64_t(1) << 31, &x, &y, &reserve), Error);
      EXPECT_THROW(ops::dropout_reserve_bytes(b, int64_t(1) << 31), Error);
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// Every backend

class DropoutBackends : public ::testing::TestWithParam<Backend> {};

// Runs forward + backward on `b` for x (n) starting `off` elements into the buffers (off = 1 misaligns the
// pointers, so the CUDA kernel's scalar path runs), with dx pre-filled by dx0. Returns y, dx and the mask
// (the reserve bytes; only meaningful for Philox backends).
struct Outputs {
  std::vector<float> y, dx;
  std::vector<uint8_t> mask;
};

template <typename T>
std::vector<T> tail(const std::vector<T>& v, size_t off) {
  return std::vector<T>(v.begin() + off, v.end());
}

Outputs run_backend(Backend b, const DropoutParams& p, const std::vector<float>& x, const std::vector<float>& dy,
                const std::vector<float>& dx0, size_t off) {
  const int64_t n = static_cast<int64_t>(x.size());
  std::vector<float> pad(off, 5.f);
  auto padded = [&](const std::vector<float>& v) {
    std::vector<float> out = pad;
    out.insert(out.end(), v.begin(), v.end());
    return out;
  };
  const size_t reserve = ops::dropout_reserve_bytes(b, n);
  Buf<> bx(b, padded(x)), by(b, n + off), bdy(b, padded(dy)), bdx(b, padded(dx0));
  Buf<uint8_t> bres(b, reserve + off, uint8_t(7));
  ops::dropout_forward(b, p, n, bx.data() + off, by.data() + off, bres.data() + off);
  ops::dropout_backward(b, p, n, bdy.data() + off, bres.data() + off, bdx.data() + off);
  const std::vector<float> y = by.host(), dx = bdx.host();
  // Nothing before the tensors was touched.
  EXPECT_EQ(std::vector<float>(y.begin(), y.begin() + off), std::vector<float>(off, 0.f));
  EXPECT_EQ(std::vector<float>(dx.begin(), dx.begin() + off), pad);
  return Outputs{tail(y, off), tail(dx, off), tail(bres.host(), off)};
}

// Checks that doesn't depend on which generator made the mask: y is 0 or x * scale, dx0 changed exactly where
// y is nonzero (x has no zeros), and the kept count is plausible for p.
void ExpectConsistent(const DropoutParams& p, const std::vector<float>& x, const std::vector<float>& dy,
                      const std::vector<float>& dx0, const Outputs& r, Tol tol) {
  const size_t n = x.size();
  const float scale = ops::ref::dropout_scale(p.p);
  std::vector<float> y_expect(n), dx_expect(n);
  for (size_t i = 0; i < n; ++i) {
    const bool kept = r.y[i] != 0.f;
    y_expect[i] = kept ? x[i] * scale : 0.f;
    dx_expect[i] = kept ? dx0[i] + dy[i] * scale : dx0[i];
  }
  ExpectAllClose(r.y, y_expect, tol);
  ExpectAllClose(r.dx, dx_expect, tol);
  EXPECT_TRUE(KeptCountPlausible(count_nonzero(r.y), n, 1.0 - p.p));
}

// The seed net's activation sizes at batch 1: conv1 output 16x254x254, the 256x7x7 features before the
// classifier, and a 256-wide pooled vector; plus odd and tiny sizes around the 4-element Philox groups.
const std::vector<int64_t> kSizes = {1, 2, 3, 4, 5, 7, 64, 1001, 4099, 70001, 256, 256 * 7 * 7, 16 * 254 * 254};

TEST_P(DropoutBackends, MatchesReference) {
  const Backend b = GetParam();
  VIGIL_SKIP_IF_UNAVAILABLE(b);
  const std::vector<int> blocks = is_device_backend(b) ? std::vector<int>{0, 64, 128} : std::vector<int>{0};
  const std::vector<size_t> offsets = philox_mask(b) ? std::vector<size_t>{0, 1} : std::vector<size_t>{0};
  for (int64_t n : kSizes) {
    const bool big = n > 100000;
    const std::vector<float> ps = big ? std::vector<float>{0.5f} : std::vector<float>{0.1f, 0.5f, 0.9f};
    const auto x = random_distinct(n, 3);
    const auto dy = random_uniform(n, -1, 1, 4);
    const auto dx0 = random_uniform(n, -1, 1, 5);
    for (float pp : ps) {
      const DropoutParams p{pp, 0x0123456789abcdefull, 0x900000003ull};
      std::vector<float> y_ref(n), dx_ref = dx0;
      std::vector<uint8_t> mask_ref(n);
      ops::ref::dropout_forward(p, n, x.data(), y_ref.data(), mask_ref.data());
      ops::ref::dropout_backward(p, n, dy.data(), mask_ref.data(), dx_ref.data());
      for (int block : blocks) {  // 0: the launcher's default; 64/128 with a small grid: the grid-stride path
        std::unique_ptr<launch::BlockSizeOverride> guard;
        if (block) guard = std::make_unique<launch::BlockSizeOverride>(block);
        for (size_t off : offsets) {
          SCOPED_TRACE(::testing::Message() << "n " << n << " p " << pp << " block " << block << " offset " << off);
          const Outputs r = run_backend(b, p, x, dy, dx0, off);
          if (philox_mask(b)) {
            ExpectAllClose(r.mask, mask_ref, tol::kExact);
            ExpectAllClose(r.y, y_ref, tol::kExact);
            ExpectAllClose(r.dx, dx_ref, tol::kElementwise);
          } else {
            // cuDNN scales with its own formula (x * (1/(1-p)) or x / (1-p)): allow the one-ulp difference.
            ExpectConsistent(p, x, dy, dx0, r, tol::kElementwise);
          }
        }
      }
    }
  }
}

TEST_P(DropoutBackends, ZeroProbabilityIsIdentity) {
  const Backend b = GetParam();
  VIGIL_SKIP_IF_UNAVAILABLE(b);
  for (int64_t n : {1, 5, 4099}) {
    const auto x = random_uniform(n, -3, 3, 6);
    const auto dy = random_uniform(n, -1, 1, 7);
    const auto dx0 = random_uniform(n, -1, 1, 8);
    std::vector<float> dx_expect(n);
    for (int64_t i = 0; i < n; ++i) dx_expect[i] = dx0[i] + dy[i];
    const Outputs r = run_backend(b, DropoutParams{0.f, 11, 12}, x, dy, dx0, 0);
    ExpectAllClose(r.y, x, tol::kExact);
    ExpectAllClose(r.dx, dx_expect, tol::kExact);
    if (philox_mask(b)) {
      ExpectAllClose(r.mask, std::vector<uint8_t>(n, 1), tol::kExact);
    }
  }
}

// The statistical contract every backend meets, cuDNN's generator included: over 1e6 elements the kept fraction
// is within kSigmas of 1-p, every output is 0 or x/(1-p), and the backward uses the forward's mask. With
// p = 0.5 the scale is 2 and exact in every formula, so that case is compared exactly.
TEST_P(DropoutBackends, Statistics) {
  const Backend b = GetParam();
  VIGIL_SKIP_IF_UNAVAILABLE(b);
  const int64_t n = 1000000;
  const auto x = random_distinct(n, 9);
  const auto dy = random_distinct(n, 10);
  const std::vector<float> dx0(n, 0.f);
  for (float pp : {0.5f, 0.3f}) {
    SCOPED_TRACE(pp);
    const DropoutParams p{pp, 77, 4};
    const Outputs r = run_backend(b, p, x, dy, dx0, 0);
    ExpectConsistent(p, x, dy, dx0, r, pp == 0.5f ? tol::kExact : tol::kElementwise);
    int64_t mismatched = 0;  // dx nonzero exactly where y is nonzero
    for (int64_t i = 0; i < n; ++i) mismatched += (r.y[i] != 0.f) != (r.dx[i] != 0.f);
    EXPECT_EQ(mismatched, 0);
  }
}

TEST_P(DropoutBackends, ReserveBytes) {
  const Backend b = GetParam();
  VIGIL_SKIP_IF_UNAVAILABLE(b);
  EXPECT_EQ(ops::dropout_reserve_bytes(b, 0), 0u);
  if (philox_mask(b)) {
    EXPECT_EQ(ops::dropout_reserve_bytes(b, 12345), 12345u);
  } else {
    EXPECT_GT(ops::dropout_reserve_bytes(b, 12345), 0u);
  }
}

// PyTorch's generator differs from ours, so the fixture holds torch's kept fraction and kept scale for x = 1:
// our kept fraction must agree within kSigmas of the difference of two independent binomial fractions, and our
// kept values (x = 1, so the scale itself) must equal torch's exactly.
TEST_P(DropoutBackends, MatchesPyTorch) {
  const Backend b = GetParam();
  VIGIL_SKIP_IF_UNAVAILABLE(b);
  for (const auto& c : load_golden("dropout")) {
    SCOPED_TRACE(c.name);
    const float p = c.params.at("p").get<float>();
    const int64_t n = c.params.at("n").get<int64_t>();
    const double torch_fraction = c.at("kept_fraction").data.at(0);
    const float torch_scale = c.at("scale").data.at(0);
    const std::vector<float> ones(n, 1.f);
    const Outputs r = run_backend(b, DropoutParams{p, 31337, 0}, ones, ones, std::vector<float>(n, 0.f), 0);
    std::vector<float> kept_values;
    for (float v : r.y)
      if (v != 0.f) kept_values.push_back(v);
    const double fraction = static_cast<double>(kept_values.size()) / n;
    EXPECT_LE(std::fabs(fraction - torch_fraction), kSigmas * std::sqrt(2.0 * p * (1.0 - p) / n))
        << "ours " << fraction << " vs torch " << torch_fraction;
    ExpectAllClose(kept_values, std::vector<float>(kept_values.size(), torch_scale), tol::kExact);
  }
}

INSTANTIATE_TEST_SUITE_P(All, DropoutBackends,
                         ::testing::Values(Backend::Reference, Backend::Cpu, Backend::Cuda, Backend::Cudnn),
                         BackendParamName);

}  // namespace
}  // namespace vigil::test
