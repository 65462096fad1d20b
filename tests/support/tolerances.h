// The one table of comparison tolerances: |actual - ref| <= atol + rtol * |ref|, each entry justified.
#pragma once
#include <algorithm>

namespace vigil::test {

struct Tol {
  double atol;
  double rtol;
};

namespace tol {
// One IEEE operation per element on both sides (ReLU, scale, dropout with the shared Philox stream).
constexpr Tol kExact{0.0, 0.0};
// Element-wise maths where nvcc may contract a*b+c into an FMA and the host compiler may not.
constexpr Tol kElementwise{1e-6, 1e-6};
// Element-wise maths through exp (sigmoid, SiLU): glibc's expf, CUDA's expf (<= 2 ulp) and the CPU path's
// vectorisable exp (~1 ulp) round differently, a few 1e-7 relative on O(1) values, before any FMA contraction.
constexpr Tol kTranscendental{1e-6, 1e-6};
// Optimizer updates: a few dependent FMAs and a sqrt per element.
constexpr Tol kOptimizer{1e-7, 1e-6};
// Row reductions (softmax, log-softmax, cross-entropy, sums): summation order differs between backends.
constexpr Tol kReduction{1e-6, 1e-5};
// Batch norm: mean/variance over N*H*W in different orders, then a division by sqrt(var + eps).
constexpr Tol kBatchNorm{1e-5, 1e-4};
// Conv / linear forward and input gradient for O(1) inputs: long dot products (K up to a few thousand).
// Callers scale atol by max(1, max|ref|) via scaled().
constexpr Tol kDotProduct{1e-4, 1e-4};
// Conv / linear weight and bias gradients: reductions over N*H*W as well as channels.
constexpr Tol kWeightGrad{1e-3, 1e-3};
// Against PyTorch golden fixtures (float32 on both sides, different summation orders and algorithms).
constexpr Tol kGolden{1e-5, 1e-4};
// Central-difference gradient check in double on the reference: |g - g_num| <= kGradCheck * max(|g|, |g_num|, 1).
constexpr double kGradCheck = 1e-6;
}  // namespace tol

// atol scaled by the magnitude of the reference, for long dot products.
inline Tol scaled(Tol t, double max_abs_ref) { return Tol{t.atol * std::max(1.0, max_abs_ref), t.rtol}; }

}  // namespace vigil::test
