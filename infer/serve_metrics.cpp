// Implementation of the `vigil serve` metrics registry and its Prometheus text rendering (see serve_metrics.h).
#include "infer/serve_metrics.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <sstream>

namespace vigil::infer {

namespace {

const std::vector<double> kLatencyBounds = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                            0.25,  0.5,    1,     2.5,  5,     10,   30};
const std::vector<double> kBatchBounds = {1, 2, 4, 8, 16, 32, 64, 128, 256};

// A number the way Prometheus writes it: shortest round-trip text, "+Inf" for infinity.
std::string number(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (std::isnan(v)) return "NaN";
  if (v == std::floor(v) && std::fabs(v) < 1e15) return std::to_string(static_cast<long long>(v));
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  // Prefer the shortest text that reads back as the same value (0.1, not 0.10000000000000001).
  for (int precision = 1; precision <= 17; ++precision) {
    char shorter[40];
    std::snprintf(shorter, sizeof shorter, "%.*g", precision, v);
    if (std::strtod(shorter, nullptr) == v) return shorter;
  }
  return buf;
}

void header(std::ostringstream& out, const char* name, const char* type, const char* help) {
  out << "# HELP " << name << " " << help << "\n# TYPE " << name << " " << type << "\n";
}

// The _bucket, _sum and _count lines of one histogram; `labels` is "" or `key="value"` pairs without braces.
void histogram_lines(std::ostringstream& out, const std::string& name, const std::string& labels,
                     const Histogram& h) {
  const std::string sep = labels.empty() ? "" : ",";
  for (size_t i = 0; i < h.upper_bounds().size(); ++i)
    out << name << "_bucket{" << labels << sep << "le=\"" << number(h.upper_bounds()[i]) << "\"} " << h.cumulative(i)
        << "\n";
  out << name << "_bucket{" << labels << sep << "le=\"+Inf\"} " << h.count() << "\n";
  const std::string braces = labels.empty() ? "" : "{" + labels + "}";
  out << name << "_sum" << braces << " " << number(h.sum()) << "\n";
  out << name << "_count" << braces << " " << h.count() << "\n";
}

}  // namespace

Histogram::Histogram(std::vector<double> upper_bounds)
    : bounds_(std::move(upper_bounds)), counts_(bounds_.size() + 1, 0) {}

void Histogram::observe(double value) {
  const size_t bucket =
      static_cast<size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin());
  ++counts_[bucket];
  ++count_;
  sum_ += value;
}

uint64_t Histogram::cumulative(size_t i) const {
  uint64_t total = 0;
  for (size_t b = 0; b <= i && b < counts_.size(); ++b) total += counts_[b];
  return total;
}

std::string prometheus_label(const std::string& value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

ServeMetrics::ServeMetrics(std::function<size_t()> queue_depth,
                           std::vector<std::pair<std::string, std::string>> build_labels)
    : queue_depth_(std::move(queue_depth)),
      build_labels_(std::move(build_labels)),
      batch_size_(kBatchBounds),
      forward_seconds_(kLatencyBounds) {}

void ServeMetrics::record_request(const std::string& endpoint, int status, double seconds) {
  std::lock_guard<std::mutex> lock(mutex_);
  ++requests_[{endpoint, status}];
  latency_.try_emplace(endpoint, kLatencyBounds).first->second.observe(seconds);
}

void ServeMetrics::record_batch(size_t size, double seconds) {
  std::lock_guard<std::mutex> lock(mutex_);
  batch_size_.observe(static_cast<double>(size));
  forward_seconds_.observe(seconds);
}

void ServeMetrics::record_image(const std::string& result) {
  std::lock_guard<std::mutex> lock(mutex_);
  ++images_[result];
}

uint64_t ServeMetrics::requests(const std::string& endpoint, int status) const {
  std::lock_guard<std::mutex> lock(mutex_);
  const auto it = requests_.find({endpoint, status});
  return it == requests_.end() ? 0 : it->second;
}

uint64_t ServeMetrics::batches_over_one() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return batch_size_.count() - batch_size_.cumulative(0);
}

std::string ServeMetrics::render() const {
  const size_t depth = queue_depth_ ? queue_depth_() : 0;  // outside the lock: the batcher has its own
  std::lock_guard<std::mutex> lock(mutex_);
  std::ostringstream out;

  header(out, "vigil_build_info", "gauge", "vigil version and the model being served (always 1).");
  out << "vigil_build_info{";
  for (size_t i = 0; i < build_labels_.size(); ++i)
    out << (i ? "," : "") << build_labels_[i].first << "=\"" << prometheus_label(build_labels_[i].second) << "\"";
  out << "} 1\n";

  header(out, "vigil_http_requests_total", "counter", "HTTP requests by endpoint and status code.");
  for (const auto& [key, n] : requests_)
    out << "vigil_http_requests_total{endpoint=\"" << prometheus_label(key.first) << "\",status=\"" << key.second
        << "\"} " << n << "\n";

  header(out, "vigil_http_request_duration_seconds", "histogram",
         "Time from the request headers to the response, by endpoint.");
  for (const auto& [endpoint, h] : latency_)
    histogram_lines(out, "vigil_http_request_duration_seconds", "endpoint=\"" + prometheus_label(endpoint) + "\"", h);

  header(out, "vigil_batch_size", "histogram", "Images per forward pass of the batching worker.");
  histogram_lines(out, "vigil_batch_size", "", batch_size_);

  header(out, "vigil_forward_duration_seconds", "histogram", "Time of one forward pass (a whole batch).");
  histogram_lines(out, "vigil_forward_duration_seconds", "", forward_seconds_);

  header(out, "vigil_images_total", "counter", "Images classified, by top class, or \"error\" when unusable.");
  for (const auto& [result, n] : images_)
    out << "vigil_images_total{result=\"" << prometheus_label(result) << "\"} " << n << "\n";

  header(out, "vigil_queue_depth", "gauge", "Images waiting for the batching worker.");
  out << "vigil_queue_depth " << depth << "\n";
  return out.str();
}

}  // namespace vigil::infer
