// Optimizer steps through the optim kernels, on the parameters' own device.
#include "nn/optimizer.h"

#include <cmath>
#include <set>

#include "common/error.h"
#include "elementwise/elementwise.h"
#include "optim/optim.h"

namespace vigil {

namespace {
Backend backend_of(const Tensor& t) {
  ExecConfig cfg;
  return cfg.pick(t, Backend::Cuda);
}
}  // namespace

void OptimizerConfig::validate() const {
  VIGIL_CHECK(kind == "sgd" || kind == "adam" || kind == "adamw", "unknown optimizer '", kind,
              "' (expected sgd, adam or adamw)");
  VIGIL_CHECK(momentum >= 0.f && momentum < 1.f, "momentum must be in [0, 1), got ", momentum);
  VIGIL_CHECK(weight_decay >= 0.f, "weight decay must be >= 0, got ", weight_decay);
  VIGIL_CHECK(!nesterov || (momentum > 0.f && dampening == 0.f), "Nesterov momentum needs momentum > 0 and no dampening");
  VIGIL_CHECK(beta1 >= 0.f && beta1 < 1.f && beta2 >= 0.f && beta2 < 1.f, "Adam betas must be in [0, 1)");
  VIGIL_CHECK(eps >= 0.f, "eps must be >= 0");
}

Optimizer::Optimizer(std::vector<ParamRef> params, const OptimizerConfig& config) : config_(config) {
  config_.validate();
  std::set<std::string> names;
  for (auto& p : params) {
    VIGIL_CHECK(names.insert(p.name).second, "parameter '", p.name, "' given to the optimizer twice");
    slots_.push_back(Slot{std::move(p), Tensor(), Tensor(), 0});
  }
}

void Optimizer::step(float lr) {
  VIGIL_CHECK(std::isfinite(lr) && lr >= 0.f, "learning rate must be finite and >= 0, got ", lr);
  for (Slot& s : slots_) {
    const Tensor& g = s.param.var.grad();
    if (!g.defined()) continue;
    Tensor& w = s.param.var.mutable_value();
    const Backend b = backend_of(w);
    const int64_t n = w.numel();
    if (config_.kind == "sgd") {
      ops::SgdParams p;
      p.lr = lr * s.lr_scale;
      p.momentum = config_.momentum;
      p.dampening = config_.dampening;
      p.weight_decay = config_.weight_decay;
      p.nesterov = config_.nesterov;
      if (p.momentum > 0.f && !s.m.defined()) s.m = Tensor::zeros(w.shape(), DType::F32, w.device());
      ops::sgd_step(b, p, n, w.f32(), g.f32(), p.momentum > 0.f ? s.m.f32() : nullptr, s.updates == 0);
    } else {
      ops::AdamParams p;
      p.lr = lr * s.lr_scale;
      p.beta1 = config_.beta1;
      p.beta2 = config_.beta2;
      p.eps = config_.eps;
      p.weight_decay = config_.weight_decay;
      p.decoupled = config_.kind == "adamw";
      p.step = s.updates + 1;
      if (!s.m.defined()) {
        s.m = Tensor::zeros(w.shape(), DType::F32, w.device());
        s.v = Tensor::zeros(w.shape(), DType::F32, w.device());
      }
      ops::adam_step(b, p, n, w.f32(), g.f32(), s.m.f32(), s.v.f32());
    }
    ++s.updates;
  }
  ++steps_;
}

void Optimizer::set_lr_scale(const std::string& param_name, float scale) {
  VIGIL_CHECK(std::isfinite(scale) && scale >= 0.f, "learning-rate scale must be finite and >= 0, got ", scale);
  for (Slot& s : slots_)
    if (s.param.name == param_name) {
      s.lr_scale = scale;
      return;
    }
  VIGIL_FAIL("set_lr_scale: the optimizer has no parameter '", param_name, "'");
}

void Optimizer::zero_grad() {
  for (Slot& s : slots_) s.param.var.zero_grad();
}

std::vector<NamedTensor> Optimizer::state() const {
  std::vector<NamedTensor> out;
  for (const Slot& s : slots_) {
    const bool adam = config_.kind != "sgd";
    if (s.m.defined()) out.push_back({s.param.name + (adam ? ".exp_avg" : ".momentum_buffer"), s.m.to(Device::cpu())});
    if (s.v.defined()) out.push_back({s.param.name + ".exp_avg_sq", s.v.to(Device::cpu())});
    Tensor count = Tensor::empty({}, DType::I64);
    count.data<int64_t>()[0] = s.updates;
    out.push_back({s.param.name + ".updates", count});
  }
  return out;
}

std::map<std::string, std::string> Optimizer::state_metadata() const {
  return {{"optimizer.kind", config_.kind}, {"optimizer.steps", std::to_string(steps_)}};
}

void Optimizer::load_state(const SafetensorsContent& c, const std::string& source) {
  auto kind = c.metadata.find("optimizer.kind");
  VIGIL_CHECK(kind != c.metadata.end(), source, ": no optimizer state (metadata optimizer.kind missing)");
  VIGIL_CHECK(kind->second == config_.kind, source, ": optimizer state is for '", kind->second, "' but training uses '",
              config_.kind, "'");
  auto steps = c.metadata.find("optimizer.steps");
  VIGIL_CHECK(steps != c.metadata.end(), source, ": metadata optimizer.steps missing");
  const bool adam = config_.kind != "sgd";
  auto get = [&](const std::string& name, const Tensor& like, bool required) -> Tensor {
    const Tensor* t = c.find(name);
    if (!t) {
      VIGIL_CHECK(!required, source, ": missing optimizer tensor '", name, "'");
      return Tensor();
    }
    VIGIL_CHECK(t->shape() == like.shape() && t->dtype() == like.dtype(), source, ": optimizer tensor '", name,
                "' is ", t->str(), ", expected shape ", shape_str(like.shape()));
    return t->to(like.device());
  };
  std::vector<Slot> staged = slots_;
  for (Slot& s : staged) {
    const Tensor& w = s.param.var.value();
    Tensor count = get(s.param.name + ".updates", Tensor::zeros({}, DType::I64), true);
    s.updates = count.data<int64_t>()[0];
    VIGIL_CHECK(s.updates >= 0, source, ": negative update count for '", s.param.name, "'");
    s.m = get(s.param.name + (adam ? ".exp_avg" : ".momentum_buffer"), w, adam ? s.updates > 0 : false);
    s.v = adam ? get(s.param.name + ".exp_avg_sq", w, s.updates > 0) : Tensor();
  }
  try {
    steps_ = std::stoll(steps->second);
  } catch (const std::exception&) {
    VIGIL_FAIL(source, ": metadata optimizer.steps '", steps->second, "' is not an integer");
  }
  slots_ = std::move(staged);
}

float grad_norm(const std::vector<ParamRef>& params) {
  double total = 0;
  for (const auto& p : params) {
    const Tensor& g = p.var.grad();
    if (!g.defined()) continue;
    Tensor out = Tensor::empty({1}, DType::F32, g.device());
    ops::sum_squares(backend_of(g), g.numel(), g.f32(), out.f32());
    total += out.item();
  }
  return static_cast<float>(std::sqrt(total));
}

float clip_grad_norm(const std::vector<ParamRef>& params, float max_norm) {
  VIGIL_CHECK(max_norm > 0.f, "max gradient norm must be positive, got ", max_norm);
  const float norm = grad_norm(params);
  if (!std::isfinite(norm) || norm <= max_norm) return norm;
  const float factor = max_norm / (norm + 1e-6f);  // PyTorch's clip_grad_norm_ adds the same epsilon
  for (const auto& p : params) {
    const Tensor& g = p.var.grad();
    if (!g.defined()) continue;
    ops::scale(backend_of(g), g.numel(), factor, g.f32(), g.f32());
  }
  return norm;
}

}  // namespace vigil
