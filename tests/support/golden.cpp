// Loader for the PyTorch golden fixture files.
#include "support/golden.h"

#include <fstream>

#include "common/error.h"

namespace vigil::test {

const GoldenTensor& GoldenCase::at(const std::string& tensor) const {
  auto it = tensors.find(tensor);
  VIGIL_CHECK(it != tensors.end(), "golden case '", name, "' has no tensor '", tensor, "'");
  return it->second;
}

std::vector<GoldenCase> load_golden(const std::string& op) {
  const std::string path = std::string(VIGIL_FIXTURE_DIR) + "/golden/" + op + ".json";
  std::ifstream in(path);
  VIGIL_CHECK(in.good(), "cannot open golden fixture ", path, " (regenerate with scripts/golden/generate.sh)");
  nlohmann::json j;
  try {
    in >> j;
  } catch (const std::exception& e) {
    VIGIL_FAIL("malformed golden fixture ", path, ": ", e.what());
  }
  std::vector<GoldenCase> cases;
  for (const auto& c : j.at("cases")) {
    GoldenCase gc;
    gc.name = c.at("name").get<std::string>();
    gc.params = c.value("params", nlohmann::json::object());
    for (const auto& [k, v] : c.at("tensors").items()) {
      GoldenTensor t;
      t.shape = v.at("shape").get<std::vector<int64_t>>();
      t.data = v.at("data").get<std::vector<float>>();
      int64_t n = 1;
      for (auto d : t.shape) n *= d;
      VIGIL_CHECK(static_cast<int64_t>(t.data.size()) == n, path, ": tensor ", k, " of case ", gc.name,
                  " has ", t.data.size(), " values for shape of ", n);
      gc.tensors.emplace(k, std::move(t));
    }
    cases.push_back(std::move(gc));
  }
  VIGIL_CHECK(!cases.empty(), path, " holds no cases");
  return cases;
}

}  // namespace vigil::test
