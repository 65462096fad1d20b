// Optimizers over a model's parameters (SGD with momentum/Nesterov, Adam, AdamW; PyTorch semantics), gradient
// clipping by global norm, and the optimizer state that training checkpoints save and restore exactly.
#pragma once
#include <string>
#include <vector>

#include "nn/module.h"
#include "nn/safetensors.h"

namespace vigil {

struct OptimizerConfig {
  std::string kind = "sgd";  // "sgd" | "adam" | "adamw"
  float momentum = 0.9f, dampening = 0.f, weight_decay = 0.f;
  bool nesterov = false;
  float beta1 = 0.9f, beta2 = 0.999f, eps = 1e-8f;
  void validate() const;
};

class Optimizer {
 public:
  Optimizer(std::vector<ParamRef> params, const OptimizerConfig& config);

  // Updates every parameter that has a gradient, with learning rate `lr`; parameters without one are skipped.
  void step(float lr);
  void zero_grad();
  // The named parameter is updated with lr * scale from now on (default 1; e.g. a pretrained backbone learns
  // slower than a new head). Not saved in state(): a resumed run sets it again from its configuration.
  void set_lr_scale(const std::string& param_name, float scale);
  int64_t steps() const { return steps_; }
  const OptimizerConfig& config() const { return config_; }

  // State as named tensors ("<param>.momentum_buffer", "<param>.exp_avg", "<param>.exp_avg_sq") plus metadata
  // ("optimizer.kind", "optimizer.steps"), for checkpoints.
  std::vector<NamedTensor> state() const;
  std::map<std::string, std::string> state_metadata() const;
  // Restores state saved by state(); strict about names, shapes and the optimizer kind.
  void load_state(const SafetensorsContent& content, const std::string& source);

 private:
  struct Slot {
    ParamRef param;
    Tensor m, v;            // momentum buffer (SGD) or first/second moments (Adam)
    int64_t updates = 0;    // how many times this parameter was updated (SGD's first step, Adam's bias correction)
    float lr_scale = 1.f;
  };
  std::vector<Slot> slots_;
  OptimizerConfig config_;
  int64_t steps_ = 0;
};

// Scales all gradients so their global L2 norm is at most max_norm; returns the norm before clipping.
// Parameters without gradients are ignored. A non-finite norm is returned as is and nothing is scaled.
float clip_grad_norm(const std::vector<ParamRef>& params, float max_norm);
// The global L2 norm of the gradients (no clipping).
float grad_norm(const std::vector<ParamRef>& params);

}  // namespace vigil
