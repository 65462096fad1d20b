// Progress bar and plain progress lines.
#include "train/progress.h"

#include <cstdio>
#include <iomanip>
#include <sstream>

namespace vigil::train {

std::string format_duration(double s) {
  if (!(s >= 0) || s > 1e8) return "?";
  const int64_t t = static_cast<int64_t>(s + 0.5);
  char buf[32];
  if (t >= 3600) std::snprintf(buf, sizeof(buf), "%lldh%02lldm", (long long)(t / 3600), (long long)(t % 3600 / 60));
  else if (t >= 60) std::snprintf(buf, sizeof(buf), "%lldm%02llds", (long long)(t / 60), (long long)(t % 60));
  else std::snprintf(buf, sizeof(buf), "%llds", (long long)t);
  return buf;
}

Progress::Progress(std::ostream& out, bool interactive, double line_seconds)
    : out_(out), interactive_(interactive), line_seconds_(line_seconds) {}

void Progress::start(const std::string& label, int64_t total, int64_t done) {
  label_ = label;
  total_ = total;
  first_ = done;
  images_ = 0;
  start_ = last_print_ = std::chrono::steady_clock::now();
  printed_ = false;
}

void Progress::update(int64_t done, int64_t images, double loss, double accuracy, double lr) {
  images_ = images;
  const auto now = std::chrono::steady_clock::now();
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  const double since = std::chrono::duration<double>(now - last_print_).count();
  const bool last = done >= total_;
  if (interactive_ ? (since < 0.2 && !last) : (since < line_seconds_ && !last)) return;
  last_print_ = now;
  const double rate = elapsed > 0 ? images / elapsed : 0;
  const double per_batch = done > first_ ? elapsed / double(done - first_) : 0;
  const double eta = per_batch * double(total_ - done);
  std::ostringstream line;
  line << label_ << " ";
  if (interactive_) {
    const int width = 24;
    const int filled = total_ > 0 ? static_cast<int>(width * double(done) / double(total_)) : width;
    line << "[" << std::string(filled, '#') << std::string(width - filled, '.') << "] ";
  }
  line << done << "/" << total_ << " | loss " << std::fixed << std::setprecision(4) << loss << " | acc "
       << std::setprecision(3) << accuracy << " | lr " << std::scientific << std::setprecision(2) << lr << std::fixed
       << " | " << std::setprecision(1) << rate << " img/s | " << (last ? "took " + format_duration(elapsed) : "ETA " + format_duration(eta));
  if (interactive_) {
    out_ << "\r" << line.str() << "\033[K" << std::flush;
    printed_ = true;
  } else {
    out_ << line.str() << "\n" << std::flush;
  }
}

void Progress::finish() {
  if (interactive_ && printed_) out_ << "\n" << std::flush;
  printed_ = false;
}

}  // namespace vigil::train
