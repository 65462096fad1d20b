// Data sets: ImageFolder discovery on generated trees (class order, class maps, unknown folders, hidden files,
// split folders, groups), list files (CSV parsing and errors with line numbers), IDX / Fashion-MNIST reading on
// generated gzip files and the installed data set, and scripts/video_to_frames.sh on two real clips.
#include "data/dataset.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>
#if VIGIL_WITH_ZLIB
#include <zlib.h>
#endif

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#define STB_IMAGE_WRITE_STATIC
#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb/stb_image_write.h>
#pragma GCC diagnostic pop

#include "common/error.h"
#include "data/idx.h"

namespace vigil::test {
namespace {

namespace fs = std::filesystem;
using data::Dataset;
using data::FolderOptions;
using data::GroupRule;

const std::vector<std::string> kClasses = {"nudity", "violence", "standard"};

// A fresh directory per test, removed afterwards.
class DataFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::path(::testing::TempDir()) /
           (std::string("vigil_dataset_") + info->test_suite_name() + "_" + info->name() + "_" +
            std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string path(const std::string& relative) const { return (dir_ / relative).string(); }
  // A 4x3 RGB PNG whose pixels all have the value `shade`.
  std::string png(const std::string& relative, uint8_t shade = 128) const {
    const fs::path p = dir_ / relative;
    fs::create_directories(p.parent_path());
    std::vector<uint8_t> pixels(4 * 3 * 3, shade);
    EXPECT_TRUE(stbi_write_png(p.string().c_str(), 4, 3, 3, pixels.data(), 4 * 3));
    return p.string();
  }
  std::string text(const std::string& relative, const std::string& content) const {
    const fs::path p = dir_ / relative;
    fs::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << content;
    return p.string();
  }
  fs::path dir_;
};

std::string error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

FolderOptions folder_options(const std::string& group_by = "") {
  FolderOptions o;
  o.classes = kClasses;
  o.group = data::parse_group_rule(group_by);
  return o;
}

// ---- ImageFolder ----

TEST_F(DataFiles, FlatFolderListsEveryVisibleRegularFileWithTheModelsClassOrder) {
  png("tree/standard/b.png");
  png("tree/standard/a.png");
  png("tree/nudity/deep/er/x.png");
  png("tree/violence/v.png");
  text("tree/violence/notes.txt", "not an image: listed, fails at decode time");
  text("tree/violence/.DS_Store", "hidden");
  png("tree/violence/.thumbs/hidden.png");
  text("tree/README.md", "loose file beside the class folders");
  const data::FolderScan scan = data::scan_image_folder(path("tree"), folder_options());
  EXPECT_FALSE(scan.presplit);
  ASSERT_EQ(scan.all.size(), 5u);
  EXPECT_EQ(scan.all.classes, kClasses);
  // Sorted by path: nudity, standard, violence folders (alphabetical paths), labels from the class list.
  EXPECT_EQ(fs::path(scan.all.samples[0].path).filename(), "x.png");
  EXPECT_EQ(scan.all.samples[0].label, 0);
  EXPECT_EQ(fs::path(scan.all.samples[1].path).filename(), "a.png");
  EXPECT_EQ(scan.all.samples[1].label, 2);
  EXPECT_EQ(fs::path(scan.all.samples[2].path).filename(), "b.png");
  EXPECT_EQ(fs::path(scan.all.samples[3].path).filename(), "notes.txt");
  EXPECT_EQ(scan.all.samples[3].label, 1);
  EXPECT_EQ(fs::path(scan.all.samples[4].path).filename(), "v.png");
  for (const data::Sample& s : scan.all.samples) {
    EXPECT_TRUE(fs::path(s.path).is_absolute()) << s.path;
    EXPECT_TRUE(s.group.empty());
  }
  EXPECT_EQ(scan.all.class_counts(), (std::vector<int64_t>{1, 2, 2}));
  ASSERT_EQ(scan.notes.size(), 1u) << ::testing::PrintToString(scan.notes);
  EXPECT_TRUE(contains(scan.notes[0], "1 file(s) outside class folders")) << scan.notes[0];
}

TEST_F(DataFiles, UnknownFolderIsAnErrorListingTheKnownClasses) {
  png("tree/nudity/a.png");
  png("tree/cats/c.png");
  const std::string what = error_of([&] { data::scan_image_folder(path("tree"), folder_options()); });
  EXPECT_TRUE(contains(what, "folder 'cats' is not a known class")) << what;
  EXPECT_TRUE(contains(what, "nudity, violence, standard")) << what;

  FolderOptions ignore = folder_options();
  ignore.ignore_unknown_folders = true;
  const data::FolderScan scan = data::scan_image_folder(path("tree"), ignore);
  EXPECT_EQ(scan.all.size(), 1u);
  ASSERT_EQ(scan.notes.size(), 1u);
  EXPECT_TRUE(contains(scan.notes[0], "ignored folder 'cats'")) << scan.notes[0];
}

TEST_F(DataFiles, ClassMapMapsAndSkipsFolders) {
  png("tree/fight/f1.png");
  png("tree/fight/f2.png");
  png("tree/noFight/n1.png");
  png("tree/junk/j.png");
  FolderOptions o = folder_options();
  o.class_map = data::parse_class_map("fight=violence, noFight=standard,junk=-", kClasses);
  const data::FolderScan scan = data::scan_image_folder(path("tree"), o);
  ASSERT_EQ(scan.all.size(), 3u);
  EXPECT_EQ(scan.all.class_counts(), (std::vector<int64_t>{0, 2, 1}));
  EXPECT_TRUE(contains(error_of([&] { data::require_every_class(scan.all, "training set"); }),
                       "training set: no images of class 'nudity'"));
}

TEST(ClassLists, ParsingAndErrors) {
  EXPECT_EQ(data::parse_class_list("nudity, violence,standard"), kClasses);
  EXPECT_TRUE(contains(error_of([] { data::parse_class_list("a,b,a"); }), "'a' appears twice"));
  EXPECT_TRUE(contains(error_of([] { data::parse_class_list("a,,b"); }), "empty class name"));
  EXPECT_TRUE(data::parse_class_map("", kClasses).empty());
  EXPECT_TRUE(contains(error_of([] { data::parse_class_map("fight=violent", kClasses); }),
                       "'violent' is not a class"));
  EXPECT_TRUE(contains(error_of([] { data::parse_class_map("fight", kClasses); }), "is not NAME=CLASS"));
  EXPECT_TRUE(contains(error_of([] { data::parse_class_map("a=nudity,a=standard", kClasses); }), "mapped twice"));
}

TEST(GroupRules, ParsingAndErrors) {
  EXPECT_EQ(data::parse_group_rule("").kind, GroupRule::Kind::Default);
  EXPECT_EQ(data::parse_group_rule("folder").kind, GroupRule::Kind::Folder);
  const GroupRule rule = data::parse_group_rule("regex:^(clip\\d+)_");
  EXPECT_EQ(rule.kind, GroupRule::Kind::Regex);
  EXPECT_EQ(rule.pattern, "^(clip\\d+)_");
  EXPECT_TRUE(contains(error_of([] { data::parse_group_rule("regex:(unclosed"); }), "not a valid regular expression"));
  EXPECT_TRUE(contains(error_of([] { data::parse_group_rule("by_name"); }), "group_by 'by_name'"));
}

TEST_F(DataFiles, SplitFoldersAreKeptAndOtherTopFoldersAreErrors) {
  png("tree/train/nudity/a.png");
  png("tree/train/standard/b.png");
  png("tree/val/standard/c.png");
  png("tree/test/violence/d.png");
  const data::FolderScan scan = data::scan_image_folder(path("tree"), folder_options("folder"));
  ASSERT_TRUE(scan.presplit);
  EXPECT_EQ(scan.all.size(), 4u);
  ASSERT_EQ(scan.splits.size(), 3u);
  EXPECT_EQ(scan.splits.at("train").size(), 2u);
  EXPECT_EQ(scan.splits.at("val").samples[0].label, 2);
  EXPECT_EQ(scan.splits.at("test").samples[0].label, 1);

  png("tree/extra/nudity/e.png");
  EXPECT_TRUE(contains(error_of([&] { data::scan_image_folder(path("tree"), folder_options()); }),
                       "folder 'extra' sits beside the split folders"));
}

TEST_F(DataFiles, FolderGroupsAreTheClipFolderBelowTheClass) {
  png("tree/violence/clip1/frame_0001.png");
  png("tree/violence/clip1/frame_0002.png");
  png("tree/violence/clip2/frame_0001.png");
  png("tree/violence/single.png");
  png("tree/standard/clip1/frame_0001.png");
  const data::FolderScan scan = data::scan_image_folder(path("tree"), folder_options("folder"));
  ASSERT_EQ(scan.all.size(), 5u);
  std::map<std::string, std::string> group_of;
  for (const data::Sample& s : scan.all.samples)
    group_of[fs::path(s.path).lexically_relative(dir_ / "tree").string()] = s.group;
  EXPECT_EQ(group_of["violence/clip1/frame_0001.png"], "violence/clip1");
  EXPECT_EQ(group_of["violence/clip1/frame_0002.png"], "violence/clip1");
  EXPECT_EQ(group_of["violence/clip2/frame_0001.png"], "violence/clip2");
  EXPECT_EQ(group_of["standard/clip1/frame_0001.png"], "standard/clip1");
  EXPECT_EQ(group_of["violence/single.png"], "");
}

TEST_F(DataFiles, RegexGroupsUseTheFirstCaptureOrTheWholeMatch) {
  png("tree/violence/clip07_f1.png");
  png("tree/violence/clip07_f2.png");
  png("tree/standard/clip08_f1.png");
  data::FolderScan scan = data::scan_image_folder(path("tree"), folder_options("regex:^(clip\\d+)_"));
  EXPECT_EQ(scan.all.samples[0].group, "clip08");
  EXPECT_EQ(scan.all.samples[1].group, "clip07");
  EXPECT_EQ(scan.all.samples[2].group, "clip07");
  scan = data::scan_image_folder(path("tree"), folder_options("regex:clip\\d+"));
  EXPECT_EQ(scan.all.samples[0].group, "clip08");

  png("tree/violence/other.png");
  const std::string what =
      error_of([&] { data::scan_image_folder(path("tree"), folder_options("regex:^(clip\\d+)_")); });
  EXPECT_TRUE(contains(what, "does not match 1 file name(s)")) << what;
  EXPECT_TRUE(contains(what, "other.png")) << what;
}

TEST_F(DataFiles, MissingRootIsAnError) {
  EXPECT_TRUE(contains(error_of([&] { data::scan_image_folder(path("nowhere"), folder_options()); }),
                       "nowhere: not a folder"));
}

TEST_F(DataFiles, LoadDecodesFilesAndReportsBadOnesWithoutThrowing) {
  png("tree/nudity/good.png", 77);
  text("tree/nudity/bad.png", "this is text, not a PNG");
  const data::FolderScan scan = data::scan_image_folder(path("tree"), folder_options());
  ASSERT_EQ(scan.all.size(), 2u);
  const data::DecodeResult bad = scan.all.load(0, {});
  EXPECT_FALSE(bad.ok());
  EXPECT_TRUE(contains(bad.error, "bad.png")) << bad.error;
  const data::DecodeResult good = scan.all.load(1, {});
  ASSERT_TRUE(good.ok()) << good.error;
  EXPECT_EQ(good.image.width, 4);
  EXPECT_EQ(good.image.height, 3);
  EXPECT_EQ(good.image.pixels[5], 77);
}

// ---- list files ----

TEST(Csv, QuotesNewlinesAndLineNumbers) {
  const std::string text = "\xEF\xBB\xBFpath,label\r\n\"a, b.png\",nudity\r\n\r\n\"multi\nline\",\"say \"\"hi\"\"\"\n"
                           "  spaced.png , standard  \nlast,x";
  const std::vector<data::CsvRecord> records = data::parse_csv(text, "t.csv");
  ASSERT_EQ(records.size(), 5u);
  EXPECT_EQ(records[0].fields, (std::vector<std::string>{"path", "label"}));
  EXPECT_EQ(records[1].fields, (std::vector<std::string>{"a, b.png", "nudity"}));
  EXPECT_EQ(records[1].line, 2);
  EXPECT_EQ(records[2].fields, (std::vector<std::string>{"multi\nline", "say \"hi\""}));
  EXPECT_EQ(records[2].line, 4);
  EXPECT_EQ(records[3].fields, (std::vector<std::string>{"spaced.png", "standard"}));
  EXPECT_EQ(records[3].line, 6);
  EXPECT_EQ(records[4].line, 7);
  EXPECT_TRUE(contains(error_of([] { data::parse_csv("a,b\n\"open,x\n", "t.csv"); }), "t.csv:2: unterminated"));
  EXPECT_TRUE(contains(error_of([] { data::parse_csv("a,b\nx\"y,z\n", "t.csv"); }), "t.csv:2: a quote inside"));
  EXPECT_TRUE(contains(error_of([] { data::parse_csv("\"a\"b,c\n", "t.csv"); }), "t.csv:1: unexpected character"));
  for (const std::string& value : {std::string("plain"), std::string("a,b"), std::string("q\"q"),
                                   std::string(" lead"), std::string("two\nlines")}) {
    const std::vector<data::CsvRecord> back = data::parse_csv(data::csv_field(value) + ",x\n", "t.csv");
    ASSERT_EQ(back.size(), 1u);
    EXPECT_EQ(back[0].fields[0], value);
  }
}

TEST_F(DataFiles, ListFileResolvesPathsMapsLabelsAndReadsGroups) {
  text("lists/data.csv",
       "path,label,group\n"
       "img/a.png,nudity,g1\n"
       "\"img/with, comma.png\",fight,g1\n"
       "/abs/c.png,standard,\n"
       "img/skip.png,junk,\n");
  data::ListOptions o;
  o.classes = kClasses;
  o.class_map = data::parse_class_map("fight=violence,junk=-", kClasses);
  const Dataset d = data::read_list_file(path("lists/data.csv"), o);
  ASSERT_EQ(d.size(), 3u);
  EXPECT_EQ(d.samples[0].path, path("lists/img/a.png"));
  EXPECT_EQ(d.samples[0].group, "g1");
  EXPECT_EQ(d.samples[1].path, path("lists/img/with, comma.png"));
  EXPECT_EQ(d.samples[1].label, 1);
  EXPECT_EQ(d.samples[2].path, "/abs/c.png");
  EXPECT_EQ(d.samples[2].group, "");

  text("lists/noheader.csv", "x/one.png,standard\nx/two.png,nudity\n");
  o.class_map.clear();
  o.group = data::parse_group_rule("folder");
  const Dataset h = data::read_list_file(path("lists/noheader.csv"), o);
  ASSERT_EQ(h.size(), 2u);
  EXPECT_EQ(h.samples[0].group, path("lists/x"));
}

TEST_F(DataFiles, ListFileErrorsNameTheFileAndLine) {
  data::ListOptions o;
  o.classes = kClasses;
  auto error_for = [&](const std::string& content) {
    const std::string p = text("bad.csv", content);
    return error_of([&] { data::read_list_file(p, o); });
  };
  std::string what = error_for("path,label\na.png,nudity\nb.png,cat\n");
  EXPECT_TRUE(contains(what, "bad.csv:3: unknown label 'cat' (classes: nudity, violence, standard"));
  what = error_for("a.png,nudity,g,extra\n");
  EXPECT_TRUE(contains(what, "bad.csv:1: expected 2 or 3 fields")) << what;
  what = error_for("a.png\n");
  EXPECT_TRUE(contains(what, "bad.csv:1: expected 2 or 3 fields")) << what;
  what = error_for("a.png,nudity\n,standard\n");
  EXPECT_TRUE(contains(what, "bad.csv:2: empty path")) << what;
  what = error_for("a.png,nudity\n\"b.png,standard\n");
  EXPECT_TRUE(contains(what, "bad.csv:2: unterminated quoted field")) << what;
  what = error_of([&] { data::read_list_file(path("missing.csv"), o); });
  EXPECT_TRUE(contains(what, "missing.csv: cannot open")) << what;
}

// ---- in-memory images ----

TEST(InMemory, LoadConvertsChannelsAndSubsetKeepsTheBank) {
  auto bank = std::make_shared<data::ImageBank>();
  bank->width = 2;
  bank->height = 1;
  bank->channels = 1;
  bank->pixels = {10, 20, 30, 40};
  Dataset d;
  d.classes = {"a", "b"};
  d.memory = bank;
  d.samples = {{"mem#0", 0, "", 0}, {"mem#1", 1, "", 1}};
  data::DecodeOptions gray;
  gray.channels = 1;
  EXPECT_EQ(d.load(1, gray).image.pixels, (std::vector<uint8_t>{30, 40}));
  const data::DecodeResult rgb = d.load(0, {});
  ASSERT_TRUE(rgb.ok());
  EXPECT_EQ(rgb.image.channels, 3);
  EXPECT_EQ(rgb.image.pixels, (std::vector<uint8_t>{10, 10, 10, 20, 20, 20}));
  const Dataset one = d.subset({1});
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one.load(0, gray).image.pixels, (std::vector<uint8_t>{30, 40}));
  EXPECT_THROW(d.subset({2}), Error);
}

// ---- IDX ----

std::string idx_bytes(uint8_t type, const std::vector<uint32_t>& dims, const std::vector<uint8_t>& values) {
  std::string out = {0, 0, static_cast<char>(type), static_cast<char>(dims.size())};
  for (uint32_t d : dims)
    for (int shift = 24; shift >= 0; shift -= 8) out += static_cast<char>((d >> shift) & 0xff);
  out.append(values.begin(), values.end());
  return out;
}

void write_gzip(const std::string& path, const std::string& bytes) {
#if !VIGIL_WITH_ZLIB
  FAIL() << "built without zlib: cannot write " << path << " (" << bytes.size() << " bytes)";
#else
  gzFile file = gzopen(path.c_str(), "wb");
  ASSERT_NE(file, nullptr);
  ASSERT_EQ(gzwrite(file, bytes.data(), static_cast<unsigned>(bytes.size())), static_cast<int>(bytes.size()));
  ASSERT_EQ(gzclose(file), Z_OK);
#endif
}

#define SKIP_WITHOUT_ZLIB() \
  if (!VIGIL_WITH_ZLIB) GTEST_SKIP() << "vigil was built without zlib: gzip'd IDX files are unsupported"

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

TEST_F(DataFiles, IdxGzipAndRawRoundTrip) {
  SKIP_WITHOUT_ZLIB();
  std::vector<uint8_t> pixels(3 * 2 * 4);
  for (size_t i = 0; i < pixels.size(); ++i) pixels[i] = static_cast<uint8_t>(i * 7);
  write_gzip(path("images.gz"), idx_bytes(0x08, {3, 2, 4}, pixels));
  text("labels.idx", idx_bytes(0x08, {3}, {2, 0, 1}));
  const data::IdxArray images = data::read_idx_file(path("images.gz"));
  EXPECT_EQ(images.dims, (std::vector<int64_t>{3, 2, 4}));
  EXPECT_EQ(images.values, pixels);

  const Dataset d = data::load_idx_dataset(path("images.gz"), path("labels.idx"), {"a", "b", "c"});
  ASSERT_EQ(d.size(), 3u);
  EXPECT_EQ(d.samples[0].label, 2);
  EXPECT_EQ(d.samples[2].path, path("images.gz") + "#2");
  data::DecodeOptions gray;
  gray.channels = 1;
  const data::DecodeResult third = d.load(2, gray);
  ASSERT_TRUE(third.ok());
  EXPECT_EQ(third.image.width, 4);
  EXPECT_EQ(third.image.height, 2);
  EXPECT_EQ(third.image.pixels, std::vector<uint8_t>(pixels.begin() + 16, pixels.end()));
}

TEST_F(DataFiles, IdxValidationErrors) {
  SKIP_WITHOUT_ZLIB();
  auto error_for = [&](const std::string& bytes) {
    text("bad.idx", bytes);
    return error_of([&] { data::read_idx_file(path("bad.idx")); });
  };
  EXPECT_TRUE(contains(error_for(std::string("\x01\x00\x08\x01\0\0\0\1x", 9)), "magic number must start"));
  EXPECT_TRUE(contains(error_for(idx_bytes(0x0D, {1}, {0, 0, 0, 0})), "unsupported IDX element type 0xd"));
  EXPECT_TRUE(contains(error_for(idx_bytes(0x08, {}, {})), "dimension count 0"));
  EXPECT_TRUE(contains(error_for(idx_bytes(0x08, {2, 0}, {})), "dimension 1 is zero"));
  EXPECT_TRUE(contains(error_for(idx_bytes(0x08, {10}, {1, 2, 3})),
                       "truncated: the header says 10 bytes of data, the file has 3"));
  EXPECT_TRUE(contains(error_for(idx_bytes(0x08, {2}, {1, 2, 3})), "1 unexpected bytes after"));
  EXPECT_TRUE(contains(error_for(std::string("\0\0\x08\x02\0\0", 6)), "truncated: the header needs 12 bytes"));
  EXPECT_TRUE(contains(error_for(idx_bytes(0x08, {100000, 100000}, {})), "more than"));
  EXPECT_TRUE(contains(error_of([&] { data::read_idx_file(path("absent.gz")); }), "absent.gz: cannot open"));

  // A gzip file cut short, and one with a damaged deflate stream.
  std::vector<uint8_t> values(5000);
  for (size_t i = 0; i < values.size(); ++i) values[i] = static_cast<uint8_t>((i * 2654435761u) >> 13);
  write_gzip(path("good.gz"), idx_bytes(0x08, {5000}, values));
  const std::string gz = read_file(path("good.gz"));
  text("cut.gz", gz.substr(0, gz.size() / 2));
  std::string what = error_of([&] { data::read_idx_file(path("cut.gz")); });
  EXPECT_TRUE(contains(what, "cut.gz: truncated gzip stream")) << what;
  std::string damaged = gz;
  for (size_t i = 20; i < 60; ++i) damaged[i] = static_cast<char>(damaged[i] ^ 0x5a);
  text("damaged.gz", damaged);
  what = error_of([&] { data::read_idx_file(path("damaged.gz")); });
  EXPECT_TRUE(contains(what, "damaged.gz: corrupt gzip stream") || contains(what, "damaged.gz: truncated")) << what;
}

TEST_F(DataFiles, IdxDatasetChecksCountsAndLabels) {
  SKIP_WITHOUT_ZLIB();
  write_gzip(path("img.gz"), idx_bytes(0x08, {2, 1, 1}, {5, 6}));
  write_gzip(path("three.gz"), idx_bytes(0x08, {3}, {0, 1, 1}));
  write_gzip(path("big.gz"), idx_bytes(0x08, {2}, {0, 9}));
  write_gzip(path("flat.gz"), idx_bytes(0x08, {2}, {5, 6}));
  EXPECT_TRUE(contains(error_of([&] { data::load_idx_dataset(path("img.gz"), path("three.gz"), {"a", "b"}); }),
                       "holds 2 images but"));
  EXPECT_TRUE(contains(error_of([&] { data::load_idx_dataset(path("img.gz"), path("big.gz"), {"a", "b"}); }),
                       "label 9 of item 1 is not below the class count 2"));
  EXPECT_TRUE(contains(error_of([&] { data::load_idx_dataset(path("flat.gz"), path("big.gz"), {"a", "b"}); }),
                       "expected 3 IDX dimensions"));
  EXPECT_TRUE(contains(error_of([&] { data::load_fashion_mnist(path("none"), "train"); }),
                       "apt-get install dataset-fashion-mnist"));
  EXPECT_TRUE(contains(error_of([&] { data::load_fashion_mnist(path("none"), "validation"); }),
                       "must be 'train' or 'test'"));
}

TEST(FashionMnist, InstalledDataSetHasTheExpectedCountsAndHistogram) {
  SKIP_WITHOUT_ZLIB();
  if (!fs::exists(std::string(data::kFashionMnistDir) + "/train-images-idx3-ubyte.gz"))
    GTEST_SKIP() << "Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)";
  for (const auto& [split, count] : {std::pair<std::string, int64_t>{"train", 60000}, {"test", 10000}}) {
    const Dataset d = data::load_fashion_mnist(data::kFashionMnistDir, split);
    ASSERT_EQ(static_cast<int64_t>(d.size()), count) << split;
    EXPECT_EQ(d.classes, data::fashion_mnist_classes());
    EXPECT_EQ(d.memory->width, 28);
    EXPECT_EQ(d.memory->height, 28);
    EXPECT_EQ(d.class_counts(), std::vector<int64_t>(10, count / 10)) << split;
    double sum = 0;
    for (uint8_t v : d.memory->pixels) sum += v;
    // The fmnist preset's normalisation mean (0.286) is the mean pixel of the training set.
    if (split == "train") {
      EXPECT_NEAR(sum / d.memory->pixels.size() / 255.0, 0.286, 0.001);
    }
  }
}

// ---- scripts/video_to_frames.sh ----

int run_shell(const std::string& command) {
  const int status = std::system(command.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST_F(DataFiles, VideoToFramesOnTwoSurveillanceClips) {
  const fs::path videos = fs::path(VIGIL_SOURCE_DIR "/../shared/data/surveillance-fight");
  if (!fs::exists(videos / "fight/fi001.mp4") || !fs::exists(videos / "noFight/nofi001.mp4"))
    GTEST_SKIP() << "no " << videos.string() << " (shared data absent)";
  if (run_shell("command -v ffmpeg >/dev/null 2>&1") != 0) GTEST_SKIP() << "ffmpeg is not installed";
  fs::create_directories(dir_ / "videos/fight");
  fs::create_directories(dir_ / "videos/noFight");
  fs::create_symlink(videos / "fight/fi001.mp4", dir_ / "videos/fight/fi001.mp4");
  fs::create_symlink(videos / "noFight/nofi001.mp4", dir_ / "videos/noFight/nofi001.mp4");
  text("videos/noFight/broken.mp4", "not a video");
  const std::string script = VIGIL_SOURCE_DIR "/scripts/video_to_frames.sh";
  const std::string command = "bash " + script + " --fps 2 --size 64 --max-frames 3 " + path("videos") + " " +
                              path("frames") + " > " + path("log1.txt") + " 2>&1";
  EXPECT_EQ(run_shell(command), 1) << read_file(path("log1.txt"));  // one clip failed
  const std::string log1 = read_file(path("log1.txt"));
  EXPECT_TRUE(contains(log1, "FAILED noFight/broken")) << log1;
  EXPECT_TRUE(contains(log1, "2 done, 0 skipped, 1 failed")) << log1;
  EXPECT_TRUE(fs::exists(dir_ / "frames/fight/fi001/frame_0001.jpg"));
  EXPECT_TRUE(fs::exists(dir_ / "frames/noFight/nofi001/frame_0001.jpg"));
  EXPECT_FALSE(fs::exists(dir_ / "frames/fight/fi001/frame_0004.jpg"));  // --max-frames 3
  EXPECT_FALSE(fs::exists(dir_ / "frames/noFight/broken"));

  fs::remove(dir_ / "videos/noFight/broken.mp4");
  const std::string again = "bash " + script + " --fps 2 --size 64 --max-frames 3 " + path("videos") + " " +
                            path("frames") + " > " + path("log2.txt") + " 2>&1";
  EXPECT_EQ(run_shell(again), 0) << read_file(path("log2.txt"));
  EXPECT_TRUE(contains(read_file(path("log2.txt")), "0 done, 2 skipped, 0 failed")) << read_file(path("log2.txt"));

  // The frame folders are an ImageFolder with one group per clip.
  FolderOptions o = folder_options("folder");
  o.class_map = data::parse_class_map("fight=violence,noFight=standard", kClasses);
  const data::FolderScan scan = data::scan_image_folder(path("frames"), o);
  ASSERT_GE(scan.all.size(), 2u);
  for (const data::Sample& s : scan.all.samples) {
    EXPECT_TRUE(s.group == "fight/fi001" || s.group == "noFight/nofi001") << s.group;
    const data::DecodeResult frame = data::decode_file(s.path);
    ASSERT_TRUE(frame.ok()) << frame.error;
    EXPECT_EQ(std::min(frame.image.width, frame.image.height), 64);
  }
}

}  // namespace
}  // namespace vigil::test
