// Shared helpers of the infer tests: a scratch folder per test, tiny model files, BMP writing, running the real
// `vigil` binary and reading JSONL records.
#pragma once
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include <nlohmann/json.hpp>

#include "nn/model.h"
#include "support/bmp_writer.h"

namespace vigil::test {

namespace fs = std::filesystem;

// A 16x16 RGB model with the three moderation classes; `head` is "softmax" or "sigmoid".
inline std::string tiny_definition(const std::string& head = "softmax") {
  return R"({"format": "vigil-model/1", "name": "tiny-)" + head + R"(", "head": ")" + head + R"(",
  "input": {"channels": 3, "height": 16, "width": 16},
  "preprocess": {"mean": [0.5, 0.5, 0.5], "std": [0.25, 0.25, 0.25]},
  "classes": ["nudity", "violence", "standard"],
  "layers": [
    {"type": "conv2d", "out_channels": 4, "kernel": 3, "padding": 1}, {"type": "batchnorm2d"}, {"type": "relu"},
    {"type": "maxpool2d", "kernel": 2},
    {"type": "global_avg_pool"}, {"type": "linear", "out_features": 3}]})";
}

// Builds the tiny model from a seed and saves it (with optional temperature and thresholds).
inline void save_tiny_model(const std::string& path, const std::string& head = "softmax", uint64_t seed = 7,
                            float temperature = 1.f, const std::map<std::string, float>& thresholds = {}) {
  Model m(parse_model_spec(tiny_definition(head), "tiny.json"), seed);
  m.temperature = temperature;
  m.thresholds = thresholds;
  m.save(path);
}


// A colour gradient BMP, different for every `seed`.
inline void write_gradient_bmp(const std::string& path, int seed, int w = 20, int h = 12) {
  write_bmp(path, w, h, [&](int x, int y) {
    return std::tuple<uint8_t, uint8_t, uint8_t>{static_cast<uint8_t>(x * 12 + seed * 40),
                                                 static_cast<uint8_t>(y * 20 + seed * 7),
                                                 static_cast<uint8_t>((x * y + seed * 90) % 256)};
  });
}

inline std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Every line of a JSONL file, parsed with its key order kept (a line that does not parse fails the test).
inline std::vector<nlohmann::ordered_json> read_jsonl(const fs::path& p) {
  std::vector<nlohmann::ordered_json> out;
  std::istringstream in(read_text(p));
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) continue;
    auto j = nlohmann::ordered_json::parse(line, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << "not JSON: " << line;
    out.push_back(j);
  }
  return out;
}

// A fresh scratch folder named after the running test, removed afterwards.
class ScratchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("vigil_infer_" + std::to_string(::getpid()) + "_" +
                                         ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::create_directories(root_);
  }
  void TearDown() override { fs::remove_all(root_); }

  // Runs `vigil ARGS` with standard output to root_/stdout.txt and standard error to root_/stderr.txt.
  int vigil(const std::string& args) {
    const std::string cmd = std::string(VIGIL_BIN) + " " + args + " > " + (root_ / "stdout.txt").string() + " 2> " +
                            (root_ / "stderr.txt").string();
    const int rc = std::system(cmd.c_str());
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  }
  std::string out() const { return read_text(root_ / "stdout.txt"); }
  std::string err() const { return read_text(root_ / "stderr.txt"); }
  std::string path(const std::string& rel) const { return (root_ / rel).string(); }

  fs::path root_;
};

}  // namespace vigil::test
