// `vigil train` options: one table drives the command line, the JSON config file and the resolved config.
#include "train/config.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <functional>
#include <sstream>

#include "common/error.h"

namespace vigil::train {
namespace {

using nlohmann::json;

// One option: its name (CLI "--name", JSON key "name"), a help line, whether it is a flag, and how to set
// and read it. Values arrive as text (JSON scalars are converted to text first).
struct Option {
  const char* name;
  const char* help;
  bool flag;
  std::function<void(TrainConfig&, const std::string&)> set;
  std::function<json(const TrainConfig&)> get;
};

[[noreturn]] void bad(const std::string& name, const std::string& value, const std::string& why) {
  VIGIL_FAIL("--", name, " ", value, ": ", why);
}

double to_double(const std::string& name, const std::string& v) {
  try {
    size_t used = 0;
    const double d = std::stod(v, &used);
    if (used == v.size()) return d;
  } catch (const std::exception&) {
  }
  bad(name, v, "not a number");
}

int64_t to_int(const std::string& name, const std::string& v) {
  try {
    size_t used = 0;
    const long long x = std::stoll(v, &used);
    if (used == v.size()) return x;
  } catch (const std::exception&) {
  }
  bad(name, v, "not an integer");
}

bool to_bool(const std::string& name, const std::string& v) {
  if (v == "true" || v == "1" || v == "yes" || v == "on") return true;
  if (v == "false" || v == "0" || v == "no" || v == "off") return false;
  bad(name, v, "expected true or false");
}

std::vector<std::string> split_commas(const std::string& v) {
  std::vector<std::string> out;
  std::stringstream ss(v);
  std::string item;
  while (std::getline(ss, item, ','))
    if (!item.empty()) out.push_back(item);
  return out;
}

template <typename T>
std::function<void(TrainConfig&, const std::string&)> num(const char* name, T TrainConfig::*field) {
  return [name, field](TrainConfig& c, const std::string& v) {
    if constexpr (std::is_integral_v<T>) c.*field = static_cast<T>(to_int(name, v));
    else c.*field = static_cast<T>(to_double(name, v));
  };
}

// "N" optimizer steps or "Nm" minutes (decimals allowed); "0" turns mid-epoch checkpoints off.
void set_checkpoint_every(TrainConfig& c, const std::string& v) {
  const bool minutes = !v.empty() && v.back() == 'm';
  const std::string number = minutes ? v.substr(0, v.size() - 1) : v;
  const double x = to_double("checkpoint-every", number);
  if (!(x >= 0) || (!minutes && x != std::floor(x)))
    bad("checkpoint-every", v, "must be a whole number of steps or a number of minutes such as 5m");
  c.checkpoint_every_steps = minutes ? 0 : static_cast<int64_t>(x);
  c.checkpoint_every_seconds = minutes ? x * 60 : 0;
}

const std::vector<Option>& options() {
  static const std::vector<Option> table = {
      {"data", "ImageFolder directory, list file (.csv) or Fashion-MNIST IDX directory", false,
       [](TrainConfig& c, const std::string& v) { c.data = v; }, [](const TrainConfig& c) { return json(c.data); }},
      {"model", "preset (seed, default, fmnist) or definition file", false,
       [](TrainConfig& c, const std::string& v) { c.model = v; }, [](const TrainConfig& c) { return json(c.model); }},
      {"out", "run directory (checkpoints, metrics, report, model.safetensors)", false,
       [](TrainConfig& c, const std::string& v) { c.out = v; }, [](const TrainConfig& c) { return json(c.out); }},
      {"classes", "class names in label order (default: the model's)", false,
       [](TrainConfig& c, const std::string& v) { c.classes = v; }, [](const TrainConfig& c) { return json(c.classes); }},
      {"class-map", "folder/label name mapping, e.g. fight=violence,noFight=standard (target - ignores)", false,
       [](TrainConfig& c, const std::string& v) { c.class_map = v; },
       [](const TrainConfig& c) { return json(c.class_map); }},
      {"group-by", "split groups: folder (class/<clip>/frame) or regex:PATTERN on the file name", false,
       [](TrainConfig& c, const std::string& v) { c.group_by = v; }, [](const TrainConfig& c) { return json(c.group_by); }},
      {"ignore-unknown-folders", "skip folders that are no known class instead of failing", true,
       [](TrainConfig& c, const std::string& v) { c.ignore_unknown_folders = to_bool("ignore-unknown-folders", v); },
       [](const TrainConfig& c) { return json(c.ignore_unknown_folders); }},
      {"val-fraction", "validation share of each class (flat data)", false, num("val-fraction", &TrainConfig::val_fraction),
       [](const TrainConfig& c) { return json(c.val_fraction); }},
      {"test-fraction", "test share of each class (flat data)", false, num("test-fraction", &TrainConfig::test_fraction),
       [](const TrainConfig& c) { return json(c.test_fraction); }},
      {"limit-train", "use at most N training samples (0: all; a seeded stratified subset)", false,
       num("limit-train", &TrainConfig::limit_train), [](const TrainConfig& c) { return json(c.limit_train); }},
      {"limit-val", "use at most N validation samples (0: all)", false, num("limit-val", &TrainConfig::limit_val),
       [](const TrainConfig& c) { return json(c.limit_val); }},
      {"epochs", "number of epochs", false, num("epochs", &TrainConfig::epochs),
       [](const TrainConfig& c) { return json(c.epochs); }},
      {"batch", "batch size", false, num("batch", &TrainConfig::batch), [](const TrainConfig& c) { return json(c.batch); }},
      {"lr", "base learning rate (default: SGD 0.1, Adam/AdamW 1e-3)", false, num("lr", &TrainConfig::lr),
       [](const TrainConfig& c) { return json(c.lr); }},
      {"optimizer", "sgd | adam | adamw", false, [](TrainConfig& c, const std::string& v) { c.optimizer.kind = v; },
       [](const TrainConfig& c) { return json(c.optimizer.kind); }},
      {"momentum", "SGD momentum", false,
       [](TrainConfig& c, const std::string& v) { c.optimizer.momentum = static_cast<float>(to_double("momentum", v)); },
       [](const TrainConfig& c) { return json(c.optimizer.momentum); }},
      {"nesterov", "SGD Nesterov momentum", true,
       [](TrainConfig& c, const std::string& v) { c.optimizer.nesterov = to_bool("nesterov", v); },
       [](const TrainConfig& c) { return json(c.optimizer.nesterov); }},
      {"weight-decay", "weight decay (L2 for SGD/Adam, decoupled for AdamW)", false,
       [](TrainConfig& c, const std::string& v) {
         c.optimizer.weight_decay = static_cast<float>(to_double("weight-decay", v));
       },
       [](const TrainConfig& c) { return json(c.optimizer.weight_decay); }},
      {"betas", "Adam betas, e.g. 0.9,0.999", false,
       [](TrainConfig& c, const std::string& v) {
         auto parts = split_commas(v);
         if (parts.size() != 2) bad("betas", v, "expected two numbers, e.g. 0.9,0.999");
         c.optimizer.beta1 = static_cast<float>(to_double("betas", parts[0]));
         c.optimizer.beta2 = static_cast<float>(to_double("betas", parts[1]));
       },
       [](const TrainConfig& c) {
         std::ostringstream os;
         os << c.optimizer.beta1 << "," << c.optimizer.beta2;
         return json(os.str());
       }},
      {"schedule", "constant | step | multistep | cosine | onecycle", false,
       [](TrainConfig& c, const std::string& v) { c.schedule.kind = v; },
       [](const TrainConfig& c) { return json(c.schedule.kind); }},
      {"step-epochs", "step schedule: epochs between LR drops", false,
       [](TrainConfig& c, const std::string& v) { c.schedule.step_epochs = to_int("step-epochs", v); },
       [](const TrainConfig& c) { return json(c.schedule.step_epochs); }},
      {"gamma", "step/multistep schedule: LR factor per drop", false,
       [](TrainConfig& c, const std::string& v) { c.schedule.gamma = static_cast<float>(to_double("gamma", v)); },
       [](const TrainConfig& c) { return json(c.schedule.gamma); }},
      {"milestones", "multistep schedule: epochs, e.g. 30,60", false,
       [](TrainConfig& c, const std::string& v) {
         c.schedule.milestones.clear();
         for (const auto& m : split_commas(v)) c.schedule.milestones.push_back(to_int("milestones", m));
       },
       [](const TrainConfig& c) {
         std::string s;
         for (auto m : c.schedule.milestones) s += (s.empty() ? "" : ",") + std::to_string(m);
         return json(s);
       }},
      {"warmup-steps", "linear LR warm-up steps", false,
       [](TrainConfig& c, const std::string& v) { c.schedule.warmup_steps = to_int("warmup-steps", v); },
       [](const TrainConfig& c) { return json(c.schedule.warmup_steps); }},
      {"min-lr", "cosine schedule floor", false,
       [](TrainConfig& c, const std::string& v) { c.schedule.min_lr = static_cast<float>(to_double("min-lr", v)); },
       [](const TrainConfig& c) { return json(c.schedule.min_lr); }},
      {"label-smoothing", "cross-entropy label smoothing in [0, 1)", false,
       num("label-smoothing", &TrainConfig::label_smoothing), [](const TrainConfig& c) { return json(c.label_smoothing); }},
      {"class-weights", "none | auto (inverse class frequency) | w0,w1,...", false,
       [](TrainConfig& c, const std::string& v) { c.class_weights = v; },
       [](const TrainConfig& c) { return json(c.class_weights); }},
      {"balanced-sampler", "draw classes equally often (sampling with replacement)", true,
       [](TrainConfig& c, const std::string& v) { c.balanced_sampler = to_bool("balanced-sampler", v); },
       [](const TrainConfig& c) { return json(c.balanced_sampler); }},
      {"clip-grad-norm", "clip the global gradient norm (0: off)", false,
       num("clip-grad-norm", &TrainConfig::clip_grad_norm), [](const TrainConfig& c) { return json(c.clip_grad_norm); }},
      {"early-stop", "stop after N epochs without a better validation metric (0: off)", false,
       num("early-stop", &TrainConfig::early_stop), [](const TrainConfig& c) { return json(c.early_stop); }},
      {"best-metric", "validation metric for `best`: macro_f1 | accuracy | loss", false,
       [](TrainConfig& c, const std::string& v) { c.best_metric = v; },
       [](const TrainConfig& c) { return json(c.best_metric); }},
      {"augment", "training augmentation on/off", false,
       [](TrainConfig& c, const std::string& v) { c.augment = to_bool("augment", v); },
       [](const TrainConfig& c) { return json(c.augment); }},
      {"crop-scale", "random resized crop area range, e.g. 0.08,1 (1,1 with --random-crop false: plain resize)", false,
       [](TrainConfig& c, const std::string& v) {
         auto parts = split_commas(v);
         if (parts.size() != 2) bad("crop-scale", v, "expected two numbers, e.g. 0.08,1");
         c.augmentation.scale_min = static_cast<float>(to_double("crop-scale", parts[0]));
         c.augmentation.scale_max = static_cast<float>(to_double("crop-scale", parts[1]));
       },
       [](const TrainConfig& c) {
         std::ostringstream os;
         os << c.augmentation.scale_min << "," << c.augmentation.scale_max;
         return json(os.str());
       }},
      {"random-crop", "random resized crop on/off", false,
       [](TrainConfig& c, const std::string& v) { c.augmentation.random_resized_crop = to_bool("random-crop", v); },
       [](const TrainConfig& c) { return json(c.augmentation.random_resized_crop); }},
      {"flip", "horizontal flip probability", false,
       [](TrainConfig& c, const std::string& v) { c.augmentation.flip_probability = static_cast<float>(to_double("flip", v)); },
       [](const TrainConfig& c) { return json(c.augmentation.flip_probability); }},
      {"rotation", "random rotation range in degrees", false,
       [](TrainConfig& c, const std::string& v) {
         c.augmentation.rotation_degrees = static_cast<float>(to_double("rotation", v));
       },
       [](const TrainConfig& c) { return json(c.augmentation.rotation_degrees); }},
      {"translate", "random translation as a fraction of the size", false,
       [](TrainConfig& c, const std::string& v) {
         c.augmentation.translate_fraction = static_cast<float>(to_double("translate", v));
       },
       [](const TrainConfig& c) { return json(c.augmentation.translate_fraction); }},
      {"jitter", "colour jitter strength for brightness, contrast and saturation", false,
       [](TrainConfig& c, const std::string& v) {
         const float j = static_cast<float>(to_double("jitter", v));
         c.augmentation.brightness = c.augmentation.contrast = c.augmentation.saturation = j;
       },
       [](const TrainConfig& c) { return json(c.augmentation.brightness); }},
      {"workers", "data loading threads", false, num("workers", &TrainConfig::workers),
       [](const TrainConfig& c) { return json(c.workers); }},
      {"cache-mb", "decoded image cache in MiB (0: off)", false, num("cache-mb", &TrainConfig::cache_mb),
       [](const TrainConfig& c) { return json(c.cache_mb); }},
      {"init-from", "model file whose matching weights initialise the network (fine-tuning)", false,
       [](TrainConfig& c, const std::string& v) { c.init_from = v; }, [](const TrainConfig& c) { return json(c.init_from); }},
      {"freeze", "parameter-name prefixes to keep fixed, e.g. stem,layer1", false,
       [](TrainConfig& c, const std::string& v) { c.freeze = split_commas(v); },
       [](const TrainConfig& c) {
         std::string s;
         for (const auto& f : c.freeze) s += (s.empty() ? "" : ",") + f;
         return json(s);
       }},
      {"pretrained", "start from the model's ImageNet weights (efficientnet-lite0, mobilenet-v2, resnet18, resnet50; "
       "scripts/get-pretrained.sh fetches them); implies --recipe finetune", true,
       [](TrainConfig& c, const std::string& v) { c.pretrained = to_bool("pretrained", v); },
       [](const TrainConfig& c) { return json(c.pretrained); }},
      {"weights-dir", "folder of pretrained weights (default $VIGIL_WEIGHTS_DIR or ~/.cache/vigil/weights)", false,
       [](TrainConfig& c, const std::string& v) { c.weights_dir = v; },
       [](const TrainConfig& c) { return json(c.weights_dir); }},
      {"backbone-lr-scale", "learning-rate multiplier for every parameter outside the head", false,
       num("backbone-lr-scale", &TrainConfig::backbone_lr_scale),
       [](const TrainConfig& c) { return json(c.backbone_lr_scale); }},
      {"freeze-epochs", "train only the head for the first N epochs (a linear probe), then everything", false,
       num("freeze-epochs", &TrainConfig::freeze_epochs), [](const TrainConfig& c) { return json(c.freeze_epochs); }},
      {"freeze-bn", "keep batch norm on its (pretrained) running statistics for the whole run", true,
       [](TrainConfig& c, const std::string& v) { c.freeze_bn = to_bool("freeze-bn", v); },
       [](const TrainConfig& c) { return json(c.freeze_bn); }},
      {"input-size", "square input size replacing the model definition's (0: keep it)", false,
       num("input-size", &TrainConfig::input_size), [](const TrainConfig& c) { return json(c.input_size); }},
      {"device", "cpu | cuda | cuda:N | auto", false, [](TrainConfig& c, const std::string& v) { c.device = v; },
       [](const TrainConfig& c) { return json(c.device); }},
      {"gpu-kernels", "on a GPU: cudnn (cuDNN for convolution, pooling, softmax) or cuda (vigil's own kernels)", false,
       [](TrainConfig& c, const std::string& v) { c.gpu_kernels = v; },
       [](const TrainConfig& c) { return json(c.gpu_kernels); }},
      {"threads", "CPU threads (0: all cores)", false, num("threads", &TrainConfig::threads),
       [](const TrainConfig& c) { return json(c.threads); }},
      {"seed", "random seed (data order, augmentation, dropout, initialisation)", false, num("seed", &TrainConfig::seed),
       [](const TrainConfig& c) { return json(c.seed); }},
      {"recipe", "preset of options: seed (the original project's recipe) or finetune (the default with --pretrained)", false,
       [](TrainConfig& c, const std::string& v) { apply_recipe(c, v); }, [](const TrainConfig& c) { return json(c.recipe); }},
      {"resume", "continue the run in this directory from its last checkpoint", false,
       [](TrainConfig& c, const std::string& v) { c.resume = v; }, [](const TrainConfig& c) { return json(c.resume); }},
      {"checkpoint-every", "also checkpoint mid-epoch every N steps (e.g. 200) or every N minutes (e.g. 5m); 0: off", false,
       [](TrainConfig& c, const std::string& v) { set_checkpoint_every(c, v); },
       [](const TrainConfig& c) {
         if (c.checkpoint_every_seconds > 0) return json(std::to_string(c.checkpoint_every_seconds / 60) + "m");
         return json(std::to_string(c.checkpoint_every_steps));
       }},
      {"progress", "progress bar on a terminal (plain lines otherwise)", false,
       [](TrainConfig& c, const std::string& v) { c.progress = to_bool("progress", v); },
       [](const TrainConfig& c) { return json(c.progress); }},
  };
  return table;
}

const Option* find_option(const std::string& name) {
  for (const Option& o : options())
    if (name == o.name) return &o;
  return nullptr;
}

std::string json_to_text(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
  if (v.is_array()) {
    std::string s;
    for (const auto& e : v) s += (s.empty() ? "" : ",") + json_to_text(e);
    return s;
  }
  return v.dump();
}

}  // namespace

void apply_recipe(TrainConfig& c, const std::string& name) {
  VIGIL_CHECK(name == "seed" || name == "finetune", "unknown recipe '", name, "' (recipes: seed, finetune)");
  c.recipe = name;
  if (name == "finetune") {
    c.optimizer.kind = "adamw";
    c.lr = 1e-3f;
    c.backbone_lr_scale = 0.1f;
    c.optimizer.weight_decay = 0.05f;
    c.schedule.kind = "cosine";
    c.schedule.warmup_steps = 100;
    c.label_smoothing = 0.1f;
    c.epochs = 10;
    c.batch = 32;
    return;
  }
  c.optimizer.kind = "adam";
  c.lr = 3e-4f;
  c.optimizer.weight_decay = 5e-4f;
  c.schedule.kind = "step";
  c.schedule.step_epochs = 30;
  c.schedule.gamma = 0.5f;
  c.epochs = 70;
  c.batch = 30;
}

void apply_json(TrainConfig& c, const json& j, const std::string& source) {
  VIGIL_CHECK(j.is_object(), source, ": a training config must be a JSON object");
  // The recipe first, so the other keys override it whatever their order in the file.
  if (j.contains("recipe") && j["recipe"].is_string() && !j["recipe"].get<std::string>().empty())
    apply_recipe(c, j["recipe"].get<std::string>());
  for (const auto& [key, value] : j.items()) {
    if (key == "recipe") continue;
    const Option* o = find_option(key);
    VIGIL_CHECK(o != nullptr, source, ": unknown option '", key, "'");
    VIGIL_CHECK(!value.is_object() && !value.is_null(), source, ": option '", key, "' must be a string, number, boolean or list");
    try {
      o->set(c, json_to_text(value));
    } catch (const Error& e) {
      VIGIL_FAIL(source, ": ", user_message(e));
    }
  }
}

void TrainConfig::validate() const {
  VIGIL_CHECK(!data.empty() || !resume.empty(), "--data is required (an ImageFolder directory, a list file or a Fashion-MNIST IDX directory)");
  VIGIL_CHECK(!out.empty() || !resume.empty(), "--out RUN_DIR is required");
  VIGIL_CHECK(epochs > 0, "--epochs must be positive");
  VIGIL_CHECK(batch > 0 && batch <= 65536, "--batch must be in [1, 65536]");
  VIGIL_CHECK(lr >= 0.f, "--lr must be >= 0");
  optimizer.validate();
  schedule.validate();
  VIGIL_CHECK(label_smoothing >= 0.f && label_smoothing < 1.f, "--label-smoothing must be in [0, 1)");
  VIGIL_CHECK(val_fraction >= 0 && test_fraction >= 0 && val_fraction + test_fraction < 1,
              "--val-fraction and --test-fraction must be >= 0 and leave data for training");
  VIGIL_CHECK(clip_grad_norm >= 0.f, "--clip-grad-norm must be >= 0");
  VIGIL_CHECK(early_stop >= 0, "--early-stop must be >= 0");
  VIGIL_CHECK(best_metric == "macro_f1" || best_metric == "accuracy" || best_metric == "loss",
              "--best-metric must be macro_f1, accuracy or loss");
  VIGIL_CHECK(workers >= 1 && workers <= 64, "--workers must be in [1, 64]");
  VIGIL_CHECK(threads >= 0, "--threads must be >= 0");
  VIGIL_CHECK(gpu_kernels == "cudnn" || gpu_kernels == "cuda", "--gpu-kernels must be cudnn or cuda");
  VIGIL_CHECK(limit_train >= 0 && limit_val >= 0, "--limit-train/--limit-val must be >= 0");
  VIGIL_CHECK(std::isfinite(backbone_lr_scale) && backbone_lr_scale >= 0.f, "--backbone-lr-scale must be >= 0");
  VIGIL_CHECK(freeze_epochs >= 0 && freeze_epochs < epochs, "--freeze-epochs must be >= 0 and below --epochs");
  VIGIL_CHECK(input_size == 0 || (input_size >= 8 && input_size <= 8192), "--input-size must be 0 or in [8, 8192]");
  VIGIL_CHECK(!(pretrained && !init_from.empty()), "--pretrained and --init-from both choose the starting weights: "
              "give one");
  data::validate_augment_options(augmentation);
}

json TrainConfig::to_json() const {
  json j = json::object();
  for (const Option& o : options()) j[o.name] = o.get(*this);
  return j;
}

bool parse_train_args(int argc, char** argv, TrainConfig& config, std::string& help) {
  std::vector<std::string> args(argv + 1, argv + argc);
  auto usage = [&] {
    std::ostringstream os;
    os << "usage: vigil train --data DIR|LIST.csv|IDX_DIR --model seed|default|fmnist|FILE --out RUN_DIR [options]\n"
       << "       vigil train --resume RUN_DIR\n\noptions (also accepted as keys of a JSON file given with --config FILE):\n";
    for (const Option& o : options()) {
      std::string head = std::string("  --") + o.name + (o.flag ? "" : " VALUE");
      os << head << std::string(head.size() < 34 ? 34 - head.size() : 1, ' ') << o.help << "\n";
    }
    os << "  --config FILE                     JSON object of the options above (command-line options override it)\n";
    return os.str();
  };
  for (const auto& a : args)
    if (a == "--help" || a == "-h") {
      help = usage();
      return false;
    }
  // --config first, then --recipe, then everything else in order.
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--config") {
      VIGIL_CHECK(i + 1 < args.size(), "--config needs a file");
      std::ifstream in(args[i + 1]);
      VIGIL_CHECK(in.good(), "--config ", args[i + 1], ": cannot open");
      json j;
      try {
        in >> j;
      } catch (const std::exception& e) {
        VIGIL_FAIL("--config ", args[i + 1], ": not valid JSON: ", user_message(e));
      }
      apply_json(config, j, args[i + 1]);
    }
  }
  bool recipe_given = false;
  for (size_t i = 0; i + 1 < args.size(); ++i)
    if (args[i] == "--recipe") {
      apply_recipe(config, args[i + 1]);
      recipe_given = true;
    }
  const bool pretrained_flag = std::find(args.begin(), args.end(), "--pretrained") != args.end() ||
                               std::find(args.begin(), args.end(), "--pretrained=true") != args.end();
  if (pretrained_flag && !recipe_given && config.recipe.empty()) apply_recipe(config, "finetune");
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--config" || a == "--recipe") {
      ++i;
      continue;
    }
    VIGIL_CHECK(a.rfind("--", 0) == 0, "unexpected argument '", a, "' (options start with --; see vigil train --help)");
    std::string name = a.substr(2), value;
    const size_t eq = name.find('=');
    if (eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
    }
    const Option* o = find_option(name);
    VIGIL_CHECK(o != nullptr, "unknown option --", name, " (see vigil train --help)");
    if (eq == std::string::npos) {
      if (o->flag && (i + 1 >= args.size() || args[i + 1].rfind("--", 0) == 0)) {
        value = "true";
      } else {
        VIGIL_CHECK(i + 1 < args.size(), "--", name, " needs a value");
        value = args[++i];
      }
    }
    o->set(config, value);
  }
  return true;
}

}  // namespace vigil::train
