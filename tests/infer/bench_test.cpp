// Tests of `vigil bench`: percentiles, stats, the timing loop, batch lists and CPU names as pure functions, and the
// real binary on a tiny definition (model only, end to end on generated images, PyTorch comparison, bad options).
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

#include "common/error.h"
#include "infer/bench_run.h"
#include "infer_test_support.h"

namespace vigil::test {
namespace {

TEST(BenchRun, PercentilesInterpolateBetweenOrderStatistics) {
  const std::vector<double> v = {1, 2, 3, 4};
  EXPECT_DOUBLE_EQ(2.5, infer::percentile(v, 0.5));
  EXPECT_DOUBLE_EQ(1.0, infer::percentile(v, 0.0));
  EXPECT_DOUBLE_EQ(4.0, infer::percentile(v, 1.0));
  EXPECT_NEAR(3.97, infer::percentile(v, 0.99), 1e-12);
  EXPECT_DOUBLE_EQ(7.0, infer::percentile({7}, 0.99));
  EXPECT_THROW(infer::percentile({}, 0.5), Error);
  EXPECT_THROW(infer::percentile(v, 1.5), Error);
}

TEST(BenchRun, StatsCountImagesOverTheTimedTime) {
  const infer::LatencyStats s = infer::latency_stats(8, {30, 10, 20, 40});
  EXPECT_EQ(4, s.iterations);
  EXPECT_EQ(32, s.images);
  EXPECT_DOUBLE_EQ(0.1, s.total_s);
  EXPECT_DOUBLE_EQ(25.0, s.mean_ms);
  EXPECT_DOUBLE_EQ(25.0, s.p50_ms);
  EXPECT_NEAR(39.7, s.p99_ms, 1e-9);
  EXPECT_DOUBLE_EQ(10.0, s.min_ms);
  EXPECT_DOUBLE_EQ(40.0, s.max_ms);
  EXPECT_DOUBLE_EQ(320.0, s.images_per_s);
  EXPECT_DOUBLE_EQ(250.0, infer::latency_stats(8, {30, 10, 20, 40}, 25).images_per_s);
  EXPECT_THROW(infer::latency_stats(1, {}), Error);
}

TEST(BenchRun, WarmUpIsRunButNotRecorded) {
  int calls = 0;
  infer::TimingBudget b;
  b.seconds = 0.02;
  b.warmup_seconds = 0;
  b.warmup_iterations = 2;
  b.min_iterations = 5;
  const auto ms = infer::time_iterations([&] { ++calls; }, b);
  EXPECT_GE(ms.size(), 5u);
  EXPECT_EQ(static_cast<int>(ms.size()) + 2, calls);
  for (double m : ms) EXPECT_GE(m, 0.0);
}

TEST(BenchRun, BatchListsAreCheckedPositiveAndDistinct) {
  EXPECT_EQ((std::vector<int>{1, 64}), infer::parse_batch_sizes("1,64"));
  EXPECT_EQ((std::vector<int>{8}), infer::parse_batch_sizes(" 8 "));
  for (const char* bad : {"", "0", "-1", "a", "1,,2", "1,1", "99999999", "2.5"})
    EXPECT_THROW(infer::parse_batch_sizes(bad), Error) << bad;
}

TEST(BenchRun, CpuModelComesFromCpuinfo) {
  EXPECT_EQ("Intel(R) Xeon(R) CPU @ 2.20GHz",
            infer::cpu_model_from_cpuinfo("processor\t: 0\nvendor_id\t: GenuineIntel\nmodel\t\t: 85\n"
                                          "model name\t: Intel(R) Xeon(R) CPU @ 2.20GHz\n\nprocessor\t: 1\n"
                                          "model name\t: Intel(R) Xeon(R) CPU @ 2.20GHz\n"));
  EXPECT_EQ("CPU implementer 0x41 part 0xd0c",
            infer::cpu_model_from_cpuinfo("processor\t: 0\nBogoMIPS\t: 50.00\nCPU implementer\t: 0x41\n"
                                          "CPU part\t: 0xd0c\n"));
  EXPECT_EQ("Raspberry Pi 4 Model B Rev 1.4", infer::cpu_model_from_cpuinfo("Model\t\t: Raspberry Pi 4 Model B Rev 1.4\n"));
  EXPECT_EQ("unknown", infer::cpu_model_from_cpuinfo(""));
  EXPECT_FALSE(infer::cpu_model_name().empty());
}

class BenchCli : public ScratchTest {
 protected:
  void SetUp() override {
    ScratchTest::SetUp();
    std::ofstream(path("tiny.json")) << tiny_definition();
  }
  std::string bench(const std::string& args) {
    return "bench --model " + path("tiny.json") + " --device cpu --threads 1 --seconds 0.15 " + args;
  }
  // Checks one row of timings: the batch asked for, positive throughput, ordered percentiles.
  static void expect_sane(const nlohmann::json& row, int batch) {
    EXPECT_EQ(batch, row["batch"].get<int>());
    EXPECT_GE(row["iterations"].get<int>(), 3);
    EXPECT_GT(row["images_per_s"].get<double>(), 0.0);
    EXPECT_GT(row["p50_ms"].get<double>(), 0.0);
    EXPECT_LE(row["min_ms"].get<double>(), row["p50_ms"].get<double>());
    EXPECT_LE(row["p50_ms"].get<double>(), row["p99_ms"].get<double>());
    EXPECT_LE(row["p99_ms"].get<double>(), row["max_ms"].get<double>());
    EXPECT_NEAR(row["images"].get<double>() / (row["mean_ms"].get<double>() * row["iterations"].get<double>() / 1e3),
                row["images_per_s"].get<double>(), 1e-6 * row["images_per_s"].get<double>());
  }
};

TEST_F(BenchCli, ModelOnlyReportsEveryBatchSize) {
  ASSERT_EQ(0, vigil(bench("--batch 1,5 --json " + path("b.json")))) << err();
  EXPECT_NE(std::string::npos, out().find("model only")) << out();
  EXPECT_NE(std::string::npos, out().find("CPU ")) << out();
  const auto j = nlohmann::json::parse(read_text(path("b.json")));
  ASSERT_EQ(2u, j["model_only"].size());
  expect_sane(j["model_only"][0], 1);
  expect_sane(j["model_only"][1], 5);
  EXPECT_EQ("cpu", j["device"]);
  EXPECT_EQ(1, j["hardware"]["threads"].get<int>());
  EXPECT_FALSE(j["hardware"]["cpu"].get<std::string>().empty());
  EXPECT_TRUE(j["hardware"]["gpu"].is_null());
  EXPECT_EQ("definition, random weights", j["source"]);
  EXPECT_EQ((nlohmann::json{3, 16, 16}), j["input"]);
  EXPECT_GT(j["parameters"].get<int64_t>(), 0);
  EXPECT_TRUE(j["end_to_end"].is_null());
  EXPECT_TRUE(j["torch"].is_null());
}

TEST_F(BenchCli, EndToEndDecodesTheImagesAndSkipsBrokenOnes) {
  fs::create_directories(path("imgs/sub"));
  for (int i = 0; i < 4; ++i) write_gradient_bmp(path("imgs/sub/g" + std::to_string(i) + ".bmp"), i);
  std::ofstream(path("imgs/broken.jpg")) << "no image here";
  save_tiny_model(path("m.safetensors"));
  ASSERT_EQ(0, vigil("bench --model " + path("m.safetensors") + " --device cpu --seconds 0.15 --batch 3 --workers 2 "
                     "--images " + path("imgs") + " --json " + path("e.json")))
      << err();
  EXPECT_NE(std::string::npos, out().find("end to end")) << out();
  const auto j = nlohmann::json::parse(read_text(path("e.json")));
  EXPECT_EQ("model file", j["source"]);
  expect_sane(j["model_only"][0], 3);
  const auto& e = j["end_to_end"];
  EXPECT_EQ(5, e["files"].get<int>());
  EXPECT_EQ(1, e["unreadable"].get<int>());
  EXPECT_EQ(2, e["workers"].get<int>());
  ASSERT_EQ(1u, e["results"].size());
  expect_sane(e["results"][0], 3);
  // Cycling 3 of 5 files per batch, one of them broken: fewer images than batch slots were scored.
  EXPECT_LT(e["results"][0]["images"].get<int64_t>(), 3 * e["results"][0]["iterations"].get<int64_t>());
  EXPECT_GT(e["results"][0]["decode_share"].get<double>(), 0.0);
  EXPECT_LE(e["results"][0]["decode_share"].get<double>(), 1.0);
}

TEST_F(BenchCli, TorchComparisonRunsOrSaysWhyNot) {
  ::setenv("VIGIL_TORCH_PYTHON", path("no-python").c_str(), 1);
  const int rc = vigil(bench("--batch 2 --torch --json " + path("skip.json")));
  ::unsetenv("VIGIL_TORCH_PYTHON");
  ASSERT_EQ(0, rc) << err();
  EXPECT_NE(std::string::npos, out().find("PyTorch: skipped")) << out();
  EXPECT_TRUE(nlohmann::json::parse(read_text(path("skip.json")))["torch"].contains("skipped"));

  ::setenv("VIGIL_TORCH_BENCH", path("absent.py").c_str(), 1);
  const int rc2 = vigil(bench("--batch 2 --torch"));
  ::unsetenv("VIGIL_TORCH_BENCH");
  ASSERT_EQ(0, rc2) << err();
  EXPECT_NE(std::string::npos, out().find("absent.py is absent")) << out();

  if (std::system("/usr/bin/python3 -c 'import torch' > /dev/null 2>&1") != 0)
    GTEST_SKIP() << "no PyTorch for /usr/bin/python3: the real comparison is not run";
  ASSERT_EQ(0, vigil(bench("--batch 1,4 --torch --json " + path("t.json")))) << err();
  const auto t = nlohmann::json::parse(read_text(path("t.json")))["torch"];
  ASSERT_FALSE(t.contains("skipped")) << t.dump();
  ASSERT_EQ(2u, t["results"].size());
  ASSERT_EQ(2u, t["ratio"].size());
  EXPECT_EQ(4, t["ratio"][1]["batch"].get<int>());
  EXPECT_GT(t["ratio"][1]["ratio"].get<double>(), 0.0);
  EXPECT_GT(t["results"][0]["images_per_s"].get<double>(), 0.0);
  EXPECT_NE(std::string::npos, out().find("ratio")) << out();
}

TEST_F(BenchCli, BadOptionsAreErrors) {
  auto fails_with = [&](const std::string& args, const std::string& text) {
    EXPECT_NE(0, vigil(args)) << args;
    EXPECT_NE(std::string::npos, err().find(text)) << args << "\n" << err();
  };
  fails_with(bench("--batch 0"), "--batch 0");
  fails_with(bench("--batch 4,x"), "'x'");
  fails_with(bench("--seconds 0"), "--seconds 0");
  fails_with(bench("--seconds -1"), "--seconds -1");
  fails_with(bench("--images " + path("missing")), "no such file or directory");
  fails_with(bench("--device tpu"), "tpu");
  fails_with(bench("--frobnicate 2"), "unknown option --frobnicate");
  fails_with(bench("--json " + path("no/dir/b.json")), "does not exist");
  fails_with("bench --seconds 1", "--model is required");
  fails_with("bench --model nosuchpreset --seconds 0.1", "nosuchpreset");
  fs::create_directories(path("bad"));
  std::ofstream(path("bad/x.png")) << "garbage";
  fails_with(bench("--images " + path("bad")), "could be decoded");
  EXPECT_EQ(0, vigil("bench --help"));
  EXPECT_NE(std::string::npos, out().find("--torch")) << out();
}

}  // namespace
}  // namespace vigil::test
