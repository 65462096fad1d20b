// Splits: groups never straddle train/val/test, per-class proportions, determinism from the seed, duplicates
// removed and counted, presplit folders, and the manifest's atomic write and read-back.
#include "data/split.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "common/error.h"
#include "common/rng.h"
#include "data/sha256.h"

namespace vigil::test {
namespace {

namespace fs = std::filesystem;
using data::Dataset;
using data::Split;
using data::SplitSet;

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

std::string error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

// An in-memory dataset of 2x1 gray images, each with distinct content unless `same_content` pairs say otherwise.
// Classes get `per_class[c]` samples in groups whose sizes come from Philox (1..max_group).
Dataset grouped_dataset(const std::vector<int>& per_class, int max_group, uint64_t seed) {
  Dataset d;
  auto bank = std::make_shared<data::ImageBank>();
  bank->width = 2;
  bank->height = 1;
  bank->channels = 1;
  for (size_t c = 0; c < per_class.size(); ++c) d.classes.push_back("class" + std::to_string(c));
  int group_number = 0, stream = 0;
  for (size_t c = 0; c < per_class.size(); ++c) {
    int left = per_class[c];
    while (left > 0) {
      const int size = std::min(left, 1 + static_cast<int>(philox_uniform(seed, 7, stream++) * max_group));
      const std::string group = max_group > 1 ? "g" + std::to_string(group_number++) : "";
      for (int k = 0; k < size; ++k) {
        const int64_t i = static_cast<int64_t>(d.samples.size());
        d.samples.push_back({"mem#" + std::to_string(i), static_cast<int>(c), group, i});
        bank->pixels.push_back(static_cast<uint8_t>(i & 0xff));
        bank->pixels.push_back(static_cast<uint8_t>(i >> 8));
      }
      left -= size;
    }
  }
  d.memory = bank;
  d.source = "generated";
  return d;
}

std::map<std::string, std::set<Split>> splits_of_groups(const SplitSet& s) {
  std::map<std::string, std::set<Split>> out;
  for (Split split : {Split::Train, Split::Val, Split::Test})
    for (const data::Sample& sample : s.part(split).data.samples)
      out[sample.group.empty() ? sample.path : sample.group].insert(split);
  return out;
}

TEST(Split, GroupsNeverStraddleAndClassesKeepTheirProportions) {
  const std::vector<int> per_class = {600, 300, 90};
  const Dataset all = grouped_dataset(per_class, 8, 1);
  data::SplitOptions options;
  options.val_fraction = 0.1;
  options.test_fraction = 0.2;
  options.seed = 42;
  const SplitSet s = data::split_dataset(all, options);
  for (const auto& [group, splits] : splits_of_groups(s)) EXPECT_EQ(splits.size(), 1u) << group;
  EXPECT_EQ(s.train.data.size() + s.val.data.size() + s.test.data.size(), all.size());
  EXPECT_EQ(s.duplicates.removed, 0u);
  const double fractions[3] = {0.7, 0.1, 0.2};
  for (Split split : {Split::Train, Split::Val, Split::Test}) {
    const std::vector<int64_t> counts = s.part(split).data.class_counts();
    for (size_t c = 0; c < per_class.size(); ++c) {
      const double expected = fractions[static_cast<int>(split)] * per_class[c];
      EXPECT_NEAR(counts[c], expected, 8.0) << data::split_name(split) << " class " << c;  // one group's size
    }
    ASSERT_EQ(s.part(split).sha256.size(), s.part(split).data.size());
  }
  EXPECT_TRUE(contains(s.summary(), "train ")) << s.summary();
}

TEST(Split, SingletonGroupsSplitExactly) {
  const Dataset all = grouped_dataset({100, 50}, 1, 3);
  data::SplitOptions options;
  const SplitSet s = data::split_dataset(all, options);
  EXPECT_EQ(s.train.data.class_counts(), (std::vector<int64_t>{80, 40}));
  EXPECT_EQ(s.val.data.class_counts(), (std::vector<int64_t>{10, 5}));
  EXPECT_EQ(s.test.data.class_counts(), (std::vector<int64_t>{10, 5}));
}

std::vector<std::string> paths_of(const Dataset& d) {
  std::vector<std::string> out;
  for (const data::Sample& s : d.samples) out.push_back(s.path);
  return out;
}

TEST(Split, DeterministicFromTheSeed) {
  const Dataset all = grouped_dataset({200, 200}, 5, 9);
  data::SplitOptions a, b;
  a.seed = b.seed = 5;
  b.hash_threads = 4;  // the thread count must not matter
  EXPECT_EQ(paths_of(data::split_dataset(all, a).val.data), paths_of(data::split_dataset(all, b).val.data));
  EXPECT_EQ(paths_of(data::split_dataset(all, a).test.data), paths_of(data::split_dataset(all, b).test.data));
  b.seed = 6;
  EXPECT_NE(paths_of(data::split_dataset(all, a).val.data), paths_of(data::split_dataset(all, b).val.data));
}

TEST(Split, ZeroFractionsAndBadFractions) {
  const Dataset all = grouped_dataset({20}, 1, 1);
  data::SplitOptions options;
  options.val_fraction = 0.25;
  options.test_fraction = 0;
  const SplitSet s = data::split_dataset(all, options);
  EXPECT_EQ(s.test.data.size(), 0u);
  EXPECT_EQ(s.val.data.size(), 5u);
  options.test_fraction = 0.75;
  EXPECT_TRUE(contains(error_of([&] { data::split_dataset(all, options); }), "leave a positive train fraction"));
  options.test_fraction = -0.1;
  EXPECT_TRUE(contains(error_of([&] { data::split_dataset(all, options); }), "must be >= 0"));
}

TEST(Split, CrossSplitDuplicatesAreRemovedAndCounted) {
  Dataset all = grouped_dataset({200, 100}, 1, 2);
  // Samples 10..29 copy sample 0's content (same class); sample 250 (class 1) copies sample 1's.
  for (int i = 10; i < 30; ++i) all.samples[i].memory_index = 0;
  all.samples[250].memory_index = 1;
  data::SplitOptions options;
  options.seed = 11;
  const SplitSet s = data::split_dataset(all, options);
  EXPECT_EQ(s.duplicates.copies, 21u);
  EXPECT_EQ(s.duplicates.label_conflicts, 1u);
  std::map<std::string, std::set<Split>> splits_of_hash;
  size_t kept = 0;
  for (Split split : {Split::Train, Split::Val, Split::Test}) {
    const data::SplitPart& part = s.part(split);
    for (size_t i = 0; i < part.data.size(); ++i) splits_of_hash[part.sha256[i]].insert(split);
    kept += part.data.size();
  }
  for (const auto& [hash, splits] : splits_of_hash) EXPECT_EQ(splits.size(), 1u) << hash;
  EXPECT_GT(s.duplicates.removed, 0u);
  EXPECT_EQ(kept + s.duplicates.removed, all.size());
  size_t removed_lines = 0, conflict_lines = 0;
  for (const std::string& line : s.duplicates.lines) {
    removed_lines += line.rfind("removed ", 0) == 0;
    conflict_lines += line.rfind("label conflict: ", 0) == 0;
  }
  EXPECT_EQ(removed_lines, s.duplicates.removed);
  EXPECT_EQ(conflict_lines, 1u);

  options.remove_cross_split_duplicates = false;
  const SplitSet kept_all = data::split_dataset(all, options);
  EXPECT_EQ(kept_all.duplicates.removed, 0u);
  EXPECT_EQ(kept_all.train.data.size() + kept_all.val.data.size() + kept_all.test.data.size(), all.size());
}

// Files hashed from disk: duplicates found by content whatever their names; unreadable files are counted.
class SplitFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::path(::testing::TempDir()) / (std::string("vigil_split_") + info->name() + "_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string file(const std::string& name, const std::string& content) {
    const fs::path p = dir_ / name;
    fs::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << content;
    return p.string();
  }
  fs::path dir_;
};

TEST_F(SplitFiles, PresplitKeepsTheTrainCopyAndCountsStraddlingGroups) {
  Dataset train, val, test;
  train.classes = val.classes = test.classes = {"a", "b"};
  train.samples = {{file("train/a/1", "one"), 0, "clipX", -1}, {file("train/b/2", "two"), 1, "", -1}};
  val.samples = {{file("val/a/3", "one"), 0, "clipX", -1}, {file("val/b/4", "four"), 1, "", -1}};
  test.samples = {{file("test/b/5", "two"), 1, "", -1}, {(dir_ / "test/b/missing").string(), 1, "", -1}};
  const SplitSet s = data::presplit_dataset({{"train", train}, {"val", val}, {"test", test}}, {});
  EXPECT_EQ(s.train.data.size(), 2u);
  ASSERT_EQ(s.val.data.size(), 1u);
  EXPECT_EQ(fs::path(s.val.data.samples[0].path).filename(), "4");
  ASSERT_EQ(s.test.data.size(), 1u);
  EXPECT_EQ(fs::path(s.test.data.samples[0].path).filename(), "missing");
  EXPECT_EQ(s.test.sha256[0], "");
  EXPECT_EQ(s.duplicates.removed, 2u);
  EXPECT_EQ(s.duplicates.unreadable, 1u);
  EXPECT_EQ(s.duplicates.straddling_groups, 1u);
  EXPECT_TRUE(contains(s.summary(), "2 duplicate(s) removed")) << s.summary();
  EXPECT_TRUE(contains(error_of([&] { data::presplit_dataset({{"holdout", test}}, {}); }), "split 'holdout'"));
}

TEST_F(SplitFiles, ManifestRoundTripIsAtomicAndSelectsSplits) {
  Dataset all;
  all.classes = {"nudity", "violence", "standard"};
  for (int i = 0; i < 30; ++i)
    all.samples.push_back({file("img/" + std::to_string(i) + (i == 3 ? ", odd \"name\".jpg" : ".jpg"),
                                "content " + std::to_string(i)),
                           i % 3, i % 2 ? "grp" + std::to_string(i / 4) : "", -1});
  const SplitSet s = data::split_dataset(all, {});
  const fs::path run = dir_ / "run";
  fs::create_directories(run);
  const std::string manifest = (run / "split_manifest.csv").string();
  data::write_manifest(s, manifest);
  data::write_manifest(s, manifest);  // overwriting works too
  size_t files = 0;
  for (const auto& entry : fs::directory_iterator(run)) files += entry.is_regular_file();
  EXPECT_EQ(files, 1u);  // no temporary file left behind

  const std::vector<data::ManifestEntry> entries = data::read_manifest(manifest);
  ASSERT_EQ(entries.size(), all.size());
  for (Split split : {Split::Train, Split::Val, Split::Test}) {
    const Dataset back = data::manifest_dataset(entries, split, all.classes);
    const data::SplitPart& part = s.part(split);
    ASSERT_EQ(back.size(), part.data.size());
    for (size_t i = 0; i < back.size(); ++i) {
      EXPECT_EQ(back.samples[i].path, part.data.samples[i].path);
      EXPECT_EQ(back.samples[i].label, part.data.samples[i].label);
      EXPECT_EQ(back.samples[i].group, part.data.samples[i].group);
    }
    EXPECT_EQ(paths_of(data::select_manifest_split(all, entries, split)), paths_of(part.data));
  }
  for (const data::ManifestEntry& e : entries) EXPECT_EQ(e.sha256, data::sha256_file_hex(e.path));

  EXPECT_TRUE(contains(error_of([&] { data::manifest_dataset(entries, Split::Train, {"x", "y", "z"}); }),
                       "is not a model class"));
  Dataset fewer = all.subset({0, 1});
  EXPECT_TRUE(contains(error_of([&] { data::select_manifest_split(fewer, entries, Split::Train); }),
                       "but not in"));
}

TEST_F(SplitFiles, ManifestReadErrorsNameTheLine) {
  auto error_for = [&](const std::string& content) {
    const std::string p = file("m.csv", content);
    return error_of([&] { data::read_manifest(p); });
  };
  const std::string header = "path,sha256,label,group,split\n";
  EXPECT_TRUE(contains(error_for("path,label\n"), "m.csv:1: not a split manifest"));
  EXPECT_TRUE(contains(error_for(header + "a.jpg,,nudity,,train\nb.jpg,,nudity,,holdout\n"),
                       "m.csv:3: split 'holdout'"));
  EXPECT_TRUE(contains(error_for(header + "a.jpg,xyz,nudity,,train\n"), "m.csv:2: 'xyz' is not a SHA-256"));
  EXPECT_TRUE(contains(error_for(header + "a.jpg,nudity,train\n"), "m.csv:2: expected 5 fields"));
  EXPECT_TRUE(contains(error_of([&] { data::read_manifest((dir_ / "none.csv").string()); }), "cannot open"));
}

TEST(Shuffle, PhiloxShuffleIsADeterministicPermutation) {
  std::vector<size_t> a(1000), b;
  for (size_t i = 0; i < a.size(); ++i) a[i] = i;
  b = a;
  data::philox_shuffle(a, 1, 2);
  data::philox_shuffle(b, 1, 2);
  EXPECT_EQ(a, b);
  std::vector<size_t> sorted = a;
  std::sort(sorted.begin(), sorted.end());
  for (size_t i = 0; i < sorted.size(); ++i) ASSERT_EQ(sorted[i], i);
  size_t fixed_points = 0;
  for (size_t i = 0; i < a.size(); ++i) fixed_points += a[i] == i;
  EXPECT_LT(fixed_points, 10u);
  data::philox_shuffle(b, 1, 3);
  EXPECT_NE(a, b);
}

}  // namespace
}  // namespace vigil::test
