// libFuzzer target: model definitions (strict JSON, layer validation, shape inference, size limits), as every
// command that takes --model reads them. Tight limits keep each input's network small; the limits themselves are
// part of what is fuzzed.
#include <string>

#include "common/error.h"
#include "nn/model_spec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  vigil::ModelLimits limits;
  limits.max_parameters = 20'000'000;
  limits.max_activation_bytes = 256 << 20;
  try {
    vigil::parse_model_spec(std::string(reinterpret_cast<const char*>(data), size), "fuzz.json", limits);
  } catch (const vigil::Error&) {
  }
  return 0;
}
