// A tiny colour model for the infer tests whose answers are known in advance: global average pooling and a
// diagonal linear layer, so an image's class follows its dominant colour (red: nudity, green: violence,
// blue: standard).
#pragma once
#include <string>
#include <vector>

#include "nn/model.h"

namespace vigil::test {

inline std::string colour_definition() {
  return R"({"format": "vigil-model/1", "name": "colour", "head": "softmax",
  "input": {"channels": 3, "height": 8, "width": 8},
  "preprocess": {"mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5]},
  "classes": ["nudity", "violence", "standard"],
  "layers": [{"type": "global_avg_pool"}, {"type": "linear", "out_features": 3}]})";
}

// Logit c = gain * (mean of channel c, normalised to [-1, 1]); no bias.
inline void save_colour_model(const std::string& path, float gain = 3.f) {
  Model m(parse_model_spec(colour_definition(), "colour.json"), 1);
  for (const auto& p : m.parameters()) {
    Var handle = p.var;  // shares the parameter's node
    Tensor& t = handle.mutable_value();
    std::vector<float> v(static_cast<size_t>(t.numel()), 0.f);
    if (t.shape().size() == 2)
      for (size_t c = 0; c < 3; ++c) v[c * 3 + c] = gain;
    t.copy_from(Tensor::from_vector(v, t.shape()));
  }
  m.save(path);
}

}  // namespace vigil::test
