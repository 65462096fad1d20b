// MetricsLog: resumable JSONL + CSV epoch logs, and EpochRecord's JSON form.
#include "train/metrics_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/error.h"
#include "train/atomic_file.h"
#include "train/metrics.h"

namespace vigil::train {

using nlohmann::json;
namespace fs = std::filesystem;

namespace {

json finite_or_null(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }

double number_or_nan(const json& j, const char* key) {
  if (!j.contains(key) || j.at(key).is_null()) return EpochRecord::kNotMeasured;
  VIGIL_CHECK(j.at(key).is_number(), "epoch record: \"", key, "\" must be a number or null, got ", j.at(key).dump());
  return j.at(key).get<double>();
}

std::string read_whole_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  VIGIL_CHECK(in, path, ": cannot open for reading: ", std::strerror(errno));
  std::ostringstream os;
  os << in.rdbuf();
  return os.str();
}

// Cuts a file back to its last newline, dropping a line that a killed writer left half-written; returns the kept text.
std::string drop_unterminated_tail(const std::string& path) {
  if (!fs::exists(path)) return "";
  std::string text = read_whole_file(path);
  if (text.empty() || text.back() == '\n') return text;
  const size_t keep = text.rfind('\n') == std::string::npos ? 0 : text.rfind('\n') + 1;
  fs::resize_file(path, keep);
  text.resize(keep);
  return text;
}

std::vector<std::string> complete_lines(const std::string& text) {
  std::vector<std::string> lines;
  size_t start = 0;
  for (size_t nl = text.find('\n'); nl != std::string::npos; nl = text.find('\n', start)) {
    lines.push_back(text.substr(start, nl - start));
    start = nl + 1;
  }
  return lines;
}

std::vector<EpochRecord> parse_jsonl(const std::string& text, const std::string& path) {
  std::vector<EpochRecord> records;
  const std::vector<std::string> lines = complete_lines(text);
  for (size_t i = 0; i < lines.size(); ++i) {
    if (lines[i].find_first_not_of(" \t\r") == std::string::npos) continue;
    try {
      records.push_back(epoch_record_from_json(json::parse(lines[i])));
    } catch (const std::exception& e) {
      VIGIL_FAIL(path, ":", i + 1, ": not a valid epoch record: ", user_message(e));
    }
  }
  return records;
}

void append_durably(const std::string& path, const std::string& text) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  VIGIL_CHECK(fd >= 0, path, ": cannot open for appending: ", std::strerror(errno));
  const char* p = text.data();
  size_t left = text.size();
  std::string failure;
  while (left > 0 && failure.empty()) {
    const ssize_t put = ::write(fd, p, left);
    if (put < 0 && errno == EINTR) continue;
    if (put <= 0) {
      failure = put < 0 ? std::strerror(errno) : "no progress";
    } else {
      p += put;
      left -= static_cast<size_t>(put);
    }
  }
  if (failure.empty() && ::fsync(fd) != 0) failure = std::string("fsync failed: ") + std::strerror(errno);
  ::close(fd);
  VIGIL_CHECK(failure.empty(), path, ": append failed: ", failure);
}

// RFC 4180 quoting for fields that hold a comma, quote or line break.
std::string csv_field(const std::string& text) {
  if (text.find_first_of(",\"\r\n") == std::string::npos) return text;
  std::string quoted = "\"";
  for (char ch : text) quoted += ch == '"' ? std::string("\"\"") : std::string(1, ch);
  return quoted + "\"";
}

std::string csv_number(double v) {
  if (!std::isfinite(v)) return "";
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

// The class names of the first record that carries a validation confusion matrix (none: no per-class columns).
std::vector<std::string> csv_class_columns(const std::vector<EpochRecord>& records) {
  for (const EpochRecord& r : records)
    if (!r.val_confusion.is_null()) return ConfusionMatrix::from_json(r.val_confusion).class_names();
  return {};
}

std::string csv_header(const std::vector<std::string>& classes) {
  std::string header =
      "epoch,train_loss,train_accuracy,val_loss,val_accuracy,val_macro_f1,val_balanced_accuracy,lr,seconds,"
      "images_per_second,best";
  for (const std::string& name : classes)
    for (const char* metric : {"precision", "recall", "f1"})
      header += "," + csv_field(std::string("val_") + metric + "_" + name);
  return header;
}

std::string csv_row(const EpochRecord& r, const std::vector<std::string>& classes) {
  double macro_f1 = EpochRecord::kNotMeasured, balanced = EpochRecord::kNotMeasured;
  std::vector<ConfusionMatrix::ClassStats> stats;
  if (!r.val_confusion.is_null()) {
    const ConfusionMatrix cm = ConfusionMatrix::from_json(r.val_confusion);
    macro_f1 = cm.macro_f1();
    balanced = cm.balanced_accuracy();
    stats = cm.per_class();
  }
  std::string row = std::to_string(r.epoch);
  for (double v : {r.train_loss, r.train_accuracy, r.val_loss, r.val_accuracy, macro_f1, balanced, r.lr, r.seconds,
                   r.images_per_second})
    row += "," + csv_number(v);
  row += r.best ? ",1" : ",0";
  for (const std::string& name : classes) {
    const ConfusionMatrix::ClassStats* s = nullptr;
    for (const auto& candidate : stats)
      if (candidate.name == name) s = &candidate;
    const bool has_precision = s && s->predicted > 0, has_recall = s && s->support > 0;
    row += "," + (has_precision ? csv_number(s->precision) : "");
    row += "," + (has_recall ? csv_number(s->recall) : "");
    row += "," + (s && s->support + s->predicted > 0 ? csv_number(s->f1) : "");
  }
  return row;
}

// One JSONL line (without the newline); invalid UTF-8 in strings is replaced rather than failing the run.
std::string jsonl_line(const EpochRecord& r) {
  return epoch_record_to_json(r).dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace

json epoch_record_to_json(const EpochRecord& r) {
  return json{{"epoch", r.epoch},
              {"train_loss", finite_or_null(r.train_loss)},
              {"train_accuracy", finite_or_null(r.train_accuracy)},
              {"val_loss", finite_or_null(r.val_loss)},
              {"val_accuracy", finite_or_null(r.val_accuracy)},
              {"lr", finite_or_null(r.lr)},
              {"seconds", finite_or_null(r.seconds)},
              {"images_per_second", finite_or_null(r.images_per_second)},
              {"val_confusion", r.val_confusion},
              {"best", r.best}};
}

EpochRecord epoch_record_from_json(const json& j) {
  VIGIL_CHECK(j.is_object(), "epoch record must be a JSON object, got ", j.dump());
  VIGIL_CHECK(j.contains("epoch") && j.at("epoch").is_number_integer(), "epoch record needs an integer \"epoch\"");
  EpochRecord r;
  r.epoch = j.at("epoch").get<int64_t>();
  r.train_loss = number_or_nan(j, "train_loss");
  r.train_accuracy = number_or_nan(j, "train_accuracy");
  r.val_loss = number_or_nan(j, "val_loss");
  r.val_accuracy = number_or_nan(j, "val_accuracy");
  r.lr = number_or_nan(j, "lr");
  r.seconds = number_or_nan(j, "seconds");
  r.images_per_second = number_or_nan(j, "images_per_second");
  if (j.contains("val_confusion")) {
    r.val_confusion = j.at("val_confusion");
    VIGIL_CHECK(r.val_confusion.is_null() || r.val_confusion.is_object(),
                "epoch record: \"val_confusion\" must be an object or null");
  }
  if (j.contains("best")) {
    VIGIL_CHECK(j.at("best").is_boolean(), "epoch record: \"best\" must be true or false");
    r.best = j.at("best").get<bool>();
  }
  return r;
}

std::string MetricsLog::jsonl_path(const std::string& run_dir) { return (fs::path(run_dir) / "metrics.jsonl").string(); }
std::string MetricsLog::csv_path(const std::string& run_dir) { return (fs::path(run_dir) / "metrics.csv").string(); }

MetricsLog::MetricsLog(const std::string& run_dir) : run_dir_(run_dir) {
  VIGIL_CHECK(!run_dir.empty(), "MetricsLog: empty run directory");
  std::error_code ec;
  fs::create_directories(run_dir, ec);
  VIGIL_CHECK(!ec, run_dir, ": cannot create the run directory: ", ec.message());
  const std::string jsonl = jsonl_path(run_dir);
  records_ = parse_jsonl(drop_unterminated_tail(jsonl), jsonl);
  const std::vector<std::string> csv_lines = complete_lines(drop_unterminated_tail(csv_path(run_dir)));
  if (!csv_lines.empty()) {
    csv_header_ = csv_lines.front();
    csv_rows_ = static_cast<int64_t>(csv_lines.size()) - 1;
  }
  const bool csv_in_step = records_.empty()
                               ? csv_lines.empty()
                               : csv_header_ == csv_header(csv_class_columns(records_)) &&
                                     csv_rows_ == static_cast<int64_t>(records_.size());
  if (!csv_in_step) rewrite_csv();
}

void MetricsLog::rewrite_csv() {
  std::string text;
  csv_header_.clear();
  if (!records_.empty()) {
    const std::vector<std::string> classes = csv_class_columns(records_);
    csv_header_ = csv_header(classes);
    text = csv_header_ + "\n";
    for (const EpochRecord& r : records_) text += csv_row(r, classes) + "\n";
  }
  write_file_atomic(csv_path(run_dir_), text);
  csv_rows_ = static_cast<int64_t>(records_.size());
}

void MetricsLog::append(const EpochRecord& record) {
  bool csv_stale = false;
  if (!records_.empty() && record.epoch <= records_.back().epoch) {
    while (!records_.empty() && records_.back().epoch >= record.epoch) records_.pop_back();
    std::string text;
    for (const EpochRecord& r : records_) text += jsonl_line(r) + "\n";
    write_file_atomic(jsonl_path(run_dir_), text);
    csv_stale = true;
  }
  append_durably(jsonl_path(run_dir_), jsonl_line(record) + "\n");
  records_.push_back(record);

  const std::vector<std::string> classes = csv_class_columns(records_);
  if (csv_stale || csv_header_ != csv_header(classes)) {
    rewrite_csv();
    return;
  }
  append_durably(csv_path(run_dir_), csv_row(record, classes) + "\n");
  ++csv_rows_;
}

std::vector<EpochRecord> MetricsLog::read(const std::string& run_dir) {
  const std::string path = jsonl_path(run_dir);
  VIGIL_CHECK(fs::exists(path), path, ": no metrics log here");
  std::string text = read_whole_file(path);
  text.resize(text.rfind('\n') == std::string::npos ? 0 : text.rfind('\n') + 1);  // ignore a half-written line
  return parse_jsonl(text, path);
}

}  // namespace vigil::train
