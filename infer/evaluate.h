// `vigil evaluate`: a model scored on a labelled data set (folder, list CSV or a run's manifest split) — accuracy
// with intervals, confusion matrix, per-class figures, ROC/PR-AUC, calibration and a threshold sweep — written as a
// summary, JSON, per-image JSONL and an HTML report.
#pragma once
#include <cstdint>
#include <map>
#include <ostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/dataset.h"
#include "infer/eval_metrics.h"
#include "infer/eval_thumbnails.h"

namespace vigil::infer {

struct EvaluateOptions {
  std::string model;        // model file (.safetensors)
  std::string model_def;    // definition for plain state_dicts
  std::string data;         // DIR, LIST.csv or RUN_DIR/manifest.csv
  std::string split;        // "", "val" or "test" (folders with split folders, manifests; default test)
  std::string class_map;    // "fight=violence,noFight=standard" as in train
  std::string json, predictions, html;  // outputs ("" = none)
  int batch = 32;
  std::string device = "auto";
  int threads = 0, workers = 0;
  double target_precision = 0.95;
  int bootstrap = 1000;
  uint64_t seed = 0;
};

// One evaluated image: its probabilities, or the reason it could not be used.
struct EvalRecord {
  std::string path;
  int label = -1;
  std::string error;               // "" when scored
  std::vector<float> probabilities;
  int predicted = -1;
};

struct EvaluateResult {
  std::vector<std::string> classes;
  std::vector<EvalRecord> records;  // data set order, errors included
  nlohmann::ordered_json metrics;   // the --json document
  std::map<size_t, Thumbnail> thumbnails;  // record index -> thumbnail, for the report's worst mistakes (--html)
};

// The labelled images named by options.data and options.split (split "test" or "val"): a manifest's split, a list
// CSV, a folder's split folder, or every image of a flat class-folder tree; `default_split` when options.split is
// empty and the data has splits. Folder notes go to `err`. Throws vigil::Error naming the option and the reason.
data::Dataset evaluation_data(const EvaluateOptions& options, const std::vector<std::string>& classes,
                              std::ostream& err, const std::string& default_split = "test");

// Scores `records` (the scored ones) and returns the --json document: accuracy, accuracy_ci {bootstrap, wilson},
// confusion_matrix, per_class, roc_auc, pr_auc, ece, reliability, thresholds, recommended_thresholds, counts.
nlohmann::ordered_json evaluation_metrics(const std::vector<std::string>& classes,
                                          const std::vector<EvalRecord>& records, double target_precision,
                                          int bootstrap, uint64_t seed);

// The human summary printed on standard output.
std::string evaluation_summary(const nlohmann::ordered_json& metrics);

// One JSON line per record: path, label, probabilities {class: p}, predicted, correct (errors: status "error").
std::string prediction_lines(const std::vector<std::string>& classes, const std::vector<EvalRecord>& records);

// Runs the whole command. Throws vigil::Error for fatal problems (no model, no data, unwritable outputs).
EvaluateResult run_evaluate(const EvaluateOptions& options, std::ostream& out, std::ostream& err);

}  // namespace vigil::infer
