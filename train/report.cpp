// write_report_html: assembles the run's report page from its sections; every data string passes through esc().
#include "train/report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <optional>
#include <sstream>

#include "common/error.h"
#include "train/atomic_file.h"
#include "train/metrics.h"
#include "train/svg_plot.h"

namespace vigil::train {

using nlohmann::json;

namespace {

constexpr size_t kMaxSkippedListed = 100;
constexpr const char* kDash = "\xE2\x80\x94";  // em dash: "not available"

constexpr const char* kStyle = R"(
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1d1d1f; margin: 24px auto;
       max-width: 1180px; padding: 0 16px; line-height: 1.4; }
h1 { font-size: 24px; margin-bottom: 4px; }
h2 { font-size: 18px; margin-top: 32px; border-bottom: 1px solid #d0d0d0; padding-bottom: 4px; }
.subtitle { color: #666666; margin-top: 0; }
.kpis { display: flex; flex-wrap: wrap; gap: 12px; margin: 16px 0; }
.kpi { border: 1px solid #d0d0d0; border-radius: 6px; padding: 10px 16px; min-width: 180px; }
.kpi .value { font-size: 26px; font-weight: 600; }
.kpi .label { color: #555555; font-size: 13px; }
.notes li { margin: 4px 0; }
.notes li.warn { color: #a3300b; }
.charts { display: flex; flex-wrap: wrap; gap: 16px; }
.charts svg { border: 1px solid #e0e0e0; border-radius: 4px; }
table { border-collapse: collapse; margin: 8px 0; font-variant-numeric: tabular-nums; }
th, td { border: 1px solid #d0d0d0; padding: 4px 10px; }
th { background: #f4f4f4; text-align: left; font-weight: 600; }
td.num { text-align: right; }
table.cm td { text-align: center; min-width: 84px; padding: 6px 10px; }
table.cm td .n { display: block; font-size: 16px; font-weight: 600; }
table.cm td .share { display: block; font-size: 11px; }
table.cm th.axis { text-align: center; background: #e9e9e9; }
tr.best td { background: #eef6ee; }
td.path { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 12px; word-break: break-all; }
.muted { color: #777777; font-size: 12px; }
pre { background: #f6f6f6; border: 1px solid #e0e0e0; padding: 12px; overflow-x: auto; font-size: 12px; }
details summary { cursor: pointer; color: #444444; margin: 6px 0; }
footer { margin-top: 40px; color: #888888; font-size: 12px; }
)";

std::string esc(const std::string& text) { return xml_escape(text); }

std::string fixed(double v, int decimals) {
  if (!std::isfinite(v)) return kDash;
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

std::string percent(double fraction, int decimals = 1) {
  return std::isfinite(fraction) ? fixed(100.0 * fraction, decimals) + "%" : kDash;
}

std::string general(double v, int digits = 4) {
  if (!std::isfinite(v)) return kDash;
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*g", digits, v);
  return buf;
}

std::string duration(double seconds) {
  if (!std::isfinite(seconds)) return kDash;
  const auto total = static_cast<int64_t>(std::llround(seconds));
  char buf[64];
  std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", static_cast<long long>(total / 3600),
                static_cast<long long>(total / 60 % 60), static_cast<long long>(total % 60));
  return buf;
}

// A JSON scalar as display text (already escaped): strings verbatim, numbers compactly, anything else as JSON.
std::string json_text(const json& v) {
  if (v.is_string()) return esc(v.get<std::string>());
  if (v.is_number_integer() || v.is_number_unsigned()) return esc(v.dump());
  if (v.is_number()) return general(v.get<double>());
  if (v.is_null()) return kDash;
  return esc(v.dump(-1, ' ', false, json::error_handler_t::replace));
}

std::string pretty_label(std::string key) {
  std::replace(key.begin(), key.end(), '_', ' ');
  return esc(key);
}

// entry[key] when it is a string, else `fallback`.
std::string string_field(const json& entry, const char* key, const std::string& fallback) {
  if (!entry.is_object() || !entry.contains(key) || !entry.at(key).is_string()) return fallback;
  return entry.at(key).get<std::string>();
}

// Linear blend from white to `rgb` by `t` in [0, 1].
std::string tint(const int rgb[3], double t) {
  t = std::clamp(std::isfinite(t) ? t : 0.0, 0.0, 1.0);
  char buf[48];
  std::snprintf(buf, sizeof buf, "rgb(%d,%d,%d)", static_cast<int>(std::lround(255 + (rgb[0] - 255) * t)),
                static_cast<int>(std::lround(255 + (rgb[1] - 255) * t)),
                static_cast<int>(std::lround(255 + (rgb[2] - 255) * t)));
  return buf;
}

std::string kpi(const std::string& value, const std::string& label) {
  return "<div class=\"kpi\"><div class=\"value\">" + value + "</div><div class=\"label\">" + label + "</div></div>\n";
}

// The epoch shown as "best": the last one flagged best, else the one with the highest validation accuracy.
const EpochRecord* best_epoch(const std::vector<EpochRecord>& epochs) {
  const EpochRecord* best = nullptr;
  for (const EpochRecord& e : epochs)
    if (e.best) best = &e;
  if (best) return best;
  for (const EpochRecord& e : epochs)
    if (std::isfinite(e.val_accuracy) && (!best || e.val_accuracy > best->val_accuracy)) best = &e;
  return best;
}

// The class most often predicted for true class `k` other than itself (-1 when it is never confused).
int top_confusion_of_row(const ConfusionMatrix& cm, int k) {
  int worst = -1;
  for (int p = 0; p < cm.num_classes(); ++p)
    if (p != k && cm.count(k, p) > 0 && (worst < 0 || cm.count(k, p) > cm.count(k, worst))) worst = p;
  return worst;
}
int top_confusion_of_column(const ConfusionMatrix& cm, int k) {
  int worst = -1;
  for (int t = 0; t < cm.num_classes(); ++t)
    if (t != k && cm.count(t, k) > 0 && (worst < 0 || cm.count(t, k) > cm.count(worst, k))) worst = t;
  return worst;
}

std::string summary_section(const ReportInput& in, const ConfusionMatrix* cm) {
  std::ostringstream os;
  os << "<section id=\"summary\">\n<div class=\"kpis\">\n";
  if (cm) {
    const auto [low, high] = wilson_interval(cm->correct(), cm->total());
    os << kpi(percent(cm->accuracy()), "accuracy, final evaluation (n = " + std::to_string(cm->total()) +
                                           ")<br/>95% CI " + percent(low) + " &ndash; " + percent(high));
    os << kpi(fixed(cm->macro_f1(), 3), "macro F1");
    os << kpi(percent(cm->balanced_accuracy()), "balanced accuracy<br/>(mean per-class recall)");
  }
  if (const EpochRecord* best = best_epoch(in.epochs))
    os << kpi(std::to_string(best->epoch), "best epoch of " + std::to_string(in.epochs.size()) +
                                               "<br/>validation accuracy " + percent(best->val_accuracy));
  os << "</div>\n<ul class=\"notes\">\n";
  std::vector<std::pair<bool, std::string>> notes;  // (is a warning, HTML text)
  if (!cm) notes.push_back({true, "No final evaluation was recorded."});
  if (cm) {
    const auto stats = cm->per_class();
    int weakest_recall = -1, weakest_precision = -1;
    for (int k = 0; k < cm->num_classes(); ++k) {
      const auto& s = stats[k];
      const std::string name = "<b>" + esc(s.name) + "</b>";
      if (s.support == 0)
        notes.push_back({true, "The evaluation set has no examples of " + name +
                                   ": its recall and F1 are undefined (shown as " + kDash + ")."});
      else if (s.predicted == 0)
        notes.push_back({true, "The model never predicted " + name + " on the evaluation set."});
      if (s.support > 0 && (weakest_recall < 0 || s.recall < stats[weakest_recall].recall)) weakest_recall = k;
      if (s.predicted > 0 && (weakest_precision < 0 || s.precision < stats[weakest_precision].precision))
        weakest_precision = k;
    }
    if (weakest_recall >= 0 && cm->num_classes() > 1) {
      const auto& s = stats[weakest_recall];
      const auto [low, high] = wilson_interval(s.true_positives, s.support);
      std::string text = "Lowest recall: <b>" + esc(s.name) + "</b> " + fixed(s.recall, 3) + " (95% CI " +
                         fixed(low, 3) + "&ndash;" + fixed(high, 3) + "): " +
                         std::to_string(s.support - s.true_positives) + " of " + std::to_string(s.support) +
                         " missed";
      const int into = top_confusion_of_row(*cm, weakest_recall);
      if (into >= 0)
        text += ", most often as <b>" + esc(cm->class_names()[into]) + "</b> (" +
                std::to_string(cm->count(weakest_recall, into)) + ")";
      notes.push_back({false, text + "."});
    }
    if (weakest_precision >= 0 && cm->num_classes() > 1) {
      const auto& s = stats[weakest_precision];
      std::string text = "Lowest precision: <b>" + esc(s.name) + "</b> " + fixed(s.precision, 3) + ": " +
                         std::to_string(s.predicted - s.true_positives) + " of " + std::to_string(s.predicted) +
                         " predictions were wrong";
      const int from = top_confusion_of_column(*cm, weakest_precision);
      if (from >= 0)
        text += ", most often true <b>" + esc(cm->class_names()[from]) + "</b> (" +
                std::to_string(cm->count(from, weakest_precision)) + ")";
      notes.push_back({false, text + "."});
    }
    const auto [low, high] = wilson_interval(cm->correct(), cm->total());
    if (cm->total() > 0 && high - low > 0.10)
      notes.push_back({true, "Small evaluation set (n = " + std::to_string(cm->total()) +
                                 "): the accuracy is only known to within &plusmn;" +
                                 fixed(100 * (high - low) / 2, 1) + " percentage points."});
  }
  if (!in.epochs.empty()) {
    const EpochRecord& last = in.epochs.back();
    if (std::isfinite(last.train_accuracy) && std::isfinite(last.val_accuracy) &&
        last.train_accuracy - last.val_accuracy > 0.10)
      notes.push_back({true, "Possible overfitting: at the last epoch training accuracy exceeds validation accuracy by " +
                                 fixed(100 * (last.train_accuracy - last.val_accuracy), 1) + " points."});
    std::string bad;
    for (const EpochRecord& e : in.epochs)
      if (std::isnan(e.train_loss) || std::isinf(e.train_loss)) bad += (bad.empty() ? "" : ", ") + std::to_string(e.epoch);
    if (!bad.empty()) notes.push_back({true, "The training loss was not finite at epoch(s) " + bad + "."});
  }
  for (const auto& [warn, text] : notes) os << "<li" << (warn ? " class=\"warn\"" : "") << ">" << text << "</li>\n";
  os << "</ul>\n</section>\n";
  return os.str();
}

std::string curves_section(const ReportInput& in) {
  std::vector<double> epoch, train_loss, val_loss, train_acc, val_acc, lr;
  for (const EpochRecord& e : in.epochs) {
    epoch.push_back(static_cast<double>(e.epoch));
    train_loss.push_back(e.train_loss);
    val_loss.push_back(e.val_loss);
    train_acc.push_back(e.train_accuracy);
    val_acc.push_back(e.val_accuracy);
    lr.push_back(e.lr);
  }
  std::ostringstream os;
  os << "<section id=\"curves\">\n<h2>Training curves</h2>\n<div class=\"charts\">\n";
  PlotOptions loss{"Loss", "epoch", "loss"};
  os << render_line_chart({{"train", epoch, train_loss}, {"validation", epoch, val_loss}}, loss) << "\n";
  PlotOptions accuracy{"Accuracy", "epoch", "accuracy"};
  accuracy.y_min = 0;
  accuracy.y_max = 1;
  os << render_line_chart({{"train", epoch, train_acc}, {"validation", epoch, val_acc}}, accuracy) << "\n";

  // Per-class validation recall over epochs, when the epochs carry confusion matrices.
  std::vector<std::string> classes;
  for (const EpochRecord& e : in.epochs)
    if (!e.val_confusion.is_null()) {
      classes = ConfusionMatrix::from_json(e.val_confusion).class_names();
      break;
    }
  if (!classes.empty()) {
    std::vector<PlotSeries> recall(classes.size());
    PlotSeries macro{"macro F1", epoch, {}, "#000000", true};
    for (size_t k = 0; k < classes.size(); ++k) recall[k] = {"recall " + classes[k], epoch, {}};
    for (const EpochRecord& e : in.epochs) {
      std::vector<double> values(classes.size(), NAN);
      double f1 = NAN;
      if (!e.val_confusion.is_null()) {
        const ConfusionMatrix cm = ConfusionMatrix::from_json(e.val_confusion);
        f1 = cm.macro_f1();
        for (const auto& s : cm.per_class())
          for (size_t k = 0; k < classes.size(); ++k)
            if (s.name == classes[k] && s.support > 0) values[k] = s.recall;
      }
      for (size_t k = 0; k < classes.size(); ++k) recall[k].y.push_back(values[k]);
      macro.y.push_back(f1);
    }
    recall.push_back(macro);
    PlotOptions per_class{"Validation recall per class", "epoch", "recall / F1"};
    per_class.y_min = 0;
    per_class.y_max = 1;
    os << render_line_chart(recall, per_class) << "\n";
  }

  if (!in.step_lr.empty()) {
    std::vector<double> step(in.step_lr.size());
    for (size_t i = 0; i < step.size(); ++i) step[i] = static_cast<double>(i + 1);
    PlotOptions options{"Learning rate", "optimizer step", "learning rate"};
    os << render_line_chart({{"learning rate", step, in.step_lr, "#009E73"}}, options) << "\n";
  } else {
    PlotOptions options{"Learning rate", "epoch", "learning rate"};
    os << render_line_chart({{"learning rate", epoch, lr, "#009E73"}}, options) << "\n";
  }
  os << "</div>\n</section>\n";
  return os.str();
}

std::string confusion_section(const ConfusionMatrix* cm) {
  std::ostringstream os;
  os << "<section id=\"confusion\">\n<h2>Confusion matrix (final evaluation)</h2>\n";
  if (!cm) return os.str() + "<p>No final evaluation was recorded.</p>\n</section>\n";
  static const int kCorrect[3] = {33, 102, 172}, kError[3] = {202, 0, 32};
  const int c = cm->num_classes();
  const auto stats = cm->per_class();
  os << "<p class=\"muted\">Rows are the true class, columns the predicted class. Each cell shows the count and its "
        "share of the row (the true class); colour intensity follows that share, blue on the diagonal (correct), "
        "red off it (errors).</p>\n";
  os << "<table class=\"cm\">\n<thead>\n<tr><th class=\"axis\" rowspan=\"2\">true &darr; / predicted &rarr;</th>"
     << "<th class=\"axis\" colspan=\"" << c << "\">predicted class</th><th rowspan=\"2\">support</th>"
     << "<th rowspan=\"2\">recall</th></tr>\n<tr>";
  for (const std::string& name : cm->class_names()) os << "<th>" << esc(name) << "</th>";
  os << "</tr>\n</thead>\n<tbody>\n";
  for (int t = 0; t < c; ++t) {
    const int64_t support = cm->support(t);
    os << "<tr><th scope=\"row\">" << esc(cm->class_names()[t]) << "</th>";
    for (int p = 0; p < c; ++p) {
      const int64_t n = cm->count(t, p);
      const double share = support == 0 ? NAN : static_cast<double>(n) / static_cast<double>(support);
      const double intensity = std::isfinite(share) ? share : 0.0;
      os << "<td style=\"background:" << tint(t == p ? kCorrect : kError, intensity)
         << ";color:" << (intensity > 0.5 ? "#ffffff" : "#1d1d1f") << "\"><span class=\"n\">" << n
         << "</span><span class=\"share\">" << percent(share) << "</span></td>";
    }
    os << "<td class=\"num\">" << support << "</td><td class=\"num\">"
       << (support == 0 ? kDash : fixed(stats[t].recall, 3)) << "</td></tr>\n";
  }
  os << "<tr><th scope=\"row\">predicted total</th>";
  for (int p = 0; p < c; ++p) os << "<td class=\"num\">" << cm->predicted_count(p) << "</td>";
  os << "<td class=\"num\">" << cm->total() << "</td><td></td></tr>\n<tr><th scope=\"row\">precision</th>";
  for (int p = 0; p < c; ++p)
    os << "<td class=\"num\">" << (stats[p].predicted == 0 ? kDash : fixed(stats[p].precision, 3)) << "</td>";
  os << "<td></td><td></td></tr>\n</tbody>\n</table>\n</section>\n";
  return os.str();
}

std::string per_class_section(const ConfusionMatrix* cm) {
  if (!cm) return "";
  std::ostringstream os;
  os << "<section id=\"per-class\">\n<h2>Per-class metrics (final evaluation)</h2>\n<table>\n<thead><tr><th>class</th>"
     << "<th>support</th><th>predicted</th><th>precision</th><th>recall</th><th>recall 95% CI</th><th>F1</th>"
     << "<th>missed (FN)</th><th>false alarms (FP)</th></tr></thead>\n<tbody>\n";
  for (const auto& s : cm->per_class()) {
    const auto [low, high] = wilson_interval(s.true_positives, s.support);
    os << "<tr><th scope=\"row\">" << esc(s.name) << "</th><td class=\"num\">" << s.support << "</td><td class=\"num\">"
       << s.predicted << "</td><td class=\"num\">" << (s.predicted == 0 ? kDash : fixed(s.precision, 3))
       << "</td><td class=\"num\">" << (s.support == 0 ? kDash : fixed(s.recall, 3)) << "</td><td class=\"num\">"
       << (s.support == 0 ? kDash : fixed(low, 3) + " &ndash; " + fixed(high, 3)) << "</td><td class=\"num\">"
       << (s.support + s.predicted == 0 ? kDash : fixed(s.f1, 3)) << "</td><td class=\"num\">"
       << s.support - s.true_positives << "</td><td class=\"num\">" << s.predicted - s.true_positives << "</td></tr>\n";
  }
  const auto [low, high] = wilson_interval(cm->correct(), cm->total());
  os << "</tbody>\n</table>\n<p>Accuracy " << percent(cm->accuracy()) << " (" << cm->correct() << " of "
     << cm->total() << ", 95% CI " << percent(low) << " &ndash; " << percent(high) << "), macro F1 "
     << fixed(cm->macro_f1(), 3) << ", balanced accuracy " << percent(cm->balanced_accuracy())
     << ". <span class=\"muted\">" << kDash << " marks an undefined value: no examples of the class (recall) or no "
     << "predictions of it (precision). Macro F1 averages the classes that occur in the truth or the predictions."
     << "</span></p>\n</section>\n";
  return os.str();
}

std::string epochs_section(const std::vector<EpochRecord>& epochs) {
  std::ostringstream os;
  os << "<section id=\"epochs\">\n<h2>Epochs</h2>\n";
  if (epochs.empty()) return os.str() + "<p>No epochs were recorded.</p>\n</section>\n";
  os << "<table>\n<thead><tr><th>epoch</th><th>train loss</th><th>train accuracy</th><th>val loss</th>"
     << "<th>val accuracy</th><th>val macro F1</th><th>learning rate</th><th>time</th><th>images/s</th><th>best</th>"
     << "</tr></thead>\n<tbody>\n";
  for (const EpochRecord& e : epochs) {
    const double macro_f1 =
        e.val_confusion.is_null() ? NAN : ConfusionMatrix::from_json(e.val_confusion).macro_f1();
    os << "<tr" << (e.best ? " class=\"best\"" : "") << "><td class=\"num\">" << e.epoch << "</td><td class=\"num\">"
       << fixed(e.train_loss, 4) << "</td><td class=\"num\">" << percent(e.train_accuracy, 2) << "</td><td class=\"num\">"
       << fixed(e.val_loss, 4) << "</td><td class=\"num\">" << percent(e.val_accuracy, 2) << "</td><td class=\"num\">"
       << fixed(macro_f1, 3) << "</td><td class=\"num\">" << general(e.lr, 3) << "</td><td class=\"num\">"
       << duration(e.seconds) << "</td><td class=\"num\">" << general(e.images_per_second, 4) << "</td><td>"
       << (e.best ? "\xE2\x98\x85" : "") << "</td></tr>\n";
  }
  os << "</tbody>\n</table>\n</section>\n";
  return os.str();
}

// The split names in reading order: train, validation, test first, then any others alphabetically.
std::vector<std::string> ordered_splits(const json& splits) {
  std::vector<std::string> names;
  for (const char* known : {"train", "val", "validation", "test"})
    if (splits.contains(known)) names.push_back(known);
  for (const auto& item : splits.items())
    if (std::find(names.begin(), names.end(), item.key()) == names.end()) names.push_back(item.key());
  return names;
}

// Images per class (rows) and split (columns), with each count's share of its split.
std::string split_counts_table(const json& splits, const ConfusionMatrix* cm) {
  const std::vector<std::string> split_names = ordered_splits(splits);
  std::vector<std::string> classes;
  if (cm) classes = cm->class_names();
  std::map<std::string, int64_t> split_totals;
  for (const std::string& split : split_names) {
    const json& counts = splits.at(split);
    if (!counts.is_object()) continue;
    for (const auto& [name, count] : counts.items()) {
      if (std::find(classes.begin(), classes.end(), name) == classes.end()) classes.push_back(name);
      if (count.is_number()) split_totals[split] += count.get<int64_t>();
    }
  }
  std::ostringstream os;
  os << "<table>\n<thead><tr><th>class</th>";
  for (const std::string& split : split_names) os << "<th>" << esc(split) << "</th>";
  os << "<th>total</th></tr></thead>\n<tbody>\n";
  for (const std::string& name : classes) {
    int64_t row_total = 0;
    os << "<tr><th scope=\"row\">" << esc(name) << "</th>";
    for (const std::string& split : split_names) {
      const json& counts = splits.at(split);
      const json count = counts.is_object() ? counts.value(name, json(0)) : json();
      os << "<td class=\"num\">" << json_text(count);
      if (count.is_number()) {
        row_total += count.get<int64_t>();
        if (split_totals[split] > 0)
          os << " <span class=\"muted\">(" << percent(count.get<double>() / static_cast<double>(split_totals[split]))
             << ")</span>";
      }
      os << "</td>";
    }
    os << "<td class=\"num\">" << row_total << "</td></tr>\n";
  }
  int64_t all = 0;
  os << "<tr><th scope=\"row\">total</th>";
  for (const std::string& split : split_names) {
    os << "<td class=\"num\">" << split_totals[split] << "</td>";
    all += split_totals[split];
  }
  os << "<td class=\"num\">" << all << "</td></tr>\n</tbody>\n</table>\n";
  return os.str();
}

// The skipped-file count, a count per reason, and the first kMaxSkippedListed files with their reasons.
std::string skipped_files(const json& data) {
  const json skipped = data.value("skipped", json::array());
  const int64_t listed = skipped.is_array() ? static_cast<int64_t>(skipped.size()) : 0;
  const json count_field = data.value("skipped_count", json());
  const int64_t skipped_count =
      count_field.is_number_integer() ? std::max<int64_t>(count_field.get<int64_t>(), listed) : listed;
  std::ostringstream os;
  os << "<h3>Skipped files: " << skipped_count << "</h3>\n";
  if (listed == 0) return os.str();
  std::map<std::string, int64_t> by_reason;
  for (const json& entry : skipped) by_reason[string_field(entry, "reason", "(no reason given)")]++;
  os << "<table>\n<thead><tr><th>reason</th><th>files</th></tr></thead>\n<tbody>\n";
  for (const auto& [reason, n] : by_reason)
    os << "<tr><td>" << esc(reason) << "</td><td class=\"num\">" << n << "</td></tr>\n";
  os << "</tbody>\n</table>\n";
  if (skipped_count > listed)
    os << "<p class=\"muted\">Reasons counted over the " << listed << " files listed in the data summary.</p>\n";
  const int64_t shown = std::min<int64_t>(listed, kMaxSkippedListed);
  os << "<details open=\"open\">\n<summary>" << (shown < skipped_count ? "The first " : "All ") << shown
     << " skipped files</summary>\n<table>\n<thead><tr><th>file</th><th>reason</th></tr></thead>\n<tbody>\n";
  for (int64_t i = 0; i < shown; ++i) {
    const json& entry = skipped[static_cast<size_t>(i)];
    const json path = entry.is_object() ? entry.value("path", json()) : entry;
    const json reason = entry.is_object() ? entry.value("reason", json()) : json();
    os << "<tr><td class=\"path\">" << json_text(path) << "</td><td>" << json_text(reason) << "</td></tr>\n";
  }
  os << "</tbody>\n</table>\n</details>\n";
  if (skipped_count > shown) os << "<p>&hellip; and " << skipped_count - shown << " more not listed here.</p>\n";
  return os.str();
}

std::string data_section(const json& data, const ConfusionMatrix* cm) {
  std::ostringstream os;
  os << "<section id=\"data\">\n<h2>Data</h2>\n";
  if (!data.is_object() || data.empty()) return os.str() + "<p>No data summary was recorded.</p>\n</section>\n";
  const json splits = data.value("splits", json::object());
  if (splits.is_object() && !splits.empty()) os << split_counts_table(splits, cm);
  os << skipped_files(data) << "</section>\n";
  return os.str();
}

std::string timing_section(const json& timing, const std::vector<EpochRecord>& epochs) {
  std::ostringstream os;
  os << "<section id=\"timing\">\n<h2>Timing</h2>\n<table>\n<tbody>\n";
  if (timing.is_object())
    for (const auto& [key, value] : timing.items())
      os << "<tr><th scope=\"row\">" << pretty_label(key) << "</th><td>" << json_text(value) << "</td></tr>\n";
  double total = 0;
  bool any = false;
  for (const EpochRecord& e : epochs)
    if (std::isfinite(e.seconds)) {
      total += e.seconds;
      any = true;
    }
  os << "<tr><th scope=\"row\">epochs</th><td>" << epochs.size() << "</td></tr>\n";
  os << "<tr><th scope=\"row\">training time (sum over epochs)</th><td>" << (any ? duration(total) : kDash)
     << "</td></tr>\n</tbody>\n</table>\n</section>\n";
  return os.str();
}

std::string config_section(const json& config) {
  std::string text = config.is_null() ? "" : config.dump(2, ' ', false, json::error_handler_t::replace);
  return "<section id=\"config\">\n<h2>Configuration</h2>\n" +
         (text.empty() ? std::string("<p>No configuration was recorded.</p>\n") : "<pre>" + esc(text) + "</pre>\n") +
         "</section>\n";
}

}  // namespace

std::string render_report_html(const ReportInput& in) {
  std::optional<ConfusionMatrix> final_cm;
  if (!in.final_confusion.is_null()) final_cm = ConfusionMatrix::from_json(in.final_confusion);
  const ConfusionMatrix* cm = final_cm ? &*final_cm : nullptr;
  const std::string title = in.title.empty() ? "vigil training report" : in.title;

  std::ostringstream os;
  os << "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n"
     << "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\n<title>" << esc(title)
     << "</title>\n<style>" << kStyle << "</style>\n</head>\n<body>\n<h1>" << esc(title) << "</h1>\n"
     << "<p class=\"subtitle\">Training report: " << in.epochs.size() << " epoch(s)"
     << (cm ? ", final evaluation on " + std::to_string(cm->total()) + " images" : std::string()) << ".</p>\n";
  os << summary_section(in, cm) << curves_section(in) << confusion_section(cm) << per_class_section(cm)
     << epochs_section(in.epochs) << data_section(in.data_summary, cm) << timing_section(in.timing, in.epochs)
     << config_section(in.config);
  os << "<footer>Written by vigil " << esc(VIGIL_VERSION) << ".</footer>\n</body>\n</html>\n";
  return os.str();
}

void write_report_html(const std::string& path, const ReportInput& in) { write_file_atomic(path, render_report_html(in)); }

}  // namespace vigil::train
