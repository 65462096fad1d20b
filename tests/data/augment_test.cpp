// Augmentation: torchvision's RandomResizedCrop rules on Philox draws, the pixel operations on hand-checked
// cases, and determinism (same seed/stream -> same pixels on 1 or 4 threads; another stream -> other pixels).
#include "data/augment.h"

#include <gtest/gtest.h>

#include <cmath>
#include <thread>
#include <vector>

#include "common/error.h"

namespace vigil::test {
namespace {

using data::AugmentOptions;
using data::Image;

const uint8_t kWhite[3] = {255, 255, 255};

// A w x h image with a pattern that makes every pixel and channel distinguishable.
Image pattern(int w, int h, int channels) {
  Image im;
  im.width = w;
  im.height = h;
  im.channels = channels;
  im.pixels.resize(static_cast<size_t>(w) * h * channels);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int c = 0; c < channels; ++c)
        im.pixels[(static_cast<size_t>(y) * w + x) * channels + c] = static_cast<uint8_t>((x * 13 + y * 29 + c * 71) & 0xff);
  return im;
}

uint8_t at(const Image& im, int x, int y, int c = 0) {
  return im.pixels[(static_cast<size_t>(y) * im.width + x) * im.channels + c];
}

TEST(Augment, RandomResizedCropDrawsFollowTorchvisionsRules) {
  AugmentOptions o;
  const int W = 200, H = 120;
  for (uint64_t stream = 0; stream < 500; ++stream) {
    const data::AugmentDraw d = data::draw_augmentation(W, H, o, 7, stream);
    ASSERT_GE(d.crop_left, 0);
    ASSERT_GE(d.crop_top, 0);
    ASSERT_LE(d.crop_left + d.crop_width, W);
    ASSERT_LE(d.crop_top + d.crop_height, H);
    const double area = static_cast<double>(d.crop_width) * d.crop_height / (W * H);
    const double ratio = static_cast<double>(d.crop_width) / d.crop_height;
    // Rounding w and h to whole pixels moves area and ratio slightly off their drawn values.
    EXPECT_GT(area, 0.08 * 0.8) << stream;
    if (d.crop_width < W && d.crop_height < H) {
      EXPECT_GT(ratio, o.ratio_min * 0.85) << stream;
      EXPECT_LT(ratio, o.ratio_max * 1.15) << stream;
    }
  }
  // Same (seed, stream) -> same draw; another stream -> another crop.
  const data::AugmentDraw a = data::draw_augmentation(W, H, o, 7, 3), b = data::draw_augmentation(W, H, o, 7, 3);
  EXPECT_EQ(a.crop_left, b.crop_left);
  EXPECT_EQ(a.crop_width, b.crop_width);
  EXPECT_EQ(a.flip, b.flip);
}

TEST(Augment, CropFallbackIsTheCentredCropWithTheRatioClamped) {
  AugmentOptions o;
  o.scale_min = o.scale_max = 1.0f;  // the whole area with a ratio of 2..3 never fits a square
  o.ratio_min = 2.0f;
  o.ratio_max = 3.0f;
  const data::AugmentDraw d = data::draw_augmentation(100, 100, o, 1, 1);
  EXPECT_EQ(d.crop_width, 100);
  EXPECT_EQ(d.crop_height, 50);
  EXPECT_EQ(d.crop_left, 0);
  EXPECT_EQ(d.crop_top, 25);
}

TEST(Augment, FlipAndJitterDrawsHaveTheRightRates) {
  AugmentOptions o;
  o.brightness = 0.4f;
  int flips = 0;
  float lo = 10, hi = -10;
  for (uint64_t stream = 0; stream < 2000; ++stream) {
    const data::AugmentDraw d = data::draw_augmentation(10, 10, o, 3, stream);
    flips += d.flip;
    lo = std::min(lo, d.brightness);
    hi = std::max(hi, d.brightness);
    EXPECT_EQ(d.contrast, 1.0f);
  }
  EXPECT_NEAR(flips / 2000.0, 0.5, 0.05);
  EXPECT_GE(lo, 0.6f);
  EXPECT_LE(hi, 1.4f);
  EXPECT_LT(lo, 0.65f);
  EXPECT_GT(hi, 1.35f);
}

TEST(Augment, CropAndFlipMovePixelsExactly) {
  const Image im = pattern(5, 4, 3);
  const Image crop = data::crop_image(im, 1, 2, 3, 2);
  ASSERT_EQ(crop.width, 3);
  ASSERT_EQ(crop.height, 2);
  for (int y = 0; y < 2; ++y)
    for (int x = 0; x < 3; ++x)
      for (int c = 0; c < 3; ++c) EXPECT_EQ(at(crop, x, y, c), at(im, x + 1, y + 2, c));
  EXPECT_THROW(data::crop_image(im, 3, 0, 3, 1), Error);
  Image flipped = im;
  data::flip_horizontal(flipped);
  for (int y = 0; y < 4; ++y)
    for (int x = 0; x < 5; ++x)
      for (int c = 0; c < 3; ++c) EXPECT_EQ(at(flipped, x, y, c), at(im, 4 - x, y, c));
}

TEST(Augment, AffineTranslatesRotatesAndFillsWithTheBackground) {
  const Image im = pattern(6, 6, 3);
  const uint8_t fill[3] = {1, 2, 3};
  const Image shifted = data::affine_image(im, 0.0f, 2, -1, fill);
  for (int y = 0; y < 6; ++y)
    for (int x = 0; x < 6; ++x)
      for (int c = 0; c < 3; ++c) {
        const int sx = x - 2, sy = y + 1;
        const bool inside = sx >= 0 && sy < 6;
        EXPECT_EQ(at(shifted, x, y, c), inside ? at(im, sx, sy, c) : fill[c]) << x << "," << y;
      }
  // 90 degrees counter-clockwise: the right edge moves to the top (output (x, y) <- source (W-1-y, x)).
  const Image turned = data::affine_image(im, 90.0f, 0, 0, fill);
  for (int y = 0; y < 6; ++y)
    for (int x = 0; x < 6; ++x) EXPECT_NEAR(at(turned, x, y, 1), at(im, 5 - y, x, 1), 1) << x << "," << y;
  // 180 degrees equals flipping both ways.
  const Image half = data::affine_image(im, 180.0f, 0, 0, fill);
  for (int y = 0; y < 6; ++y)
    for (int x = 0; x < 6; ++x) EXPECT_NEAR(at(half, x, y, 0), at(im, 5 - x, 5 - y, 0), 1);
  // A gray image uses fill[0].
  const Image gray = data::affine_image(pattern(4, 4, 1), 0.0f, 4, 0, fill);
  EXPECT_EQ(at(gray, 0, 0), 1);
}

TEST(Augment, ColourJitterFollowsTorchvisionsBlends) {
  Image im = pattern(4, 2, 3);
  Image bright = im;
  data::jitter_colour(bright, 2.0f, 1.0f, 1.0f);
  for (size_t i = 0; i < im.pixels.size(); ++i) EXPECT_EQ(bright.pixels[i], std::min(255, 2 * im.pixels[i]));
  Image flat = im;
  data::jitter_colour(flat, 1.0f, 0.0f, 1.0f);  // contrast 0: every value becomes the mean luma
  for (uint8_t v : flat.pixels) EXPECT_EQ(v, flat.pixels[0]);
  Image gray = im;
  data::jitter_colour(gray, 1.0f, 1.0f, 0.0f);  // saturation 0: r = g = b = luma
  for (size_t p = 0; p < 8; ++p) {
    const float luma = 0.299f * im.pixels[3 * p] + 0.587f * im.pixels[3 * p + 1] + 0.114f * im.pixels[3 * p + 2];
    for (int c = 0; c < 3; ++c) EXPECT_NEAR(gray.pixels[3 * p + c], luma, 0.51f);
  }
  Image same = im;
  data::jitter_colour(same, 1.0f, 1.0f, 1.0f);
  EXPECT_EQ(same.pixels, im.pixels);
}

AugmentOptions everything_on() {
  AugmentOptions o;
  o.rotation_degrees = 15;
  o.translate_fraction = 0.1f;
  o.brightness = o.contrast = o.saturation = 0.3f;
  return o;
}

// Augments images 0..n-1 of epoch 2 (stream = epoch * n + index) on `threads` threads.
std::vector<Image> augment_all(const std::vector<Image>& inputs, int threads) {
  std::vector<Image> out(inputs.size());
  const AugmentOptions o = everything_on();
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&, t] {
      for (size_t i = t; i < inputs.size(); i += threads)
        out[i] = data::augment_image(inputs[i], 24, 20, o, kWhite, 99, data::augment_stream(2, inputs.size(), i));
    });
  for (std::thread& th : pool) th.join();
  return out;
}

TEST(Augment, SameSeedEpochAndIndexGiveTheSamePixelsOnAnyThreadCount) {
  std::vector<Image> inputs;
  for (int i = 0; i < 24; ++i) inputs.push_back(pattern(40 + i, 30 + (i % 5), i % 3 == 0 ? 1 : 3));
  const std::vector<Image> one = augment_all(inputs, 1), four = augment_all(inputs, 4);
  for (size_t i = 0; i < inputs.size(); ++i) {
    EXPECT_EQ(one[i].width, 24);
    EXPECT_EQ(one[i].height, 20);
    EXPECT_EQ(one[i].channels, inputs[i].channels);
    EXPECT_EQ(one[i].pixels, four[i].pixels) << i;
  }
  // Another index (stream) of the same image gives other pixels.
  const AugmentOptions o = everything_on();
  const Image a = data::augment_image(inputs[1], 24, 20, o, kWhite, 99, data::augment_stream(2, 24, 1));
  const Image b = data::augment_image(inputs[1], 24, 20, o, kWhite, 99, data::augment_stream(2, 24, 2));
  const Image c = data::augment_image(inputs[1], 24, 20, o, kWhite, 100, data::augment_stream(2, 24, 1));
  EXPECT_EQ(a.pixels, one[1].pixels);
  EXPECT_NE(a.pixels, b.pixels);
  EXPECT_NE(a.pixels, c.pixels);
  EXPECT_EQ(data::augment_stream(3, 1000, 7), 3007u);
}

TEST(Augment, WithoutRandomCropTheImageIsResizedWhole) {
  AugmentOptions o;
  o.random_resized_crop = false;
  o.flip_probability = 0;
  const Image im = pattern(8, 8, 3);
  EXPECT_EQ(data::augment_image(im, 8, 8, o, kWhite, 1, 1).pixels, im.pixels);  // nothing random is on
  const Image half = data::augment_image(im, 4, 4, o, kWhite, 1, 1);
  EXPECT_EQ(half.width, 4);
  EXPECT_EQ(half.height, 4);
}

TEST(Augment, OptionValidation) {
  AugmentOptions o;
  EXPECT_NO_THROW(data::validate_augment_options(o));
  o.scale_min = 0.9f;
  o.scale_max = 0.5f;
  EXPECT_THROW(data::validate_augment_options(o), Error);
  o = AugmentOptions();
  o.brightness = -1;
  EXPECT_THROW(data::validate_augment_options(o), Error);
  o = AugmentOptions();
  o.flip_probability = 2;
  EXPECT_THROW(data::validate_augment_options(o), Error);
  EXPECT_THROW(data::augment_image(pattern(4, 4, 2), 4, 4, AugmentOptions(), kWhite, 1, 1), Error);
}

}  // namespace
}  // namespace vigil::test
