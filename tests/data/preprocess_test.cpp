// Preprocessing: hand-computed resampling and crops, and golden values from scripts/golden/preprocess.py, which
// runs what torchvision's Resize/CenterCrop/ToTensor/Normalize do to a PIL image (PIL BILINEAR/BOX resize; the
// generator's docstring says why PIL stands in for torchvision). Resized pixels must match PIL exactly and the
// normalised floats within 1e-6 (both sides compute (p / 255 - mean) / std in float32).
#include "data/preprocess.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/error.h"
#include "support/allclose.h"
#include "support/golden.h"

namespace vigil::data {
namespace {

constexpr test::Tol kNormalised{1e-6, 0.0};

Image image_from(const test::GoldenTensor& t) {  // (H, W, C) uint8 values
  Image img;
  img.height = static_cast<int>(t.shape[0]);
  img.width = static_cast<int>(t.shape[1]);
  img.channels = static_cast<int>(t.shape[2]);
  img.pixels.assign(t.data.begin(), t.data.end());
  return img;
}

std::vector<float> as_floats(const Image& img) { return std::vector<float>(img.pixels.begin(), img.pixels.end()); }

Image row_image(const std::vector<uint8_t>& values, int height = 1) {
  Image img;
  img.width = static_cast<int>(values.size());
  img.height = height;
  img.channels = 1;
  for (int y = 0; y < height; ++y) img.pixels.insert(img.pixels.end(), values.begin(), values.end());
  return img;
}

ModelSpec recipe(int channels, int height, int width, const std::string& resize, const std::string& interpolation,
                 int resize_shorter, const std::string& crop, std::vector<float> mean, std::vector<float> std) {
  ModelSpec spec;
  spec.name = "test";
  spec.input = InputSpec{channels, height, width};
  spec.preprocess.resize = resize;
  spec.preprocess.interpolation = interpolation;
  spec.preprocess.resize_shorter = resize_shorter;
  spec.preprocess.crop = crop;
  spec.preprocess.mean = std::move(mean);
  spec.preprocess.std = std::move(std);
  return spec;
}

TEST(Resize, BilinearUpscaleHandComputed) {
  // Output centres 0.25, 0.75, 1.25, 1.75 over inputs at 0.5 and 1.5; edges clamp (the filter is cut and
  // renormalised at the border).
  const Image out = resize_bilinear(row_image({0, 100}), 4, 1);
  EXPECT_EQ(out.pixels, (std::vector<uint8_t>{0, 25, 75, 100}));
}

TEST(Resize, BilinearDownscaleIsAntialiased) {
  // Halving with the stretched triangle filter: each output sees 4 inputs with weights 1/8, 3/8, 3/8, 1/8
  // (renormalised at the borders), unlike point-sampled bilinear which would see only 2.
  // Output centres 1, 3, 5, 7 (input units); the support is 2: inputs at distance 0.5 weigh 3, at 1.5 weigh 1.
  const Image out = resize_bilinear(row_image({0, 0, 80, 160, 0, 0, 240, 240}), 4, 1);
  EXPECT_EQ(out.pixels[0], 11);   // inputs 0..2, weights 3,3,1 (the border cuts the 4th): 80 / 7 = 11.4
  EXPECT_EQ(out.pixels[1], 90);   // inputs 1..4, weights 1,3,3,1: (3 * 80 + 3 * 160) / 8
  EXPECT_EQ(out.pixels[2], 50);   // inputs 3..6: (160 + 240) / 8
  EXPECT_EQ(out.pixels[3], 206);  // inputs 5..7, weights 1,3,3: (3 * 240 + 3 * 240) / 7 = 205.7
}

TEST(Resize, AreaAveragesBlocks) {
  Image img;
  img.width = 4;
  img.height = 2;
  img.channels = 1;
  img.pixels = {0, 2, 10, 13, 4, 6, 20, 30};
  const Image out = resize_area(img, 2, 1);
  // Rows first, rounded to bytes, then columns (as PIL): (1 + 5) / 2 = 3; (round(11.5) = 12 + 25) / 2 = 18.5 -> 19.
  EXPECT_EQ(out.pixels, (std::vector<uint8_t>{3, 19}));
}

TEST(Resize, ConstantStaysConstantAndSameSizeIsACopy) {
  Image img;
  img.width = 13;
  img.height = 7;
  img.channels = 3;
  img.pixels.assign(13 * 7 * 3, 77);
  for (auto size : {std::pair<int, int>{5, 3}, {29, 17}, {13, 20}, {1, 1}}) {
    for (const Image& out : {resize_bilinear(img, size.first, size.second), resize_area(img, size.first, size.second)}) {
      EXPECT_EQ(out.width, size.first);
      EXPECT_EQ(out.height, size.second);
      EXPECT_EQ(out.pixels, std::vector<uint8_t>(size.first * size.second * 3, 77));
    }
  }
  Image varied = img;
  for (size_t i = 0; i < varied.pixels.size(); ++i) varied.pixels[i] = static_cast<uint8_t>(i * 31);
  EXPECT_EQ(resize_bilinear(varied, 13, 7).pixels, varied.pixels);
}

TEST(Resize, ShorterSideSizes) {
  Image img;
  img.channels = 1;
  auto sized = [&](int w, int h, int s) {
    img.width = w;
    img.height = h;
    img.pixels.assign(static_cast<size_t>(w) * h, 9);
    const Image out = resize_shorter_side(img, s, false);
    return std::pair<int, int>{out.width, out.height};
  };
  EXPECT_EQ(sized(640, 480, 256), (std::pair<int, int>{341, 256}));  // int(256 * 640 / 480) = 341
  EXPECT_EQ(sized(480, 640, 256), (std::pair<int, int>{256, 341}));
  EXPECT_EQ(sized(300, 300, 224), (std::pair<int, int>{224, 224}));
  EXPECT_EQ(sized(1000, 10, 20), (std::pair<int, int>{2000, 20}));
}

TEST(Crop, OffsetsRoundHalfToEven) {
  std::vector<uint8_t> v(9);
  for (int i = 0; i < 9; ++i) v[i] = static_cast<uint8_t>(i);
  EXPECT_EQ(center_crop(row_image(v), 4, 1).pixels[0], 2);  // (9 - 4) / 2 = 2.5 -> 2
  EXPECT_EQ(center_crop(row_image(v), 2, 1).pixels[0], 4);  // 3.5 -> 4
  EXPECT_EQ(center_crop(row_image(v), 6, 1).pixels[0], 2);  // 1.5 -> 2
  EXPECT_EQ(center_crop(row_image(v), 8, 1).pixels[0], 0);  // 0.5 -> 0
  EXPECT_EQ(center_crop(row_image(v), 3, 1).pixels[0], 3);  // 3
}

TEST(Crop, LargerCropPadsWithZeros) {
  const Image out = center_crop(row_image({5, 6}, 1), 5, 3);  // pad left 1, top 1
  EXPECT_EQ(out.pixels, (std::vector<uint8_t>{0, 0, 0, 0, 0, 0, 5, 6, 0, 0, 0, 0, 0, 0, 0}));
}

TEST(Resize, BadArgumentsThrow) {
  Image img = row_image({1, 2, 3});
  EXPECT_THROW(resize_bilinear(img, 0, 1), Error);
  EXPECT_THROW(center_crop(img, 1, -1), Error);
  EXPECT_THROW(resize_shorter_side(img, 0, true), Error);
  img.pixels.pop_back();
  EXPECT_THROW(resize_area(img, 2, 1), Error);
}

TEST(Preprocess, NormalisesChannelPlanes) {
  Image img;
  img.width = 2;
  img.height = 1;
  img.channels = 3;
  img.pixels = {0, 128, 255, 51, 102, 204};
  const ModelSpec spec = recipe(3, 1, 2, "stretch", "bilinear", 0, "none", {0.5f, 0.25f, 0.f}, {0.5f, 2.f, 1.f});
  const std::vector<float> out = preprocess_image(img, spec);
  ASSERT_EQ(out.size(), 6u);
  const float expected[6] = {(0 / 255.f - 0.5f) / 0.5f,   (51 / 255.f - 0.5f) / 0.5f,  (128 / 255.f - 0.25f) / 2.f,
                             (102 / 255.f - 0.25f) / 2.f, (255 / 255.f - 0.f) / 1.f, (204 / 255.f - 0.f) / 1.f};
  for (int i = 0; i < 6; ++i) EXPECT_EQ(out[i], expected[i]) << i;
}

TEST(Preprocess, MismatchesAreErrors) {
  Image gray = row_image({1, 2, 3, 4}, 4);
  const ModelSpec rgb = recipe(3, 2, 2, "stretch", "bilinear", 0, "none", {0, 0, 0}, {1, 1, 1});
  try {
    preprocess_image(gray, rgb);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("1 channels but model 'test' takes 3"), std::string::npos) << e.what();
  }
  const ModelSpec no_crop = recipe(1, 2, 2, "shorter_side", "bilinear", 3, "none", {0}, {1});
  Image wide = row_image({1, 2, 3, 4, 5, 6}, 4);
  EXPECT_THROW(preprocess_image(wide, no_crop), Error);
  const ModelSpec bad = recipe(1, 2, 2, "stretch", "bicubic", 0, "none", {0}, {1});
  EXPECT_THROW(preprocess_image(gray, bad), Error);
}

TEST(Preprocess, DecodeOptionsFollowTheRecipe) {
  ModelSpec spec = recipe(1, 8, 8, "stretch", "area", 0, "none", {0}, {1});
  spec.preprocess.alpha = "black";
  DecodeOptions o = decode_options_for(spec);
  EXPECT_EQ(o.channels, 1);
  EXPECT_EQ(o.background[0], 0);
  EXPECT_EQ(o.background[2], 0);
  spec.input.channels = 3;
  spec.preprocess.alpha = "white";
  o = decode_options_for(spec);
  EXPECT_EQ(o.channels, 3);
  EXPECT_EQ(o.background[1], 255);
}

// ---- golden values (PIL / torchvision semantics)

TEST(PreprocessGolden, RecipesMatchTorchvisionOnPil) {
  int cases = 0;
  for (const auto& c : test::load_golden("preprocess")) {
    if (!c.params.contains("resize")) continue;
    ++cases;
    SCOPED_TRACE(c.name);
    const auto& p = c.params;
    const Image img = image_from(c.at("input"));
    const std::string resize = p.at("resize"), interpolation = p.at("interpolation"), crop = p.at("crop");
    const int shorter = p.at("resize_shorter"), out_w = p.at("out_w"), out_h = p.at("out_h");
    const bool area = interpolation == "area";
    // The resize (and crop) alone: PIL's bytes exactly.
    Image sized;
    if (resize == "stretch") {
      sized = area ? resize_area(img, out_w, out_h) : resize_bilinear(img, out_w, out_h);
    } else {
      sized = center_crop(resize_shorter_side(img, shorter, area), out_w, out_h);
    }
    ExpectAllClose(as_floats(sized), c.at("resized").data, test::tol::kExact);
    // The whole recipe.
    const ModelSpec spec = recipe(img.channels, out_h, out_w, resize, interpolation, shorter, crop,
                                  p.at("mean").get<std::vector<float>>(), p.at("std").get<std::vector<float>>());
    const std::vector<float> out = preprocess_image(img, spec);
    ExpectAllClose(out, c.at("output").data, kNormalised);
  }
  EXPECT_EQ(cases, 11);
}

TEST(PreprocessGolden, CropsAndShorterSideMatchPil) {
  int cases = 0;
  for (const auto& c : test::load_golden("preprocess")) {
    const std::string kind = c.params.value("kind", "");
    if (kind != "center_crop" && kind != "shorter_side") continue;
    ++cases;
    const Image img = image_from(c.at("input"));
    const Image out = kind == "center_crop"
                          ? center_crop(img, c.params.at("crop_w"), c.params.at("crop_h"))
                          : resize_shorter_side(img, c.params.at("size"), c.params.at("interpolation") == "area");
    EXPECT_EQ(out.height, c.at("resized").shape[0]) << c.name;
    EXPECT_EQ(out.width, c.at("resized").shape[1]) << c.name;
    ExpectAllClose(as_floats(out), c.at("resized").data, test::tol::kExact);
  }
  EXPECT_EQ(cases, 4);
}

}  // namespace
}  // namespace vigil::data
