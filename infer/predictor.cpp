// Implementation of Predictor (batched eval-mode forward, temperature-scaled probabilities) and the decision rule.
#include "infer/predictor.h"

#include <cmath>
#include <cstring>
#include <sstream>
#include <utility>

#include "common/error.h"
#include "nn/functional.h"

namespace vigil::infer {

Predictor::Predictor(const std::string& model_path, Device device, const std::string& definition)
    : model_(Model::load(model_path, definition)) {
  VIGIL_CHECK(!model_.spec().classes.empty(), model_path, ": the model names no classes");
  model_.to(device);
}

Predictor::Predictor(Model model, Device device) : model_(std::move(model)) {
  VIGIL_CHECK(!model_.spec().classes.empty(), model_.spec().source, ": the model names no classes");
  model_.to(device);
}

size_t Predictor::input_size() const {
  const InputSpec& in = model_.spec().input;
  return static_cast<size_t>(in.channels) * static_cast<size_t>(in.height) * static_cast<size_t>(in.width);
}

Var Predictor::forward_logits(Tape& tape, const std::vector<const float*>& inputs) {
  const InputSpec& in = model_.spec().input;
  const int64_t n = static_cast<int64_t>(inputs.size());
  const size_t per_image = input_size();
  Tensor host = Tensor::empty({n, in.channels, in.height, in.width});
  for (int64_t i = 0; i < n; ++i)
    std::memcpy(host.f32() + static_cast<size_t>(i) * per_image, inputs[static_cast<size_t>(i)],
                per_image * sizeof(float));

  Var logits = model_.forward(tape, Var(host.to(model_.device())), RunContext{});
  const size_t classes = model_.spec().classes.size();
  VIGIL_CHECK(logits.shape() == (Shape{n, static_cast<int64_t>(classes)}), "model output ", shape_str(logits.shape()),
              " does not match ", classes, " classes");
  return logits;
}

namespace {

// Row-major (rows * classes) values split into one vector per row.
std::vector<std::vector<float>> split_rows(const std::vector<float>& values, size_t rows, size_t classes) {
  std::vector<std::vector<float>> out(rows);
  for (size_t i = 0; i < rows; ++i)
    out[i].assign(values.begin() + static_cast<std::ptrdiff_t>(i * classes),
                  values.begin() + static_cast<std::ptrdiff_t>((i + 1) * classes));
  return out;
}

}  // namespace

std::vector<std::vector<float>> Predictor::logits(const std::vector<const float*>& inputs) {
  if (inputs.empty()) return {};
  Tape tape(false);
  const Var logits = forward_logits(tape, inputs);
  return split_rows(logits.value().to_vector(), inputs.size(), model_.spec().classes.size());
}

std::vector<std::vector<float>> Predictor::probabilities(const std::vector<const float*>& inputs) {
  if (inputs.empty()) return {};
  Tape tape(false);
  Var logits = forward_logits(tape, inputs);
  const float temperature = model_.temperature;
  const size_t classes = model_.spec().classes.size();
  if (temperature != 1.f) logits = fn::scale(tape, logits, 1.f / temperature);

  std::vector<float> values;
  if (model_.spec().head == Head::Softmax) {
    values = fn::softmax(tape, logits).value().to_vector();
  } else {
    values = logits.value().to_vector();
    for (float& v : values) v = 1.f / (1.f + std::exp(-v));
  }
  return split_rows(values, inputs.size(), classes);
}

std::vector<float> resolve_thresholds(const ModelSpec& spec, const std::map<std::string, float>& from_model,
                                      const std::string& overrides) {
  const auto& classes = spec.classes;
  std::vector<float> t(classes.size(), spec.head == Head::Sigmoid ? 0.5f : 0.f);
  auto index_of = [&](const std::string& name, const std::string& where) {
    for (size_t i = 0; i < classes.size(); ++i)
      if (classes[i] == name) return i;
    std::string known;
    for (const auto& c : classes) known += (known.empty() ? "" : ", ") + c;
    VIGIL_FAIL(where, ": unknown class '", name, "' (classes: ", known, ")");
  };
  for (const auto& [name, value] : from_model) t[index_of(name, "model thresholds")] = value;

  std::stringstream ss(overrides);
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (item.empty()) continue;
    const size_t eq = item.find('=');
    VIGIL_CHECK(eq != std::string::npos && eq > 0, "--threshold '", item, "': expected CLASS=PROBABILITY, e.g. nudity=0.8");
    const std::string name = item.substr(0, eq), value = item.substr(eq + 1);
    float v = 0.f;
    try {
      size_t used = 0;
      v = std::stof(value, &used);
      VIGIL_CHECK(used == value.size(), "");
    } catch (const std::exception&) {
      VIGIL_FAIL("--threshold ", name, "=", value, ": not a number");
    }
    VIGIL_CHECK(v >= 0.f && v <= 1.f, "--threshold ", name, "=", value, ": must be a probability in [0, 1]");
    t[index_of(name, "--threshold " + item)] = v;
  }
  return t;
}

Decision decide(const std::vector<float>& probabilities, const std::vector<float>& thresholds,
                const std::vector<std::string>& classes, Head head) {
  VIGIL_CHECK(!probabilities.empty() && probabilities.size() == thresholds.size() &&
                  probabilities.size() == classes.size(),
              "decide: ", probabilities.size(), " probabilities, ", thresholds.size(), " thresholds, ", classes.size(),
              " classes");
  Decision d;
  d.top = 0;
  for (size_t i = 1; i < probabilities.size(); ++i)
    if (probabilities[i] > probabilities[static_cast<size_t>(d.top)]) d.top = static_cast<int>(i);
  const size_t top = static_cast<size_t>(d.top);
  if (head == Head::Softmax) {
    if (probabilities[top] >= thresholds[top]) {
      d.flagged.push_back(d.top);
      d.label = classes[top];
    } else {
      d.label = "review";
    }
    return d;
  }
  for (size_t i = 0; i < probabilities.size(); ++i) {
    if (probabilities[i] < thresholds[i]) continue;
    d.flagged.push_back(static_cast<int>(i));
    d.label += (d.label.empty() ? "" : "+") + classes[i];
  }
  if (d.label.empty()) d.label = "none";
  return d;
}

}  // namespace vigil::infer
