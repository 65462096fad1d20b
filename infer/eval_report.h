// The `vigil evaluate --html` report: one self-contained, script-free page (summary, confusion matrix, per-class
// table, reliability diagram, threshold sweep, worst false positives and false negatives).
#pragma once
#include <string>

#include "infer/evaluate.h"

namespace vigil::infer {

// The page for a finished evaluation; every string from data is HTML-escaped. The worst mistakes are listed with
// their paths (no thumbnails yet).
std::string render_evaluation_html(const EvaluateResult& result);

}  // namespace vigil::infer
