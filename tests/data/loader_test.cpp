// Loader: every sample exactly once per epoch in a seeded order (1 and 3 workers), class-balanced draws, partial
// batches, corrupt files skipped and counted, the bounded queue, the decoded cache, training augmentation that
// does not depend on the worker count, error propagation and destruction in the middle of an epoch.
#include "data/loader.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#define STB_IMAGE_WRITE_STATIC
#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb/stb_image_write.h>
#pragma GCC diagnostic pop

#include "common/error.h"
#include "data/preprocess.h"

namespace vigil::test {
namespace {

namespace fs = std::filesystem;
using data::Batch;
using data::Dataset;
using data::Loader;
using data::LoaderOptions;

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

ModelSpec gray_spec(const std::vector<std::string>& classes, int size = 4) {
  ModelSpec spec;
  spec.name = "loader-test";
  spec.input.channels = 1;
  spec.input.height = spec.input.width = size;
  spec.preprocess.mean = {0.0f};
  spec.preprocess.std = {1.0f};
  spec.classes = classes;
  return spec;
}

// N in-memory 4x4 gray images; image i stores i in its first two pixels (low byte, high byte).
Dataset numbered_dataset(const std::vector<int>& per_class) {
  Dataset d;
  auto bank = std::make_shared<data::ImageBank>();
  bank->width = bank->height = 4;
  bank->channels = 1;
  for (size_t c = 0; c < per_class.size(); ++c) {
    d.classes.push_back("c" + std::to_string(c));
    for (int k = 0; k < per_class[c]; ++k) {
      const int64_t i = static_cast<int64_t>(d.samples.size());
      d.samples.push_back({"mem#" + std::to_string(i), static_cast<int>(c), "", i});
      std::vector<uint8_t> pixels(16, static_cast<uint8_t>(c * 50));
      pixels[0] = static_cast<uint8_t>(i & 0xff);
      pixels[1] = static_cast<uint8_t>(i >> 8);
      bank->pixels.insert(bank->pixels.end(), pixels.begin(), pixels.end());
    }
  }
  d.memory = bank;
  d.source = "numbered";
  return d;
}

// The sample number stored in row `row` of an evaluation batch (mean 0, std 1: value = pixel / 255).
size_t number_in_row(const Batch& b, int64_t row) {
  const float* p = b.images.f32() + row * b.images.size(1) * b.images.size(2) * b.images.size(3);
  return static_cast<size_t>(std::lround(p[0] * 255)) + 256 * static_cast<size_t>(std::lround(p[1] * 255));
}

// Runs one epoch; returns the sample order and checks each row's pixels and label against its index.
std::vector<size_t> run_epoch(Loader& loader, int64_t epoch, bool check_rows = true) {
  loader.start_epoch(epoch);
  std::vector<size_t> order;
  Batch b;
  size_t expected_number = 0;
  while (loader.next(b)) {
    EXPECT_EQ(b.epoch, epoch);
    EXPECT_EQ(b.number, expected_number++);
    EXPECT_EQ(b.images.size(0), static_cast<int64_t>(b.size()));
    EXPECT_EQ(b.labels.size(0), static_cast<int64_t>(b.size()));
    const int32_t* labels = b.labels.data<int32_t>();
    for (size_t r = 0; r < b.size(); ++r) {
      if (check_rows) {
        EXPECT_EQ(number_in_row(b, static_cast<int64_t>(r)), b.indices[r]);
      }
      EXPECT_EQ(labels[r], loader.dataset().samples[b.indices[r]].label);
      order.push_back(b.indices[r]);
    }
  }
  return order;
}

TEST(Loader, EverySampleExactlyOncePerEpochWithOneOrThreeWorkers) {
  const Dataset d = numbered_dataset({60, 43});
  std::map<int, std::vector<std::vector<size_t>>> orders;
  for (int workers : {1, 3}) {
    LoaderOptions o;
    o.batch_size = 10;
    o.workers = workers;
    o.seed = 5;
    Loader loader(d, gray_spec(d.classes), o);
    EXPECT_EQ(loader.batches_per_epoch(), 11u);
    for (int64_t epoch = 0; epoch < 2; ++epoch) {
      const std::vector<size_t> order = run_epoch(loader, epoch);
      ASSERT_EQ(order.size(), 103u);
      EXPECT_EQ(std::set<size_t>(order.begin(), order.end()).size(), 103u);
      orders[workers].push_back(order);
    }
  }
  EXPECT_EQ(orders[1], orders[3]);            // the order depends on the seed, not the worker count
  EXPECT_NE(orders[1][0], orders[1][1]);      // and changes from epoch to epoch
  std::vector<size_t> sorted = orders[1][0];
  std::sort(sorted.begin(), sorted.end());
  EXPECT_NE(sorted, orders[1][0]);
}

TEST(Loader, SequentialOrderAndDropLast) {
  const Dataset d = numbered_dataset({25});
  LoaderOptions o;
  o.batch_size = 10;
  o.sampling = data::Sampling::Sequential;
  Loader keep(d, gray_spec(d.classes), o);
  std::vector<size_t> expected(25);
  for (size_t i = 0; i < 25; ++i) expected[i] = i;
  EXPECT_EQ(run_epoch(keep, 0), expected);
  o.drop_last = true;
  Loader drop(d, gray_spec(d.classes), o);
  EXPECT_EQ(drop.batches_per_epoch(), 2u);
  EXPECT_EQ(drop.samples_per_epoch(), 20u);
  EXPECT_EQ(run_epoch(drop, 0), std::vector<size_t>(expected.begin(), expected.begin() + 20));
}

TEST(Loader, ClassBalancedDrawsEveryClassEquallyAndReproducibly) {
  const Dataset d = numbered_dataset({900, 90, 10});
  LoaderOptions o;
  o.batch_size = 64;
  o.sampling = data::Sampling::ClassBalanced;
  o.seed = 3;
  Loader loader(d, gray_spec(d.classes), o);
  const std::vector<size_t> order = run_epoch(loader, 0);
  ASSERT_EQ(order.size(), 1000u);
  std::vector<int> per_class(3, 0);
  for (size_t i : order) ++per_class[d.samples[i].label];
  for (int c = 0; c < 3; ++c) EXPECT_NEAR(per_class[c], 333, 60) << c;
  std::set<size_t> rare;
  for (size_t i : order)
    if (d.samples[i].label == 2) rare.insert(i);
  EXPECT_EQ(rare.size(), 10u);  // with replacement: the 10 rare samples are all drawn, several times
  o.workers = 1;
  Loader again(d, gray_spec(d.classes), o);
  EXPECT_EQ(run_epoch(again, 0), order);
  EXPECT_NE(run_epoch(again, 1), order);
}

// A folder of small PNG files plus broken ones, for the file-based tests.
class LoaderFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::path(::testing::TempDir()) / (std::string("vigil_loader_") + info->name() + "_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  // A 6x5 RGB PNG with a pattern depending on `seed`.
  std::string png(const std::string& name, int seed) {
    std::vector<uint8_t> pixels(6 * 5 * 3);
    for (size_t i = 0; i < pixels.size(); ++i) pixels[i] = static_cast<uint8_t>((i * 31 + seed * 57) & 0xff);
    const std::string p = (dir_ / name).string();
    EXPECT_TRUE(stbi_write_png(p.c_str(), 6, 5, 3, pixels.data(), 6 * 3));
    return p;
  }
  std::string garbage(const std::string& name) {
    const std::string p = (dir_ / name).string();
    std::ofstream(p, std::ios::binary) << "definitely not an image";
    return p;
  }
  Dataset files_dataset(int good_per_class, bool violence_all_bad = false) {
    Dataset d;
    d.classes = {"nudity", "violence", "standard"};
    d.source = dir_.string();
    for (int c = 0; c < 3; ++c)
      for (int k = 0; k < good_per_class; ++k) {
        const std::string name = d.classes[c] + std::to_string(k) + ".png";
        d.samples.push_back({c == 1 && violence_all_bad ? garbage(name) : png(name, c * 100 + k), c, "", -1});
      }
    return d;
  }
  static ModelSpec rgb_spec() {
    ModelSpec spec;
    spec.name = "loader-test-rgb";
    spec.input.channels = 3;
    spec.input.height = spec.input.width = 4;
    spec.preprocess.mean = {0.5f, 0.4f, 0.3f};
    spec.preprocess.std = {0.2f, 0.25f, 0.3f};
    spec.classes = {"nudity", "violence", "standard"};
    return spec;
  }
  fs::path dir_;
};

TEST_F(LoaderFiles, CorruptFileIsSkippedLoggedOnceAndCounted) {
  Dataset d = files_dataset(4);
  d.samples.push_back({garbage("broken.jpg"), 2, "", -1});
  std::vector<std::string> lines;
  std::mutex lines_mutex;
  LoaderOptions o;
  o.batch_size = 5;
  o.workers = 2;
  o.log = [&](const std::string& line) {
    std::lock_guard<std::mutex> lock(lines_mutex);
    lines.push_back(line);
  };
  Loader loader(d, rgb_spec(), o);
  for (int64_t epoch = 0; epoch < 2; ++epoch) {
    const std::vector<size_t> order = run_epoch(loader, epoch, false);
    EXPECT_EQ(order.size(), 12u);
    EXPECT_EQ(std::count(order.begin(), order.end(), 12u), 0);
  }
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_TRUE(contains(lines[0], "broken.jpg")) << lines[0];
  const data::LoaderStats stats = loader.stats();
  EXPECT_EQ(stats.skipped, 2u);  // once per epoch
  EXPECT_EQ(stats.unusable_files, 1u);
  EXPECT_EQ(stats.loaded, 24u);
}

TEST_F(LoaderFiles, ClassWhoseEveryFileFailsIsAnErrorNamingIt) {
  const Dataset d = files_dataset(3, /*violence_all_bad=*/true);
  LoaderOptions o;
  o.batch_size = 4;
  o.log = [](const std::string&) {};
  Loader loader(d, rgb_spec(), o);
  loader.start_epoch(0);
  Batch b;
  try {
    while (loader.next(b)) {
    }
    ADD_FAILURE() << "expected an error at the end of the epoch";
  } catch (const Error& e) {
    EXPECT_TRUE(contains(e.what(), "no usable images of class 'violence'")) << e.what();
  }
}

TEST_F(LoaderFiles, ConstructionErrors) {
  Dataset d = files_dataset(2);
  const ModelSpec spec = rgb_spec();
  auto error_of = [&](const Dataset& data, const ModelSpec& s, const LoaderOptions& o) -> std::string {
    try {
      Loader loader(data, s, o);
    } catch (const Error& e) {
      return e.what();
    }
    return "(no error)";
  };
  LoaderOptions o;
  Dataset missing_class = d.subset({0, 1, 4, 5});
  EXPECT_TRUE(contains(error_of(missing_class, spec, o), "no images of class 'violence'"));
  ModelSpec other = spec;
  other.classes = {"standard", "violence", "nudity"};
  EXPECT_TRUE(contains(error_of(d, other, o), "differ from the model's"));
  o.batch_size = 0;
  EXPECT_TRUE(contains(error_of(d, spec, o), "batch_size must be >= 1"));
  o = LoaderOptions();
  o.cache_bytes = 1000;
  o.cache_file = (dir_ / "no/such/dir/cache.bin").string();
  EXPECT_TRUE(contains(error_of(d, spec, o), "cannot create the loader's cache file"));
  Loader idle(d, spec, LoaderOptions());
  Batch b;
  EXPECT_THROW(idle.next(b), Error);  // before start_epoch
}

std::vector<std::vector<float>> epoch_tensors(Loader& loader, int64_t epoch) {
  loader.start_epoch(epoch);
  std::vector<std::vector<float>> out;
  Batch b;
  while (loader.next(b)) out.push_back(b.images.to_vector());
  return out;
}

TEST_F(LoaderFiles, DecodedCacheAvoidsDecodingAgainAndGivesTheSameTensors) {
  const Dataset d = files_dataset(5);
  LoaderOptions plain;
  plain.batch_size = 4;
  plain.sampling = data::Sampling::Sequential;
  Loader reference(d, rgb_spec(), plain);
  const auto expected = epoch_tensors(reference, 0);
  // Evaluation batches hold exactly what the model's own preprocessing makes of each decoded file.
  std::vector<float> first_batch;
  for (size_t i = 0; i < 4; ++i) {
    const data::DecodeResult decoded = data::decode_file(d.samples[i].path, data::decode_options_for(rgb_spec()));
    ASSERT_TRUE(decoded.ok()) << decoded.error;
    const std::vector<float> one = data::preprocess_image(decoded.image, rgb_spec());
    first_batch.insert(first_batch.end(), one.begin(), one.end());
  }
  EXPECT_EQ(expected.at(0), first_batch);

  for (const std::string& cache_file : {std::string(), (dir_ / "cache.bin").string()}) {
    LoaderOptions o = plain;
    o.cache_bytes = 1 << 20;
    o.cache_file = cache_file;
    {
      Loader cached(d, rgb_spec(), o);
      EXPECT_EQ(epoch_tensors(cached, 0), expected);
      EXPECT_EQ(epoch_tensors(cached, 1), expected);
      const data::LoaderStats stats = cached.stats();
      EXPECT_EQ(stats.decoded, 15u) << cache_file;
      EXPECT_EQ(stats.cache_hits, 15u) << cache_file;
      EXPECT_EQ(stats.cache_bytes, 15u * 4 * 4 * 3) << cache_file;
      EXPECT_TRUE(cache_file.empty() || fs::exists(cache_file));
    }
    EXPECT_TRUE(cache_file.empty() || !fs::exists(cache_file));  // removed with the loader
  }
  LoaderOptions small = plain;
  small.cache_bytes = 5 * 4 * 4 * 3;  // room for 5 images
  Loader partly(d, rgb_spec(), small);
  EXPECT_EQ(epoch_tensors(partly, 0), expected);
  EXPECT_EQ(epoch_tensors(partly, 1), expected);
  EXPECT_EQ(partly.stats().decoded, 25u);
  EXPECT_EQ(partly.stats().cache_bytes, 5u * 4 * 4 * 3);
}

TEST_F(LoaderFiles, TrainingAugmentationIsTheSameForAnyWorkerCountAndCache) {
  const Dataset d = files_dataset(6);
  std::vector<std::vector<std::vector<float>>> runs;
  for (int workers : {1, 3}) {
    LoaderOptions o;
    o.batch_size = 5;
    o.workers = workers;
    o.augment = true;
    o.augmentation.rotation_degrees = 10;
    o.augmentation.brightness = 0.2f;
    o.seed = 17;
    Loader loader(d, rgb_spec(), o);
    runs.push_back(epoch_tensors(loader, 0));
    runs.push_back(epoch_tensors(loader, 1));
  }
  EXPECT_EQ(runs[0], runs[2]);
  EXPECT_EQ(runs[1], runs[3]);
  EXPECT_NE(runs[0], runs[1]);
}

TEST(Loader, PrefetchQueueNeverExceedsItsBound) {
  const Dataset d = numbered_dataset({400});
  LoaderOptions o;
  o.batch_size = 4;
  o.workers = 3;
  o.prefetch_batches = 2;
  Loader loader(d, gray_spec(d.classes), o);
  loader.start_epoch(0);
  Batch b;
  size_t batches = 0;
  while (loader.next(b)) {
    if (++batches % 10 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(2));  // a slow consumer
  }
  EXPECT_EQ(batches, 100u);
  EXPECT_GE(loader.stats().peak_batches, 1u);
  EXPECT_LE(loader.stats().peak_batches, 2u);
}

TEST(Loader, WorkerErrorsReachTheConsumer) {
  const Dataset d = numbered_dataset({20});
  LoaderOptions o;
  o.batch_size = 4;
  o.allocate_images = [](const Shape&) -> Tensor { throw Error("out of pinned memory"); };
  Loader loader(d, gray_spec(d.classes), o);
  loader.start_epoch(0);
  Batch b;
  try {
    loader.next(b);
    ADD_FAILURE() << "expected the worker's error";
  } catch (const Error& e) {
    EXPECT_TRUE(contains(e.what(), "out of pinned memory")) << e.what();
  }
  // The loader is still usable: a new epoch starts cleanly (and fails the same way here).
  loader.start_epoch(1);
  EXPECT_THROW(loader.next(b), Error);
}

TEST(Loader, DestructionAndRestartInTheMiddleOfAnEpoch) {
  const Dataset d = numbered_dataset({20000});
  LoaderOptions o;
  o.batch_size = 16;
  o.workers = 3;
  o.prefetch_batches = 8;
  const auto t0 = std::chrono::steady_clock::now();
  {
    Loader loader(d, gray_spec(d.classes), o);
    loader.start_epoch(0);
    Batch b;
    ASSERT_TRUE(loader.next(b));
    ASSERT_TRUE(loader.next(b));
    loader.start_epoch(1);  // abandon epoch 0 halfway
    std::vector<size_t> order;
    for (int i = 0; i < 3 && loader.next(b); ++i) order.insert(order.end(), b.indices.begin(), b.indices.end());
    EXPECT_EQ(order.size(), 48u);
  }  // destroyed with batches in flight
  {
    Loader never_started(d, gray_spec(d.classes), o);
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_LT(seconds, 5.0);
  Loader loader(numbered_dataset({50}), gray_spec({"c0"}), o);
  loader.start_epoch(0);
  Batch b;
  ASSERT_TRUE(loader.next(b));
  const std::vector<size_t> full = run_epoch(loader, 0);  // restart the same epoch: all of it again
  EXPECT_EQ(std::set<size_t>(full.begin(), full.end()).size(), 50u);
}

}  // namespace
}  // namespace vigil::test
