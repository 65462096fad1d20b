// Renders a model's layer table (like torchsummary): name, type, output shape, parameters, multiply-adds.
#pragma once
#include <ostream>

#include "nn/model.h"

namespace vigil {
void print_layer_table(const Model& model, std::ostream& out);
std::string human_count(int64_t n);  // 446160960 -> "446.2 M"
}  // namespace vigil
