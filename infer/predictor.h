// Predictor: a model file loaded for inference (eval mode, no gradients) turning preprocessed images into
// calibrated class probabilities, and the decision rule that turns probabilities into an action per image.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "nn/model.h"

namespace vigil::infer {

class Predictor {
 public:
  // Loads a vigil model file (`definition`: preset or JSON file, only for plain state_dicts without vigil
  // metadata) onto `device`. Throws vigil::Error naming the file and the reason.
  Predictor(const std::string& model_path, Device device, const std::string& definition = "");
  // Wraps a model built in memory (e.g. a preset with random weights for `vigil bench`) and moves it to `device`.
  Predictor(Model model, Device device);

  const Model& model() const { return model_; }
  Model& mutable_model() { return model_; }
  // Floats per input image: channels * height * width of the model's input.
  size_t input_size() const;

  // One forward pass over the batch: each input points at input_size() preprocessed floats (C, H, W). Returns,
  // per input, one probability per class: softmax(logits / T) for a softmax head, sigmoid(logits / T) for a
  // sigmoid (multi-label) head, T being the model file's calibration temperature.
  std::vector<std::vector<float>> probabilities(const std::vector<const float*>& inputs);

  // The same forward pass, returning the raw logits (before the model file's temperature), one row per input:
  // what calibration fits a temperature on.
  std::vector<std::vector<float>> logits(const std::vector<const float*>& inputs);

 private:
  // The batch's logits (N, classes) on the model's device, recorded on `tape` (no gradients).
  Var forward_logits(Tape& tape, const std::vector<const float*>& inputs);

  Model model_;
};

// The decision threshold of every class, in class order. Starts from the head's default (softmax: 0, so the top
// class is always accepted; sigmoid: 0.5), then the model file's thresholds, then `overrides`
// ("nudity=0.8,violence=0.7"; every name must be a class, every value in [0, 1]). Throws vigil::Error naming the
// bad entry.
std::vector<float> resolve_thresholds(const ModelSpec& spec, const std::map<std::string, float>& from_model,
                                      const std::string& overrides);

// What to do with one image.
//  - softmax head: `label` is the top class when its probability >= its threshold, otherwise "review" (a person
//    looks at it); `flagged` holds the top class when accepted.
//  - sigmoid head: `flagged` holds every class whose probability >= its threshold, in class order; `label` joins
//    their names with "+" ("nudity+violence"), or reads "none" when no class reaches its threshold.
// `top` is the most probable class (the first one on ties) in both cases.
struct Decision {
  int top = -1;
  std::vector<int> flagged;
  std::string label;
};
Decision decide(const std::vector<float>& probabilities, const std::vector<float>& thresholds,
                const std::vector<std::string>& classes, Head head);

}  // namespace vigil::infer
