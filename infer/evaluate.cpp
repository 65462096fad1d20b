// Implementation of `vigil evaluate`: resolves the labelled data, scores it in batches (decoding in parallel,
// one forward per batch), computes the metrics and writes the summary, JSON, JSONL and HTML outputs.
#include "infer/evaluate.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <sstream>

#include "common/error.h"
#include "common/parallel.h"
#include "data/dataset.h"
#include "data/preprocess.h"
#include "data/split.h"
#include "infer/batch_decode.h"
#include "infer/eval_report.h"
#include "infer/manifest_split.h"
#include "infer/predictor.h"
#include "train/atomic_file.h"
#include "train/metrics.h"

namespace vigil::infer {

namespace fs = std::filesystem;
using json = nlohmann::ordered_json;

namespace {

// A finite number, or null (an undefined precision, an AUC without negatives).
json number(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }

// Up to 7 significant digits: a float's precision without binary noise.
double tidy(float v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.7g", static_cast<double>(v));
  return std::strtod(buf, nullptr);
}

bool is_manifest(const std::string& csv_path) {
  std::ifstream in(csv_path);
  std::string first;
  std::getline(in, first);
  if (!first.empty() && first.back() == '\r') first.pop_back();
  return first == "path,sha256,label,group,split";
}

}  // namespace

data::Dataset evaluation_data(const EvaluateOptions& o, const std::vector<std::string>& classes, std::ostream& err,
                              const std::string& default_split) {
  VIGIL_CHECK(o.split.empty() || o.split == "test" || o.split == "val", "--split ", o.split,
              ": must be test or val");
  const auto class_map = data::parse_class_map(o.class_map, classes);
  VIGIL_CHECK(fs::exists(o.data), "--data ", o.data, ": no such file or directory");
  if (fs::is_regular_file(o.data)) {
    if (is_manifest(o.data)) {
      const data::Split split = data::parse_split_name(o.split.empty() ? default_split : o.split);
      return load_manifest_split(o.data, split, classes);  // image files and IDX runs' "FILE#n" entries
    }
    VIGIL_CHECK(o.split.empty(), "--split: ", o.data, " is a list file, not a run's manifest.csv");
    return data::read_list_file(o.data, data::ListOptions{classes, class_map, {}});
  }
  data::FolderScan scan = data::scan_image_folder(o.data, data::FolderOptions{classes, class_map, false, {}});
  for (const auto& n : scan.notes) err << "note: " << n << "\n";
  if (!scan.presplit) {
    VIGIL_CHECK(o.split.empty(), "--split ", o.split, ": ", o.data, " has no train/val/test split folders");
    return std::move(scan.all);
  }
  const std::string split = o.split.empty() ? default_split : o.split;
  auto it = scan.splits.find(split);
  VIGIL_CHECK(it != scan.splits.end(), "--data ", o.data, ": has split folders but no '", split, "' folder");
  return std::move(it->second);
}

namespace {

json class_values(const std::vector<std::string>& classes, const std::vector<double>& v) {
  json j = json::object();
  for (size_t c = 0; c < classes.size(); ++c) j[classes[c]] = number(v[c]);
  return j;
}

json threshold_json(const ThresholdPoint& p) {
  return json{{"threshold", std::round(p.threshold * 1e6) / 1e6}, {"precision", number(p.precision)},
              {"recall", number(p.recall)}, {"review_share", p.review_share}, {"accepted", p.accepted},
              {"review", p.review}};
}

// Thumbnails of the records the report lists among the worst mistakes, decoded again through the data set (so
// IDX images work too) in colour; one that cannot be decoded again is left out.
std::map<size_t, Thumbnail> mistake_thumbnails(const EvaluateResult& result, const data::Dataset& dataset,
                                               int workers) {
  std::vector<size_t> wanted;
  for (const MistakeList& list : worst_mistakes(result, kMistakesPerList))
    wanted.insert(wanted.end(), list.records.begin(), list.records.end());
  std::sort(wanted.begin(), wanted.end());
  wanted.erase(std::unique(wanted.begin(), wanted.end()), wanted.end());
  std::vector<Thumbnail> made(wanted.size());
  parallel_for_each(wanted.size(), workers, [&](size_t k) {
    try {
      const data::DecodeResult d = dataset.load(wanted[k], data::DecodeOptions{});
      if (d.ok()) made[k] = make_thumbnail(d.image);
    } catch (const std::exception&) {
      // no thumbnail: the report shows the path alone
    }
  });
  std::map<size_t, Thumbnail> out;
  for (size_t k = 0; k < wanted.size(); ++k)
    if (!made[k].data_uri.empty()) out.emplace(wanted[k], std::move(made[k]));
  return out;
}

void write_output(const std::string& what, const std::string& path, const std::string& text) {
  try {
    train::write_file_atomic(path, text);
  } catch (const Error& e) {
    VIGIL_FAIL(what, " ", path, ": ", user_message(e));
  }
}

}  // namespace

json evaluation_metrics(const std::vector<std::string>& classes, const std::vector<EvalRecord>& records,
                        double target_precision, int bootstrap, uint64_t seed) {
  const int C = static_cast<int>(classes.size());
  ScoredSet set;
  set.num_classes = C;
  train::ConfusionMatrix cm(classes);
  std::vector<bool> correct;
  std::vector<double> confidence;
  int64_t errors = 0;
  for (const auto& r : records) {
    if (!r.error.empty()) {
      ++errors;
      continue;
    }
    set.labels.push_back(r.label);
    set.probabilities.insert(set.probabilities.end(), r.probabilities.begin(), r.probabilities.end());
    cm.add(r.label, r.predicted);
    correct.push_back(r.predicted == r.label);
    confidence.push_back(r.probabilities[static_cast<size_t>(r.predicted)]);
  }
  const int64_t n = set.size();
  const int64_t hits = cm.correct();
  const auto boot = bootstrap_accuracy_interval(correct, bootstrap, seed);
  const auto wilson = train::wilson_interval(hits, n);

  std::vector<double> auc(static_cast<size_t>(C)), ap(static_cast<size_t>(C));
  for (int c = 0; c < C; ++c) {
    std::vector<double> scores;
    std::vector<bool> positive;
    for (int64_t i = 0; i < n; ++i) {
      scores.push_back(set.prob(i, c));
      positive.push_back(set.labels[static_cast<size_t>(i)] == c);
    }
    auc[static_cast<size_t>(c)] = roc_auc(scores, positive);
    ap[static_cast<size_t>(c)] = average_precision(scores, positive);
  }
  const Calibration cal = expected_calibration_error(confidence, correct, 15);

  json j;
  j["images"] = n + errors;
  j["scored"] = n;
  j["unreadable"] = errors;
  j["classes"] = classes;
  j["accuracy"] = cm.accuracy();
  j["accuracy_ci"] = {{"level", 0.95},
                      {"bootstrap", {boot.first, boot.second}},
                      {"bootstrap_resamples", bootstrap},
                      {"seed", seed},
                      {"wilson", {wilson.first, wilson.second}}};
  j["confusion_matrix"] = json::array();
  for (int t = 0; t < C; ++t) {
    json row = json::array();
    for (int p = 0; p < C; ++p) row.push_back(cm.count(t, p));
    j["confusion_matrix"].push_back(row);
  }
  json per_class = json::object();
  for (const auto& s : cm.per_class())
    per_class[s.name] = {{"support", s.support}, {"predicted", s.predicted}, {"precision", s.precision},
                         {"recall", s.recall},   {"f1", s.f1}};
  j["per_class"] = per_class;
  j["macro_f1"] = cm.macro_f1();
  j["roc_auc"] = class_values(classes, auc);
  j["pr_auc"] = class_values(classes, ap);
  j["ece"] = cal.ece;
  j["reliability"] = json::array();
  for (const auto& b : cal.bins)
    j["reliability"].push_back({{"lo", b.lo}, {"hi", b.hi}, {"count", b.count},
                                {"mean_confidence", b.mean_confidence}, {"accuracy", b.accuracy}});
  json sweep = json::object(), recommended = json::object();
  for (int c = 0; c < C; ++c) {
    json rows = json::array();
    for (const auto& p : threshold_sweep(set, c)) rows.push_back(threshold_json(p));
    sweep[classes[static_cast<size_t>(c)]] = rows;
    const auto best = threshold_for_precision(set, c, target_precision);
    recommended[classes[static_cast<size_t>(c)]] = best ? threshold_json(*best) : json(nullptr);
  }
  j["thresholds"] = sweep;
  j["target_precision"] = target_precision;
  j["recommended_thresholds"] = recommended;
  return j;
}

std::string evaluation_summary(const json& m) {
  std::ostringstream s;
  s << std::fixed << std::setprecision(4);
  const auto& classes = m["classes"];
  s << "images " << m["images"].get<int64_t>() << ": " << m["scored"].get<int64_t>() << " scored, "
    << m["unreadable"].get<int64_t>() << " unreadable (skipped)\n";
  s << "accuracy " << m["accuracy"].get<double>() << "  95% bootstrap [" << m["accuracy_ci"]["bootstrap"][0].get<double>()
    << ", " << m["accuracy_ci"]["bootstrap"][1].get<double>() << "]  Wilson ["
    << m["accuracy_ci"]["wilson"][0].get<double>() << ", " << m["accuracy_ci"]["wilson"][1].get<double>() << "]\n";
  s << "ECE (15 bins) " << m["ece"].get<double>() << "   macro F1 " << m["macro_f1"].get<double>() << "\n\n";
  size_t w = 10;
  for (const auto& c : classes) w = std::max(w, c.get<std::string>().size() + 2);
  auto cell = [&](const json& v) {
    std::ostringstream c;
    if (v.is_null()) c << "-";
    else c << std::fixed << std::setprecision(4) << v.get<double>();
    return c.str();
  };
  s << "confusion matrix (rows: truth, columns: predicted)\n" << std::left << std::setw(static_cast<int>(w)) << "";
  for (const auto& c : classes) s << std::setw(static_cast<int>(w)) << c.get<std::string>();
  s << "\n";
  for (size_t t = 0; t < classes.size(); ++t) {
    s << std::setw(static_cast<int>(w)) << classes[t].get<std::string>();
    for (const auto& v : m["confusion_matrix"][t]) s << std::setw(static_cast<int>(w)) << v.get<int64_t>();
    s << "\n";
  }
  s << "\n" << std::setw(static_cast<int>(w)) << "class" << std::setw(9) << "support" << std::setw(11) << "precision"
    << std::setw(9) << "recall" << std::setw(9) << "F1" << std::setw(9) << "ROC-AUC" << std::setw(9) << "PR-AUC" << "\n";
  for (const auto& c : classes) {
    const std::string name = c.get<std::string>();
    const auto& pc = m["per_class"][name];
    s << std::setw(static_cast<int>(w)) << name << std::setw(9) << pc["support"].get<int64_t>() << std::setw(11)
      << cell(pc["precision"]) << std::setw(9) << cell(pc["recall"]) << std::setw(9) << cell(pc["f1"]) << std::setw(9)
      << cell(m["roc_auc"][name]) << std::setw(9) << cell(m["pr_auc"][name]) << "\n";
  }
  s << "\nthresholds for precision >= " << m["target_precision"].get<double>()
    << " (top class below its threshold goes to review):\n";
  for (const auto& c : classes) {
    const std::string name = c.get<std::string>();
    const auto& r = m["recommended_thresholds"][name];
    s << "  " << std::setw(static_cast<int>(w)) << name;
    if (r.is_null()) {
      s << "not reachable on this data\n";
      continue;
    }
    s << "threshold " << r["threshold"].get<double>() << "  precision " << cell(r["precision"]) << "  recall "
      << cell(r["recall"]) << "  review " << std::setprecision(1) << 100.0 * r["review_share"].get<double>()
      << "% of images" << std::setprecision(4) << "\n";
  }
  return s.str();
}

std::string prediction_lines(const std::vector<std::string>& classes, const std::vector<EvalRecord>& records) {
  std::string out;
  for (const auto& r : records) {
    json j;
    j["path"] = r.path;
    j["label"] = classes[static_cast<size_t>(r.label)];
    if (r.error.empty()) {
      j["status"] = "ok";
      json probs = json::object();
      for (size_t c = 0; c < classes.size(); ++c) probs[classes[c]] = tidy(r.probabilities[c]);
      j["probabilities"] = probs;
      j["predicted"] = classes[static_cast<size_t>(r.predicted)];
      j["correct"] = r.predicted == r.label;
    } else {
      j["status"] = "error";
      j["error"] = r.error;
      j["probabilities"] = nullptr;
      j["predicted"] = nullptr;
      j["correct"] = nullptr;
    }
    out += j.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
  }
  return out;
}

EvaluateResult run_evaluate(const EvaluateOptions& o, std::ostream& out, std::ostream& err) {
  VIGIL_CHECK(!o.model.empty(), "--model is required");
  VIGIL_CHECK(!o.data.empty(), "--data is required");
  VIGIL_CHECK(o.batch >= 1, "--batch must be positive");
  VIGIL_CHECK(o.bootstrap >= 1, "--bootstrap ", o.bootstrap, ": must be at least 1");
  VIGIL_CHECK(o.target_precision > 0 && o.target_precision <= 1, "--target-precision ", o.target_precision,
              ": must lie in (0, 1]");
  for (const auto& [what, file] : {std::pair<const char*, std::string>{"--json", o.json}, {"--predictions", o.predictions},
                                   {"--html", o.html}}) {
    if (file.empty()) continue;
    const fs::path dir = fs::path(file).parent_path();
    VIGIL_CHECK(dir.empty() || fs::is_directory(dir), what, " ", file, ": folder ", dir.string(), " does not exist");
  }
  if (o.threads > 0) cpu::set_num_threads(o.threads);
  const Device device = resolve_device(o.device, &err);
  Predictor predictor(o.model, device, o.model_def);
  const ModelSpec& spec = predictor.model().spec();
  const data::Dataset dataset = evaluation_data(o, spec.classes, err);
  VIGIL_CHECK(dataset.size() > 0, "--data ", dataset.source.empty() ? o.data : dataset.source, ": no images to evaluate");
  const data::DecodeOptions decode = data::decode_options_for(spec);
  const int workers = o.workers > 0 ? o.workers : default_workers();

  EvaluateResult result;
  result.classes = spec.classes;
  result.records.resize(dataset.size());
  std::vector<std::vector<float>> inputs;
  for (size_t start = 0; start < dataset.size(); start += static_cast<size_t>(o.batch)) {
    const size_t count = std::min(static_cast<size_t>(o.batch), dataset.size() - start);
    inputs.assign(count, {});
    parallel_for_each(count, workers, [&](size_t k) {
      const data::Sample& s = dataset.samples[start + k];
      EvalRecord& r = result.records[start + k];
      r.path = s.path;
      r.label = s.label;
      try {
        data::DecodeResult d = dataset.load(start + k, decode);
        if (!d.ok()) r.error = error_reason(d.error, s.path);
        else inputs[k] = data::preprocess_image(d.image, spec);
      } catch (const std::exception& e) {
        r.error = std::string("preprocess: ") + user_message(e);
      }
    });
    std::vector<const float*> batch;
    std::vector<size_t> at;
    for (size_t k = 0; k < count; ++k) {
      EvalRecord& r = result.records[start + k];
      if (!r.error.empty()) {
        err << "skipped " << r.path << ": " << r.error << "\n";
        continue;
      }
      batch.push_back(inputs[k].data());
      at.push_back(start + k);
    }
    if (batch.empty()) continue;
    const auto probs = predictor.probabilities(batch);
    for (size_t i = 0; i < at.size(); ++i) {
      EvalRecord& r = result.records[at[i]];
      r.probabilities = probs[i];
      ScoredSet one{static_cast<int>(probs[i].size()), probs[i], {r.label}};
      r.predicted = one.top(0);
    }
  }

  result.metrics = evaluation_metrics(spec.classes, result.records, o.target_precision, o.bootstrap, o.seed);
  result.metrics["model"] = o.model;
  result.metrics["data"] = dataset.source.empty() ? o.data : dataset.source;
  VIGIL_CHECK(result.metrics["scored"].get<int64_t>() > 0, "--data ", o.data, ": none of the ", dataset.size(),
              " images could be read");
  out << evaluation_summary(result.metrics);
  if (!o.json.empty()) write_output("--json", o.json, result.metrics.dump(2) + "\n");
  if (!o.predictions.empty()) write_output("--predictions", o.predictions, prediction_lines(spec.classes, result.records));
  if (!o.html.empty()) {
    result.thumbnails = mistake_thumbnails(result, dataset, workers);
    write_output("--html", o.html, render_evaluation_html(result));
  }
  return result;
}

}  // namespace vigil::infer
