// Training progress: a one-line bar with ETA, images/s, running loss/accuracy and learning rate on a terminal;
// plain periodic lines when the output is a file or a CI log.
#pragma once
#include <chrono>
#include <cstdint>
#include <ostream>
#include <string>

namespace vigil::train {

class Progress {
 public:
  // interactive: redraw one line (a terminal); otherwise print a line every `line_seconds`.
  Progress(std::ostream& out, bool interactive, double line_seconds = 10.0);
  void start(const std::string& label, int64_t total_batches, int64_t done_batches = 0);
  void update(int64_t batches_done, int64_t images, double loss, double accuracy, double lr);
  void finish();  // ends the bar's line

 private:
  std::ostream& out_;
  bool interactive_;
  double line_seconds_;
  std::string label_;
  int64_t total_ = 0, first_ = 0, images_ = 0;
  std::chrono::steady_clock::time_point start_, last_print_;
  bool printed_ = false;
};

std::string format_duration(double seconds);  // "1h02m", "3m05s", "12s"

}  // namespace vigil::train
