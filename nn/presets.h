// The built-in model definitions (nn/models/*.json), compiled into the binary so presets work anywhere.
#pragma once
#include <string>

namespace vigil {
// The preset's JSON text, or nullptr when `name` is not a preset.
const char* find_preset(const std::string& name);
}  // namespace vigil
