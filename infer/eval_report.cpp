// Implementation of the evaluation HTML report: tables from the --json document, the reliability diagram through
// the training report's SVG chart renderer, and the most confident mistakes per class with their thumbnails.
#include "infer/eval_report.h"

#include <algorithm>
#include <cstdio>
#include <sstream>

#include "train/svg_plot.h"

namespace vigil::infer {

namespace {

using json = nlohmann::ordered_json;
using train::xml_escape;

std::string fmt(const json& v, int digits = 4) {
  if (v.is_null()) return "&ndash;";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v.get<double>());
  return buf;
}

std::string percent(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f%%", 100.0 * v);
  return buf;
}

const char* kStyle =
    "body{font-family:sans-serif;margin:2em;max-width:70em}table{border-collapse:collapse;margin:0.5em 0 1.5em}"
    "td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}th{background:#f3f3f3}td.l,th.l{text-align:left}"
    ".ok{background:#dbe9f6}.bad{background:#f8d7d3}code{font-size:90%}td.t{padding:2px;text-align:center}"
    "td.t img{image-rendering:pixelated;vertical-align:middle}";

std::string confusion_table(const json& m) {
  const auto& classes = m["classes"];
  std::ostringstream s;
  s << "<table><tr><th class=l>truth \\ predicted</th>";
  for (const auto& c : classes) s << "<th>" << xml_escape(c.get<std::string>()) << "</th>";
  s << "</tr>";
  for (size_t t = 0; t < classes.size(); ++t) {
    s << "<tr><th class=l>" << xml_escape(classes[t].get<std::string>()) << "</th>";
    for (size_t p = 0; p < classes.size(); ++p) {
      const int64_t v = m["confusion_matrix"][t][p].get<int64_t>();
      s << "<td class=" << (t == p ? "ok" : (v ? "bad" : "n")) << ">" << v << "</td>";
    }
    s << "</tr>";
  }
  s << "</table>";
  return s.str();
}

std::string per_class_table(const json& m) {
  std::ostringstream s;
  s << "<table><tr><th class=l>class</th><th>support</th><th>predicted</th><th>precision</th><th>recall</th>"
       "<th>F1</th><th>ROC-AUC</th><th>PR-AUC</th></tr>";
  for (const auto& c : m["classes"]) {
    const std::string name = c.get<std::string>();
    const auto& pc = m["per_class"][name];
    s << "<tr><td class=l>" << xml_escape(name) << "</td><td>" << pc["support"].get<int64_t>() << "</td><td>"
      << pc["predicted"].get<int64_t>() << "</td><td>" << fmt(pc["precision"]) << "</td><td>" << fmt(pc["recall"])
      << "</td><td>" << fmt(pc["f1"]) << "</td><td>" << fmt(m["roc_auc"][name]) << "</td><td>"
      << fmt(m["pr_auc"][name]) << "</td></tr>";
  }
  s << "</table>";
  return s.str();
}

std::string reliability(const json& m) {
  train::PlotSeries ideal{"perfect calibration", {0.0, 1.0}, {0.0, 1.0}, "#999999", true};
  train::PlotSeries model{"model", {}, {}, "", false};
  std::ostringstream table;
  table << "<table><tr><th>confidence bin</th><th>count</th><th>mean confidence</th><th>accuracy</th></tr>";
  for (const auto& b : m["reliability"]) {
    const int64_t count = b["count"].get<int64_t>();
    table << "<tr><td>" << fmt(b["lo"], 3) << " &ndash; " << fmt(b["hi"], 3) << "</td><td>" << count << "</td><td>"
          << (count ? fmt(b["mean_confidence"]) : "&ndash;") << "</td><td>" << (count ? fmt(b["accuracy"]) : "&ndash;")
          << "</td></tr>";
    if (!count) continue;
    model.x.push_back(b["mean_confidence"].get<double>());
    model.y.push_back(b["accuracy"].get<double>());
  }
  table << "</table>";
  train::PlotOptions opt;
  opt.title = "Reliability (top-class confidence, 15 bins)";
  opt.x_label = "mean confidence";
  opt.y_label = "accuracy";
  opt.y_min = 0;
  opt.y_max = 1;
  return train::render_line_chart({ideal, model}, opt) + table.str();
}

std::string sweep_tables(const json& m) {
  std::ostringstream s;
  for (const auto& c : m["classes"]) {
    const std::string name = c.get<std::string>();
    s << "<h3>" << xml_escape(name) << "</h3><table><tr><th>threshold</th><th>precision</th><th>recall</th>"
         "<th>sent to review</th></tr>";
    auto row = [&](const json& r, bool mark) {
      s << "<tr" << (mark ? " class=ok" : "") << "><td>" << fmt(r["threshold"], mark ? 4 : 2) << "</td><td>"
        << fmt(r["precision"]) << "</td><td>" << fmt(r["recall"]) << "</td><td>"
        << percent(r["review_share"].get<double>()) << "</td></tr>";
    };
    for (const auto& r : m["thresholds"][name]) row(r, false);
    const auto& rec = m["recommended_thresholds"][name];
    if (!rec.is_null()) row(rec, true);
    s << "</table>";
    s << "<p>" << (rec.is_null() ? "No threshold reaches" : "Highlighted: the lowest threshold reaching")
      << " precision " << fmt(m["target_precision"], 2) << ".</p>";
  }
  return s.str();
}

// The thumbnail cell: the image scaled to 64 px on its longer side by the browser (pixelated when enlarged).
std::string thumbnail_cell(const EvaluateResult& r, size_t record) {
  const auto it = r.thumbnails.find(record);
  if (it == r.thumbnails.end()) return "<td>&ndash;</td>";
  const Thumbnail& t = it->second;
  const double scale = 64.0 / std::max(t.width, t.height);
  char size[64];
  std::snprintf(size, sizeof size, " width=%d height=%d", static_cast<int>(t.width * scale + 0.5),
                static_cast<int>(t.height * scale + 0.5));
  return "<td class=t><img src=\"" + t.data_uri + "\"" + size + " alt=\"\"></td>";
}

std::string mistakes(const EvaluateResult& r) {
  std::ostringstream s;
  const auto& classes = r.classes;
  for (const MistakeList& list : worst_mistakes(r, kMistakesPerList)) {
    const int c = list.class_id;
    const std::string name = xml_escape(classes[static_cast<size_t>(c)]);
    if (list.false_positives) s << "<h3>" << name << "</h3>";
    const std::string title = list.false_positives
                                  ? "False positives: predicted " + name + ", labelled otherwise"
                                  : "False negatives: labelled " + name + ", predicted otherwise";
    const auto& v = list.records;
    s << "<h4>" << title << " (" << (v.empty() ? "none" : std::to_string(v.size()) + " most confident") << ")</h4>";
    if (v.empty()) continue;
    s << "<table><tr><th>image</th><th class=l>path</th><th class=l>label</th><th class=l>predicted</th>"
         "<th>confidence</th></tr>";
    for (size_t i : v) {
      const EvalRecord& e = r.records[i];
      const float conf = e.probabilities[static_cast<size_t>(list.false_positives ? c : e.predicted)];
      s << "<tr>" << thumbnail_cell(r, i) << "<td class=l><code>" << xml_escape(e.path) << "</code></td><td class=l>"
        << xml_escape(classes[static_cast<size_t>(e.label)]) << "</td><td class=l>"
        << xml_escape(classes[static_cast<size_t>(e.predicted)]) << "</td><td>" << fmt(json(conf)) << "</td></tr>";
    }
    s << "</table>";
  }
  return s.str();
}

}  // namespace

std::vector<MistakeList> worst_mistakes(const EvaluateResult& r, size_t limit) {
  std::vector<MistakeList> lists;
  for (int c = 0; c < static_cast<int>(r.classes.size()); ++c) {
    MistakeList fp{c, true, {}}, fn{c, false, {}};
    for (size_t i = 0; i < r.records.size(); ++i) {
      const EvalRecord& e = r.records[i];
      if (!e.error.empty()) continue;
      if (e.predicted == c && e.label != c) fp.records.push_back(i);
      if (e.label == c && e.predicted != c) fn.records.push_back(i);
    }
    for (MistakeList* list : {&fp, &fn}) {
      auto conf = [&](size_t i) {
        const EvalRecord& e = r.records[i];
        return e.probabilities[static_cast<size_t>(list->false_positives ? c : e.predicted)];
      };
      std::stable_sort(list->records.begin(), list->records.end(),
                       [&](size_t a, size_t b) { return conf(a) > conf(b); });
      if (list->records.size() > limit) list->records.resize(limit);
      lists.push_back(std::move(*list));
    }
  }
  return lists;
}

std::string render_evaluation_html(const EvaluateResult& r) {
  const json& m = r.metrics;
  std::ostringstream s;
  s << "<!DOCTYPE html><html><head><meta charset=utf-8><title>vigil evaluate</title><style>" << kStyle
    << "</style></head><body><h1>Evaluation</h1>";
  s << "<p>Model <code>" << xml_escape(m.value("model", "")) << "</code> on <code>" << xml_escape(m.value("data", ""))
    << "</code>.</p><ul><li>" << m["images"].get<int64_t>() << " images: " << m["scored"].get<int64_t>()
    << " scored, " << m["unreadable"].get<int64_t>() << " unreadable (skipped)</li>";
  s << "<li>accuracy <b>" << fmt(m["accuracy"]) << "</b>, 95% bootstrap interval [" << fmt(m["accuracy_ci"]["bootstrap"][0])
    << ", " << fmt(m["accuracy_ci"]["bootstrap"][1]) << "] (" << m["accuracy_ci"]["bootstrap_resamples"].get<int>()
    << " resamples), Wilson [" << fmt(m["accuracy_ci"]["wilson"][0]) << ", " << fmt(m["accuracy_ci"]["wilson"][1])
    << "]</li><li>macro F1 " << fmt(m["macro_f1"]) << ", expected calibration error " << fmt(m["ece"]) << "</li></ul>";
  s << "<h2>Confusion matrix</h2>" << confusion_table(m);
  s << "<h2>Per class</h2>" << per_class_table(m);
  s << "<h2>Calibration</h2>" << reliability(m);
  s << "<h2>Threshold sweep</h2><p>An image whose top class is <i>c</i> goes to review when its probability is "
       "below <i>c</i>'s threshold; &ldquo;sent to review&rdquo; is the share of all images.</p>"
    << sweep_tables(m);
  s << "<h2>Worst mistakes</h2><p>Per list the " << kMistakesPerList
    << " most confident, with a thumbnail (at most 64 px, embedded) where the image could be decoded again.</p>"
    << mistakes(r);
  s << "</body></html>\n";
  return s.str();
}

}  // namespace vigil::infer
