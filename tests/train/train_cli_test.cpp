// `vigil train` end to end on a generated three-class ImageFolder: outputs of a short run, exact resume after a
// finished run and after SIGTERM mid-epoch, the NaN guard, and corrupt files skipped and counted.
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "nn/model.h"
#include "support/bmp_writer.h"
#include "train/metrics_log.h"

namespace vigil::test {
namespace {

namespace fs = std::filesystem;


const char* kModel = R"({"format": "vigil-model/1", "name": "tiny-rgb", "input": {"channels": 3, "height": 16, "width": 16},
  "preprocess": {"mean": [0.5, 0.5, 0.5], "std": [0.25, 0.25, 0.25]},
  "classes": ["nudity", "violence", "standard"],
  "layers": [
    {"type": "conv2d", "out_channels": 8, "kernel": 3, "padding": 1}, {"type": "batchnorm2d"}, {"type": "relu"},
    {"type": "maxpool2d", "kernel": 2},
    {"type": "conv2d", "out_channels": 8, "kernel": 3, "padding": 1}, {"type": "relu"},
    {"type": "global_avg_pool"}, {"type": "dropout", "p": 0.2}, {"type": "linear", "out_features": 3}]})";

class TrainCli : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("vigil_train_cli_" + std::to_string(::getpid()) + "_" +
                                         ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::create_directories(root_);
    std::ofstream(root_ / "model.json") << kModel;
    // Class = dominant colour (red / green / blue) with noise; 24 images per class.
    const char* classes[] = {"nudity", "violence", "standard"};
    for (int c = 0; c < 3; ++c) {
      fs::create_directories(root_ / "data" / classes[c]);
      for (int i = 0; i < 24; ++i)
        write_bmp((root_ / "data" / classes[c] / ("img" + std::to_string(i) + ".bmp")).string(), 16, 16,
                  [&](int x, int y) {
                    const uint8_t noise = static_cast<uint8_t>((x * 37 + y * 11 + i * 53) % 90);
                    uint8_t v[3] = {noise, noise, noise};
                    v[c] = static_cast<uint8_t>(150 + noise);
                    return std::tuple<uint8_t, uint8_t, uint8_t>{v[0], v[1], v[2]};
                  });
    }
  }
  void TearDown() override { fs::remove_all(root_); }

  // Runs `vigil train ARGS` (output to root_/log.txt); returns the exit status.
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
  std::string common(const std::string& out) const {
    return "--data " + (root_ / "data").string() + " --model " + (root_ / "model.json").string() + " --out " +
           (root_ / out).string() + " --batch 8 --optimizer adam --lr 0.01 --seed 3 --crop-scale 0.5,1";
  }
  std::vector<double> train_losses(const std::string& run) const {
    std::vector<double> out;
    for (const auto& r : train::MetricsLog::read((root_ / run).string())) out.push_back(r.train_loss);
    return out;
  }
  fs::path root_;
};

TEST_F(TrainCli, ShortRunWritesEverything) {
  ASSERT_EQ(0, train(common("run") + " --epochs 2")) << log();
  const fs::path run = root_ / "run";
  for (const char* f : {"config.json", "manifest.csv", "metrics.jsonl", "metrics.csv", "report.html",
                        "model.safetensors", "checkpoints/last.safetensors", "checkpoints/best.safetensors"})
    EXPECT_TRUE(fs::exists(run / f)) << f << "\n" << log();
  EXPECT_EQ(train_losses("run").size(), 2u);
  Model m = Model::load((run / "model.safetensors").string());
  EXPECT_EQ(m.spec().classes, (std::vector<std::string>{"nudity", "violence", "standard"}));
  EXPECT_NE(log().find("test (best model"), std::string::npos) << log();
}

TEST_F(TrainCli, ResumeContinuesExactly) {
  ASSERT_EQ(0, train(common("straight") + " --epochs 3")) << log();
  ASSERT_EQ(0, train(common("resumed") + " --epochs 1")) << log();
  ASSERT_EQ(0, train("--resume " + (root_ / "resumed").string() + " --epochs 3")) << log();
  const auto a = train_losses("straight"), b = train_losses("resumed");
  ASSERT_EQ(a.size(), 3u);
  ASSERT_EQ(b.size(), 3u);
  for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i], b[i]) << "epoch " << i + 1;
}

TEST_F(TrainCli, SigtermMidEpochThenResumeIsExact) {
  ASSERT_EQ(0, train(common("straight") + " --epochs 2")) << log();
  // 72 images, batch 8 -> 7 training steps per epoch (the split keeps ~58); stop in the middle of epoch 1.
  EXPECT_EQ(5, train(common("stopped") + " --epochs 2", "VIGIL_STOP_AFTER_STEPS=3")) << log();
  EXPECT_NE(log().find("checkpoint saved"), std::string::npos) << log();
  ASSERT_EQ(0, train("--resume " + (root_ / "stopped").string())) << log();
  const auto a = train_losses("straight"), b = train_losses("stopped");
  ASSERT_EQ(a.size(), 2u);
  ASSERT_EQ(b.size(), 2u);
  for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i], b[i]) << "epoch " << i + 1;
}

TEST_F(TrainCli, DivergenceStopsWithAClearMessage) {
  EXPECT_EQ(4, train(common("nan") + " --epochs 2 --optimizer sgd --lr 1e12")) << log();
  EXPECT_NE(log().find("became"), std::string::npos) << log();
}

TEST_F(TrainCli, CorruptFilesAreSkippedAndCounted) {
  std::ofstream(root_ / "data" / "violence" / "truncated.bmp") << "BM\x10\x00";
  std::ofstream(root_ / "data" / "standard" / "notes.jpg") << "this is text, not an image";
  ASSERT_EQ(0, train(common("run") + " --epochs 1 --val-fraction 0 --test-fraction 0")) << log();
  const std::string out = log();
  EXPECT_NE(out.find("truncated.bmp"), std::string::npos) << out;
  EXPECT_NE(out.find("notes.jpg"), std::string::npos) << out;
}

TEST_F(TrainCli, BadOptionsNameTheProblem) {
  EXPECT_NE(0, train(common("bad") + " --epochs 0"));
  EXPECT_NE(log().find("--epochs must be positive"), std::string::npos) << log();
  EXPECT_NE(0, train(common("bad") + " --optimiser adam"));
  EXPECT_NE(log().find("unknown option --optimiser"), std::string::npos) << log();
  EXPECT_NE(0, train("--data /nonexistent --out " + (root_ / "x").string()));
  EXPECT_NE(log().find("no such file"), std::string::npos) << log();
}

}  // namespace
}  // namespace vigil::test
