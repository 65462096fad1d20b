// A small tape autograd: ops record nodes (inputs, output, backward closure) in execution order, and
// Tape::backward walks them in reverse. Gradients ACCUMULATE (fan-out, residual connections); the graph is freed
// after backward; a tape with gradients disabled records nothing (inference).
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/backend.h"
#include "nn/tensor.h"

namespace vigil {

struct VarState {
  Tensor value;
  Tensor grad;  // undefined until a gradient reaches this variable
  bool requires_grad = false;
  bool is_leaf = true;  // false for outputs of recorded ops: their gradients are freed once propagated
  std::string name;
};

// A tensor that can take part in differentiation. Copies share the same state.
class Var {
 public:
  Var() = default;
  explicit Var(Tensor value, bool requires_grad = false, std::string name = "");

  bool defined() const { return state_ != nullptr; }
  const Tensor& value() const;
  Tensor& mutable_value();
  const Tensor& grad() const;  // undefined when no gradient has arrived
  bool requires_grad() const { return state_ && state_->requires_grad; }
  const std::string& name() const;
  const Shape& shape() const { return value().shape(); }
  void zero_grad();  // drops the gradient (next backward starts from zero)
  const std::shared_ptr<VarState>& state() const { return state_; }

 private:
  std::shared_ptr<VarState> state_;
};

// Which implementation device-resident ops use: hand-written CUDA kernels or cuDNN. CPU tensors always use the
// fast CPU backend. Defaults: cuDNN where the op has a cuDNN path and cuDNN is usable, else CUDA.
struct ExecConfig {
  Backend conv = Backend::Cudnn;
  Backend pool = Backend::Cudnn;
  Backend dropout = Backend::Cuda;  // Cuda keeps masks identical to the CPU for the same seed
  Backend softmax = Backend::Cudnn;
  Backend other = Backend::Cuda;    // ops without a cuDNN path

  // The backend an op of this family runs on for tensor `t` (CPU tensors: Backend::Cpu).
  Backend pick(const Tensor& t, Backend preferred) const;
};

class Tape {
 public:
  using BackwardFn = std::function<void(const Tensor& grad_output)>;

  explicit Tape(bool grad_enabled = true) : grad_enabled_(grad_enabled) {}
  Tape(const Tape&) = delete;
  Tape& operator=(const Tape&) = delete;

  bool grad_enabled() const { return grad_enabled_; }
  void set_grad_enabled(bool on) { grad_enabled_ = on; }
  ExecConfig& config() { return config_; }
  const ExecConfig& config() const { return config_; }

  // True when an op over these inputs must be recorded (gradients enabled and some input requires them).
  bool needs_grad(std::initializer_list<const Var*> inputs) const;

  // Wraps an op's result; when needs_grad, records `backward`, which receives d(root)/d(output) and must
  // ACCUMULATE into the inputs' gradients through accumulate_into()/grad_buffer().
  Var record(const char* op, std::vector<Var> inputs, Tensor output, BackwardFn backward);

  // The gradient buffer of `v`, allocated zero-filled (same shape/device as its value) on first use.
  static Tensor& grad_buffer(const Var& v);

  // Runs backward from `root`: seed defaults to 1 for a one-element root, else must be given (root's shape).
  // Walks the nodes in reverse, then clears the tape (retain_graph = true keeps it for another backward).
  void backward(const Var& root, const Tensor& seed = Tensor(), bool retain_graph = false);

  void clear() { nodes_.clear(); }
  size_t size() const { return nodes_.size(); }

 private:
  struct Node {
    const char* op;
    std::vector<std::shared_ptr<VarState>> inputs;
    std::shared_ptr<VarState> output;
    BackwardFn backward;
  };
  bool grad_enabled_;
  ExecConfig config_;
  std::vector<Node> nodes_;
};

}  // namespace vigil
