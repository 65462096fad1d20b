// Shared pieces of the `vigil train` end-to-end tests: a scratch folder per test, a generated three-class image
// folder (class = dominant colour, with noise), and running the real binary with its output captured.
#pragma once
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <tuple>

#include "support/bmp_writer.h"

namespace vigil::test {

// DIR/{nudity,violence,standard}/imgN.bmp: `per_class` size x size images whose dominant colour is the class's
// (red, green, blue) over noise, so a tiny network can learn them in a few steps.
inline void write_colour_classes(const std::filesystem::path& dir, int per_class, int size) {
  const char* classes[] = {"nudity", "violence", "standard"};
  for (int c = 0; c < 3; ++c) {
    std::filesystem::create_directories(dir / classes[c]);
    for (int i = 0; i < per_class; ++i)
      write_bmp((dir / classes[c] / ("img" + std::to_string(i) + ".bmp")).string(), size, size, [&](int x, int y) {
        const uint8_t noise = static_cast<uint8_t>((x * 37 + y * 11 + i * 53) % 90);
        uint8_t v[3] = {noise, noise, noise};
        v[c] = static_cast<uint8_t>(150 + noise);
        return std::tuple<uint8_t, uint8_t, uint8_t>{v[0], v[1], v[2]};
      });
  }
}

// A test with its own scratch folder root_ that runs `vigil train`.
class TrainRunTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = std::filesystem::temp_directory_path() /
            ("vigil_train_" + std::to_string(::getpid()) + "_" +
             ::testing::UnitTest::GetInstance()->current_test_info()->test_suite_name() + "_" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(root_);
    std::filesystem::create_directories(root_);
  }
  void TearDown() override { std::filesystem::remove_all(root_); }

  // Runs `vigil train ARGS` (output to root_/log.txt) with ENV assignments in front; returns the exit status.
  int train(const std::string& args, const std::string& env = "") {
    const std::string cmd = env + " " + VIGIL_BIN + " train " + args + " --progress false --workers 2 --threads 1 > " +
                            (root_ / "log.txt").string() + " 2>&1";
    const int rc = std::system(cmd.c_str());
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  }
  std::string log() const {
    std::ifstream in(root_ / "log.txt");
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

  std::filesystem::path root_;
};

}  // namespace vigil::test
