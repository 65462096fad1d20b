// Per-epoch training records and their on-disk log: RUN_DIR/metrics.jsonl (one JSON object per line, the source of
// truth) and RUN_DIR/metrics.csv (the same records as a spreadsheet-friendly table), both resumable.
#pragma once
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace vigil::train {

// One epoch's figures. Quantities that were not measured (say, no validation split) stay NaN and are written as
// JSON null / an empty CSV field.
struct EpochRecord {
  static constexpr double kNotMeasured = std::numeric_limits<double>::quiet_NaN();
  int64_t epoch = 0;
  double train_loss = kNotMeasured, train_accuracy = kNotMeasured, val_loss = kNotMeasured,
         val_accuracy = kNotMeasured;
  double lr = kNotMeasured;
  double seconds = kNotMeasured, images_per_second = kNotMeasured;
  nlohmann::json val_confusion;  // ConfusionMatrix::to_json() of the validation pass, or null
  bool best = false;             // the checkpoint kept as best so far
};

// {"epoch":..,"train_loss":..,...,"val_confusion":..,"best":..}; non-finite numbers become null.
nlohmann::json epoch_record_to_json(const EpochRecord& record);
// The inverse; null or missing numbers read as NaN, a missing "val_confusion" as null and "best" as false. Throws
// vigil::Error when "epoch" is missing or a field has the wrong type.
EpochRecord epoch_record_from_json(const nlohmann::json& j);

// Appends records to RUN_DIR/metrics.jsonl and RUN_DIR/metrics.csv, creating RUN_DIR if needed. Opening an existing
// run continues its files: a half-written last line left by a killed run is cut off, and a CSV that lags behind the
// JSONL (killed between the two writes) is rebuilt from it. Appending an epoch that is not after the last one logged
// (a run resumed from an earlier checkpoint) first drops the logged records from that epoch on, so each epoch
// appears once. The CSV header is written once; its per-class columns (val_precision_<class>, val_recall_<class>,
// val_f1_<class>; empty where undefined) follow the class names of the first record with a validation confusion
// matrix. Every append is fsynced; rewrites are atomic.
class MetricsLog {
 public:
  explicit MetricsLog(const std::string& run_dir);
  void append(const EpochRecord& record);
  const std::vector<EpochRecord>& records() const { return records_; }

  // The records in RUN_DIR/metrics.jsonl, ignoring a half-written last line. Throws vigil::Error when the file is
  // missing or a complete line is not a valid record (naming file and line).
  static std::vector<EpochRecord> read(const std::string& run_dir);

  static std::string jsonl_path(const std::string& run_dir);
  static std::string csv_path(const std::string& run_dir);

 private:
  void rewrite_csv();  // metrics.csv regenerated from records_, atomically

  std::string run_dir_;
  std::vector<EpochRecord> records_;  // what metrics.jsonl holds
  std::string csv_header_;            // metrics.csv's header line ("" while the file is empty)
  int64_t csv_rows_ = 0;              // complete data rows in metrics.csv
};

}  // namespace vigil::train
