// Whole networks against PyTorch: the presets rebuilt in PyTorch (scripts/golden/networks.py) with the same
// deterministic "golden fill" weights give the same logits, and one SGD / Adam training step gives the same
// updated weights and batch-norm statistics.
#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "nn/model.h"
#include "nn/optimizer.h"
#include "support/allclose.h"
#include "support/golden.h"

namespace vigil::test {
namespace {

constexpr double kA = 0.6180339887498949, kB = 0.7548776662466927, kX = 0.5698402909980532;

double frac(double v) { return v - std::floor(v); }

// The fill described in scripts/golden/networks.py; k is the tensor's index in PyTorch's state_dict order.
Tensor golden_tensor(const std::string& name, const Tensor& like, int64_t k) {
  const std::string leaf = name.substr(name.rfind('.') + 1);
  const int64_t n = like.numel();
  if (leaf == "num_batches_tracked") return Tensor::zeros(like.shape(), DType::I64);
  std::vector<float> v(n);
  const int64_t fan_in = like.dim() > 0 ? n / like.size(0) : 1;
  for (int64_t i = 0; i < n; ++i) {
    const double u = frac((double(i) + 1) * kA + double(k) * kB);
    double x;
    if (leaf == "running_mean") x = 0.1 * (2 * u - 1);
    else if (leaf == "running_var") x = 0.5 + u;
    else if (like.dim() == 1 && leaf == "weight") x = 1 + 0.2 * (2 * u - 1);
    else if (leaf == "bias") x = 0.1 * (2 * u - 1);
    else x = (2 * u - 1) / std::sqrt(double(fan_in));
    v[i] = static_cast<float>(x);
  }
  return Tensor::from_vector(v, like.shape());
}

Tensor golden_input(const Shape& shape) {
  std::vector<float> v(shape_numel(shape));
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(2 * frac((double(i) + 1) * kX) - 1);
  return Tensor::from_vector(v, shape);
}

std::string spec_text(const std::string& preset, int h, int w, bool no_dropout) {
  nlohmann::json j = nlohmann::json::parse(preset_text(preset));
  if (h) {
    j["input"]["height"] = h;
    j["input"]["width"] = w;
  }
  if (no_dropout) {
    std::function<void(nlohmann::json&)> strip = [&](nlohmann::json& layers) {
      for (auto& l : layers) {
        if (l["type"] == "dropout") l["p"] = 0.0;
        for (const char* key : {"body", "shortcut", "layers"})
          if (l.contains(key)) strip(l[key]);
      }
    };
    strip(j["layers"]);
  }
  return j.dump();
}

void golden_fill(Model& m, const std::vector<std::string>& order) {
  SafetensorsContent c;
  std::map<std::string, const Tensor*> like;
  for (const auto& p : m.parameters()) like[p.name] = &p.var.value();
  for (const auto& b : m.buffers()) like[b.name] = b.tensor;
  ASSERT_EQ(like.size(), order.size()) << "vigil and PyTorch disagree on the number of state tensors";
  for (size_t k = 0; k < order.size(); ++k) {
    ASSERT_TRUE(like.count(order[k])) << "PyTorch tensor " << order[k] << " has no vigil counterpart";
    c.tensors.push_back({order[k], golden_tensor(order[k], *like[order[k]], static_cast<int64_t>(k))});
  }
  m.load_state_dict(c, "golden fill");
}

std::vector<float> stats(const Tensor& t) {
  const std::vector<float> v = t.to_vector();
  double s = 0, sq = 0;
  for (float x : v) {
    s += x;
    sq += double(x) * x;
  }
  std::vector<float> out = {static_cast<float>(s), static_cast<float>(sq)};
  for (size_t i = 0; i < 4; ++i) out.push_back(i < v.size() ? v[i] : 0.f);
  return out;
}

TEST(Networks, LogitsMatchPyTorch) {
  for (const auto& c : load_golden("networks")) {
    if (c.name.rfind("forward_", 0) != 0) continue;
    SCOPED_TRACE(c.name);
    const std::string preset = c.params.at("model");
    const int h = c.params.value("height", 0), w = c.params.value("width", 0);
    Model m(parse_model_spec(spec_text(preset, h, w, false), preset), 0);
    golden_fill(m, c.params.at("order").get<std::vector<std::string>>());
    const ModelSpec& s = m.spec();
    const int64_t batch = c.params.at("batch");
    Tape tape(false);
    Var y = m.forward(tape, Var(golden_input({batch, s.input.channels, s.input.height, s.input.width})), RunContext{});
    ExpectAllClose(y.value().to_vector(), c.at("logits").data, (Tol{1e-4, 1e-4}));
  }
}

TEST(Networks, OneTrainingStepMatchesPyTorch) {
  for (const auto& c : load_golden("networks")) {
    if (c.name.rfind("train_", 0) != 0) continue;
    SCOPED_TRACE(c.name);
    const std::string preset = c.params.at("model");
    const int h = c.params.at("height"), w = c.params.at("width");
    Model m(parse_model_spec(spec_text(preset, h, w, true), preset), 0);
    golden_fill(m, c.params.at("order").get<std::vector<std::string>>());
    OptimizerConfig cfg;
    float lr;
    if (c.params.at("optimizer") == "sgd") {
      cfg.kind = "sgd";
      cfg.momentum = 0.9f;
      cfg.weight_decay = 5e-4f;
      lr = 0.1f;
    } else {
      cfg.kind = "adam";
      cfg.weight_decay = 5e-4f;
      lr = 1e-3f;
    }
    Optimizer opt(m.parameters(), cfg);
    Tape tape;
    Var x(golden_input({2, m.spec().input.channels, h, w}));
    // frozen_bn: batch norm on its running statistics while training (the generator says why the backbones need it).
    const bool frozen_bn = c.params.value("frozen_bn", false);
    Var loss = fn::cross_entropy(tape, m.forward(tape, x, RunContext{!frozen_bn, 0, 0}), Tensor::from_labels({0, 2}));
    ExpectAllClose(loss.value().to_vector(), c.at("loss").data, (Tol{1e-5, 1e-4}));
    tape.backward(loss);
    opt.step(lr);
    // Updated parameters and running statistics: sum, sum of squares and the first values of each tensor.
    // Adam's first step moves every weight by ~lr * sign(g): a gradient within float32 noise of 0 can take
    // either sign in vigil and PyTorch (different summation orders), moving that weight by 2 lr. Allow a tensor
    // sum to differ by 5 such flips (atol 5 lr = 5e-3); SGD updates are proportional to g and agree closely.
    const Tol tol = cfg.kind == "adam" ? Tol{5e-3, 1e-3} : Tol{2e-4, 2e-3};
    auto check = [&](const std::string& name, const Tensor& t) {
      SCOPED_TRACE(name);
      ExpectAllClose(stats(t), c.at("stats." + name).data, tol);
    };
    for (const auto& p : m.parameters()) check(p.name, p.var.value());
    for (const auto& b : m.buffers())
      if (b.name.find("num_batches_tracked") == std::string::npos) check(b.name, *b.tensor);
  }
}

}  // namespace
}  // namespace vigil::test
