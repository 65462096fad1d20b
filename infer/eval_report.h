// The `vigil evaluate --html` report: one self-contained, script-free page (summary, confusion matrix, per-class
// table, reliability diagram, threshold sweep, worst false positives and false negatives with thumbnails).
#pragma once
#include <cstddef>
#include <string>
#include <vector>

#include "infer/evaluate.h"

namespace vigil::infer {

// The most confident mistakes about one class: its false positives (predicted `class_id`, labelled otherwise;
// by descending probability of class_id) or its false negatives (labelled class_id, predicted otherwise; by
// descending probability of the predicted class). `records` index result.records.
struct MistakeList {
  int class_id = 0;
  bool false_positives = true;
  std::vector<size_t> records;
};
constexpr size_t kMistakesPerList = 10;  // what the report lists (and embeds thumbnails for) per list
// Per class, its false positives then its false negatives, at most `limit` each; stable for equal confidences.
std::vector<MistakeList> worst_mistakes(const EvaluateResult& result, size_t limit);

// The page for a finished evaluation; every string from data is HTML-escaped. The worst mistakes are listed with
// their paths and, where result.thumbnails has one, an inline thumbnail.
std::string render_evaluation_html(const EvaluateResult& result);

}  // namespace vigil::infer
