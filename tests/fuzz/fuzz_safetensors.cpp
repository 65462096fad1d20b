// libFuzzer target: safetensors parsing from memory (header JSON, dtypes, shapes, offsets, metadata), as
// `vigil classify --model` and `serve` read model files.
#include "common/error.h"
#include "nn/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  vigil::SafetensorsLimits limits;
  limits.max_header_bytes = 1 << 20;
  limits.max_file_bytes = 64 << 20;
  try {
    vigil::parse_safetensors(data, size, "fuzz.safetensors", limits);
  } catch (const vigil::Error&) {
    // a clear error for bad input is the expected outcome
  }
  return 0;
}
