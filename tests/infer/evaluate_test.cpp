// Tests of `vigil evaluate`: the metrics on hand-computed tiny inputs, and the real binary on generated labelled
// folders, a corrupt file and a run manifest.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <set>

#include "infer/eval_metrics.h"
#include "infer_test_support.h"

namespace vigil::test {
namespace {

using infer::ScoredSet;

TEST(EvalMetrics, RocAucCountsTiesAsOneHalf) {
  // Positives 0.9 and 0.8, negatives 0.8 and 0.3: pairs won 1 + 1 + 0.5 + 1 of 4.
  EXPECT_DOUBLE_EQ(0.875, infer::roc_auc({0.9, 0.8, 0.8, 0.3}, {true, false, true, false}));
  EXPECT_DOUBLE_EQ(1.0, infer::roc_auc({0.9, 0.1}, {true, false}));
  EXPECT_DOUBLE_EQ(0.5, infer::roc_auc({0.4, 0.4, 0.4}, {true, false, false}));
  EXPECT_TRUE(std::isnan(infer::roc_auc({0.9, 0.1}, {true, true})));
}

TEST(EvalMetrics, AveragePrecisionIsSklearnsStepSum) {
  // Thresholds 0.9: R 1/2, P 1; 0.8 (a tie of one positive, one negative): R 1, P 2/3 -> 1/2 + 1/2 * 2/3.
  EXPECT_NEAR(0.5 + 1.0 / 3.0, infer::average_precision({0.9, 0.8, 0.8, 0.3}, {true, false, true, false}), 1e-12);
  // sklearn: average_precision_score([0, 1, 0, 1], [0.9, 0.8, 0.3, 0.1]) = 0.5 * 0.5 + 0.5 * 0.5 = 0.5
  EXPECT_NEAR(0.5, infer::average_precision({0.9, 0.8, 0.3, 0.1}, {false, true, false, true}), 1e-12);
  EXPECT_TRUE(std::isnan(infer::average_precision({0.5}, {false})));
}

TEST(EvalMetrics, CalibrationErrorUsesFifteenEqualBins) {
  const auto cal = infer::expected_calibration_error({0.95, 0.95, 0.55, 0.5}, {true, false, true, false});
  ASSERT_EQ(15u, cal.bins.size());
  EXPECT_EQ(2, cal.bins[14].count);
  EXPECT_DOUBLE_EQ(0.5, cal.bins[14].accuracy);
  EXPECT_NEAR(0.95, cal.bins[14].mean_confidence, 1e-12);
  EXPECT_EQ(1, cal.bins[8].count);
  EXPECT_EQ(1, cal.bins[7].count);
  EXPECT_NEAR(7.0 / 15.0, cal.bins[7].lo, 1e-12);
  // 2/4 * 0.45 + 1/4 * 0.45 + 1/4 * 0.5
  EXPECT_NEAR(0.4625, cal.ece, 1e-12);
  EXPECT_EQ(1, infer::expected_calibration_error({1.0}, {true}).bins[14].count);
  EXPECT_DOUBLE_EQ(0.0, infer::expected_calibration_error({}, {}).ece);
}

TEST(EvalMetrics, BootstrapIsDeterministicForASeed) {
  std::vector<bool> correct(100, false);
  for (size_t i = 0; i < 70; ++i) correct[i * 10 % 100 + i / 10] = true;
  const auto a = infer::bootstrap_accuracy_interval(correct, 500, 42);
  const auto b = infer::bootstrap_accuracy_interval(correct, 500, 42);
  const auto c = infer::bootstrap_accuracy_interval(correct, 500, 43);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  EXPECT_LT(a.first, 0.7);
  EXPECT_GT(a.second, 0.7);
  EXPECT_GT(a.first, 0.55);  // about 0.7 -/+ 1.96 * 0.046
  EXPECT_LT(a.second, 0.85);
  EXPECT_EQ((std::pair<double, double>{1.0, 1.0}), infer::bootstrap_accuracy_interval({true, true, true}, 50, 1));
}

ScoredSet five_images() {
  ScoredSet s;
  s.num_classes = 3;
  s.probabilities = {0.9f, 0.05f, 0.05f, 0.6f, 0.3f, 0.1f, 0.4f, 0.35f, 0.25f, 0.2f, 0.7f, 0.1f, 0.1f, 0.1f, 0.8f};
  s.labels = {0, 1, 0, 1, 0};
  return s;
}

TEST(EvalMetrics, ThresholdSweepFollowsTheClassifyRule) {
  const ScoredSet s = five_images();
  const auto rows = infer::threshold_sweep(s, 0);
  ASSERT_EQ(19u, rows.size());
  EXPECT_DOUBLE_EQ(0.05, rows[0].threshold);
  EXPECT_DOUBLE_EQ(0.95, rows[18].threshold);
  // t = 0.05: images 0, 1, 2 (top class 0) accepted; 0 and 2 are labelled 0 of the three labelled 0 (0, 2, 4).
  EXPECT_NEAR(2.0 / 3.0, rows[0].precision, 1e-12);
  EXPECT_NEAR(2.0 / 3.0, rows[0].recall, 1e-12);
  EXPECT_DOUBLE_EQ(0.0, rows[0].review_share);
  // t = 0.5: image 2 (p 0.4) goes to review.
  EXPECT_DOUBLE_EQ(0.5, rows[9].threshold);
  EXPECT_DOUBLE_EQ(0.5, rows[9].precision);
  EXPECT_NEAR(1.0 / 3.0, rows[9].recall, 1e-12);
  EXPECT_DOUBLE_EQ(0.2, rows[9].review_share);
  // t = 0.95: nothing accepted: precision undefined, all three to review.
  EXPECT_TRUE(std::isnan(rows[18].precision));
  EXPECT_DOUBLE_EQ(0.0, rows[18].recall);
  EXPECT_DOUBLE_EQ(0.6, rows[18].review_share);
}

TEST(EvalMetrics, TargetPrecisionPicksTheLowestThresholdReachingIt) {
  const ScoredSet s = five_images();
  const auto p95 = infer::threshold_for_precision(s, 0, 0.95);
  ASSERT_TRUE(p95.has_value());
  EXPECT_FLOAT_EQ(0.9f, static_cast<float>(p95->threshold));
  EXPECT_DOUBLE_EQ(1.0, p95->precision);
  EXPECT_NEAR(1.0 / 3.0, p95->recall, 1e-12);
  EXPECT_DOUBLE_EQ(0.4, p95->review_share);
  const auto p60 = infer::threshold_for_precision(s, 0, 0.6);
  ASSERT_TRUE(p60.has_value());
  EXPECT_FLOAT_EQ(0.4f, static_cast<float>(p60->threshold));
  EXPECT_DOUBLE_EQ(0.0, p60->review_share);
  EXPECT_FALSE(infer::threshold_for_precision(s, 2, 0.95).has_value());  // its only image is labelled 0
}

class EvaluateCli : public ScratchTest {
 protected:
  void SetUp() override {
    ScratchTest::SetUp();
    save_tiny_model(path("m.safetensors"));
  }
  // Four gradient images per class under `dir`.
  void make_class_folders(const std::string& dir, int seed0) {
    int seed = seed0;
    for (const char* c : {"nudity", "violence", "standard"}) {
      fs::create_directories(path(dir + "/" + c));
      for (int i = 0; i < 4; ++i) write_gradient_bmp(path(dir + "/" + c + "/img" + std::to_string(i) + ".bmp"), seed++);
    }
  }
  std::string evaluate(const std::string& args) {
    return "evaluate --model " + path("m.safetensors") + " --device cpu --bootstrap 200 --seed 3 " + args;
  }
};

TEST_F(EvaluateCli, OutputsAgreeWithThePredictions) {
  make_class_folders("data", 1);
  std::ofstream(path("data/violence/broken.jpg")) << "not an image at all";
  ASSERT_EQ(0, vigil(evaluate("--batch 5 --data " + path("data") + " --json " + path("m.json") + " --predictions " +
                              path("p.jsonl") + " --html " + path("r.html"))))
      << err();
  EXPECT_NE(std::string::npos, out().find("accuracy")) << out();
  EXPECT_NE(std::string::npos, err().find("broken.jpg")) << err();
  const auto m = nlohmann::json::parse(read_text(path("m.json")));
  for (const char* key : {"accuracy", "accuracy_ci", "confusion_matrix", "per_class", "roc_auc", "pr_auc", "ece",
                          "reliability", "thresholds", "recommended_thresholds"})
    EXPECT_TRUE(m.contains(key)) << key;
  EXPECT_EQ(13, m["images"].get<int>());
  EXPECT_EQ(12, m["scored"].get<int>());
  EXPECT_EQ(1, m["unreadable"].get<int>());
  EXPECT_EQ(15u, m["reliability"].size());
  EXPECT_EQ(19u, m["thresholds"]["nudity"].size());

  const auto records = read_jsonl(path("p.jsonl"));
  ASSERT_EQ(13u, records.size());
  int ok = 0, correct = 0, errors = 0;
  std::vector<std::vector<int>> cm(3, std::vector<int>(3, 0));
  const std::vector<std::string> classes = {"nudity", "violence", "standard"};
  auto index = [&](const std::string& name) { return std::find(classes.begin(), classes.end(), name) - classes.begin(); };
  for (const auto& r : records) {
    if (r["status"] == "error") {
      ++errors;
      EXPECT_NE(std::string::npos, r["path"].get<std::string>().find("broken.jpg"));
      continue;
    }
    ++ok;
    correct += r["correct"].get<bool>();
    EXPECT_EQ(r["correct"].get<bool>(), r["label"] == r["predicted"]);
    ++cm[static_cast<size_t>(index(r["label"]))][static_cast<size_t>(index(r["predicted"]))];
    double sum = 0;
    for (const auto& c : classes) sum += r["probabilities"][c].get<double>();
    EXPECT_NEAR(1.0, sum, 1e-5);
  }
  EXPECT_EQ(12, ok);
  EXPECT_EQ(1, errors);
  EXPECT_NEAR(correct / 12.0, m["accuracy"].get<double>(), 1e-12);
  for (size_t t = 0; t < 3; ++t)
    for (size_t p = 0; p < 3; ++p) EXPECT_EQ(cm[t][p], m["confusion_matrix"][t][p].get<int>());
  const auto& ci = m["accuracy_ci"]["wilson"];
  EXPECT_LE(ci[0].get<double>(), m["accuracy"].get<double>());
  EXPECT_GE(ci[1].get<double>(), m["accuracy"].get<double>());

  const std::string html = read_text(path("r.html"));
  EXPECT_NE(std::string::npos, html.find("<svg"));
  EXPECT_NE(std::string::npos, html.find("Threshold sweep"));
  EXPECT_EQ(std::string::npos, html.find("<script"));

  // The same seed gives the same bootstrap interval.
  ASSERT_EQ(0, vigil(evaluate("--data " + path("data") + " --json " + path("m2.json")))) << err();
  EXPECT_EQ(m["accuracy_ci"], nlohmann::json::parse(read_text(path("m2.json")))["accuracy_ci"]);
}

TEST_F(EvaluateCli, SplitFoldersAndManifestsUseTheTestSplit) {
  make_class_folders("split/train", 1);
  make_class_folders("split/test", 20);
  fs::remove(path("split/test/standard/img3.bmp"));
  ASSERT_EQ(0, vigil(evaluate("--data " + path("split") + " --json " + path("a.json")))) << err();
  EXPECT_EQ(11, nlohmann::json::parse(read_text(path("a.json")))["images"].get<int>());

  std::ofstream manifest(path("manifest.csv"));
  manifest << "path,sha256,label,group,split\n";
  int rows = 0;
  for (const char* c : {"nudity", "violence", "standard"})
    for (int i = 0; i < 4; ++i, ++rows)
      manifest << path("split/train/" + std::string(c) + "/img" + std::to_string(i) + ".bmp") << ",," << c << ",,"
               << (rows % 3 == 0 ? "test" : rows % 3 == 1 ? "val" : "train") << "\n";
  manifest.close();
  ASSERT_EQ(0, vigil(evaluate("--data " + path("manifest.csv") + " --predictions " + path("t.jsonl")))) << err();
  ASSERT_EQ(0, vigil(evaluate("--data " + path("manifest.csv") + " --split val --predictions " + path("v.jsonl"))))
      << err();
  const auto test = read_jsonl(path("t.jsonl")), val = read_jsonl(path("v.jsonl"));
  EXPECT_EQ(4u, test.size());
  EXPECT_EQ(4u, val.size());
  std::set<std::string> test_paths;
  for (const auto& r : test) test_paths.insert(r["path"].get<std::string>());
  for (const auto& r : val) EXPECT_EQ(0u, test_paths.count(r["path"].get<std::string>()));
  EXPECT_NE(0, vigil(evaluate("--data " + path("split") + " --split train")));
  EXPECT_NE(std::string::npos, err().find("--split train")) << err();
}

}  // namespace
}  // namespace vigil::test
