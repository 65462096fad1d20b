// The training report: one self-contained, offline, script-free HTML page per run (curves, confusion matrix,
// per-class metrics, data summary, configuration, timing).
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "train/metrics_log.h"

namespace vigil::train {

struct ReportInput {
  std::string title;
  std::vector<EpochRecord> epochs;
  std::vector<double> step_lr;  // learning rate per optimizer step; may be empty (the per-epoch lr is plotted then)
  nlohmann::json final_confusion;  // ConfusionMatrix::to_json() of the final evaluation, or null
  // {"splits": {"train": {"class": count, ...}, ...}, "skipped": [{"path":..., "reason":...}], "skipped_count": n}
  nlohmann::json data_summary;
  nlohmann::json config;  // the resolved configuration
  nlohmann::json timing;  // {"device": ..., "images_per_second": ..., "seconds_per_epoch": ...} (any keys)
};

// Writes RUN_DIR/report.html (to `path`, atomically): summary with accuracy and its 95% Wilson interval, the
// weakest classes and warnings (classes without examples or never predicted); loss, accuracy, per-class validation
// recall and learning-rate curves as inline SVG; the final confusion matrix as a table coloured by row-normalised
// value (diagonal blue, errors red) with class names on both axes; per-class precision / recall / F1 with recall
// intervals; a per-epoch table; the data summary (counts per class and split, skipped files grouped by reason and
// listed up to 100); the timing; the configuration as pretty JSON. Every string that comes from data is
// HTML-escaped; the page has no JavaScript and loads nothing. Throws vigil::Error on a malformed confusion matrix.
void write_report_html(const std::string& path, const ReportInput& in);

// The page itself, as write_report_html writes it.
std::string render_report_html(const ReportInput& in);

}  // namespace vigil::train
