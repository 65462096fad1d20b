// SHA-256 (FIPS 180-4) of byte buffers and files, written for vigil: content hashes for duplicate detection.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

namespace vigil::data {

using Sha256Digest = std::array<uint8_t, 32>;

// Incremental hasher: update() any number of times, then finish() once.
class Sha256 {
 public:
  Sha256();
  void update(const void* data, size_t size);
  Sha256Digest finish();

 private:
  void compress_block(const uint8_t* block);
  std::array<uint32_t, 8> state_;
  std::array<uint8_t, 64> buffer_{};
  size_t buffered_ = 0;
  uint64_t total_bytes_ = 0;
  bool finished_ = false;
};

std::string digest_hex(const Sha256Digest& digest);  // 64 lowercase hex digits
std::string sha256_hex(const void* data, size_t size);
std::string sha256_hex(const std::string& bytes);
// Hashes a file's content; throws vigil::Error naming the file and the reason when it cannot be read.
std::string sha256_file_hex(const std::string& path);

}  // namespace vigil::data
