// DeviceFeeder: on the CPU and (when present) a GPU, every batch arrives on the device with the loader's pixels
// and labels, each sample once per epoch in the loader's order, the prefetch runs one batch ahead, and a resumed
// epoch that skips batches continues with the same batches as an uninterrupted one.
#include "train/device_feeder.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "common/device.h"

namespace vigil::test {
namespace {

ModelSpec gray_spec(int classes) {
  ModelSpec spec;
  spec.name = "feeder-test";
  spec.input.channels = 1;
  spec.input.height = spec.input.width = 4;
  spec.preprocess.mean = {0.0f};
  spec.preprocess.std = {1.0f};
  for (int c = 0; c < classes; ++c) spec.classes.push_back("c" + std::to_string(c));
  return spec;
}

// `n` in-memory 4x4 gray images over 3 classes; image i has value (i % 251) in every pixel.
data::Dataset numbered(int n) {
  data::Dataset d;
  auto bank = std::make_shared<data::ImageBank>();
  bank->width = bank->height = 4;
  bank->channels = 1;
  d.classes = {"c0", "c1", "c2"};
  for (int i = 0; i < n; ++i) {
    d.samples.push_back({"mem#" + std::to_string(i), i % 3, "", i});
    bank->pixels.insert(bank->pixels.end(), 16, static_cast<uint8_t>(i % 251));
  }
  d.memory = bank;
  d.source = "numbered";
  return d;
}

struct Seen {
  std::vector<size_t> order;
  size_t batches = 0;
};

// Drains the current epoch, checking every batch's device tensors against the sample numbers.
Seen drain(train::DeviceFeeder& feeder, const Device& device) {
  Seen seen;
  train::DeviceBatch b;
  while (feeder.next(b)) {
    ++seen.batches;
    EXPECT_EQ(b.images.device(), device);
    EXPECT_EQ(b.labels.device(), device);
    const Tensor images = b.images.to(Device::cpu());
    const Tensor labels = b.labels.to(Device::cpu());
    EXPECT_EQ(images.size(0), static_cast<int64_t>(b.size()));
    for (size_t r = 0; r < b.size(); ++r) {
      const size_t i = b.host.indices[r];
      seen.order.push_back(i);
      EXPECT_EQ(labels.data<int32_t>()[r], static_cast<int32_t>(i % 3));
      EXPECT_EQ(b.host.labels.data<int32_t>()[r], static_cast<int32_t>(i % 3));
      int wrong = 0;
      for (int p = 0; p < 16; ++p) wrong += images.f32()[r * 16 + p] != float(i % 251) / 255.f;
      EXPECT_EQ(wrong, 0) << "pixels of sample " << i << " (value " << images.f32()[r * 16] << ")";
    }
  }
  return seen;
}

class DeviceFeederTest : public ::testing::TestWithParam<std::string> {
 protected:
  Device device() const { return GetParam() == "cuda" ? Device::cuda(0) : Device::cpu(); }
  void SetUp() override {
    if (GetParam() == "cuda") {
      const std::string why = device::cuda_unavailable_reason();
      if (!why.empty()) GTEST_SKIP() << "no usable GPU: " << why;
    }
  }
  data::LoaderOptions options(const std::shared_ptr<PinnedHostPool>& pool) const {
    data::LoaderOptions o;
    o.batch_size = 8;
    o.workers = 2;
    o.seed = 7;
    if (pool) o.allocate_images = [pool](const Shape& s) { return pool->empty(s); };
    return o;
  }
};

TEST_P(DeviceFeederTest, EverySampleOncePerEpochWithTheLoadersData) {
  const auto pool = train::batch_pool_for(device());
  EXPECT_EQ(pool != nullptr, device().is_cuda());
  data::Loader loader(numbered(37), gray_spec(3), options(pool));
  train::DeviceFeeder feeder(loader, device());
  for (int64_t epoch = 0; epoch < 3; ++epoch) {
    feeder.start_epoch(epoch);
    const Seen seen = drain(feeder, device());
    EXPECT_EQ(seen.batches, 5u);  // 37 samples in batches of 8
    EXPECT_EQ(seen.order.size(), 37u);
    EXPECT_EQ(std::set<size_t>(seen.order.begin(), seen.order.end()).size(), 37u);
  }
  if (device().is_cuda()) {
    EXPECT_EQ(feeder.batches_copied_ahead(), 3u * 4u);  // every batch but the first of an epoch
    // Pinned buffers are recycled: the loader's queue plus the two slots, not one buffer per batch.
    EXPECT_LE(pool->stats().allocations, 8u);
    EXPECT_GT(pool->stats().reuses, 0u);
  }
}

TEST_P(DeviceFeederTest, SkippingBatchesContinuesLikeAnUninterruptedEpoch) {
  const auto pool = train::batch_pool_for(device());
  data::Loader loader(numbered(37), gray_spec(3), options(pool));
  train::DeviceFeeder feeder(loader, device());
  feeder.start_epoch(4);
  const Seen full = drain(feeder, device());
  feeder.start_epoch(4, 2);
  const Seen rest = drain(feeder, device());
  ASSERT_EQ(rest.batches, full.batches - 2);
  EXPECT_EQ(rest.order, std::vector<size_t>(full.order.begin() + 16, full.order.end()));
}

TEST_P(DeviceFeederTest, RestartingInTheMiddleOfAnEpoch) {
  const auto pool = train::batch_pool_for(device());
  data::Loader loader(numbered(37), gray_spec(3), options(pool));
  {
    train::DeviceFeeder feeder(loader, device());
    feeder.start_epoch(0);
    train::DeviceBatch b;
    ASSERT_TRUE(feeder.next(b));  // one batch handed out, the next one in flight
    feeder.start_epoch(1);        // abandons the rest of epoch 0
    EXPECT_EQ(drain(feeder, device()).order.size(), 37u);
    feeder.start_epoch(2);
    ASSERT_TRUE(feeder.next(b));
  }  // destroyed with a copy in flight: waits for it before the pinned buffer goes back
  SUCCEED();
}

INSTANTIATE_TEST_SUITE_P(Devices, DeviceFeederTest, ::testing::Values("cpu", "cuda"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace vigil::test
