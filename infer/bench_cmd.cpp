// Implementation of `vigil bench`: options and help, the model (file, or definition with random weights), the
// model-only and end-to-end measurements, the hardware, the PyTorch comparison (bench/torch/infer.py) and the
// table / JSON outputs.
#include "infer/bench_cmd.h"
#include "infer/cli_args.h"

#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/backend.h"
#include "common/blas.h"
#include "common/device.h"
#include "common/error.h"
#include "common/parallel.h"
#include "data/image.h"
#include "data/preprocess.h"
#include "infer/batch_decode.h"
#include "infer/bench_run.h"
#include "infer/classify.h"
#include "infer/predictor.h"
#include "train/atomic_file.h"

namespace vigil::cli {

namespace {

namespace fs = std::filesystem;
using json = nlohmann::ordered_json;
using Clock = std::chrono::steady_clock;

const char* kHelp =
    "usage: vigil bench --model MODEL.safetensors|seed|default|fmnist|DEF.json [options]\n"
    "\n"
    "Measures inference on this machine. Model only: forward passes over random input already on the device,\n"
    "logits copied back, per batch size. End to end (--images): read + decode + preprocess (classify's path,\n"
    "decoding in parallel; classify also hashes each file, bench does not) + forward + probabilities, cycling\n"
    "over the files. Warm-up iterations are excluded; then batches are timed until --seconds have passed (at\n"
    "least 3). Reports per batch size the latency of one batch (p50, p99, mean) and images/s, with the CPU\n"
    "model, threads and GPU named. A definition (preset or JSON) runs with random weights, which time the same\n"
    "as trained ones.\n"
    "\n"
    "options:\n"
    "  --model M            model file, preset (seed, default, fmnist) or definition JSON (required)\n"
    "  --device D           cpu | cuda | cuda:N | auto (default auto)\n"
    "  --batch LIST         batch sizes, e.g. 1,64 (default 1,64)\n"
    "  --images DIR         also time end to end on the image files under DIR (files and folders accepted)\n"
    "  --seconds S          timed seconds per measurement (default 3)\n"
    "  --threads N          CPU threads for the model (default: all cores)\n"
    "  --workers N          decoding threads for --images (default: min(4, cores))\n"
    "  --json FILE          every figure as JSON\n"
    "  --torch              also time the same definition in PyTorch (model only; /usr/bin/python3 with torch,\n"
    "                       bench/torch/infer.py) and print the ratio; skipped with a note when either is absent\n"
    "\n"
    "environment: VIGIL_TORCH_PYTHON (default /usr/bin/python3), VIGIL_TORCH_BENCH (the script's path)\n";

struct BenchOptions {
  std::string model;
  std::string device = "auto";
  std::string batch = "1,64";
  std::string images;
  std::string json;
  double seconds = 3;
  int threads = 0, workers = 0;
  bool torch = false;
};

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// A model file, or a preset / definition JSON with random weights.
struct LoadedModel {
  Model model;
  std::string source;
};
LoadedModel load_bench_model(const std::string& m) {
  const bool definition = !fs::is_regular_file(m) || fs::path(m).extension() == ".json";
  if (definition) return {Model(load_model_spec(m), 0), "definition, random weights"};
  return {Model::load(m), "model file"};
}

infer::TimingBudget budget_for(double seconds) {
  infer::TimingBudget b;
  b.seconds = seconds;
  b.warmup_seconds = std::min(0.5, seconds / 4);
  return b;
}

json stats_json(const infer::LatencyStats& s) {
  return json{{"batch", s.batch},     {"iterations", s.iterations}, {"images", s.images},
              {"mean_ms", s.mean_ms}, {"p50_ms", s.p50_ms},         {"p99_ms", s.p99_ms},
              {"min_ms", s.min_ms},   {"max_ms", s.max_ms},         {"images_per_s", s.images_per_s}};
}

// Model only: random input in [-1, 1) on the device, forward, logits to the host (which waits for the GPU).
infer::LatencyStats model_only(Model& model, int batch, double seconds) {
  const InputSpec& in = model.spec().input;
  Tensor host = Tensor::empty({batch, in.channels, in.height, in.width});
  std::mt19937 rng(static_cast<uint32_t>(batch));
  std::uniform_real_distribution<float> uniform(-1.f, 1.f);
  for (int64_t i = 0; i < host.numel(); ++i) host.f32()[i] = uniform(rng);
  const Var x(host.to(model.device()));
  const auto ms = infer::time_iterations(
      [&] {
        Tape tape(false);
        const Var logits = model.forward(tape, x, RunContext{});
        (void)logits.value().to_vector();
      },
      budget_for(seconds));
  return infer::latency_stats(batch, ms);
}

// Every usable file under the --images paths, in classify's walk order.
std::vector<std::string> image_files(const std::string& root) {
  VIGIL_CHECK(fs::exists(root), "--images ", root, ": no such file or directory");
  std::vector<std::string> files;
  infer::InputWalker walker({root});
  infer::InputEntry e;
  while (walker.next(e))
    if (e.error.empty()) files.push_back(e.path);
  VIGIL_CHECK(!files.empty(), "--images ", root, ": no files found");
  return files;
}

struct EndToEnd {
  infer::LatencyStats stats;
  double decode_share = 0;  // of the timed wall time: read + decode + preprocess
};

// End to end over `files` (cycling), `batch` files per iteration; unreadable files are counted in `bad`.
EndToEnd end_to_end(infer::Predictor& predictor, const std::vector<std::string>& files, int batch, int workers,
                    double seconds, std::set<std::string>& bad) {
  const ModelSpec& spec = predictor.model().spec();
  const data::DecodeOptions decode = data::decode_options_for(spec);
  size_t cursor = 0;
  std::vector<int64_t> ok_per_step;
  std::vector<double> prepare_ms;
  std::vector<std::vector<float>> inputs(static_cast<size_t>(batch));
  std::vector<std::string> names(static_cast<size_t>(batch)), errors(static_cast<size_t>(batch));
  auto step = [&] {
    const auto t0 = Clock::now();
    for (size_t k = 0; k < names.size(); ++k) {
      names[k] = files[cursor];
      cursor = (cursor + 1) % files.size();
    }
    infer::parallel_for_each(names.size(), workers, [&](size_t k) {
      errors[k].clear();
      inputs[k].clear();
      try {
        std::ifstream in(names[k], std::ios::binary);
        if (!in) {
          errors[k] = "io_error: cannot open";
          return;
        }
        std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        if (in.bad()) {
          errors[k] = "io_error: read failed";
          return;
        }
        data::DecodeResult r = data::decode_memory(bytes.data(), bytes.size(), names[k], decode);
        if (!r.ok()) errors[k] = infer::error_reason(r.error, names[k]);
        else inputs[k] = data::preprocess_image(r.image, spec);
      } catch (const std::exception& e) {
        errors[k] = user_message(e);
      }
    });
    std::vector<const float*> ready;
    for (size_t k = 0; k < names.size(); ++k) {
      if (errors[k].empty()) ready.push_back(inputs[k].data());
      else bad.insert(names[k]);
    }
    prepare_ms.push_back(seconds_since(t0) * 1e3);
    if (!ready.empty()) (void)predictor.probabilities(ready);
    ok_per_step.push_back(static_cast<int64_t>(ready.size()));
  };
  const auto ms = infer::time_iterations(step, budget_for(seconds));
  // The timed iterations are the last ms.size() steps; the warm-up ones came before.
  const size_t first = ok_per_step.size() - ms.size();
  int64_t images = 0;
  double prep = 0, total = 0;
  for (size_t i = 0; i < ms.size(); ++i) {
    images += ok_per_step[first + i];
    prep += prepare_ms[first + i];
    total += ms[i];
  }
  VIGIL_CHECK(images > 0, "--images: none of the ", files.size(), " files could be decoded (",
              bad.empty() ? "" : *bad.begin(), bad.size() > 1 ? ", ..." : "", ")");
  EndToEnd e;
  e.stats = infer::latency_stats(batch, ms, images);
  e.decode_share = total > 0 ? prep / total : 0;
  return e;
}

json hardware_json(const Device& device) {
  json h;
  h["cpu"] = infer::cpu_model_name();
  h["threads"] = cpu::num_threads();
  h["hardware_threads"] = std::thread::hardware_concurrency();
  h["blas"] = cpu::blas_name();
  h["gpu"] = nullptr;
  if (device.is_cuda()) {
    for (const auto& d : device::devices()) {
      if (d.index != device.index) continue;
      std::ostringstream cc;
      cc << "sm_" << d.cc_major << d.cc_minor;
      h["gpu"] = {{"index", d.index}, {"name", d.name}, {"compute_capability", cc.str()},
                  {"memory_gib", std::round(static_cast<double>(d.total_memory) / double(1 << 30) * 10) / 10},
                  {"multiprocessors", d.multiprocessors}};
    }
  }
  return h;
}

std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

std::string env_or(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::string(v) : fallback;
}

// The PyTorch timing of the same definition: {"skipped": why} or the script's JSON plus "ratio" per batch size.
json torch_comparison(const ModelSpec& spec, const std::vector<int>& batches, double seconds, int threads,
                      const Device& device, const json& vigil_rows) {
  const std::string python = env_or("VIGIL_TORCH_PYTHON", "/usr/bin/python3");
#ifdef VIGIL_TORCH_BENCH_SCRIPT
  const std::string script = env_or("VIGIL_TORCH_BENCH", VIGIL_TORCH_BENCH_SCRIPT);
#else
  const std::string script = env_or("VIGIL_TORCH_BENCH", "bench/torch/infer.py");
#endif
  if (::access(python.c_str(), X_OK) != 0) return {{"skipped", python + " is not an executable Python"}};
  if (!fs::is_regular_file(script)) return {{"skipped", "the PyTorch script " + script + " is absent"}};

  const fs::path def = fs::temp_directory_path() / ("vigil_bench_" + std::to_string(::getpid()) + ".json");
  train::write_file_atomic(def.string(), spec.text);
  std::string list;
  for (int b : batches) list += (list.empty() ? "" : ",") + std::to_string(b);
  const std::string cmd = shell_quote(python) + " " + shell_quote(script) + " --definition " +
                          shell_quote(def.string()) + " --batch " + list + " --seconds " + std::to_string(seconds) +
                          " --threads " + std::to_string(threads) + " --device " +
                          (device.is_cuda() ? "cuda:" + std::to_string(device.index) : std::string("cpu")) + " 2>&1";
  std::string output;
  int status = -1;
  if (FILE* p = ::popen(cmd.c_str(), "r")) {
    char buf[4096];
    size_t n = 0;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) output.append(buf, n);
    status = ::pclose(p);
  }
  std::error_code ec;
  fs::remove(def, ec);

  json result;  // the last line that parses as a JSON object
  std::istringstream lines(output);
  for (std::string line; std::getline(lines, line);) {
    auto j = json::parse(line, nullptr, false);
    if (!j.is_discarded() && j.is_object()) result = j;
  }
  if (result.is_null()) {
    std::string tail = output.size() > 400 ? "..." + output.substr(output.size() - 400) : output;
    while (!tail.empty() && (tail.back() == '\n' || tail.back() == '\r')) tail.pop_back();
    return {{"skipped", "the PyTorch script failed (exit status " +
                            std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : -1) + "): " + tail}};
  }
  if (result.contains("error")) return {{"skipped", result["error"].get<std::string>()}};
  json ratios = json::array();
  for (const auto& t : result["results"])
    for (const auto& v : vigil_rows)
      if (v["batch"] == t["batch"])
        ratios.push_back({{"batch", v["batch"]}, {"ratio", t["mean_ms"].get<double>() / v["mean_ms"].get<double>()}});
  result["ratio"] = ratios;
  return result;
}

std::string fixed(double v, int digits) {
  std::ostringstream s;
  s << std::fixed << std::setprecision(digits) << v;
  return s.str();
}

void print_rows(std::ostream& out, const json& rows, bool decode_share) {
  out << "  " << std::right << std::setw(6) << "batch" << std::setw(8) << "iters" << std::setw(11) << "p50 ms"
      << std::setw(11) << "p99 ms" << std::setw(11) << "mean ms" << std::setw(12) << "images/s";
  if (decode_share) out << std::setw(14) << "decode share";
  out << "\n";
  for (const auto& r : rows) {
    out << "  " << std::setw(6) << r["batch"].get<int>() << std::setw(8) << r["iterations"].get<int64_t>()
        << std::setw(11) << fixed(r["p50_ms"].get<double>(), 3) << std::setw(11) << fixed(r["p99_ms"].get<double>(), 3)
        << std::setw(11) << fixed(r["mean_ms"].get<double>(), 3) << std::setw(12)
        << fixed(r["images_per_s"].get<double>(), 1);
    if (decode_share) out << std::setw(13) << fixed(100 * r["decode_share"].get<double>(), 1) << "%";
    out << "\n";
  }
}

void bench(const BenchOptions& o, std::ostream& out, std::ostream& err) {
  VIGIL_CHECK(!o.model.empty(), "--model is required (a model file, or a preset: seed, default, fmnist)");
  VIGIL_CHECK(o.seconds > 0 && o.seconds <= 3600, "--seconds ", o.seconds, ": must be in (0, 3600]");
  const std::vector<int> batches = infer::parse_batch_sizes(o.batch);
  if (!o.json.empty()) {
    const fs::path dir = fs::path(o.json).parent_path();
    VIGIL_CHECK(dir.empty() || fs::is_directory(dir), "--json ", o.json, ": folder ", dir.string(), " does not exist");
  }
  std::vector<std::string> files;
  if (!o.images.empty()) files = image_files(o.images);
  if (o.threads > 0) cpu::set_num_threads(o.threads);
  const Device device = resolve_device(o.device, &err);
  LoadedModel loaded = load_bench_model(o.model);
  const std::string source = loaded.source;
  infer::Predictor predictor(std::move(loaded.model), device);
  Model& model = predictor.mutable_model();
  const ModelSpec& spec = model.spec();
  const LayerStats totals = model.totals();

  json r;
  r["model"] = o.model;
  r["model_name"] = spec.name;
  r["source"] = source;
  r["input"] = {spec.input.channels, spec.input.height, spec.input.width};
  r["classes"] = spec.classes.size();
  r["parameters"] = totals.params;
  r["macs_per_image"] = totals.macs;
  r["device"] = device.str();
  r["hardware"] = hardware_json(device);
  r["seconds"] = o.seconds;

  const json& hw = r["hardware"];
  out << "model   " << spec.name << " (" << o.model << ", " << source << "): " << spec.input.channels << "x"
      << spec.input.height << "x" << spec.input.width << " -> " << spec.classes.size() << " classes, "
      << fixed(static_cast<double>(totals.params) / 1e6, 2) << " M parameters, " << fixed(static_cast<double>(totals.macs) / 1e6, 1) << " M multiply-adds/image\n";
  out << "CPU     " << hw["cpu"].get<std::string>() << ", " << hw["threads"].get<int>() << " threads used of "
      << hw["hardware_threads"].get<unsigned>() << ", BLAS " << hw["blas"].get<std::string>() << "\n";
  out << "device  " << device.str();
  if (!hw["gpu"].is_null())
    out << " (" << hw["gpu"]["name"].get<std::string>() << ", " << hw["gpu"]["compute_capability"].get<std::string>()
        << ", " << hw["gpu"]["memory_gib"].get<double>() << " GiB)";
  out << "\n\nmodel only (random input on the device; warm-up excluded, " << o.seconds << " s per batch size):\n";

  json rows = json::array();
  for (int b : batches) rows.push_back(stats_json(model_only(model, b, o.seconds)));
  r["model_only"] = rows;
  print_rows(out, rows, false);

  r["end_to_end"] = nullptr;
  if (!files.empty()) {
    const int workers = o.workers > 0 ? o.workers : infer::default_workers();
    std::set<std::string> bad;
    json e2e = json::array();
    for (int b : batches) {
      const EndToEnd e = end_to_end(predictor, files, b, workers, o.seconds, bad);
      json row = stats_json(e.stats);
      row["decode_share"] = e.decode_share;
      e2e.push_back(row);
    }
    r["end_to_end"] = {{"images", o.images}, {"files", files.size()}, {"unreadable", bad.size()},
                       {"workers", workers}, {"results", e2e}};
    out << "\nend to end (" << files.size() << " files under " << o.images << ", cycled; read + decode + preprocess"
        << " on " << workers << " workers + forward):\n";
    print_rows(out, e2e, true);
    if (!bad.empty())
      out << "  " << bad.size() << " of the files could not be decoded and were skipped (e.g. " << *bad.begin()
          << ")\n";
  }

  r["torch"] = nullptr;
  if (o.torch) {
    const int threads = o.threads > 0 ? o.threads : cpu::num_threads();
    json t = torch_comparison(spec, batches, o.seconds, threads, device, rows);
    out << "\nPyTorch";
    if (t.contains("skipped")) {
      out << ": skipped (" << t["skipped"].get<std::string>() << ")\n";
    } else {
      out << " " << t["torch"].get<std::string>() << " (" << t["device"].get<std::string>() << ", "
          << t["threads"].get<int>() << " threads; same definition, model only):\n";
      if (!t["note"].get<std::string>().empty()) out << "  note: " << t["note"].get<std::string>() << "\n";
      print_rows(out, t["results"], false);
      out << "  ratio (torch ms / vigil ms per batch, above 1: vigil is faster):";
      for (const auto& x : t["ratio"])
        out << "  batch " << x["batch"].get<int>() << " " << fixed(x["ratio"].get<double>(), 2);
      out << "\n";
    }
    r["torch"] = t;
  }

  if (!o.json.empty()) write_output_file("json", o.json, r.dump(2) + "\n");
}

}  // namespace

int run_bench(int argc, char** argv) {
  if (const int code = usage_exit_code(argc, argv, kHelp); code >= 0) return code;
  BenchOptions o;
  ArgReader args(argc, argv,
                 {"model", "device", "batch", "images", "json", "seconds", "threads", "workers"},
                 {"torch"});
  for (CliArg arg; args.next(arg);) {
    const std::string& name = arg.name;
    const std::string& value = arg.value;
    if (name == "torch") {
      o.torch = true;
      continue;
    }
    if (name == "model") o.model = value;
    else if (name == "device") o.device = value;
    else if (name == "batch") o.batch = value;
    else if (name == "images") o.images = value;
    else if (name == "json") o.json = value;
    else if (name == "seconds") o.seconds = parse_double(name, value);
    else if (name == "threads") o.threads = parse_int(name, value);
    else if (name == "workers") o.workers = parse_int(name, value);
    else VIGIL_FAIL("unknown option --", name, " (see vigil bench --help)");
  }
  VIGIL_CHECK(o.workers >= 0 && o.workers <= 256, "--workers ", o.workers, ": must be in [0, 256]");
  VIGIL_CHECK(o.threads >= 0 && o.threads <= 1024, "--threads ", o.threads, ": must be in [0, 1024]");
  bench(o, std::cout, std::cerr);
  return 0;
}

}  // namespace vigil::cli
