// The maths of `vigil calibrate` as pure functions: the softmax NLL of raw logits at a temperature, the
// deterministic temperature fit (bracketing on log T, then golden section) and the calibration summary (NLL,
// ECE, accuracy) of logits at a temperature.
#pragma once
#include <cstdint>
#include <vector>

#include "infer/eval_metrics.h"

namespace vigil::infer {

// Raw logits (before any temperature), row-major (n, num_classes), with each row's true class.
struct LogitSet {
  int num_classes = 0;
  std::vector<float> logits;
  std::vector<int> labels;
  int64_t size() const { return static_cast<int64_t>(labels.size()); }
};

// Mean negative log-likelihood of the labels under softmax(logits / T), in double with a stable log-sum-exp.
// 0 for an empty set. Throws vigil::Error when T is not positive or the set is malformed.
double softmax_nll(const LogitSet& set, double temperature);

// softmax(logits / T), row-major (n, num_classes), computed in double and rounded to float.
std::vector<float> softmax_probabilities(const LogitSet& set, double temperature);

struct TemperatureFit {
  double temperature = 1;
  double nll = 0;            // softmax_nll at `temperature`
  int evaluations = 0;       // NLL evaluations spent
  bool at_lower_bound = false, at_upper_bound = false;  // the minimum lies on (or beyond) a bound of the range
};

// The temperature in [t_min, t_max] that minimises softmax_nll. The NLL is convex in 1/T, hence unimodal in
// log T; the fit evaluates a 33-point grid on log T (the bracketing step, which also guards against numerical
// flatness), then narrows the bracket around the best grid point by golden-section search to a relative width
// of 1e-7. Deterministic. Throws vigil::Error for an empty set or a bad range.
TemperatureFit fit_temperature(const LogitSet& set, double t_min = 0.05, double t_max = 20.0);

// How well softmax(logits / T) fits the labels.
struct CalibrationSummary {
  double temperature = 1;
  double nll = 0;
  double ece = 0;       // 15 equal-width bins of the top-class confidence, as `vigil evaluate` reports it
  double accuracy = 0;  // top class (first maximum) == label; the temperature does not change it
  Calibration reliability;
};
CalibrationSummary summarize_calibration(const LogitSet& set, double temperature);

// The calibrated probabilities as the ScoredSet the threshold search of eval_metrics.h takes.
ScoredSet scored_set(const LogitSet& set, double temperature);

}  // namespace vigil::infer
