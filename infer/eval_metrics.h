// The maths of `vigil evaluate` as pure functions: ROC-AUC, average precision, calibration error with a reliability
// table, a seeded bootstrap interval for accuracy and the per-class threshold sweep under classify's decision rule.
#pragma once
#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

namespace vigil::infer {

// One-vs-rest ROC-AUC of `scores` for the examples flagged `positive`: the probability that a random positive
// scores above a random negative, ties counting one half (Mann-Whitney with mid-ranks, equal to the trapezoid
// rule on the ROC curve). NaN when there are no positives or no negatives.
double roc_auc(const std::vector<double>& scores, const std::vector<bool>& positive);

// Average precision as scikit-learn defines it: sum over distinct score thresholds (descending) of
// (R_k - R_{k-1}) * P_k, a step function without interpolation. NaN when there are no positives.
double average_precision(const std::vector<double>& scores, const std::vector<bool>& positive);

// One equal-width bin of the top-class confidence: [lo, hi) (the last bin includes 1).
struct ReliabilityBin {
  double lo = 0, hi = 0;
  int64_t count = 0;
  double mean_confidence = 0, accuracy = 0;  // 0 when the bin is empty
};
struct Calibration {
  double ece = 0;  // sum over bins of count / n * |accuracy - mean confidence|; 0 when there are no examples
  std::vector<ReliabilityBin> bins;
};
// Expected calibration error of top-class `confidence` (in [0, 1]) against `correct`, with `num_bins` bins.
Calibration expected_calibration_error(const std::vector<double>& confidence, const std::vector<bool>& correct,
                                       int num_bins = 15);

// The 95% (or `level`) percentile bootstrap interval of the accuracy: `resamples` resamples of the n examples,
// each draw index j of resample b being Philox(seed, stream b, counter j) scaled to [0, n). Percentiles use linear
// interpolation between order statistics. {0, 0} when n == 0; deterministic for a seed.
std::pair<double, double> bootstrap_accuracy_interval(const std::vector<bool>& correct, int resamples, uint64_t seed,
                                                      double level = 0.95);

// The decision rule of `vigil classify` for one class c, with its threshold t (other classes keep threshold 0):
// an image whose top class is c is accepted as c when p_c >= t, otherwise it goes to review.
struct ThresholdPoint {
  double threshold = 0;
  int64_t accepted = 0;       // top class c and p_c >= t
  int64_t true_positives = 0; // accepted and labelled c
  int64_t review = 0;         // top class c and p_c < t
  double precision = 0;       // true_positives / accepted; NaN when nothing is accepted
  double recall = 0;          // true_positives / images labelled c; NaN when there are none
  double review_share = 0;    // review / all images; 0 when there are no images
};

// Row-major probabilities (n, num_classes) with their labels; the top class is the first maximum.
struct ScoredSet {
  int num_classes = 0;
  std::vector<float> probabilities;
  std::vector<int> labels;
  int64_t size() const { return static_cast<int64_t>(labels.size()); }
  int top(int64_t i) const;
  float prob(int64_t i, int c) const { return probabilities[static_cast<size_t>(i * num_classes + c)]; }
};

ThresholdPoint threshold_point(const ScoredSet& set, int c, double threshold);
// Thresholds 0.05, 0.10, ..., 0.95 for class c.
std::vector<ThresholdPoint> threshold_sweep(const ScoredSet& set, int c);
// The lowest threshold (one of the class-c top-class probabilities) at which class c's precision reaches
// `target_precision`, so recall is the highest such; nullopt when no threshold reaches it.
std::optional<ThresholdPoint> threshold_for_precision(const ScoredSet& set, int c, double target_precision);

}  // namespace vigil::infer
