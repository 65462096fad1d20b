// The measuring pieces of `vigil bench`: a timing loop with an excluded warm-up, latency percentiles and
// throughput, the batch-size list and the CPU's model name; pure or nearly so, tested without a model.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace vigil::infer {

// The q-th quantile (q in [0, 1]) of ascending `sorted` values, interpolating linearly between order statistics
// (numpy's default): q = 0.5 of {1, 2, 3, 4} is 2.5. Throws vigil::Error for an empty list or q outside [0, 1].
double percentile(const std::vector<double>& sorted, double q);

// Latency and throughput of one measured configuration.
struct LatencyStats {
  int batch = 0;
  int64_t iterations = 0;
  int64_t images = 0;        // images processed in the timed iterations
  double total_s = 0;        // sum of the timed iterations
  double mean_ms = 0, p50_ms = 0, p99_ms = 0, min_ms = 0, max_ms = 0;  // per batch (one iteration)
  double images_per_s = 0;   // images / total_s
};
// Stats of per-iteration times `ms` of batches of `batch` images; `images` defaults to batch * iterations (end to
// end counts only the images that decoded). Throws vigil::Error when `ms` is empty.
LatencyStats latency_stats(int batch, std::vector<double> ms, int64_t images = -1);

// How long to measure: warm-up iterations run for warmup_seconds (at least warmup_iterations) and are not
// recorded; then timed iterations run until `seconds` have passed and at least min_iterations were recorded.
struct TimingBudget {
  double seconds = 3;
  double warmup_seconds = 0.5;
  int warmup_iterations = 1;
  int min_iterations = 3;
};
// Runs `step` as the budget says and returns the wall time of every timed iteration in milliseconds.
std::vector<double> time_iterations(const std::function<void()>& step, const TimingBudget& budget);

// "1,64" -> {1, 64}: positive integers up to 65536, no duplicates, at least one. Throws vigil::Error naming the
// bad entry.
std::vector<int> parse_batch_sizes(const std::string& text);

// The CPU's model name from /proc/cpuinfo text: the first "model name" line (x86), else "Model" or "Hardware"
// (ARM boards), else "CPU implementer/part" as hex; "unknown" when there is none.
std::string cpu_model_from_cpuinfo(const std::string& cpuinfo);
// The same for this machine ("unknown" when /proc/cpuinfo cannot be read).
std::string cpu_model_name();

}  // namespace vigil::infer
