// `vigil train` end to end on a generated three-class ImageFolder: outputs of a short run, exact resume after a
// finished run and after SIGTERM mid-epoch, the NaN guard, and corrupt files skipped and counted.
#include <gtest/gtest.h>

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/rng.h"
#include "nn/model.h"
#include "nn/safetensors.h"
#include "train_test_support.h"
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

class TrainCli : public TrainRunTest {
 protected:
  void SetUp() override {
    TrainRunTest::SetUp();
    std::ofstream(root_ / "model.json") << kModel;
    write_colour_classes(root_ / "data", 24, 16);  // 72 images
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

// Starts `vigil train ARGS` in the background (output appended to `log`); returns its pid.
pid_t start_vigil_train(const std::string& args, const std::string& log) {
  const std::string cmd = std::string("exec ") + VIGIL_BIN + " train " + args + " >> " + log + " 2>&1";
  pid_t pid = 0;
  const char* argv[] = {"/bin/sh", "-c", cmd.c_str(), nullptr};
  if (posix_spawn(&pid, "/bin/sh", nullptr, nullptr, const_cast<char* const*>(argv), environ) != 0) return -1;
  return pid;
}

// Optimizer steps saved in a run's last checkpoint (-1: none yet).
int64_t checkpoint_step(const fs::path& run) {
  const fs::path last = run / "checkpoints" / "last.safetensors";
  if (!fs::exists(last)) return -1;
  const SafetensorsContent c = load_safetensors(last.string());
  return nlohmann::json::parse(c.metadata.at("train.state")).at("step").get<int64_t>();
}

// kill -9 at 20 moments, resuming after each: each kill comes a Philox-drawn 0..80 ms after the run's next
// checkpoint (or, on a fresh start, after its run directory appears), so it lands at a random point of the work
// whatever the machine's speed. Every resume must succeed, no checkpoint may go back in time, and the finished
// model must equal an uninterrupted run's bit for bit. --checkpoint-every 2 bounds what a kill loses to 2 steps.
TEST_F(TrainCli, KilledTwentyTimesThenResumedEqualsAnUninterruptedRun) {
  const std::string opts = " --epochs 150 --checkpoint-every 2 --progress false --workers 2 --threads 1";
  ASSERT_EQ(0, train(common("straight") + " --epochs 150 --checkpoint-every 2")) << log();
  const fs::path run = root_ / "killed";
  const std::string log_path = (root_ / "killed.log").string();
  int kills = 0, launches = 0;
  int64_t last_step = -1;
  bool finished = false;
  for (int k = 0; k < 40 && kills < 20 && !finished; ++k) {
    const bool fresh = !fs::exists(run / "config.json");
    const int64_t before = checkpoint_step(run);
    const pid_t pid = start_vigil_train(fresh ? common("killed") + opts : "--resume " + run.string() + opts, log_path);
    ASSERT_GT(pid, 0);
    ++launches;
    int status = 0;
    pid_t done = 0;
    auto progressed = [&] { return fresh ? fs::exists(run / "config.json") : checkpoint_step(run) > before; };
    for (int waited = 0; waited < 60000 && done == 0 && !progressed(); waited += 2) {
      usleep(2000);
      done = waitpid(pid, &status, WNOHANG);
    }
    for (int extra = static_cast<int>(philox4x32(777, 1, k).v[0] % 80); extra > 0 && done == 0; extra -= 2) {
      usleep(2000);
      done = waitpid(pid, &status, WNOHANG);
    }
    if (done == pid) {  // it ran to the end (or failed) before the kill
      ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "launch " << launches << ": " << log();
      finished = true;
      break;
    }
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    ++kills;
    const int64_t step = checkpoint_step(run);
    EXPECT_GE(step, last_step) << "a checkpoint went back in time after kill " << kills;
    last_step = step;
  }
  if (!finished) {
    const bool fresh = !fs::exists(run / "config.json");
    ASSERT_EQ(0, train(fresh ? common("killed") + opts : "--resume " + run.string() + opts)) << log();
  }
  std::printf("[ kill -9 ] %d kills over %d launches, last checkpoint at step %lld before the final resume\n", kills,
              launches, static_cast<long long>(last_step));
  EXPECT_EQ(kills, 20) << "the run finished before it was killed 20 times";
  EXPECT_EQ(train_losses("straight"), train_losses("killed"));
  const SafetensorsContent a = load_safetensors((root_ / "straight" / "model.safetensors").string());
  const SafetensorsContent b = load_safetensors((run / "model.safetensors").string());
  ASSERT_EQ(a.tensors.size(), b.tensors.size());
  for (const auto& t : a.tensors) {
    const Tensor* other = b.find(t.name);
    ASSERT_NE(other, nullptr) << t.name;
    EXPECT_EQ(other->to(DType::F32).to_vector(), t.tensor.to(DType::F32).to_vector()) << t.name;
  }
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
