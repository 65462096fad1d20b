// Reading and writing the safetensors format (8-byte header length, JSON header, raw little-endian data),
// validating every field of an untrusted file before allocating or copying anything.
#pragma once
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "nn/tensor.h"

namespace vigil {

struct NamedTensor {
  std::string name;
  Tensor tensor;
};

struct SafetensorsContent {
  std::map<std::string, std::string> metadata;  // the header's "__metadata__" (empty when absent)
  std::vector<NamedTensor> tensors;             // CPU tensors, in the file order of their data offsets
  const Tensor* find(const std::string& name) const;  // nullptr when absent
};

// Upper bounds a reader enforces before trusting sizes it read from the file.
struct SafetensorsLimits {
  uint64_t max_header_bytes = uint64_t{100} << 20;
  uint64_t max_file_bytes = uint64_t{16} << 30;
};

// Writes `tensors` (in the given order; any device, copied to the host one at a time) and `metadata` to
// `path` atomically: the bytes go to "<path>.tmp.<pid>" in the same directory, are fsynced, and the file is
// renamed over `path` (then the directory is fsynced). On any failure the temporary file is removed and an
// existing file at `path` is left untouched. Names must be non-empty, unique and not "__metadata__"; tensors
// must be defined and contiguous. The header is padded with spaces so that the data starts 8-byte aligned.
// Not safe for two threads of one process saving to the same path at the same time.
void save_safetensors(const std::string& path, const std::vector<NamedTensor>& tensors,
                      const std::map<std::string, std::string>& metadata = {});

// Reads a whole file into CPU tensors. Throws vigil::Error naming `path` and the reason for an unreadable
// file or any malformed or unsupported content (see parse_safetensors).
SafetensorsContent load_safetensors(const std::string& path, const SafetensorsLimits& limits = {});

// The same from an in-memory buffer; `source` names the buffer in errors. Rejects: a buffer shorter than 8
// bytes; a header length of 0, above limits.max_header_bytes or beyond the buffer; a header that is not a
// JSON object (trailing spaces allowed); duplicate keys; entries that are not objects or lack / mistype
// "dtype", "shape" or "data_offsets"; negative, non-integer or overflowing shapes; dtypes other than F32,
// F16, BF16, U8, I32 and I64; data_offsets that are not two ordered non-negative integers inside the data
// buffer or whose length differs from numel * dtype size; overlaps, gaps and trailing bytes in the data
// buffer; and a "__metadata__" that is not an object of strings.
SafetensorsContent parse_safetensors(const uint8_t* data, size_t size, const std::string& source,
                                     const SafetensorsLimits& limits = {});

}  // namespace vigil
