// IDX files (the MNIST / Fashion-MNIST container: big-endian magic, dimensions, unsigned bytes), raw or gzip'd,
// and Fashion-MNIST as an in-memory dataset.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "data/dataset.h"

namespace vigil::data {

// An IDX array of unsigned bytes (type code 0x08, the only one the MNIST family uses).
struct IdxArray {
  std::vector<int64_t> dims;  // e.g. {60000, 28, 28} for images, {60000} for labels
  std::vector<uint8_t> values;
};

// Largest decompressed IDX payload accepted (guards against a gzip bomb): 1 GiB.
constexpr uint64_t kMaxIdxBytes = 1ull << 30;

// Parses an IDX buffer; `name` appears in every error ("NAME: truncated: header says 47040000 bytes of data, file
// has 1000"). Rejects a bad magic number, an unsupported element type, zero or oversized dimensions, and missing
// or trailing bytes.
IdxArray parse_idx(const uint8_t* data, size_t size, const std::string& name);

// Reads PATH (gzip'd when it starts with the gzip magic, else raw) and parses it; errors name the file and the
// reason (cannot open, corrupt or truncated gzip stream, bad IDX content).
IdxArray read_idx_file(const std::string& path);

// Images (N, rows, cols) and labels (N) as an in-memory grayscale dataset; checks that the counts agree and
// that every label indexes `classes`. Sample paths read "IMAGES_PATH#n".
Dataset load_idx_dataset(const std::string& images_path, const std::string& labels_path,
                         const std::vector<std::string>& classes);

// Fashion-MNIST (Debian's dataset-fashion-mnist installs it here): split "train" (60,000) or "test" (10,000).
constexpr const char* kFashionMnistDir = "/usr/share/datasets/fashion-mnist";
std::vector<std::string> fashion_mnist_classes();  // label order of the data set (and of the fmnist preset)
Dataset load_fashion_mnist(const std::string& dir, const std::string& split);

// Decompresses a gzip (or zlib) buffer, at most max_bytes of output; errors name `name`. Needs a build with zlib
// (VIGIL_WITH_ZLIB); without it every call is an error saying so.
std::vector<uint8_t> gunzip(const uint8_t* data, size_t size, const std::string& name, uint64_t max_bytes);

}  // namespace vigil::data
