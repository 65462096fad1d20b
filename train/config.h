// The training configuration: every option of `vigil train`, from the command line and/or a JSON config file,
// validated, with the seed project's recipe as a preset; the resolved form is written into the run directory.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/augment.h"
#include "nn/optimizer.h"
#include "nn/schedule.h"

namespace vigil::train {

struct TrainConfig {
  // What to train on and with.
  std::string data;               // ImageFolder directory, list file (.csv) or Fashion-MNIST IDX directory
  std::string model = "default";  // preset or definition file
  std::string out;                // run directory
  std::string classes;            // "a,b,c" (default: the model's classes)
  std::string class_map;          // "fight=violence,noFight=standard"
  std::string group_by;           // "" | "folder" | "regex:PATTERN"
  bool ignore_unknown_folders = false;
  double val_fraction = 0.1, test_fraction = 0.1;  // flat data only
  int64_t limit_train = 0, limit_val = 0;          // use at most this many samples (0: all), for quick runs

  // Optimisation.
  int epochs = 10;
  int batch = 32;
  float lr = 0.f;  // 0: the optimizer's default (SGD 0.1, Adam/AdamW 1e-3)
  OptimizerConfig optimizer;
  ScheduleConfig schedule;
  float label_smoothing = 0.f;
  std::string class_weights = "none";  // "none" | "auto" (inverse frequency) | "w0,w1,..."
  bool balanced_sampler = false;
  float clip_grad_norm = 0.f;          // 0: off
  int early_stop = 0;                  // patience in epochs without improvement (0: off)
  std::string best_metric = "macro_f1";  // "macro_f1" | "accuracy" | "loss"

  // Data loading and augmentation.
  bool augment = true;
  data::AugmentOptions augmentation;
  int workers = 2;
  size_t cache_mb = 512;  // decoded-image cache (0: off)

  // Fine-tuning.
  std::string init_from;               // model file whose matching weights initialise the network
  std::vector<std::string> freeze;     // parameter-name prefixes kept fixed
  bool pretrained = false;             // start from the ImageNet weights of --model (train/finetune.h)
  std::string weights_dir;             // where they are ("": $VIGIL_WEIGHTS_DIR or ~/.cache/vigil/weights)
  float backbone_lr_scale = 1.f;       // learning-rate multiplier of every parameter outside the head
  int freeze_epochs = 0;               // first N epochs: only the head learns (backbone and batch norm fixed)
  bool freeze_bn = false;              // batch norm on its running statistics for the whole run
  int input_size = 0;                  // square input size replacing the definition's (0: keep it)

  // Execution.
  std::string device = "auto";
  std::string gpu_kernels = "cudnn";  // on a GPU: "cudnn" (cuDNN for conv/pool/softmax) or "cuda" (vigil's own kernels)
  int threads = 0;  // 0: all cores
  uint64_t seed = 1;
  std::string recipe;  // "" | "seed"
  std::string resume;  // run directory to continue
  bool progress = true;
  // Mid-epoch checkpoints (besides each epoch's end): every N optimizer steps and/or every S seconds, so a kill -9
  // loses at most that much work. 0: off.
  int64_t checkpoint_every_steps = 0;
  double checkpoint_every_seconds = 0;

  void validate() const;
  nlohmann::json to_json() const;
};

// Applies a named recipe's defaults; explicit options given afterwards override them. "seed": Adam lr 3e-4, weight
// decay 5e-4, step LR halving every 30 epochs, 70 epochs, batch 30 (the original project's). "finetune" (the
// default with --pretrained): AdamW lr 1e-3 for the head and 1e-4 for the backbone, weight decay 0.05, 100 warm-up
// steps then cosine decay, label smoothing 0.1, 10 epochs, batch 32.
void apply_recipe(TrainConfig& config, const std::string& name);

// Sets fields from a JSON object with the same keys as to_json() (unknown keys are errors naming the key and
// `source`).
void apply_json(TrainConfig& config, const nlohmann::json& j, const std::string& source);

// Parses `vigil train` arguments (argv[0] is "train"). --config FILE is applied first, then --recipe, then the
// remaining options in order. Throws vigil::Error naming the option and the problem; returns false for --help
// (usage printed to `help`).
bool parse_train_args(int argc, char** argv, TrainConfig& config, std::string& help);

}  // namespace vigil::train
