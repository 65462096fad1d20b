// PyTorch golden fixtures: tests/fixtures/golden/<op>.json, written by scripts/golden/<op>.py with Debian's
// python3-torch. Each file holds cases: {name, params: {...}, tensors: {name: {shape, data}}}.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace vigil::test {

struct GoldenTensor {
  std::vector<int64_t> shape;
  std::vector<float> data;
};

struct GoldenCase {
  std::string name;
  nlohmann::json params;
  std::map<std::string, GoldenTensor> tensors;
  const GoldenTensor& at(const std::string& tensor) const;  // throws with case and tensor name
};

// Loads VIGIL_FIXTURE_DIR/golden/<op>.json; throws vigil::Error naming the file when missing or malformed.
std::vector<GoldenCase> load_golden(const std::string& op);

}  // namespace vigil::test
