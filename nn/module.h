// Module: the base of every layer. A module computes its forward pass on the tape, reports its output shape,
// parameter count and multiply-adds for a given input shape, and exposes its parameters and buffers by
// PyTorch state_dict name.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "nn/autograd.h"

namespace vigil {

// Per-forward settings shared by all layers.
struct RunContext {
  bool training = false;
  uint64_t seed = 0;  // dropout masks: Philox(seed, stream = step * kStreamsPerStep + layer id, index)
  uint64_t step = 0;
  static constexpr uint64_t kStreamsPerStep = 1u << 16;
};

struct ParamRef {
  std::string name;  // e.g. "conv.0.weight"
  Var var;
};

struct BufferRef {
  std::string name;  // e.g. "conv.1.running_mean", "conv.1.num_batches_tracked" (int64)
  Tensor* tensor;
};

struct LayerStats {
  Shape output;
  int64_t params = 0;
  int64_t macs = 0;  // multiply-adds per sample (convolution and linear layers only)
};

// One row of the layer table (`vigil model show`).
struct LayerRow {
  std::string name, type, detail;
  LayerStats stats;
  int depth = 0;  // nesting level (residual blocks)
};

class Module {
 public:
  virtual ~Module() = default;
  virtual const char* type() const = 0;
  // x: (N, ...) -> output.
  virtual Var forward(Tape& tape, const Var& x, const RunContext& ctx) = 0;
  // Output shape and costs for a per-sample input shape (no batch dimension); throws with the layer name and
  // the reason when the input does not fit.
  virtual LayerStats stats(const Shape& input) const = 0;
  // Human-readable hyper-parameters for the layer table, e.g. "3->16, k7 s2 p1".
  virtual std::string detail() const { return ""; }
  virtual void collect(std::vector<ParamRef>& params, std::vector<BufferRef>& buffers) {
    (void)params;
    (void)buffers;
  }
  // Appends this layer's rows (containers recurse).
  virtual void table(const Shape& input, int depth, std::vector<LayerRow>& rows) const {
    rows.push_back(LayerRow{name_, type(), detail(), stats(input), depth});
  }
  // Moves parameters and buffers to `device` (values keep their identity as Vars).
  virtual void to(Device device) { (void)device; }
  // Frozen batch norm normalises with its running statistics and leaves them unchanged, also while training
  // (fine-tuning with small batches, or a linear probe); containers pass it on to their layers.
  virtual void set_batchnorm_frozen(bool frozen) { (void)frozen; }

  const std::string& name() const { return name_; }
  void set_name(std::string n) { name_ = std::move(n); }

 protected:
  std::string name_;  // state_dict prefix, e.g. "conv.0"
};

using ModulePtr = std::unique_ptr<Module>;

}  // namespace vigil
