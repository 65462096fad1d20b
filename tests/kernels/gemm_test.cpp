// GEMM and linear layer: hand-computed values, double gradient checks, every backend (and every CUDA
// implementation) against a double-precision reference, the seed net's FC shapes, PyTorch golden.
#include "gemm/gemm.h"
#include "gemm/gemm_ref.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <memory>
#include <string>

#include "common/blas.h"
#include "common/error.h"
#include "common/launch.h"
#include "support/allclose.h"
#include "support/backends.h"
#include "support/golden.h"
#include "support/gradcheck.h"
#include "support/random.h"

namespace vigil::test {
namespace {

using ops::GemmImpl;

struct GemmShape {
  int64_t M, N, K;
};

// Stored extents of op(A) (M, K) and op(B) (K, N): rows x row length.
int64_t a_rows(bool ta, const GemmShape& s) { return ta ? s.K : s.M; }
int64_t a_cols(bool ta, const GemmShape& s) { return ta ? s.M : s.K; }
int64_t b_rows(bool tb, const GemmShape& s) { return tb ? s.N : s.K; }
int64_t b_cols(bool tb, const GemmShape& s) { return tb ? s.K : s.N; }

// One GEMM problem in host memory: A, B, C0 with row strides lda/ldb/ldc and `offset` leading elements before
// each matrix (an offset of 1 misaligns float4 access, so the kernels' scalar paths run).
struct GemmProblem {
  bool ta = false, tb = false;
  GemmShape s{};
  int64_t lda = 0, ldb = 0, ldc = 0, offset = 0;
  float alpha = 1.f, beta = 0.f;
  std::vector<float> A, B, C0;

  GemmProblem(bool ta_, bool tb_, GemmShape s_, int64_t pad, int64_t offset_, float alpha_, float beta_,
              uint32_t seed)
      : ta(ta_), tb(tb_), s(s_), offset(offset_), alpha(alpha_), beta(beta_) {
    lda = a_cols(ta, s) + pad;
    ldb = b_cols(tb, s) + pad;
    ldc = s.N + pad;
    A = random_uniform(offset + a_rows(ta, s) * lda, -1, 1, seed);
    B = random_uniform(offset + b_rows(tb, s) * ldb, -1, 1, seed + 1);
    C0 = random_uniform(offset + s.M * ldc, -1, 1, seed + 2);
  }

  // Ground truth in double on the same (float) inputs.
  std::vector<double> expected() const {
    std::vector<double> c = cast<double>(C0);
    ops::ref::gemm<double>(ta, tb, s.M, s.N, s.K, alpha, cast<double>(A).data() + offset, lda,
                           cast<double>(B).data() + offset, ldb, beta, c.data() + offset, ldc);
    return c;
  }

  std::string describe() const {
    return "M " + std::to_string(s.M) + " N " + std::to_string(s.N) + " K " + std::to_string(s.K) + " ta " +
           std::to_string(ta) + " tb " + std::to_string(tb) + " lda " + std::to_string(lda) + " ldb " +
           std::to_string(ldb) + " ldc " + std::to_string(ldc) + " offset " + std::to_string(offset) + " alpha " +
           std::to_string(alpha) + " beta " + std::to_string(beta);
  }
};

// Runs the problem on backend b (for Cuda: with the given implementation) and returns C as stored.
std::vector<float> run_gemm(Backend b, GemmImpl impl, const GemmProblem& p, const std::vector<float>& c0) {
  Buf<> bA(b, p.A), bB(b, p.B), bC(b, c0);
  const int64_t o = p.offset;
  if (b == Backend::Cuda && impl != GemmImpl::Tiled)
    ops::gemm_cuda(impl, p.ta, p.tb, p.s.M, p.s.N, p.s.K, p.alpha, bA.data() + o, p.lda, bB.data() + o, p.ldb,
                   p.beta, bC.data() + o, p.ldc);
  else
    ops::gemm(b, p.ta, p.tb, p.s.M, p.s.N, p.s.K, p.alpha, bA.data() + o, p.lda, bB.data() + o, p.ldb, p.beta,
              bC.data() + o, p.ldc);
  return bC.host();
}

// Long dot products: atol grows with the result's magnitude.
Tol dot_tol(const std::vector<double>& ref) { return scaled(tol::kDotProduct, max_abs(ref)); }

// The small/odd shape table: sizes 1, non-multiples of every tile (64, 128, K step 8), K long enough for the
// CUDA split-K path (>= 1024 with few output tiles).
const std::vector<GemmShape>& gemm_shapes() {
  static const std::vector<GemmShape> shapes = {
      {1, 1, 1},    {1, 7, 5},     {7, 1, 5},    {5, 7, 1},     {17, 33, 65},  {64, 64, 64},
      {65, 127, 9}, {128, 128, 8}, {129, 130, 17}, {3, 200, 300}, {257, 63, 31}, {33, 17, 1100},
  };
  return shapes;
}

struct AlphaBeta {
  float alpha, beta;
};
const AlphaBeta kAlphaBetas[] = {{1.f, 0.f}, {1.f, 1.f}, {-1.5f, 0.5f}};

// ---- Reference, hand-computed ---------------------------------------------------------------------------

TEST(GemmRef, HandComputedAllTransposes) {
  // op(A) = [[1, 2, 3], [4, 5, 6]] (2x3), op(B) = [[1, 0], [0, 1], [2, -1]] (3x2): op(A) op(B) = [[7, -1], [16, -1]]
  const std::vector<float> a = {1, 2, 3, 4, 5, 6}, a_t = {1, 4, 2, 5, 3, 6};
  const std::vector<float> b = {1, 0, 0, 1, 2, -1}, b_t = {1, 0, 2, 0, 1, -1};
  const std::vector<float> want = {7, -1, 16, -1};
  for (bool ta : {false, true}) {
    for (bool tb : {false, true}) {
      std::vector<float> c(4, 0.f);
      ops::ref::gemm<float>(ta, tb, 2, 2, 3, 1.f, (ta ? a_t : a).data(), ta ? 2 : 3, (tb ? b_t : b).data(),
                            tb ? 3 : 2, 0.f, c.data(), 2);
      EXPECT_EQ(c, want) << "ta " << ta << " tb " << tb;
    }
  }
  // alpha = 2, beta = 0.5 on C = [[2, 2], [2, 2]]: 2 * AB + 1.
  std::vector<float> c(4, 2.f);
  ops::ref::gemm<float>(false, false, 2, 2, 3, 2.f, a.data(), 3, b.data(), 2, 0.5f, c.data(), 2);
  EXPECT_EQ(c, (std::vector<float>{15, -1, 33, -1}));
}

TEST(GemmRef, StridesLeavePaddingAlone) {
  // A (2x2) with lda 3, C (2x2) with ldc 3: the padding column of C keeps its value.
  const std::vector<float> a = {1, 2, -7, 3, 4, -7}, b = {1, 0, 0, 1};
  std::vector<float> c = {0, 0, 9, 0, 0, 9};
  ops::ref::gemm<float>(false, false, 2, 2, 2, 1.f, a.data(), 3, b.data(), 2, 0.f, c.data(), 3);
  EXPECT_EQ(c, (std::vector<float>{1, 2, 9, 3, 4, 9}));
}

TEST(GemmRef, BetaZeroOverwritesNaNAndKZeroScales) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const std::vector<float> a = {1, 2}, b = {3, 4};
  std::vector<float> c = {nan};
  ops::ref::gemm<float>(false, false, 1, 1, 2, 1.f, a.data(), 2, b.data(), 1, 0.f, c.data(), 1);
  EXPECT_EQ(c[0], 11.f);
  std::vector<float> c2 = {nan, 4.f};
  ops::ref::gemm<float>(false, false, 1, 2, 0, 1.f, a.data(), 0, b.data(), 2, 0.f, c2.data(), 2);
  EXPECT_EQ(c2, (std::vector<float>{0.f, 0.f}));
  std::vector<float> c3 = {2.f, 4.f};
  ops::ref::gemm<float>(false, false, 1, 2, 0, 1.f, a.data(), 0, b.data(), 2, 0.5f, c3.data(), 2);
  EXPECT_EQ(c3, (std::vector<float>{1.f, 2.f}));
}

TEST(GemmArgs, InvalidArgumentsThrow) {
  std::vector<float> a(16), b(16), c(16);
  EXPECT_THROW(ops::gemm(Backend::Reference, false, false, 2, 2, 3, 1.f, a.data(), 2, b.data(), 2, 0.f, c.data(), 2),
               Error);  // lda < K
  EXPECT_THROW(ops::gemm(Backend::Reference, true, false, 3, 2, 2, 1.f, a.data(), 2, b.data(), 2, 0.f, c.data(), 2),
               Error);  // trans_a: lda < M
  EXPECT_THROW(ops::gemm(Backend::Reference, false, true, 2, 2, 3, 1.f, a.data(), 3, b.data(), 2, 0.f, c.data(), 2),
               Error);  // trans_b: ldb < K
  EXPECT_THROW(ops::gemm(Backend::Reference, false, false, 2, 3, 2, 1.f, a.data(), 2, b.data(), 3, 0.f, c.data(), 2),
               Error);  // ldc < N
  EXPECT_THROW(ops::gemm(Backend::Reference, false, false, -1, 2, 2, 1.f, a.data(), 2, b.data(), 2, 0.f, c.data(), 2),
               Error);
  EXPECT_THROW(ops::gemm(Backend::Reference, false, false, 2, 2, 2, 1.f, nullptr, 2, b.data(), 2, 0.f, c.data(), 2),
               Error);
  EXPECT_THROW(ops::linear_forward(Backend::Reference, 2, -3, 2, a.data(), b.data(), nullptr, c.data()), Error);
  EXPECT_THROW(ops::linear_backward_bias(Backend::Reference, 2, 2, nullptr, c.data()), Error);
  // Empty problems are fine and touch nothing.
  ops::gemm(Backend::Reference, false, false, 0, 0, 0, 1.f, nullptr, 0, nullptr, 0, 0.f, nullptr, 0);
}

// vigil's blocked fallback GEMM (used when the build has no OpenBLAS), including sizes past its 64/256 blocks.
TEST(GemmCpu, BuiltinMatchesReference) {
  std::vector<GemmShape> shapes = gemm_shapes();
  shapes.push_back({70, 300, 513});
  uint32_t seed = 100;
  for (const GemmShape& s : shapes) {
    for (bool ta : {false, true}) {
      for (bool tb : {false, true}) {
        for (const AlphaBeta& ab : kAlphaBetas) {
          const GemmProblem p(ta, tb, s, (seed % 2) * 3, 0, ab.alpha, ab.beta, seed);
          seed += 3;
          SCOPED_TRACE(p.describe());
          std::vector<float> c = p.C0;
          cpu::sgemm_builtin(p.ta, p.tb, s.M, s.N, s.K, p.alpha, p.A.data(), p.lda, p.B.data(), p.ldb, p.beta,
                             c.data(), p.ldc);
          const auto want = p.expected();
          ExpectAllClose(c, want, dot_tol(want));
        }
      }
    }
  }
}

// ---- Linear layer on the reference ------------------------------------------------------------------------

TEST(LinearRef, HandComputed) {
  // x (2,3), W (2,3), b (2): y = x W^T + b.
  const std::vector<float> x = {1, 2, 3, -1, 0, 1}, w = {1, 0, -1, 0.5f, 0.5f, 0.5f}, b = {10, 20};
  std::vector<float> y(4, 7.f);
  ops::ref::linear_forward<float>(2, 3, 2, x.data(), w.data(), b.data(), y.data());
  EXPECT_EQ(y, (std::vector<float>{8, 23, 8, 20}));
  ops::ref::linear_forward<float>(2, 3, 2, x.data(), w.data(), nullptr, y.data());
  EXPECT_EQ(y, (std::vector<float>{-2, 3, -2, 0}));
}

TEST(LinearRef, BackwardAccumulates) {
  const std::vector<float> x = {1, 2, 3, -1, 0, 1}, w = {1, 0, -1, 0.5f, 0.5f, 0.5f}, dy = {1, 2, -1, 0};
  std::vector<float> dx(6, 9.f), dw(6, 9.f), db(2, 9.f);
  ops::ref::linear_backward_data<float>(2, 3, 2, dy.data(), w.data(), dx.data());
  ops::ref::linear_backward_weight<float>(2, 3, 2, x.data(), dy.data(), dw.data());
  ops::ref::linear_backward_bias<float>(2, 2, dy.data(), db.data());
  // dx = dy W = [[2, 1, 0], [-1, 0, 1]]; dw = dy^T x = [[2, 2, 2], [2, 4, 6]]; db = [0, 2].
  EXPECT_EQ(dx, (std::vector<float>{11, 10, 9, 8, 9, 10}));
  EXPECT_EQ(dw, (std::vector<float>{11, 11, 11, 11, 13, 15}));
  EXPECT_EQ(db, (std::vector<float>{9, 11}));
}

TEST(LinearRef, GradCheckDouble) {
  const int64_t n = 3, in = 5, out = 4;
  const auto x = random_uniform<double>(n * in, -1, 1, 11);
  const auto w = random_uniform<double>(out * in, -1, 1, 12);
  const auto b = random_uniform<double>(out, -1, 1, 13);
  const auto r = random_uniform<double>(n * out, -1, 1, 14);  // loss = sum(y * r), so dL/dy = r
  auto loss = [&](const std::vector<double>& xs, const std::vector<double>& ws, const std::vector<double>& bs) {
    std::vector<double> y(n * out);
    ops::ref::linear_forward<double>(n, in, out, xs.data(), ws.data(), bs.data(), y.data());
    return dot(y, r);
  };
  // Gradients start from non-zero values, so the check also covers accumulation.
  const auto dx0 = random_uniform<double>(n * in, -1, 1, 15);
  const auto dw0 = random_uniform<double>(out * in, -1, 1, 16);
  const auto db0 = random_uniform<double>(out, -1, 1, 17);
  auto dx = dx0, dw = dw0, db = db0;
  ops::ref::linear_backward_data<double>(n, in, out, r.data(), w.data(), dx.data());
  ops::ref::linear_backward_weight<double>(n, in, out, x.data(), r.data(), dw.data());
  ops::ref::linear_backward_bias<double>(n, out, r.data(), db.data());
  auto minus = [](std::vector<double> a, const std::vector<double>& z) {
    for (size_t i = 0; i < a.size(); ++i) a[i] -= z[i];
    return a;
  };
  ExpectGradClose(minus(dx, dx0), numeric_gradient([&](const std::vector<double>& v) { return loss(v, w, b); }, x));
  ExpectGradClose(minus(dw, dw0), numeric_gradient([&](const std::vector<double>& v) { return loss(x, v, b); }, w));
  ExpectGradClose(minus(db, db0), numeric_gradient([&](const std::vector<double>& v) { return loss(x, w, v); }, b));
}

// ---- Every backend ------------------------------------------------------------------------------------------

// The CUDA implementations and launch configurations one backend runs: Cuda covers the tiled SGEMM with its
// automatic choice and both tile configurations (block override 64: small tile, 256: large tile), the naive
// kernel (default and an override that makes its grid-stride loop iterate) and cuBLAS; others run once.
struct Variant {
  GemmImpl impl;
  int block;  // 0: no override
};
std::vector<Variant> variants(Backend b) {
  if (b != Backend::Cuda) return {{GemmImpl::Tiled, 0}};
  return {{GemmImpl::Tiled, 0},  {GemmImpl::Tiled, 64}, {GemmImpl::Tiled, 256},
          {GemmImpl::Naive, 0},  {GemmImpl::Naive, 64}, {GemmImpl::Cublas, 0}};
}
std::unique_ptr<launch::BlockSizeOverride> maybe_override(int block) {
  return block ? std::make_unique<launch::BlockSizeOverride>(block) : nullptr;
}

class GemmBackends : public ::testing::TestWithParam<Backend> {};

TEST_P(GemmBackends, MatchesReference) {
  const Backend b = GetParam();
  VIGIL_SKIP_IF_UNAVAILABLE(b);
  const int64_t pads[] = {0, 3, 4};
  uint32_t seed = 1000;
  int case_index = 0;
  for (const GemmShape& s : gemm_shapes()) {
    for (bool ta : {false, true}) {
      for (bool tb : {false, true}) {
        for (const AlphaBeta& ab : kAlphaBetas) {
          // Strides and alignment rotate through the cases: dense, padded by 3 (no float4), padded by 4, and
          // every fourth case shifted by one element.
          const int64_t pad = pads[case_index % 3], offset = case_index % 4 == 3 ? 1 : 0;
          ++case_index;
          const GemmProblem p(ta, tb, s, pad, offset, ab.alpha, ab.beta, seed);
          seed += 3;
          const auto want = p.expected();
          for (const Variant& v : variants(b)) {
            SCOPED_TRACE(p.describe() + " impl " + ops::gemm_impl_name(v.impl) + " block " + std::to_string(v.block));
            const auto guard = maybe_override(v.block);
            ExpectAllClose(run_gemm(b, v.impl, p, p.C0), want, dot_tol(want));
          }
        }
      }
    }
  }
}

TEST_P(GemmBackends, BetaZeroOverwritesNaN) {
  const Backend b = GetParam();
  VIGIL_SKIP_IF_UNAVAILABLE(b);
  for (const GemmShape& s : {GemmShape{1, 1, 1}, GemmShape{37, 45, 19}, GemmShape{20, 30, 2048}, GemmShape{9, 5, 0}}) {
    const GemmProblem p(false, true, s, 0, 0, 1.f, 0.f, 7);
    const std::vector<float> nans(p.C0.size(), std::numeric_limits<float>::quiet_NaN());
    const auto want = p.expected();  // beta == 0: C0's values do not matter
    for (const Variant& v : variants(b)) {
      SCOPED_TRACE(p.describe() + " impl " + ops::gemm_impl_name(v.impl) + " block " + std::to_string(v.block));
      const auto guard = maybe_override(v.block);
      ExpectAllClose(run_gemm(b, v.impl, p, nans), want, dot_tol(want));
    }
  }
}

// Weights at the scale of a fan-in initialisation, inputs O(1).
struct LinearData {
  std::vector<float> x, w, b, dy, dx0, dw0, db0;
  LinearData(int64_t n, int64_t in, int64_t out, uint32_t seed) {
    const double bound = 1.0 / std::sqrt(static_cast<double>(in));
    x = random_uniform(n * in, -1, 1, seed);
    w = random_uniform(out * in, -bound, bound, seed + 1);
    b = random_uniform(out, -bound, bound, seed + 2);
    dy = random_uniform(n * out, -1, 1, seed + 3);
    dx0 = random_uniform(n * in, -1, 1, seed + 4);
    dw0 = random_uniform(out * in, -1, 1, seed + 5);
    db0 = random_uniform(out, -1, 1, seed + 6);
  }
};

struct LinearResult {
  std::vector<float> y, dx, dw, db;
};

LinearResult run_linear(Backend b, int64_t n, int64_t in, int64_t out, bool bias, const LinearData& d) {
  Buf<> x(b, d.x), w(b, d.w), bb(b, d.b), dy(b, d.dy), y(b, n * out, std::numeric_limits<float>::quiet_NaN());
  Buf<> dx(b, d.dx0), dw(b, d.dw0), db(b, d.db0);
  ops::linear_forward(b, n, in, out, x.data(), w.data(), bias ? bb.data() : nullptr, y.data());
  ops::linear_backward_data(b, n, in, out, dy.data(), w.data(), dx.data());
  ops::linear_backward_weight(b, n, in, out, x.data(), dy.data(), dw.data());
  if (bias) ops::linear_backward_bias(b, n, out, dy.data(), db.data());
  return {y.host(), dx.host(), dw.host(), db.host()};
}

class LinearBackends : public ::testing::TestWithParam<Backend> {};

TEST_P(LinearBackends, MatchesReference) {
  const Backend b = GetParam();
  VIGIL_SKIP_IF_UNAVAILABLE(b);
  struct Shape {
    int64_t n, in, out;
    bool bias;
  };
  const Shape shapes[] = {{1, 1, 1, true},     {5, 7, 3, true},      {4, 33, 65, false}, {30, 128, 3, true},
                          {30, 768, 128, true}, {2, 1100, 40, true}, {1, 300, 70, true}};
  uint32_t seed = 200;
  for (const Shape& s : shapes) {
    const LinearData d(s.n, s.in, s.out, seed);
    seed += 10;
    std::vector<double> y(s.n * s.out), dx = cast<double>(d.dx0), dw = cast<double>(d.dw0), db = cast<double>(d.db0);
    const auto x = cast<double>(d.x), w = cast<double>(d.w), bias = cast<double>(d.b), dy = cast<double>(d.dy);
    ops::ref::linear_forward<double>(s.n, s.in, s.out, x.data(), w.data(), s.bias ? bias.data() : nullptr, y.data());
    ops::ref::linear_backward_data<double>(s.n, s.in, s.out, dy.data(), w.data(), dx.data());
    ops::ref::linear_backward_weight<double>(s.n, s.in, s.out, x.data(), dy.data(), dw.data());
    if (s.bias) ops::ref::linear_backward_bias<double>(s.n, s.out, dy.data(), db.data());
    for (int block : {0, 64}) {  // 64: the small GEMM tile and grid-stride loops in the bias kernels
      SCOPED_TRACE("n " + std::to_string(s.n) + " in " + std::to_string(s.in) + " out " + std::to_string(s.out) +
                   " block " + std::to_string(block));
      const auto guard = maybe_override(b == Backend::Cuda ? block : 0);
      const LinearResult r = run_linear(b, s.n, s.in, s.out, s.bias, d);
      ExpectAllClose(r.y, y, dot_tol(y));
      ExpectAllClose(r.dx, dx, dot_tol(dx));
      ExpectAllClose(r.dw, dw, tol::kWeightGrad);
      ExpectAllClose(r.db, db, tol::kWeightGrad);
      if (b != Backend::Cuda) break;
    }
  }
}

// The seed net's classifier head (batch 30): 12544 -> 768 -> 128 -> 3, forward and both gradients, i.e. GEMMs
// NT (forward), NN (input gradient) and TN (weight gradient). Too large for many triple-loop runs, so the Cpu
// backend (BLAS) is the ground truth and the Reference backend is checked against it once.
TEST_P(LinearBackends, SeedNetClassifierHead) {
  const Backend b = GetParam();
  VIGIL_SKIP_IF_UNAVAILABLE(b);
  const int64_t n = 30;
  const int64_t layers[][2] = {{12544, 768}, {768, 128}, {128, 3}};
  uint32_t seed = 300;
  for (const auto& l : layers) {
    const int64_t in = l[0], out = l[1];
    SCOPED_TRACE("linear " + std::to_string(in) + " -> " + std::to_string(out));
    const LinearData d(n, in, out, seed);
    seed += 10;
    const LinearResult want = run_linear(Backend::Cpu, n, in, out, true, d);
    const LinearResult got = run_linear(b, n, in, out, true, d);
    ExpectAllClose(got.y, want.y, dot_tol(cast<double>(want.y)));
    ExpectAllClose(got.dx, want.dx, dot_tol(cast<double>(want.dx)));
    ExpectAllClose(got.dw, want.dw, tol::kWeightGrad);
    ExpectAllClose(got.db, want.db, tol::kWeightGrad);
  }
}

// Every backend and CUDA implementation against torch: gemm cases (torch.addmm semantics) and
// torch.nn.functional.linear with its autograd gradients (gradients start from zero).
TEST_P(GemmBackends, MatchesPyTorch) {
  const Backend b = GetParam();
  VIGIL_SKIP_IF_UNAVAILABLE(b);
  for (const auto& c : load_golden("gemm")) {
    if (c.params.at("kind") != "gemm") continue;
    const bool ta = c.params.at("trans_a"), tb = c.params.at("trans_b");
    const int64_t M = c.params.at("M"), N = c.params.at("N"), K = c.params.at("K");
    const float alpha = c.params.at("alpha"), beta = c.params.at("beta");
    for (const Variant& v : variants(b)) {
      SCOPED_TRACE(c.name + " impl " + ops::gemm_impl_name(v.impl) + " block " + std::to_string(v.block));
      const auto guard = maybe_override(v.block);
      Buf<> A(b, c.at("A").data), B(b, c.at("B").data), C(b, c.at("C0").data);
      const int64_t lda = ta ? M : K, ldb = tb ? K : N;
      if (b == Backend::Cuda && v.impl != GemmImpl::Tiled)
        ops::gemm_cuda(v.impl, ta, tb, M, N, K, alpha, A.data(), lda, B.data(), ldb, beta, C.data(), N);
      else
        ops::gemm(b, ta, tb, M, N, K, alpha, A.data(), lda, B.data(), ldb, beta, C.data(), N);
      ExpectAllClose(C.host(), c.at("C").data, tol::kGolden);
    }
  }
}

TEST_P(LinearBackends, MatchesPyTorch) {
  const Backend b = GetParam();
  VIGIL_SKIP_IF_UNAVAILABLE(b);
  for (const auto& c : load_golden("gemm")) {
    if (c.params.at("kind") != "linear") continue;
    SCOPED_TRACE(c.name);
    const int64_t n = c.params.at("n"), in = c.params.at("in"), out = c.params.at("out");
    const bool bias = c.params.at("bias");
    Buf<> x(b, c.at("x").data), w(b, c.at("w").data), dy(b, c.at("dy").data);
    Buf<> bb(b, bias ? c.at("b").data : std::vector<float>(out));
    Buf<> y(b, n * out), dx(b, n * in), dw(b, out * in), db(b, out);
    ops::linear_forward(b, n, in, out, x.data(), w.data(), bias ? bb.data() : nullptr, y.data());
    ops::linear_backward_data(b, n, in, out, dy.data(), w.data(), dx.data());
    ops::linear_backward_weight(b, n, in, out, x.data(), dy.data(), dw.data());
    ExpectAllClose(y.host(), c.at("y").data, tol::kGolden);
    ExpectAllClose(dx.host(), c.at("dx").data, tol::kGolden);
    ExpectAllClose(dw.host(), c.at("dw").data, tol::kGolden);
    if (bias) {
      ops::linear_backward_bias(b, n, out, dy.data(), db.data());
      ExpectAllClose(db.host(), c.at("db").data, tol::kGolden);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(All, GemmBackends,
                         ::testing::Values(Backend::Reference, Backend::Cpu, Backend::Cuda, Backend::Cudnn),
                         BackendParamName);
INSTANTIATE_TEST_SUITE_P(All, LinearBackends,
                         ::testing::Values(Backend::Reference, Backend::Cpu, Backend::Cuda, Backend::Cudnn),
                         BackendParamName);

}  // namespace
}  // namespace vigil::test
