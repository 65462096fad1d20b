// Implementation of the evaluation metrics (see eval_metrics.h); every function is pure and deterministic.
#include "infer/eval_metrics.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "common/error.h"
#include "common/rng.h"

namespace vigil::infer {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

void check_sizes(size_t a, size_t b, const char* what) {
  VIGIL_CHECK(a == b, what, ": ", a, " scores but ", b, " labels");
}

// Indices sorted by score, descending (stable, so equal scores keep their order).
std::vector<size_t> by_score_descending(const std::vector<double>& scores) {
  std::vector<size_t> order(scores.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return scores[a] > scores[b]; });
  return order;
}

}  // namespace

double roc_auc(const std::vector<double>& scores, const std::vector<bool>& positive) {
  check_sizes(scores.size(), positive.size(), "roc_auc");
  const auto order = by_score_descending(scores);
  const size_t n = order.size();
  // Walk groups of tied scores from the top: each positive beats every negative below its group, half of its group.
  double pos = 0, neg = 0, wins = 0;
  for (size_t g = 0; g < n;) {
    size_t end = g;
    double gp = 0, gn = 0;
    while (end < n && scores[order[end]] == scores[order[g]]) (positive[order[end++]] ? gp : gn) += 1;
    wins += gn * pos + 0.5 * gn * gp;  // negatives in this group: beaten by every positive above, half by ties
    pos += gp;
    neg += gn;
    g = end;
  }
  if (pos == 0 || neg == 0) return kNaN;
  return wins / (pos * neg);
}

double average_precision(const std::vector<double>& scores, const std::vector<bool>& positive) {
  check_sizes(scores.size(), positive.size(), "average_precision");
  const double total_pos = static_cast<double>(std::count(positive.begin(), positive.end(), true));
  if (total_pos == 0) return kNaN;
  const auto order = by_score_descending(scores);
  double tp = 0, fp = 0, prev_recall = 0, ap = 0;
  for (size_t g = 0; g < order.size();) {
    size_t end = g;
    while (end < order.size() && scores[order[end]] == scores[order[g]]) (positive[order[end++]] ? tp : fp) += 1;
    const double recall = tp / total_pos;
    ap += (recall - prev_recall) * (tp / (tp + fp));
    prev_recall = recall;
    g = end;
  }
  return ap;
}

Calibration expected_calibration_error(const std::vector<double>& confidence, const std::vector<bool>& correct,
                                       int num_bins) {
  check_sizes(confidence.size(), correct.size(), "expected_calibration_error");
  VIGIL_CHECK(num_bins >= 1, "expected_calibration_error: ", num_bins, " bins");
  Calibration cal;
  cal.bins.resize(static_cast<size_t>(num_bins));
  std::vector<double> conf_sum(cal.bins.size(), 0.0), hits(cal.bins.size(), 0.0);
  for (size_t i = 0; i < confidence.size(); ++i) {
    const double c = std::clamp(confidence[i], 0.0, 1.0);
    const size_t b = std::min(static_cast<size_t>(c * num_bins), cal.bins.size() - 1);
    ++cal.bins[b].count;
    conf_sum[b] += c;
    hits[b] += correct[i] ? 1.0 : 0.0;
  }
  const double n = static_cast<double>(confidence.size());
  for (size_t b = 0; b < cal.bins.size(); ++b) {
    ReliabilityBin& bin = cal.bins[b];
    bin.lo = static_cast<double>(b) / num_bins;
    bin.hi = static_cast<double>(b + 1) / num_bins;
    if (bin.count == 0) continue;
    bin.mean_confidence = conf_sum[b] / static_cast<double>(bin.count);
    bin.accuracy = hits[b] / static_cast<double>(bin.count);
    cal.ece += static_cast<double>(bin.count) / n * std::fabs(bin.accuracy - bin.mean_confidence);
  }
  return cal;
}

std::pair<double, double> bootstrap_accuracy_interval(const std::vector<bool>& correct, int resamples, uint64_t seed,
                                                      double level) {
  VIGIL_CHECK(resamples >= 1, "--bootstrap ", resamples, ": must be at least 1");
  VIGIL_CHECK(level > 0 && level < 1, "bootstrap level ", level, ": must lie in (0, 1)");
  const uint64_t n = correct.size();
  if (n == 0) return {0.0, 0.0};
  std::vector<double> acc(static_cast<size_t>(resamples));
  for (int b = 0; b < resamples; ++b) {
    uint64_t hits = 0;
    for (uint64_t j = 0; j < n; ++j) {
      const uint32_t r = philox4x32(seed, static_cast<uint64_t>(b), j >> 2).v[j & 3];
      hits += correct[static_cast<size_t>((static_cast<uint64_t>(r) * n) >> 32)] ? 1 : 0;
    }
    acc[static_cast<size_t>(b)] = static_cast<double>(hits) / static_cast<double>(n);
  }
  std::sort(acc.begin(), acc.end());
  auto quantile = [&](double q) {
    const double pos = q * static_cast<double>(acc.size() - 1);
    const size_t lo = static_cast<size_t>(std::floor(pos));
    const size_t hi = std::min(lo + 1, acc.size() - 1);
    return acc[lo] + (pos - static_cast<double>(lo)) * (acc[hi] - acc[lo]);
  };
  const double tail = (1.0 - level) / 2.0;
  return {quantile(tail), quantile(1.0 - tail)};
}

int ScoredSet::top(int64_t i) const {
  int best = 0;
  for (int c = 1; c < num_classes; ++c)
    if (prob(i, c) > prob(i, best)) best = c;
  return best;
}

ThresholdPoint threshold_point(const ScoredSet& set, int c, double threshold) {
  VIGIL_CHECK(c >= 0 && c < set.num_classes, "threshold sweep: class ", c, " out of range");
  ThresholdPoint p;
  p.threshold = threshold;
  int64_t labelled = 0;
  for (int64_t i = 0; i < set.size(); ++i) {
    const bool is_c = set.labels[static_cast<size_t>(i)] == c;
    labelled += is_c;
    if (set.top(i) != c) continue;
    if (static_cast<double>(set.prob(i, c)) >= threshold) {
      ++p.accepted;
      p.true_positives += is_c;
    } else {
      ++p.review;
    }
  }
  p.precision = p.accepted ? static_cast<double>(p.true_positives) / static_cast<double>(p.accepted) : kNaN;
  p.recall = labelled ? static_cast<double>(p.true_positives) / static_cast<double>(labelled) : kNaN;
  p.review_share = set.size() ? static_cast<double>(p.review) / static_cast<double>(set.size()) : 0.0;
  return p;
}

std::vector<ThresholdPoint> threshold_sweep(const ScoredSet& set, int c) {
  std::vector<ThresholdPoint> rows;
  for (int k = 1; k <= 19; ++k) rows.push_back(threshold_point(set, c, k / 20.0));
  return rows;
}

std::optional<ThresholdPoint> threshold_for_precision(const ScoredSet& set, int c, double target_precision) {
  VIGIL_CHECK(target_precision > 0 && target_precision <= 1, "--target-precision ", target_precision,
              ": must lie in (0, 1]");
  // The class-c top-class images by p_c, descending: accepting the first k is the threshold p_c of the k-th.
  std::vector<std::pair<float, bool>> top_c;
  for (int64_t i = 0; i < set.size(); ++i)
    if (set.top(i) == c) top_c.push_back({set.prob(i, c), set.labels[static_cast<size_t>(i)] == c});
  std::stable_sort(top_c.begin(), top_c.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  std::optional<float> best;
  int64_t tp = 0;
  for (size_t k = 0; k < top_c.size();) {
    size_t end = k;
    while (end < top_c.size() && top_c[end].first == top_c[k].first) tp += top_c[end++].second;
    if (static_cast<double>(tp) / static_cast<double>(end) >= target_precision) best = top_c[k].first;
    k = end;
  }
  if (!best) return std::nullopt;
  return threshold_point(set, c, static_cast<double>(*best));
}

}  // namespace vigil::infer
