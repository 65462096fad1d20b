// Fine-tuning from pretrained weights: where a backbone preset's ImageNet weights live, the definition at another
// input size, and the split between the head (the last layer with parameters) and the backbone, which can learn
// more slowly or stay frozen for a linear-probe phase.
#pragma once
#include <set>
#include <string>
#include <vector>

#include "nn/model.h"

namespace vigil::train {

// $VIGIL_WEIGHTS_DIR, else $HOME/.cache/vigil/weights.
std::string default_weights_dir();

// The imported ImageNet model file of `model` (a preset such as efficientnet-lite0) in `weights_dir` (empty: the
// default), "<dir>/<model>-imagenet.safetensors". Throws an error saying how to get it when it is missing.
std::string pretrained_weights_path(const std::string& model, const std::string& weights_dir);

// `spec` with a square input of `size` pixels; a centre crop's resize_shorter is scaled by the same factor (so
// 256 -> 224 becomes 146 -> 128). The network is rebuilt, so "same" padding and the size limits follow the size.
ModelSpec spec_with_input_size(const ModelSpec& spec, int size);

// Names of the head's parameters: those of the module holding the last parameter (e.g. "_fc.weight", "_fc.bias").
std::set<std::string> head_parameters(const Model& model);

// Backbone parameters (every parameter outside `head` and outside `always_frozen`) stop (frozen = true) or resume
// receiving gradients, and batch norm follows (running statistics, not updated) unless `keep_bn_frozen` keeps it
// frozen either way.
void set_backbone_frozen(Model& model, const std::set<std::string>& head, const std::set<std::string>& always_frozen,
                         bool frozen, bool keep_bn_frozen);

}  // namespace vigil::train
