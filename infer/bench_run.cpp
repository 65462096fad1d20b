// Implementation of the measuring pieces of `vigil bench`: percentiles, stats, the timing loop, the batch list and
// the CPU model name.
#include "infer/bench_run.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <map>
#include <numeric>
#include <set>
#include <sstream>

#include "common/error.h"

namespace vigil::infer {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

std::string trim(const std::string& s) {
  const size_t a = s.find_first_not_of(" \t\r\n");
  if (a == std::string::npos) return "";
  const size_t b = s.find_last_not_of(" \t\r\n");
  return s.substr(a, b - a + 1);
}

}  // namespace

double percentile(const std::vector<double>& sorted, double q) {
  VIGIL_CHECK(!sorted.empty(), "percentile of no values");
  VIGIL_CHECK(q >= 0 && q <= 1, "percentile: q ", q, " outside [0, 1]");
  const double at = q * static_cast<double>(sorted.size() - 1);
  const size_t lo = static_cast<size_t>(std::floor(at));
  const size_t hi = std::min(lo + 1, sorted.size() - 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (at - static_cast<double>(lo));
}

LatencyStats latency_stats(int batch, std::vector<double> ms, int64_t images) {
  VIGIL_CHECK(!ms.empty(), "latency_stats: no timed iterations");
  std::sort(ms.begin(), ms.end());
  LatencyStats s;
  s.batch = batch;
  s.iterations = static_cast<int64_t>(ms.size());
  s.images = images >= 0 ? images : static_cast<int64_t>(batch) * s.iterations;
  const double total_ms = std::accumulate(ms.begin(), ms.end(), 0.0);
  s.total_s = total_ms / 1e3;
  s.mean_ms = total_ms / static_cast<double>(ms.size());
  s.p50_ms = percentile(ms, 0.50);
  s.p99_ms = percentile(ms, 0.99);
  s.min_ms = ms.front();
  s.max_ms = ms.back();
  s.images_per_s = s.total_s > 0 ? static_cast<double>(s.images) / s.total_s : 0.0;
  return s;
}

std::vector<double> time_iterations(const std::function<void()>& step, const TimingBudget& b) {
  VIGIL_CHECK(b.seconds > 0 && b.min_iterations >= 1 && b.warmup_iterations >= 0 && b.warmup_seconds >= 0,
              "time_iterations: bad budget");
  const auto warm = Clock::now();
  for (int i = 0; i < b.warmup_iterations || seconds_since(warm) < b.warmup_seconds; ++i) step();
  std::vector<double> ms;
  const auto start = Clock::now();
  while (static_cast<int>(ms.size()) < b.min_iterations || seconds_since(start) < b.seconds) {
    const auto t0 = Clock::now();
    step();
    ms.push_back(seconds_since(t0) * 1e3);
  }
  return ms;
}

std::vector<int> parse_batch_sizes(const std::string& text) {
  std::vector<int> out;
  std::set<int> seen;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    item = trim(item);
    int v = 0;
    bool ok = !item.empty() && item.find_first_not_of("0123456789") == std::string::npos && item.size() <= 6;
    if (ok) v = std::stoi(item);
    VIGIL_CHECK(ok && v >= 1 && v <= 65536, "--batch ", text, ": '", item,
                "' is not a batch size (positive integers up to 65536, e.g. 1,64)");
    VIGIL_CHECK(seen.insert(v).second, "--batch ", text, ": batch size ", v, " is given twice");
    out.push_back(v);
  }
  VIGIL_CHECK(!out.empty(), "--batch ", text, ": give at least one batch size, e.g. 1,64");
  return out;
}

std::string cpu_model_from_cpuinfo(const std::string& cpuinfo) {
  std::map<std::string, std::string> first;  // the first value of every key
  std::istringstream in(cpuinfo);
  for (std::string line; std::getline(in, line);) {
    const size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    const std::string key = trim(line.substr(0, colon)), value = trim(line.substr(colon + 1));
    if (!key.empty() && !value.empty()) first.emplace(key, value);
  }
  for (const char* key : {"model name", "Model", "Hardware", "cpu model"})
    if (auto it = first.find(key); it != first.end()) return it->second;
  const auto impl = first.find("CPU implementer"), part = first.find("CPU part");
  if (impl != first.end() && part != first.end()) return "CPU implementer " + impl->second + " part " + part->second;
  return "unknown";
}

std::string cpu_model_name() {
  std::ifstream in("/proc/cpuinfo");
  if (!in) return "unknown";
  std::stringstream ss;
  ss << in.rdbuf();
  return cpu_model_from_cpuinfo(ss.str());
}

}  // namespace vigil::infer
