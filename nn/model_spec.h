// Model definition files (JSON): architecture, head, class names and the preprocessing recipe that inference must
// repeat. Parsing is strict: an unknown key, a bad value or a shape that does not fit is an error naming the
// source and the JSON path (e.g. "seed.json: layers[3].kernel: must be a positive integer").
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "nn/layers.h"

namespace vigil {

enum class Head { Softmax, Sigmoid };  // exclusive classes, or multi-label (an image can be nude and violent)

struct InputSpec {
  int channels = 3;  // 1 (grayscale) or 3 (RGB)
  int height = 224, width = 224;
};

struct PreprocessSpec {
  std::string resize = "stretch";  // "stretch" to height x width, or "shorter_side" then crop
  std::string crop = "none";       // "none" or "center" (with shorter_side)
  int resize_shorter = 0;          // shorter side before the centre crop ("shorter_side" only)
  std::string interpolation = "bilinear";  // "bilinear" (antialiased when shrinking) or "area"
  std::vector<float> mean, std;    // per channel, on [0, 1] pixel values
  std::string alpha = "white";     // background alpha is composited onto: "white" or "black"
};

// Caps checked while a definition is parsed and built, before any parameter is allocated: a few hundred bytes of
// JSON can otherwise describe a network of many gigabytes.
struct ModelLimits {
  int64_t max_parameters = 300'000'000;  // weights, biases and batch-norm statistics: 1.2 GB in float32
  // float32 outputs of every layer for one image, summed: what a training step keeps for the backward pass
  int64_t max_activation_bytes = int64_t{4} << 30;
};

struct ModelSpec {
  std::string name, version;
  InputSpec input;
  PreprocessSpec preprocess;
  Head head = Head::Softmax;
  std::vector<std::string> classes;
  nlohmann::json layers;  // validated layer list
  std::string text;       // the definition as written (stored in model files)
  std::string source;     // where it came from, for messages
  ModelLimits limits;     // what it was checked against (build_network checks them again)
};

// Parses and validates a definition; `source` names it in errors. Strict JSON (a repeated key is an error); the
// network's parameter count and activation memory are checked against `limits` layer by layer, before that
// layer's parameters exist.
ModelSpec parse_model_spec(const std::string& text, const std::string& source, const ModelLimits& limits = {});
// "seed", "default", "fmnist" (built-in presets) or a path to a JSON file.
ModelSpec load_model_spec(const std::string& preset_or_path, const ModelLimits& limits = {});
std::vector<std::string> preset_names();
std::string preset_text(const std::string& name);  // throws for an unknown preset

// Builds the network described by spec.layers (parameters initialised from `seed` unless !initialize, which
// leaves zeros for a following weight load) and checks that the shapes fit the declared input and that the
// network stays within spec.limits; errors name the layer's JSON path.
std::unique_ptr<Sequential> build_network(const ModelSpec& spec, uint64_t seed, bool initialize = true);

}  // namespace vigil
