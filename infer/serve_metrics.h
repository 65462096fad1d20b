// The metrics of `vigil serve` in Prometheus text format: requests by endpoint and status, request latency, batch
// size and forward-pass time histograms, predictions by class, the queue depth gauge and build information.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace vigil::infer {

// A cumulative histogram over fixed upper bounds (the +Inf bucket is implicit). Not thread-safe on its own.
class Histogram {
 public:
  explicit Histogram(std::vector<double> upper_bounds);
  void observe(double value);
  uint64_t count() const { return count_; }
  double sum() const { return sum_; }
  // Observations <= upper_bounds()[i] (cumulative, as Prometheus expects).
  uint64_t cumulative(size_t i) const;
  const std::vector<double>& upper_bounds() const { return bounds_; }

 private:
  std::vector<double> bounds_;
  std::vector<uint64_t> counts_;  // per bucket, not cumulative; last = over every bound
  uint64_t count_ = 0;
  double sum_ = 0;
};

class ServeMetrics {
 public:
  // `queue_depth` is read when the metrics are rendered; `labels` are the vigil_build_info labels.
  ServeMetrics(std::function<size_t()> queue_depth, std::vector<std::pair<std::string, std::string>> build_labels);

  // One finished HTTP request; `endpoint` is a known route or "other" (so label values stay few).
  void record_request(const std::string& endpoint, int status, double seconds);
  // One forward pass of `size` images.
  void record_batch(size_t size, double seconds);
  // One classified image: its top class, or "error" when it could not be used.
  void record_image(const std::string& result);

  // Everything in Prometheus text exposition format 0.0.4.
  std::string render() const;

  // For tests and the status line: requests recorded for (endpoint, status), and batches of more than one image.
  uint64_t requests(const std::string& endpoint, int status) const;
  uint64_t batches_over_one() const;

 private:
  mutable std::mutex mutex_;
  std::function<size_t()> queue_depth_;
  std::vector<std::pair<std::string, std::string>> build_labels_;
  std::map<std::pair<std::string, int>, uint64_t> requests_;
  std::map<std::string, Histogram> latency_;  // by endpoint
  Histogram batch_size_;
  Histogram forward_seconds_;
  std::map<std::string, uint64_t> images_;
};

// A Prometheus label value with \, " and newlines escaped.
std::string prometheus_label(const std::string& value);

}  // namespace vigil::infer
