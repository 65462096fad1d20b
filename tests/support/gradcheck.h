// Central-difference gradient checking in double on the CPU reference (fixed step, never tuned per test).
#pragma once
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <vector>

#include "support/tolerances.h"

namespace vigil::test {

constexpr double kGradStep = 1e-6;

// d loss / d x[i] for every i by central differences; `loss` must be a pure function of x.
inline std::vector<double> numeric_gradient(const std::function<double(const std::vector<double>&)>& loss,
                                            std::vector<double> x, double h = kGradStep) {
  std::vector<double> g(x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    const double saved = x[i];
    x[i] = saved + h;
    const double up = loss(x);
    x[i] = saved - h;
    const double down = loss(x);
    x[i] = saved;
    g[i] = (up - down) / (2 * h);
  }
  return g;
}

inline double dot(const std::vector<double>& a, const std::vector<double>& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}

// Caffe's rule: |g - g_num| <= threshold * max(|g|, |g_num|, 1).
inline ::testing::AssertionResult GradClose(const std::vector<double>& analytic, const std::vector<double>& numeric,
                                            double threshold = tol::kGradCheck) {
  if (analytic.size() != numeric.size())
    return ::testing::AssertionFailure() << "gradient size mismatch " << analytic.size() << " vs " << numeric.size();
  for (size_t i = 0; i < analytic.size(); ++i) {
    const double scale = std::max({std::fabs(analytic[i]), std::fabs(numeric[i]), 1.0});
    if (!(std::fabs(analytic[i] - numeric[i]) <= threshold * scale))
      return ::testing::AssertionFailure() << "gradient mismatch at [" << i << "]: analytic " << analytic[i]
                                           << " vs numeric " << numeric[i] << " (threshold " << threshold << ")";
  }
  return ::testing::AssertionSuccess();
}

#define ExpectGradClose(analytic, numeric) EXPECT_TRUE(::vigil::test::GradClose((analytic), (numeric)))

}  // namespace vigil::test
