// Implementation of `vigil calibrate`: option parsing and help, the raw logits of the held-out images (decoded in
// parallel, one forward per batch), the temperature fit, thresholds, the rewritten model file and the JSON report.
#include "infer/calibrate_cmd.h"
#include "infer/cli_args.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/parallel.h"
#include "data/preprocess.h"
#include "infer/batch_decode.h"
#include "infer/calibrate.h"
#include "infer/evaluate.h"
#include "infer/predictor.h"
#include "nn/safetensors.h"

namespace vigil::cli {

namespace {

namespace fs = std::filesystem;
using json = nlohmann::ordered_json;

constexpr double kMinTemperature = 0.05, kMaxTemperature = 20.0;
constexpr int64_t kFewImages = 100;

const char* kHelp =
    "usage: vigil calibrate --model MODEL.safetensors --data RUN_DIR/manifest.csv|DIR|LIST.csv [options]\n"
    "\n"
    "Fits temperature scaling on held-out labelled images: the temperature T in [0.05, 20] that minimises the\n"
    "negative log-likelihood of softmax(logits / T), fitted on the raw logits (whatever temperature the file has\n"
    "now). Prints NLL, expected calibration error (15 bins) and accuracy before (the file's current temperature)\n"
    "and after, and the per-class threshold that reaches --target-precision on the calibrated probabilities.\n"
    "The temperature and the reachable thresholds are stored in the model file's metadata (classes that cannot\n"
    "reach the target get none and are listed), so classify, evaluate and serve use calibrated probabilities.\n"
    "Use images the model was not trained on (a run's val split): calibrating on training images makes the model\n"
    "look better calibrated than it is. Only softmax heads: a sigmoid (multi-label) head is refused.\n"
    "\n"
    "options:\n"
    "  --model FILE         model file (required)\n"
    "  --model-def DEF      definition (preset or JSON file) for a plain state_dict without vigil metadata\n"
    "  --data PATH          the labelled images (required): a run's manifest.csv (its val split), a folder with\n"
    "                       train/val/test folders (its val folder), a flat DIR/<class>/... or a list CSV\n"
    "  --split val|test     which split of a manifest or split folders (default val)\n"
    "  --class-map LIST     folder/list label -> class, e.g. fight=violence,noFight=standard (- ignores a name)\n"
    "  --out FILE           write the calibrated model here (default: rewrite --model in place, atomically)\n"
    "  --json FILE          report: temperature, nll/ece before and after, thresholds, counts\n"
    "  --target-precision P precision the stored thresholds aim for (default 0.95)\n"
    "  --batch N            images per forward pass (default 32)\n"
    "  --device D           cpu | cuda | cuda:N | auto (default auto)\n"
    "  --threads N          CPU threads for the model (default: all cores)\n"
    "  --workers N          decoding threads (default: min(4, cores))\n";

struct CalibrateOptions {
  infer::EvaluateOptions data;  // model, model_def, data, split, class_map, batch, device, threads, workers
  std::string out, json;
  double target_precision = 0.95;
};

// The raw logits of every readable image of the data set, with the counts of the ones that could not be used.
struct HeldOut {
  infer::LogitSet set;
  std::string source;
  int64_t images = 0, unreadable = 0;
};

HeldOut held_out_logits(infer::Predictor& predictor, const infer::EvaluateOptions& o, std::ostream& err) {
  const ModelSpec& spec = predictor.model().spec();
  const data::Dataset dataset = infer::evaluation_data(o, spec.classes, err, "val");
  HeldOut h;
  h.source = dataset.source.empty() ? o.data : dataset.source;
  VIGIL_CHECK(dataset.size() > 0, "--data ", h.source, ": no labelled images to calibrate on");
  h.images = static_cast<int64_t>(dataset.size());
  h.set.num_classes = static_cast<int>(spec.classes.size());
  const data::DecodeOptions decode = data::decode_options_for(spec);
  const int workers = o.workers > 0 ? o.workers : infer::default_workers();
  std::vector<std::vector<float>> inputs;
  std::vector<std::string> errors;
  for (size_t start = 0; start < dataset.size(); start += static_cast<size_t>(o.batch)) {
    const size_t count = std::min(static_cast<size_t>(o.batch), dataset.size() - start);
    inputs.assign(count, {});
    errors.assign(count, {});
    infer::parallel_for_each(count, workers, [&](size_t k) {
      const data::Sample& s = dataset.samples[start + k];
      try {
        data::DecodeResult d = dataset.load(start + k, decode);
        if (!d.ok()) errors[k] = infer::error_reason(d.error, s.path);
        else inputs[k] = data::preprocess_image(d.image, spec);
      } catch (const std::exception& e) {
        errors[k] = std::string("preprocess: ") + user_message(e);
      }
    });
    std::vector<const float*> batch;
    std::vector<int> labels;
    for (size_t k = 0; k < count; ++k) {
      if (!errors[k].empty()) {
        err << "skipped " << dataset.samples[start + k].path << ": " << errors[k] << "\n";
        ++h.unreadable;
        continue;
      }
      batch.push_back(inputs[k].data());
      labels.push_back(dataset.samples[start + k].label);
    }
    if (batch.empty()) continue;
    for (const auto& row : predictor.logits(batch)) h.set.logits.insert(h.set.logits.end(), row.begin(), row.end());
    h.set.labels.insert(h.set.labels.end(), labels.begin(), labels.end());
  }
  VIGIL_CHECK(h.set.size() > 0, "--data ", h.source, ": none of the ", h.images, " images could be read");
  return h;
}

// A finite number, or null.
json number(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }

json threshold_json(const infer::ThresholdPoint& p) {
  return json{{"threshold", p.threshold}, {"precision", number(p.precision)}, {"recall", number(p.recall)},
              {"review_share", p.review_share}, {"accepted", p.accepted}, {"review", p.review}};
}

json reliability_json(const infer::Calibration& cal) {
  json rows = json::array();
  for (const auto& b : cal.bins)
    rows.push_back({{"lo", b.lo}, {"hi", b.hi}, {"count", b.count}, {"mean_confidence", b.mean_confidence},
                    {"accuracy", b.accuracy}});
  return rows;
}

// The temperature as model files store it (the float the Predictor will use, 9 significant digits).
std::string temperature_text(float t) {
  std::ostringstream s;
  s.precision(9);
  s << t;
  return s.str();
}

// Rewrites the model file with the new calibration: tensors (dtypes included) and every other metadata entry as
// they were; a plain state_dict loaded with --model-def gains the vigil metadata. Atomic.
void write_calibrated_model(const CalibrateOptions& o, const Model& loaded, float temperature,
                            const std::map<std::string, float>& thresholds, const json& provenance) {
  SafetensorsContent content = load_safetensors(o.data.model);
  std::map<std::string, std::string> meta = content.metadata;
  if (!o.data.model_def.empty())
    for (const auto& [k, v] : loaded.metadata()) meta[k] = v;
  meta["vigil.temperature"] = temperature_text(temperature);
  if (thresholds.empty()) meta.erase("vigil.thresholds");
  else meta["vigil.thresholds"] = nlohmann::json(thresholds).dump();
  meta["vigil.calibration"] = provenance.dump();
  const std::string out = o.out.empty() ? o.data.model : o.out;
  try {
    save_safetensors(out, content.tensors, meta);
  } catch (const Error& e) {
    VIGIL_FAIL("--out ", out, ": ", user_message(e));
  }
}

std::string summary(const json& r, const std::vector<std::string>& classes) {
  std::ostringstream s;
  s << std::fixed << std::setprecision(4);
  const auto& counts = r["counts"];
  s << "calibration data: " << r["data"].get<std::string>() << ": " << counts["images"].get<int64_t>() << " images, "
    << counts["scored"].get<int64_t>() << " scored, " << counts["unreadable"].get<int64_t>()
    << " unreadable (skipped)\n";
  s << "temperature " << r["temperature"].get<double>() << std::defaultfloat << " (was "
    << r["previous_temperature"].get<double>() << "; fitted on the raw logits in [" << kMinTemperature << ", "
    << kMaxTemperature << "])\n"
    << std::fixed;
  s << std::left << std::setw(16) << "" << std::setw(10) << "before" << "after\n";
  s << std::setw(16) << "NLL" << std::setw(10) << r["nll_before"].get<double>() << r["nll_after"].get<double>() << "\n";
  s << std::setw(16) << "ECE (15 bins)" << std::setw(10) << r["ece_before"].get<double>() << r["ece_after"].get<double>()
    << "\n";
  s << std::setw(16) << "accuracy" << std::setw(10) << r["accuracy_before"].get<double>()
    << r["accuracy_after"].get<double>() << "\n";
  s << "\nthresholds for precision >= " << r["target_precision"].get<double>() << " (stored in the model file):\n";
  size_t w = 10;
  for (const auto& c : classes) w = std::max(w, c.size() + 2);
  for (const auto& c : classes) {
    const auto& t = r["thresholds"][c];
    s << "  " << std::setw(static_cast<int>(w)) << c;
    if (t.is_null()) {
      s << "not reachable on this data (none stored)\n";
      continue;
    }
    s << "threshold " << t["threshold"].get<double>() << "  precision " << t["precision"].get<double>() << "  recall "
      << t["recall"].get<double>() << "  review " << std::setprecision(1) << 100.0 * t["review_share"].get<double>()
      << "% of images" << std::setprecision(4) << "\n";
  }
  return s.str();
}

void calibrate(const CalibrateOptions& o, std::ostream& out, std::ostream& err) {
  const infer::EvaluateOptions& d = o.data;
  VIGIL_CHECK(!d.model.empty(), "--model is required");
  VIGIL_CHECK(!d.data.empty(), "--data is required");
  VIGIL_CHECK(o.target_precision > 0 && o.target_precision <= 1, "--target-precision ", o.target_precision,
              ": must lie in (0, 1]");
  for (const auto& [what, file] : {std::pair<const char*, std::string>{"--json", o.json}, {"--out", o.out}}) {
    if (file.empty()) continue;
    const fs::path dir = fs::path(file).parent_path();
    VIGIL_CHECK(dir.empty() || fs::is_directory(dir), what, " ", file, ": folder ", dir.string(), " does not exist");
  }
  if (d.threads > 0) cpu::set_num_threads(d.threads);
  const Device device = resolve_device(d.device, &err);
  infer::Predictor predictor(d.model, device, d.model_def);
  const ModelSpec& spec = predictor.model().spec();
  VIGIL_CHECK(spec.head == Head::Softmax, d.model, ": a sigmoid (multi-label) head cannot be calibrated: vigil "
              "calibrate fits one softmax temperature on single-label images; per-class temperatures for sigmoid "
              "heads are not supported");
  const HeldOut h = held_out_logits(predictor, d, err);
  if (h.set.size() < kFewImages)
    err << "note: only " << h.set.size() << " images: the fitted temperature and thresholds are uncertain\n";

  const float previous = predictor.model().temperature;
  const infer::TemperatureFit fit = infer::fit_temperature(h.set, kMinTemperature, kMaxTemperature);
  const float temperature = static_cast<float>(fit.temperature);
  if (fit.at_lower_bound || fit.at_upper_bound)
    err << "note: the best temperature lies at the " << (fit.at_lower_bound ? "lower" : "upper") << " bound ("
        << temperature << "): the data gives the fit little to work with\n";
  const auto before = infer::summarize_calibration(h.set, previous);
  const auto after = infer::summarize_calibration(h.set, temperature);

  const infer::ScoredSet scored = infer::scored_set(h.set, temperature);
  std::map<std::string, float> thresholds;
  json threshold_rows = json::object(), unreachable = json::array();
  for (int c = 0; c < h.set.num_classes; ++c) {
    const std::string& name = spec.classes[static_cast<size_t>(c)];
    const auto best = infer::threshold_for_precision(scored, c, o.target_precision);
    if (!best) {
      threshold_rows[name] = nullptr;
      unreachable.push_back(name);
      continue;
    }
    thresholds[name] = static_cast<float>(best->threshold);
    threshold_rows[name] = threshold_json(*best);
  }

  std::vector<int64_t> support(spec.classes.size(), 0);
  for (int label : h.set.labels) ++support[static_cast<size_t>(label)];
  json per_class = json::object();
  for (size_t c = 0; c < spec.classes.size(); ++c) per_class[spec.classes[c]] = support[c];

  json r;
  r["model"] = d.model;
  r["out"] = o.out.empty() ? d.model : o.out;
  r["data"] = h.source;
  r["classes"] = spec.classes;
  r["counts"] = {{"images", h.images}, {"scored", h.set.size()}, {"unreadable", h.unreadable}, {"per_class", per_class}};
  r["temperature"] = static_cast<double>(temperature);
  r["previous_temperature"] = static_cast<double>(previous);
  r["temperature_range"] = {kMinTemperature, kMaxTemperature};
  r["at_bound"] = fit.at_lower_bound ? json("lower") : fit.at_upper_bound ? json("upper") : json(nullptr);
  r["nll_before"] = before.nll;
  r["nll_after"] = after.nll;
  r["nll_raw"] = infer::softmax_nll(h.set, 1.0);
  r["ece_before"] = before.ece;
  r["ece_after"] = after.ece;
  r["accuracy_before"] = before.accuracy;
  r["accuracy_after"] = after.accuracy;
  r["target_precision"] = o.target_precision;
  r["thresholds"] = threshold_rows;
  r["unreachable"] = unreachable;
  r["reliability_before"] = reliability_json(before.reliability);
  r["reliability_after"] = reliability_json(after.reliability);

  const json provenance = {{"temperature", r["temperature"]}, {"data", h.source}, {"images", h.set.size()},
                           {"nll_before", before.nll}, {"nll_after", after.nll}, {"ece_before", before.ece},
                           {"ece_after", after.ece}, {"target_precision", o.target_precision},
                           {"unreachable", unreachable}};
  write_calibrated_model(o, predictor.model(), temperature, thresholds, provenance);
  out << summary(r, spec.classes);
  if (!unreachable.empty()) {
    out << "no threshold reaches precision " << o.target_precision << " for:";
    for (const auto& n : unreachable) out << " " << n.get<std::string>();
    out << " (their decisions use the top class alone)\n";
  }
  out << "wrote " << r["out"].get<std::string>() << "\n";
  if (!o.json.empty()) write_output_file("json", o.json, r.dump(2) + "\n");
}

}  // namespace

int run_calibrate(int argc, char** argv) {
  if (const int code = usage_exit_code(argc, argv, kHelp); code >= 0) return code;
  CalibrateOptions o;
  infer::EvaluateOptions& d = o.data;
  ArgReader args(argc, argv,
                 {"model", "model-def", "data", "split", "class-map", "out", "json", "device",
                  "target-precision", "batch", "threads", "workers"},
                 {});
  for (CliArg arg; args.next(arg);) {
    const std::string& name = arg.name;
    const std::string& value = arg.value;
    if (name == "model") d.model = value;
    else if (name == "model-def") d.model_def = value;
    else if (name == "data") d.data = value;
    else if (name == "split") d.split = value;
    else if (name == "class-map") d.class_map = value;
    else if (name == "out") o.out = value;
    else if (name == "json") o.json = value;
    else if (name == "device") d.device = value;
    else if (name == "target-precision") o.target_precision = parse_double(name, value);
    else if (name == "batch") d.batch = parse_int(name, value);
    else if (name == "threads") d.threads = parse_int(name, value);
    else if (name == "workers") d.workers = parse_int(name, value);
    else VIGIL_FAIL("unknown option --", name, " (see vigil calibrate --help)");
  }
  VIGIL_CHECK(d.batch >= 1 && d.batch <= 65536, "--batch ", d.batch, ": must be in [1, 65536]");
  VIGIL_CHECK(d.workers >= 0 && d.workers <= 256, "--workers ", d.workers, ": must be in [0, 256]");
  VIGIL_CHECK(d.threads >= 0, "--threads ", d.threads, ": must be >= 0");
  calibrate(o, std::cout, std::cerr);
  return 0;
}

}  // namespace vigil::cli
