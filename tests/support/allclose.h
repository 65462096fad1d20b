// ExpectAllClose: the single comparison helper; NaN/Inf in `actual` and size mismatches fail, and a failure
// reports max abs/rel error, the first bad index and how many elements are off.
#pragma once
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "support/tolerances.h"

namespace vigil::test {

template <typename A, typename R>
::testing::AssertionResult AllClose(const std::vector<A>& actual, const std::vector<R>& ref, Tol tol) {
  if (actual.size() != ref.size())
    return ::testing::AssertionFailure() << "size mismatch: actual " << actual.size() << " vs ref " << ref.size();
  size_t bad = 0, first_bad = 0;
  double max_abs = 0, max_rel = 0;
  for (size_t i = 0; i < actual.size(); ++i) {
    const double a = static_cast<double>(actual[i]), r = static_cast<double>(ref[i]);
    const double err = std::fabs(a - r);
    const bool ok = std::isfinite(a) == std::isfinite(r) && (std::isfinite(a) ? err <= tol.atol + tol.rtol * std::fabs(r) : a == r || (std::isnan(a) && std::isnan(r)));
    if (std::isfinite(err)) {
      max_abs = std::max(max_abs, err);
      if (r != 0) max_rel = std::max(max_rel, err / std::fabs(r));
    }
    if (!ok && bad++ == 0) first_bad = i;
  }
  if (bad == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << bad << " of " << actual.size() << " elements differ (atol " << tol.atol
                                       << ", rtol " << tol.rtol << "); first at [" << first_bad << "]: actual "
                                       << static_cast<double>(actual[first_bad]) << " vs ref "
                                       << static_cast<double>(ref[first_bad]) << "; max abs err " << max_abs
                                       << ", max rel err " << max_rel;
}

#define ExpectAllClose(actual, ref, ...) EXPECT_TRUE(::vigil::test::AllClose((actual), (ref), (__VA_ARGS__)))

template <typename T>
double max_abs(const std::vector<T>& v) {
  double m = 0;
  for (const T& x : v) m = std::max(m, std::fabs(static_cast<double>(x)));
  return m;
}

}  // namespace vigil::test
