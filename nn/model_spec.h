// Model definition files (JSON): architecture, head, class names and the preprocessing recipe that inference must
// repeat. Parsing is strict: an unknown key, a bad value or a shape that does not fit is an error naming the
// source and the JSON path (e.g. "seed.json: layers[3].kernel: must be a positive integer").
#pragma once
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

struct ModelSpec {
  std::string name, version;
  InputSpec input;
  PreprocessSpec preprocess;
  Head head = Head::Softmax;
  std::vector<std::string> classes;
  nlohmann::json layers;  // validated layer list
  std::string text;       // the definition as written (stored in model files)
  std::string source;     // where it came from, for messages
};

// Parses and validates a definition; `source` names it in errors.
ModelSpec parse_model_spec(const std::string& text, const std::string& source);
// "seed", "default", "fmnist" (built-in presets) or a path to a JSON file.
ModelSpec load_model_spec(const std::string& preset_or_path);
std::vector<std::string> preset_names();
std::string preset_text(const std::string& name);  // throws for an unknown preset

// Builds the network described by spec.layers (parameters initialised from `seed` unless !initialize, which
// leaves zeros for a following weight load) and checks that the shapes fit the declared input; errors name the
// layer's JSON path.
std::unique_ptr<Sequential> build_network(const ModelSpec& spec, uint64_t seed, bool initialize = true);

}  // namespace vigil
