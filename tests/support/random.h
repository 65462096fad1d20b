// Seeded test data: uniform fills, and values kept away from kinks (ReLU at 0, pooling ties).
#pragma once
#include <cstdint>
#include <algorithm>
#include <random>
#include <vector>

namespace vigil::test {

template <typename T = float>
std::vector<T> random_uniform(size_t n, double lo, double hi, uint32_t seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<double> d(lo, hi);
  std::vector<T> v(n);
  for (auto& x : v) x = static_cast<T>(d(gen));
  return v;
}

// Distinct values with |x| >= gap: a random permutation of a spaced grid, so maxima are unique and nothing
// sits on ReLU's kink.
template <typename T = float>
std::vector<T> random_distinct(size_t n, uint32_t seed, double gap = 0.01) {
  std::vector<T> v(n);
  for (size_t i = 0; i < n; ++i) {
    double k = static_cast<double>(i) - static_cast<double>(n) / 2.0;
    v[i] = static_cast<T>((k >= 0 ? k + 0.5 : k - 0.5) * gap * 2.0 / std::max<double>(1.0, n / 100.0));
  }
  std::mt19937 gen(seed);
  std::shuffle(v.begin(), v.end(), gen);
  return v;
}

template <typename To, typename From>
std::vector<To> cast(const std::vector<From>& v) {
  return std::vector<To>(v.begin(), v.end());
}

}  // namespace vigil::test
