// Tape recording and reverse-order backward.
#include "nn/autograd.h"

#include "common/device.h"
#include "common/error.h"
#include "elementwise/elementwise.h"

namespace vigil {

Var::Var(Tensor value, bool requires_grad, std::string name) : state_(std::make_shared<VarState>()) {
  VIGIL_CHECK(value.defined(), "Var of an undefined tensor");
  VIGIL_CHECK(!requires_grad || value.dtype() == DType::F32, "only float32 variables can require gradients (",
              value.str(), ")");
  state_->value = std::move(value);
  state_->requires_grad = requires_grad;
  state_->name = std::move(name);
}

const Tensor& Var::value() const {
  VIGIL_CHECK(state_, "use of an undefined Var");
  return state_->value;
}
Tensor& Var::mutable_value() {
  VIGIL_CHECK(state_, "use of an undefined Var");
  return state_->value;
}
const Tensor& Var::grad() const {
  VIGIL_CHECK(state_, "use of an undefined Var");
  return state_->grad;
}
const std::string& Var::name() const {
  VIGIL_CHECK(state_, "use of an undefined Var");
  return state_->name;
}
void Var::zero_grad() {
  if (state_) state_->grad = Tensor();
}

Backend ExecConfig::pick(const Tensor& t, Backend preferred) const {
  if (!t.is_cuda()) return Backend::Cpu;
  device::set_device(t.device().index);
  if (preferred == Backend::Cudnn && !cudnn_available()) return Backend::Cuda;
  return preferred == Backend::Cudnn ? Backend::Cudnn : Backend::Cuda;
}

bool Tape::needs_grad(std::initializer_list<const Var*> inputs) const {
  if (!grad_enabled_) return false;
  for (const Var* v : inputs)
    if (v && v->requires_grad()) return true;
  return false;
}

Var Tape::record(const char* op, std::vector<Var> inputs, Tensor output, BackwardFn backward) {
  bool any = false;
  for (const Var& v : inputs) any = any || v.requires_grad();
  Var out(std::move(output), grad_enabled_ && any);
  if (!out.requires_grad()) return out;
  out.state()->is_leaf = false;
  Node n{op, {}, out.state(), std::move(backward)};
  for (const Var& v : inputs)
    if (v.defined()) n.inputs.push_back(v.state());
  nodes_.push_back(std::move(n));
  return out;
}

Tensor& Tape::grad_buffer(const Var& v) {
  VarState& s = *v.state();
  if (!s.grad.defined()) s.grad = Tensor::zeros(s.value.shape(), DType::F32, s.value.device());
  return s.grad;
}

void Tape::backward(const Var& root, const Tensor& seed, bool retain_graph) {
  VIGIL_CHECK(root.requires_grad(), "backward() from a variable that does not require gradients");
  Tensor& g = grad_buffer(root);
  if (seed.defined()) {
    VIGIL_CHECK(seed.shape() == root.shape(), "backward seed ", seed.str(), " does not match root ", root.value().str());
    Tensor s = seed.to(root.value().device());
    const Backend b = config_.pick(g, Backend::Cuda);
    ops::axpy(b, g.numel(), 1.f, s.f32(), g.f32());
  } else {
    VIGIL_CHECK(root.value().numel() == 1, "backward() without a seed needs a one-element root, got ",
                root.value().str());
    Tensor one = Tensor::full(root.shape(), 1.f, root.value().device());
    const Backend b = config_.pick(g, Backend::Cuda);
    ops::axpy(b, 1, 1.f, one.f32(), g.f32());
  }
  for (size_t i = nodes_.size(); i-- > 0;) {
    Node& n = nodes_[i];
    if (!n.output->grad.defined()) continue;  // no gradient flowed into this op's output
    n.backward(n.output->grad);
    if (!n.output->is_leaf && !retain_graph) n.output->grad = Tensor();  // intermediate: no longer needed
  }
  if (!retain_graph) nodes_.clear();
}

}  // namespace vigil
