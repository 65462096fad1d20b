// Classification metrics and the epoch log: hand-computed confusion matrices (classes without predictions or
// without examples), argmax ties, Wilson intervals against published values, MetricsLog round trips and recovery.
#include "train/metrics.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <tuple>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "train/metrics_log.h"

namespace vigil::train {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// Classes a..e: a and b are ordinary, c is predicted once but has no examples, d has examples but is never
// predicted, e occurs nowhere.
ConfusionMatrix hand_computed_matrix() {
  ConfusionMatrix cm({"a", "b", "c", "d", "e"});
  for (int i = 0; i < 3; ++i) cm.add(0, 0);
  cm.add(0, 1);
  cm.add(1, 1);
  cm.add(1, 1);
  cm.add(1, 0);
  cm.add(1, 2);
  cm.add(3, 0);
  cm.add(3, 0);
  return cm;
}

TEST(ConfusionMatrix, CountsAndAccuracy) {
  const ConfusionMatrix cm = hand_computed_matrix();
  EXPECT_EQ(cm.total(), 10);
  EXPECT_EQ(cm.correct(), 5);
  EXPECT_DOUBLE_EQ(cm.accuracy(), 0.5);
  EXPECT_EQ(cm.count(0, 0), 3);
  EXPECT_EQ(cm.count(3, 0), 2);
  EXPECT_EQ(cm.count(0, 3), 0);
  EXPECT_EQ(cm.support(1), 4);
  EXPECT_EQ(cm.predicted_count(0), 6);
}

TEST(ConfusionMatrix, PerClassPrecisionRecallF1) {
  const auto s = hand_computed_matrix().per_class();
  ASSERT_EQ(s.size(), 5u);
  // a: TP 3, FP 3 (one b, two d), FN 1.
  EXPECT_EQ(s[0].name, "a");
  EXPECT_EQ(s[0].support, 4);
  EXPECT_EQ(s[0].predicted, 6);
  EXPECT_DOUBLE_EQ(s[0].precision, 0.5);
  EXPECT_DOUBLE_EQ(s[0].recall, 0.75);
  EXPECT_DOUBLE_EQ(s[0].f1, 0.6);
  // b: TP 2, FP 1, FN 2.
  EXPECT_DOUBLE_EQ(s[1].precision, 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(s[1].recall, 0.5);
  EXPECT_DOUBLE_EQ(s[1].f1, 4.0 / 7.0);
  // c: no examples, one (wrong) prediction: precision 0, recall undefined (0), F1 0.
  EXPECT_EQ(s[2].support, 0);
  EXPECT_EQ(s[2].predicted, 1);
  EXPECT_DOUBLE_EQ(s[2].precision, 0.0);
  EXPECT_DOUBLE_EQ(s[2].recall, 0.0);
  EXPECT_DOUBLE_EQ(s[2].f1, 0.0);
  // d: two examples, never predicted: precision undefined (0), recall 0.
  EXPECT_EQ(s[3].support, 2);
  EXPECT_EQ(s[3].predicted, 0);
  EXPECT_DOUBLE_EQ(s[3].precision, 0.0);
  EXPECT_DOUBLE_EQ(s[3].recall, 0.0);
  EXPECT_DOUBLE_EQ(s[3].f1, 0.0);
  // e: nothing at all.
  EXPECT_EQ(s[4].support + s[4].predicted, 0);
  EXPECT_DOUBLE_EQ(s[4].f1, 0.0);
}

TEST(ConfusionMatrix, MacroF1LeavesOutAbsentClassesAndBalancedAccuracyUsesSupportedOnes) {
  const ConfusionMatrix cm = hand_computed_matrix();
  EXPECT_DOUBLE_EQ(cm.macro_f1(), (0.6 + 4.0 / 7.0 + 0.0 + 0.0) / 4.0);   // a, b, c, d (not e)
  EXPECT_DOUBLE_EQ(cm.balanced_accuracy(), (0.75 + 0.5 + 0.0) / 3.0);  // a, b, d
}

TEST(ConfusionMatrix, PerfectAndEmpty) {
  ConfusionMatrix cm({"nudity", "violence", "standard"});
  EXPECT_EQ(cm.total(), 0);
  EXPECT_DOUBLE_EQ(cm.accuracy(), 0.0);
  EXPECT_DOUBLE_EQ(cm.macro_f1(), 0.0);
  EXPECT_DOUBLE_EQ(cm.balanced_accuracy(), 0.0);
  for (int k = 0; k < 3; ++k) cm.add(k, k);
  EXPECT_DOUBLE_EQ(cm.accuracy(), 1.0);
  EXPECT_DOUBLE_EQ(cm.macro_f1(), 1.0);
  EXPECT_DOUBLE_EQ(cm.balanced_accuracy(), 1.0);
}

TEST(ConfusionMatrix, AddBatchTakesArgmaxAndLowestIndexOnTies) {
  ConfusionMatrix cm({"x", "y", "z"});
  const float probs[] = {0.5f, 0.5f, 0.0f,   // tie 0/1 -> 0
                         0.2f, 0.4f, 0.4f,   // tie 1/2 -> 1
                         0.3f, 0.3f, 0.3f,   // three-way tie -> 0
                         0.0f, 0.1f, 0.9f,   // 2
                         -1.f, -2.f, -0.5f}; // logits work too -> 2
  const int32_t truth[] = {0, 2, 1, 2, 0};
  cm.add_batch(truth, probs, 5);
  EXPECT_EQ(cm.total(), 5);
  EXPECT_EQ(cm.count(0, 0), 1);
  EXPECT_EQ(cm.count(2, 1), 1);
  EXPECT_EQ(cm.count(1, 0), 1);
  EXPECT_EQ(cm.count(2, 2), 1);
  EXPECT_EQ(cm.count(0, 2), 1);
  cm.add_batch(truth, probs, 0);
  EXPECT_EQ(cm.total(), 5);
}

TEST(ConfusionMatrix, RejectsBadInput) {
  EXPECT_THROW(ConfusionMatrix({}), Error);
  EXPECT_THROW(ConfusionMatrix({"a", "a"}), Error);
  EXPECT_THROW(ConfusionMatrix({"a", ""}), Error);
  ConfusionMatrix cm({"a", "b"});
  EXPECT_THROW(cm.add(2, 0), Error);
  EXPECT_THROW(cm.add(0, -1), Error);
  const float nan_row[] = {0.1f, std::nanf("")};
  const int32_t truth[] = {0};
  EXPECT_THROW(cm.add_batch(truth, nan_row, 1), Error);
  const float ok_row[] = {0.1f, 0.9f};
  const int32_t bad_truth[] = {5};
  EXPECT_THROW(cm.add_batch(bad_truth, ok_row, 1), Error);
  EXPECT_EQ(cm.total(), 0);
}

TEST(ConfusionMatrix, JsonRoundTripAndContents) {
  const ConfusionMatrix cm = hand_computed_matrix();
  const json j = cm.to_json();
  EXPECT_EQ(j.at("classes"), json({"a", "b", "c", "d", "e"}));
  EXPECT_EQ(j.at("matrix").at(3), json({2, 0, 0, 0, 0}));
  EXPECT_DOUBLE_EQ(j.at("accuracy").get<double>(), 0.5);
  EXPECT_DOUBLE_EQ(j.at("macro_f1").get<double>(), cm.macro_f1());
  EXPECT_EQ(j.at("per_class").size(), 5u);
  EXPECT_EQ(j.at("per_class").at(0).at("name"), "a");
  EXPECT_EQ(j.at("per_class").at(0).at("support"), 4);
  EXPECT_DOUBLE_EQ(j.at("per_class").at(1).at("f1").get<double>(), 4.0 / 7.0);

  const ConfusionMatrix back = ConfusionMatrix::from_json(json::parse(j.dump()));
  EXPECT_EQ(back.to_json(), j);

  EXPECT_THROW(ConfusionMatrix::from_json(json::object()), Error);
  EXPECT_THROW(ConfusionMatrix::from_json(json{{"classes", {"a", "b"}}, {"matrix", {{1, 2}}}}), Error);
  EXPECT_THROW(ConfusionMatrix::from_json(json{{"classes", {"a"}}, {"matrix", {{-1}}}}), Error);
  EXPECT_THROW(ConfusionMatrix::from_json(json{{"classes", {"a"}}, {"matrix", {{1.5}}}}), Error);
}

TEST(ConfusionMatrix, TextTableNamesClassesAndMarksUndefinedValues) {
  const std::string text = hand_computed_matrix().to_text();
  EXPECT_NE(text.find("truth \\ predicted"), std::string::npos);
  EXPECT_NE(text.find("precision"), std::string::npos);
  EXPECT_NE(text.find("n/a"), std::string::npos);
  EXPECT_NE(text.find("accuracy 0.5000 (5 of 10"), std::string::npos);
  // Columns line up: every matrix row has the same length.
  std::istringstream lines(text);
  std::string header, row;
  std::getline(lines, header);
  for (int i = 0; i < 5; ++i) {
    std::getline(lines, row);
    EXPECT_EQ(row.size(), header.size()) << row;
  }
}

TEST(WilsonInterval, KnownValues) {
  auto [lo, hi] = wilson_interval(0, 10);
  EXPECT_DOUBLE_EQ(lo, 0.0);
  EXPECT_NEAR(hi, 0.27754, 1e-5);
  std::tie(lo, hi) = wilson_interval(10, 10);
  EXPECT_NEAR(lo, 0.72246, 1e-5);
  EXPECT_DOUBLE_EQ(hi, 1.0);
  std::tie(lo, hi) = wilson_interval(81, 100);
  EXPECT_NEAR(lo, 0.72221, 1e-5);
  EXPECT_NEAR(hi, 0.87485, 1e-5);
  std::tie(lo, hi) = wilson_interval(0, 0);
  EXPECT_EQ(lo, 0.0);
  EXPECT_EQ(hi, 1.0);
  std::tie(lo, hi) = wilson_interval(50, 100, 2.576);  // 99%: wider than 95%
  EXPECT_LT(lo, wilson_interval(50, 100).first);
  EXPECT_GT(hi, wilson_interval(50, 100).second);
  EXPECT_THROW(wilson_interval(11, 10), Error);
  EXPECT_THROW(wilson_interval(-1, 10), Error);
  EXPECT_THROW(wilson_interval(1, 10, 0.0), Error);
}

// A fresh run directory per test, removed afterwards.
class MetricsLogFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::path(::testing::TempDir()) /
           (std::string("vigil_metrics_log_") + info->name() + "_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string dir() const { return dir_.string(); }
  std::string jsonl() const { return MetricsLog::jsonl_path(dir()); }
  std::string csv() const { return MetricsLog::csv_path(dir()); }
  fs::path dir_;
};

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream os;
  os << in.rdbuf();
  return os.str();
}

std::vector<std::string> lines_of(const std::string& path) {
  std::vector<std::string> lines;
  std::istringstream in(slurp(path));
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

EpochRecord make_record(int64_t epoch, const std::vector<std::string>& classes = {"nudity", "violence", "standard"}) {
  ConfusionMatrix cm(classes);
  for (int k = 0; k < cm.num_classes(); ++k) cm.add(k, k);
  cm.add(0, static_cast<int>(epoch % cm.num_classes()));
  EpochRecord r;
  r.epoch = epoch;
  r.train_loss = 1.0 / static_cast<double>(epoch);
  r.train_accuracy = 0.5 + 0.01 * static_cast<double>(epoch);
  r.val_loss = epoch == 2 ? EpochRecord::kNotMeasured : 1.5 / static_cast<double>(epoch);
  r.val_accuracy = cm.accuracy();
  r.lr = 0.1 * std::pow(0.5, static_cast<double>(epoch));
  r.seconds = 12.5;
  r.images_per_second = 800.25;
  r.val_confusion = cm.to_json();
  r.best = epoch % 2 == 1;
  return r;
}

void expect_same(const EpochRecord& a, const EpochRecord& b) {
  EXPECT_EQ(a.epoch, b.epoch);
  const auto same = [](double x, double y) { return (std::isnan(x) && std::isnan(y)) || x == y; };
  EXPECT_TRUE(same(a.train_loss, b.train_loss));
  EXPECT_TRUE(same(a.train_accuracy, b.train_accuracy));
  EXPECT_TRUE(same(a.val_loss, b.val_loss)) << a.val_loss << " vs " << b.val_loss;
  EXPECT_TRUE(same(a.val_accuracy, b.val_accuracy));
  EXPECT_TRUE(same(a.lr, b.lr));
  EXPECT_TRUE(same(a.seconds, b.seconds));
  EXPECT_TRUE(same(a.images_per_second, b.images_per_second));
  EXPECT_EQ(a.val_confusion, b.val_confusion);
  EXPECT_EQ(a.best, b.best);
}

TEST_F(MetricsLogFiles, AppendReadRoundTrip) {
  std::vector<EpochRecord> written;
  {
    MetricsLog log(dir());
    for (int64_t e = 1; e <= 3; ++e) {
      written.push_back(make_record(e));
      log.append(written.back());
    }
  }
  const std::vector<EpochRecord> back = MetricsLog::read(dir());
  ASSERT_EQ(back.size(), 3u);
  for (size_t i = 0; i < back.size(); ++i) expect_same(back[i], written[i]);
  EXPECT_TRUE(std::isnan(back[1].val_loss));  // not measured -> null -> NaN

  const auto rows = lines_of(csv());
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_EQ(rows[0].rfind("epoch,train_loss,train_accuracy,val_loss,val_accuracy,val_macro_f1", 0), 0u);
  EXPECT_NE(rows[0].find("val_recall_violence"), std::string::npos);
  EXPECT_EQ(rows[1].rfind("1,1,0.51,1.5,", 0), 0u) << rows[1];
  EXPECT_EQ(rows[2].rfind("2,0.5,0.52,,", 0), 0u) << rows[2];  // NaN -> empty field
  for (const auto& fs_entry : fs::directory_iterator(dir_))
    EXPECT_EQ(fs_entry.path().filename().string().find(".tmp."), std::string::npos);
}

TEST_F(MetricsLogFiles, ResumedRunContinuesFilesWithOneHeader) {
  { MetricsLog(dir()).append(make_record(1)); }
  {
    MetricsLog log(dir());
    EXPECT_EQ(log.records().size(), 1u);
    log.append(make_record(2));
    log.append(make_record(3));
  }
  EXPECT_EQ(MetricsLog::read(dir()).size(), 3u);
  const auto rows = lines_of(csv());
  ASSERT_EQ(rows.size(), 4u);
  for (size_t i = 1; i < rows.size(); ++i) EXPECT_EQ(rows[i].rfind("epoch", 0), std::string::npos);
}

TEST_F(MetricsLogFiles, HalfWrittenLastLineIsIgnoredThenCutOff) {
  { MetricsLog log(dir()); log.append(make_record(1)); log.append(make_record(2)); }
  {
    std::ofstream jsonl_out(jsonl(), std::ios::app);
    jsonl_out << R"({"epoch":3,"train_loss":0.3)";
    std::ofstream csv_out(csv(), std::ios::app);
    csv_out << "3,0.3";
  }
  EXPECT_EQ(MetricsLog::read(dir()).size(), 2u);
  {
    MetricsLog log(dir());
    EXPECT_EQ(log.records().size(), 2u);
    log.append(make_record(3));
  }
  const auto back = MetricsLog::read(dir());
  ASSERT_EQ(back.size(), 3u);
  expect_same(back[2], make_record(3));
  const auto rows = lines_of(csv());
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_EQ(rows[3].rfind("3,0.333333333,", 0), 0u) << rows[3];
  for (const auto& line : lines_of(jsonl())) EXPECT_NO_THROW(json::parse(line)) << line;
}

TEST_F(MetricsLogFiles, ResumingFromAnEarlierCheckpointReplacesLaterEpochs) {
  { MetricsLog log(dir()); for (int64_t e = 1; e <= 4; ++e) log.append(make_record(e)); }
  EpochRecord redo = make_record(3);
  redo.train_loss = 42;
  { MetricsLog(dir()).append(redo); }
  const auto back = MetricsLog::read(dir());
  ASSERT_EQ(back.size(), 3u);
  EXPECT_EQ(back[2].epoch, 3);
  EXPECT_EQ(back[2].train_loss, 42);
  const auto rows = lines_of(csv());
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_EQ(rows[3].rfind("3,42,", 0), 0u) << rows[3];
}

TEST_F(MetricsLogFiles, CsvLaggingBehindTheJsonlIsRebuilt) {
  { MetricsLog log(dir()); log.append(make_record(1)); log.append(make_record(2)); }
  // A run killed between the JSONL and the CSV write: the JSONL has a record the CSV lacks.
  { std::ofstream(jsonl(), std::ios::app) << epoch_record_to_json(make_record(3)).dump() << "\n"; }
  ASSERT_EQ(lines_of(csv()).size(), 3u);
  { MetricsLog log(dir()); EXPECT_EQ(log.records().size(), 3u); }
  const auto rows = lines_of(csv());
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_EQ(rows[3].rfind("3,", 0), 0u);
}

TEST_F(MetricsLogFiles, ClassNamesAreQuotedInTheCsvHeader) {
  { MetricsLog(dir()).append(make_record(1, {"safe, mostly", "say \"hi\""})); }
  const auto rows = lines_of(csv());
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_NE(rows[0].find(",\"val_recall_safe, mostly\","), std::string::npos) << rows[0];
  EXPECT_NE(rows[0].find(",\"val_f1_say \"\"hi\"\"\""), std::string::npos) << rows[0];
}

TEST_F(MetricsLogFiles, RecordsWithoutValidationHaveNoPerClassColumns) {
  EpochRecord r;
  r.epoch = 1;
  r.train_loss = 0.7;
  { MetricsLog(dir()).append(r); }
  const auto rows = lines_of(csv());
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0], "epoch,train_loss,train_accuracy,val_loss,val_accuracy,val_macro_f1,val_balanced_accuracy,lr,"
                     "seconds,images_per_second,best");
  EXPECT_EQ(rows[1], "1,0.7,,,,,,,,,0");
  const auto back = MetricsLog::read(dir());
  ASSERT_EQ(back.size(), 1u);
  expect_same(back[0], r);
}

TEST_F(MetricsLogFiles, CorruptCompleteLineAndMissingFileAreErrors) {
  EXPECT_THROW(MetricsLog::read(dir()), Error);
  { MetricsLog(dir()).append(make_record(1)); }
  { std::ofstream(jsonl(), std::ios::app) << "{not json}\n"; }
  try {
    MetricsLog::read(dir());
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("metrics.jsonl:2"), std::string::npos) << e.what();
  }
  EXPECT_THROW(MetricsLog log(dir()), Error);
  EXPECT_THROW(epoch_record_from_json(json{{"train_loss", 1.0}}), Error);
  EXPECT_THROW(epoch_record_from_json(json{{"epoch", 1}, {"best", "yes"}}), Error);
}

}  // namespace
}  // namespace vigil::train
