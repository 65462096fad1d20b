// Implementation of the temperature-scaling maths: stable softmax NLL, the grid-bracketed golden-section fit on
// log T and the before/after summaries.
#include "infer/calibrate.h"

#include <algorithm>
#include <cmath>

#include "common/error.h"

namespace vigil::infer {

namespace {

void check_set(const LogitSet& set) {
  VIGIL_CHECK(set.num_classes >= 2, "calibration: needs at least 2 classes, got ", set.num_classes);
  VIGIL_CHECK(set.logits.size() == set.labels.size() * static_cast<size_t>(set.num_classes), "calibration: ",
              set.logits.size(), " logits for ", set.labels.size(), " labels of ", set.num_classes, " classes");
  for (int label : set.labels)
    VIGIL_CHECK(label >= 0 && label < set.num_classes, "calibration: label ", label, " outside [0, ",
                set.num_classes, ")");
  for (float v : set.logits) VIGIL_CHECK(std::isfinite(v), "calibration: the model produced a non-finite logit");
}

// log(sum_j exp(row_j / T)) of one row, in double.
double log_sum_exp(const float* row, int classes, double inv_t) {
  double top = -INFINITY;
  for (int j = 0; j < classes; ++j) top = std::max(top, row[j] * inv_t);
  double sum = 0;
  for (int j = 0; j < classes; ++j) sum += std::exp(row[j] * inv_t - top);
  return top + std::log(sum);
}

}  // namespace

double softmax_nll(const LogitSet& set, double temperature) {
  VIGIL_CHECK(temperature > 0 && std::isfinite(temperature), "calibration: temperature ", temperature,
              " must be positive");
  check_set(set);
  if (set.size() == 0) return 0;
  const double inv_t = 1.0 / temperature;
  const int C = set.num_classes;
  double total = 0;
  for (int64_t i = 0; i < set.size(); ++i) {
    const float* row = set.logits.data() + static_cast<size_t>(i) * static_cast<size_t>(C);
    total += log_sum_exp(row, C, inv_t) - row[set.labels[static_cast<size_t>(i)]] * inv_t;
  }
  return total / static_cast<double>(set.size());
}

std::vector<float> softmax_probabilities(const LogitSet& set, double temperature) {
  VIGIL_CHECK(temperature > 0 && std::isfinite(temperature), "calibration: temperature ", temperature,
              " must be positive");
  check_set(set);
  const double inv_t = 1.0 / temperature;
  const int C = set.num_classes;
  std::vector<float> out(set.logits.size());
  for (int64_t i = 0; i < set.size(); ++i) {
    const size_t at = static_cast<size_t>(i) * static_cast<size_t>(C);
    const double lse = log_sum_exp(set.logits.data() + at, C, inv_t);
    for (int j = 0; j < C; ++j)
      out[at + static_cast<size_t>(j)] = static_cast<float>(std::exp(set.logits[at + static_cast<size_t>(j)] * inv_t - lse));
  }
  return out;
}

TemperatureFit fit_temperature(const LogitSet& set, double t_min, double t_max) {
  VIGIL_CHECK(t_min > 0 && t_max > t_min && std::isfinite(t_max), "calibration: temperature range [", t_min, ", ",
              t_max, "] is not a positive interval");
  check_set(set);
  VIGIL_CHECK(set.size() > 0, "calibration: no labelled examples to fit a temperature on");
  TemperatureFit fit;
  auto nll_at = [&](double u) {
    ++fit.evaluations;
    return softmax_nll(set, std::exp(u));
  };
  const double lo = std::log(t_min), hi = std::log(t_max);

  // Bracketing: the best point of a grid on log T; the minimum of a unimodal function lies between its neighbours.
  constexpr int kGrid = 33;
  std::vector<double> grid_nll(kGrid);
  int best = 0;
  for (int k = 0; k < kGrid; ++k) {
    grid_nll[static_cast<size_t>(k)] = nll_at(lo + (hi - lo) * k / (kGrid - 1));
    if (grid_nll[static_cast<size_t>(k)] < grid_nll[static_cast<size_t>(best)]) best = k;
  }
  double a = lo + (hi - lo) * std::max(best - 1, 0) / (kGrid - 1);
  double b = lo + (hi - lo) * std::min(best + 1, kGrid - 1) / (kGrid - 1);

  // Golden section on [a, b].
  const double inv_phi = (std::sqrt(5.0) - 1) / 2;
  double c = b - inv_phi * (b - a), d = a + inv_phi * (b - a);
  double fc = nll_at(c), fd = nll_at(d);
  while (b - a > 1e-7) {
    if (fc <= fd) {
      b = d;
      d = c;
      fd = fc;
      c = b - inv_phi * (b - a);
      fc = nll_at(c);
    } else {
      a = c;
      c = d;
      fc = fd;
      d = a + inv_phi * (b - a);
      fd = nll_at(d);
    }
  }
  // The best point seen: the bracket's end points when the minimum sits on a bound of the range.
  double u = fc <= fd ? c : d, f = std::min(fc, fd);
  for (double edge : {a, b}) {
    const double fe = nll_at(edge);
    if (fe < f) {
      f = fe;
      u = edge;
    }
  }
  if (grid_nll[static_cast<size_t>(best)] < f) {  // cannot happen for a unimodal NLL; kept for rounding noise
    u = lo + (hi - lo) * best / (kGrid - 1);
    f = grid_nll[static_cast<size_t>(best)];
  }
  fit.temperature = std::min(std::max(std::exp(u), t_min), t_max);
  fit.nll = f;
  fit.at_lower_bound = u - lo < 1e-6;
  fit.at_upper_bound = hi - u < 1e-6;
  return fit;
}

ScoredSet scored_set(const LogitSet& set, double temperature) {
  ScoredSet s;
  s.num_classes = set.num_classes;
  s.probabilities = softmax_probabilities(set, temperature);
  s.labels = set.labels;
  return s;
}

CalibrationSummary summarize_calibration(const LogitSet& set, double temperature) {
  CalibrationSummary out;
  out.temperature = temperature;
  out.nll = softmax_nll(set, temperature);
  const ScoredSet s = scored_set(set, temperature);
  std::vector<double> confidence;
  std::vector<bool> correct;
  int64_t hits = 0;
  for (int64_t i = 0; i < s.size(); ++i) {
    const int top = s.top(i);
    confidence.push_back(s.prob(i, top));
    correct.push_back(top == s.labels[static_cast<size_t>(i)]);
    hits += correct.back() ? 1 : 0;
  }
  out.accuracy = s.size() > 0 ? static_cast<double>(hits) / static_cast<double>(s.size()) : 0.0;
  out.reliability = expected_calibration_error(confidence, correct, 15);
  out.ece = out.reliability.ece;
  return out;
}

}  // namespace vigil::infer
