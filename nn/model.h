// Model: a network built from a ModelSpec, with its parameters and buffers by PyTorch state_dict name, and
// .safetensors model files whose metadata carries everything inference needs (definition, classes, input size,
// mean/std, version, calibration).
#pragma once
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "nn/model_spec.h"
#include "nn/safetensors.h"

namespace vigil {

class Model {
 public:
  // Builds the network and initialises its parameters from `init_seed`.
  Model(ModelSpec spec, uint64_t init_seed);

  const ModelSpec& spec() const { return spec_; }
  // x (N, C, H, W) normalised float32 on the model's device -> logits (N, classes).
  Var forward(Tape& tape, const Var& x, const RunContext& ctx);

  const std::vector<ParamRef>& parameters() const { return params_; }
  const std::vector<BufferRef>& buffers() const { return buffers_; }
  void to(Device device);
  // Batch norm on its running statistics, also while training (see Module::set_batchnorm_frozen).
  void set_batchnorm_frozen(bool frozen) { net_->set_batchnorm_frozen(frozen); }
  const Device& device() const { return device_; }

  std::vector<LayerRow> layer_table() const;
  LayerStats totals() const;  // output, parameters and multiply-adds per image at the spec's input size

  // Parameters then buffers, CPU copies, in definition order.
  std::vector<NamedTensor> state_dict() const;
  // Strict load: every parameter and buffer must be present with the right shape; nothing unexpected may be
  // present. Float tensors may be stored as F32, F16 or BF16. Errors name `source` and the tensor.
  void load_state_dict(const SafetensorsContent& content, const std::string& source);

  // Calibration temperature (1 = uncalibrated) and per-class decision thresholds, stored in model files.
  float temperature = 1.f;
  std::map<std::string, float> thresholds;

  // Metadata written into model files.
  std::map<std::string, std::string> metadata() const;
  // Writes the model atomically as .safetensors (state_dict + metadata + extra metadata).
  void save(const std::string& path, const std::map<std::string, std::string>& extra = {}) const;
  // Loads a vigil model file; `definition` (preset or path) is needed only for plain state_dicts without
  // vigil metadata (e.g. saved from PyTorch).
  static Model load(const std::string& path, const std::string& definition = "");

 private:
  ModelSpec spec_;
  std::unique_ptr<Sequential> net_;
  std::vector<ParamRef> params_;
  std::vector<BufferRef> buffers_;
  Device device_;
};

}  // namespace vigil
