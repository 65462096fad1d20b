// The layers a model definition can name: Conv2d, BatchNorm2d, ReLU, LeakyReLU, MaxPool2d, AvgPool2d,
// GlobalAvgPool, Dropout, Flatten, Linear, and the containers Sequential and Residual.
#pragma once
#include <vector>

#include "nn/functional.h"
#include "nn/init.h"
#include "nn/module.h"

namespace vigil {

class Conv2d : public Module {
 public:
  struct Options {
    int in_channels = 0, out_channels = 0, kernel_h = 3, kernel_w = 3;
    fn::Conv2dOptions conv;
    // Zero padding applied before the convolution when a side needs more than conv's symmetric padding
    // (TensorFlow "SAME" with stride 2: one more row/column at the bottom/right). All zero: none.
    fn::Pad2dOptions pre_pad;
    bool bias = true;
    InitKind init = InitKind::KaimingNormal;
  };
  explicit Conv2d(const Options& o);
  const char* type() const override { return "Conv2d"; }
  Var forward(Tape& tape, const Var& x, const RunContext& ctx) override;
  LayerStats stats(const Shape& input) const override;
  std::string detail() const override;
  void collect(std::vector<ParamRef>& params, std::vector<BufferRef>& buffers) override;
  void to(Device device) override;
  void initialize(uint64_t seed, uint64_t stream);
  const Options& options() const { return o_; }

 private:
  Options o_;
  Var weight_, bias_;  // (Cout, Cin/groups, KH, KW), (Cout)
};

class Linear : public Module {
 public:
  struct Options {
    int64_t in_features = 0, out_features = 0;
    bool bias = true;
    InitKind init = InitKind::TorchDefault;
  };
  explicit Linear(const Options& o);
  const char* type() const override { return "Linear"; }
  Var forward(Tape& tape, const Var& x, const RunContext& ctx) override;
  LayerStats stats(const Shape& input) const override;
  std::string detail() const override;
  void collect(std::vector<ParamRef>& params, std::vector<BufferRef>& buffers) override;
  void to(Device device) override;
  void initialize(uint64_t seed, uint64_t stream);

 private:
  Options o_;
  Var weight_, bias_;  // (out, in), (out)
};

// Batch norm over channels of (N, C, H, W) or (N, C) input; running statistics are buffers.
class BatchNorm2d : public Module {
 public:
  BatchNorm2d(int64_t channels, float eps, float momentum);
  const char* type() const override { return "BatchNorm2d"; }
  Var forward(Tape& tape, const Var& x, const RunContext& ctx) override;
  LayerStats stats(const Shape& input) const override;
  std::string detail() const override;
  void collect(std::vector<ParamRef>& params, std::vector<BufferRef>& buffers) override;
  void to(Device device) override;
  void set_batchnorm_frozen(bool frozen) override { frozen_ = frozen; }

 private:
  int64_t channels_;
  float eps_, momentum_;
  bool frozen_ = false;
  Var weight_, bias_;                                  // (C) gamma, beta
  Tensor running_mean_, running_var_, num_batches_;    // (C), (C), int64 scalar () on the CPU
};

// A pointwise activation (ReLU, LeakyReLU, ReLU6, hard-swish, SiLU, sigmoid, hard-sigmoid).
class Activation : public Module {
 public:
  explicit Activation(const ops::ActivationParams& p = {}) : p_(p) {}
  const char* type() const override;  // PyTorch's class name: "ReLU", "ReLU6", "Hardswish", "SiLU", ...
  Var forward(Tape& tape, const Var& x, const RunContext& ctx) override;
  LayerStats stats(const Shape& input) const override { return LayerStats{input, 0, 0}; }
  std::string detail() const override;

 private:
  ops::ActivationParams p_;
};

class Pool2d : public Module {
 public:
  Pool2d(bool max, const fn::Pool2dOptions& o) : max_(max), o_(o) {}
  const char* type() const override { return max_ ? "MaxPool2d" : "AvgPool2d"; }
  Var forward(Tape& tape, const Var& x, const RunContext& ctx) override;
  LayerStats stats(const Shape& input) const override;
  std::string detail() const override;

 private:
  bool max_;
  fn::Pool2dOptions o_;
};

class GlobalAvgPool : public Module {
 public:
  const char* type() const override { return "GlobalAvgPool"; }
  Var forward(Tape& tape, const Var& x, const RunContext& ctx) override;
  LayerStats stats(const Shape& input) const override;
};

class Dropout : public Module {
 public:
  Dropout(float p, uint64_t layer_id) : p_(p), layer_id_(layer_id) {}
  const char* type() const override { return "Dropout"; }
  Var forward(Tape& tape, const Var& x, const RunContext& ctx) override;
  LayerStats stats(const Shape& input) const override { return LayerStats{input, 0, 0}; }
  std::string detail() const override;

 private:
  float p_;
  uint64_t layer_id_;  // distinct Philox stream per dropout layer
};

class Flatten : public Module {
 public:
  const char* type() const override { return "Flatten"; }
  Var forward(Tape& tape, const Var& x, const RunContext& ctx) override;
  LayerStats stats(const Shape& input) const override;
};

class Sequential : public Module {
 public:
  void add(ModulePtr m) { children_.push_back(std::move(m)); }
  const char* type() const override { return "Sequential"; }
  Var forward(Tape& tape, const Var& x, const RunContext& ctx) override;
  LayerStats stats(const Shape& input) const override;
  void collect(std::vector<ParamRef>& params, std::vector<BufferRef>& buffers) override;
  void table(const Shape& input, int depth, std::vector<LayerRow>& rows) const override;
  void to(Device device) override;
  void set_batchnorm_frozen(bool frozen) override;
  const std::vector<ModulePtr>& children() const { return children_; }

 private:
  std::vector<ModulePtr> children_;
};

// out = act(body(x) + shortcut(x)); an empty shortcut is the identity. act: none or ReLU.
class Residual : public Module {
 public:
  Residual(std::unique_ptr<Sequential> body, std::unique_ptr<Sequential> shortcut, bool relu_after)
      : body_(std::move(body)), shortcut_(std::move(shortcut)), relu_after_(relu_after) {}
  const char* type() const override { return "Residual"; }
  Var forward(Tape& tape, const Var& x, const RunContext& ctx) override;
  LayerStats stats(const Shape& input) const override;
  std::string detail() const override { return relu_after_ ? "add, ReLU" : "add"; }
  void collect(std::vector<ParamRef>& params, std::vector<BufferRef>& buffers) override;
  void table(const Shape& input, int depth, std::vector<LayerRow>& rows) const override;
  void to(Device device) override;
  void set_batchnorm_frozen(bool frozen) override;

 private:
  std::unique_ptr<Sequential> body_, shortcut_;
  bool relu_after_;
};

}  // namespace vigil
