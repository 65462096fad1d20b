// Training checkpoints: one .safetensors file holding the model (state_dict names), the optimizer state
// ("optimizer.<param>.<slot>") and the loop position (epoch, step, position inside the epoch, best metric, partial
// epoch sums) so that `vigil train --resume` continues exactly. Written atomically.
#pragma once
#include <chrono>
#include <string>

#include <nlohmann/json.hpp>

#include "nn/model.h"
#include "nn/optimizer.h"

namespace vigil::train {

struct LoopState {
  int64_t epoch = 0;            // the epoch in progress (or the next one when batch_in_epoch == 0)
  int64_t batch_in_epoch = 0;   // batches of `epoch` already done (a checkpoint taken mid-epoch)
  int64_t step = 0;             // optimizer steps so far
  double best_metric = 0;       // best validation metric so far (higher is better; loss is stored negated)
  int64_t best_epoch = -1;
  int64_t epochs_since_best = 0;
  // Sums of the epoch in progress (mid-epoch checkpoints): loss * images, images, and the confusion counts.
  double partial_loss_sum = 0;
  int64_t partial_images = 0;
  nlohmann::json partial_confusion;  // ConfusionMatrix::to_json() or null
  nlohmann::json to_json() const;
  static LoopState from_json(const nlohmann::json& j, const std::string& source);
};

// When a mid-epoch checkpoint is due: every `every_steps` optimizer steps and/or every `every_seconds` of wall
// time since the last one (0 turns each off).
class PeriodicCheckpoint {
 public:
  PeriodicCheckpoint(int64_t every_steps, double every_seconds)
      : every_steps_(every_steps), every_seconds_(every_seconds), last_(std::chrono::steady_clock::now()) {}
  // True (and the clock restarts) when step `step` (1-based count of steps done) should be checkpointed.
  bool due(int64_t step) {
    const auto now = std::chrono::steady_clock::now();
    const bool by_steps = every_steps_ > 0 && step % every_steps_ == 0;
    const bool by_time = every_seconds_ > 0 && std::chrono::duration<double>(now - last_).count() >= every_seconds_;
    if (by_steps || by_time) last_ = now;
    return by_steps || by_time;
  }

 private:
  int64_t every_steps_;
  double every_seconds_;
  std::chrono::steady_clock::time_point last_;
};

void save_checkpoint(const std::string& path, const Model& model, const Optimizer& optimizer, const LoopState& state,
                     const nlohmann::json& config);

// Restores model weights, optimizer state and the loop position from `path`; the model must have been built from
// the same definition. Returns the loop state; `config` receives the saved configuration.
LoopState load_checkpoint(const std::string& path, Model& model, Optimizer& optimizer, nlohmann::json* config);

}  // namespace vigil::train
