// Augmentation draws (torchvision's RandomResizedCrop / RandomHorizontalFlip / RandomAffine / ColorJitter rules on
// Philox numbers) and their pixel operations.
#include "data/augment.h"

#include <algorithm>
#include <cmath>

#include "common/error.h"
#include "common/rng.h"
#include "data/preprocess.h"

namespace vigil::data {
namespace {

// Philox counters used per step, fixed so that switching one step on or off never changes another's draws.
constexpr int kCropAttempts = 10;                // counters 0..9: scale, log ratio, top, left
constexpr uint64_t kGeometryCounter = 10;        // flip, angle, translate x, translate y
constexpr uint64_t kColourCounter = 11;          // brightness, contrast, saturation

constexpr float kPi = 3.14159265358979323846f;

float unit(uint32_t bits) { return uint_to_unit_float(bits); }

// Uniform integer in [0, n) from a unit float.
int random_below(float u, int n) { return std::min(n - 1, static_cast<int>(u * static_cast<float>(n))); }

float jitter_factor(float u, float amount) {
  const float lo = std::max(0.0f, 1.0f - amount), hi = 1.0f + amount;
  return lo + u * (hi - lo);
}

inline uint8_t round_to_byte(float v) { return static_cast<uint8_t>(std::clamp(v, 0.0f, 255.0f) + 0.5f); }

}  // namespace

void validate_augment_options(const AugmentOptions& o) {
  VIGIL_CHECK(o.scale_min > 0 && o.scale_min <= o.scale_max && o.scale_max <= 1.0f,
              "augment: need 0 < scale_min <= scale_max <= 1, got ", o.scale_min, "..", o.scale_max);
  VIGIL_CHECK(o.ratio_min > 0 && o.ratio_min <= o.ratio_max, "augment: need 0 < ratio_min <= ratio_max, got ",
              o.ratio_min, "..", o.ratio_max);
  VIGIL_CHECK(o.flip_probability >= 0 && o.flip_probability <= 1, "augment: flip_probability must be in [0, 1]");
  VIGIL_CHECK(o.rotation_degrees >= 0 && o.rotation_degrees <= 180, "augment: rotation_degrees must be in [0, 180]");
  VIGIL_CHECK(o.translate_fraction >= 0 && o.translate_fraction <= 1, "augment: translate_fraction must be in [0, 1]");
  VIGIL_CHECK(o.brightness >= 0 && o.contrast >= 0 && o.saturation >= 0,
              "augment: brightness, contrast and saturation must be >= 0");
}

uint64_t augment_stream(int64_t epoch, uint64_t num_samples, uint64_t index) {
  return static_cast<uint64_t>(epoch) * num_samples + index;
}

AugmentDraw draw_augmentation(int width, int height, const AugmentOptions& o, uint64_t seed, uint64_t stream) {
  VIGIL_CHECK(width > 0 && height > 0, "augment: empty image (", width, "x", height, ")");
  AugmentDraw d;
  d.crop_width = width;
  d.crop_height = height;
  if (o.random_resized_crop) {
    const double area = static_cast<double>(width) * height;
    const double log_lo = std::log(o.ratio_min), log_hi = std::log(o.ratio_max);
    bool found = false;
    for (int attempt = 0; attempt < kCropAttempts && !found; ++attempt) {
      const Philox4 r = philox4x32(seed, stream, static_cast<uint64_t>(attempt));
      const double target_area = area * (o.scale_min + unit(r.v[0]) * (o.scale_max - o.scale_min));
      const double aspect = std::exp(log_lo + unit(r.v[1]) * (log_hi - log_lo));
      const int w = static_cast<int>(std::lround(std::sqrt(target_area * aspect)));
      const int h = static_cast<int>(std::lround(std::sqrt(target_area / aspect)));
      if (w > 0 && w <= width && h > 0 && h <= height) {
        d.crop_width = w;
        d.crop_height = h;
        d.crop_top = random_below(unit(r.v[2]), height - h + 1);
        d.crop_left = random_below(unit(r.v[3]), width - w + 1);
        found = true;
      }
    }
    if (!found) {  // torchvision's fallback: the largest centred crop with the ratio clamped into range
      const double in_ratio = static_cast<double>(width) / height;
      if (in_ratio < o.ratio_min) {
        d.crop_width = width;
        d.crop_height = std::max(1, static_cast<int>(std::lround(width / o.ratio_min)));
      } else if (in_ratio > o.ratio_max) {
        d.crop_height = height;
        d.crop_width = std::max(1, static_cast<int>(std::lround(height * o.ratio_max)));
      }
      d.crop_height = std::min(d.crop_height, height);
      d.crop_width = std::min(d.crop_width, width);
      d.crop_top = (height - d.crop_height) / 2;
      d.crop_left = (width - d.crop_width) / 2;
    }
  }
  const Philox4 g = philox4x32(seed, stream, kGeometryCounter);
  d.flip = unit(g.v[0]) < o.flip_probability;
  d.angle_degrees = (2.0f * unit(g.v[1]) - 1.0f) * o.rotation_degrees;
  d.translate_x = (2.0f * unit(g.v[2]) - 1.0f) * o.translate_fraction;
  d.translate_y = (2.0f * unit(g.v[3]) - 1.0f) * o.translate_fraction;
  const Philox4 c = philox4x32(seed, stream, kColourCounter);
  d.brightness = o.brightness > 0 ? jitter_factor(unit(c.v[0]), o.brightness) : 1.0f;
  d.contrast = o.contrast > 0 ? jitter_factor(unit(c.v[1]), o.contrast) : 1.0f;
  d.saturation = o.saturation > 0 ? jitter_factor(unit(c.v[2]), o.saturation) : 1.0f;
  return d;
}

Image crop_image(const Image& in, int left, int top, int width, int height) {
  VIGIL_CHECK(left >= 0 && top >= 0 && width > 0 && height > 0 && left + width <= in.width &&
                  top + height <= in.height,
              "crop ", width, "x", height, "+", left, "+", top, " does not fit a ", in.width, "x", in.height, " image");
  Image out;
  out.width = width;
  out.height = height;
  out.channels = in.channels;
  out.pixels.resize(static_cast<size_t>(width) * height * in.channels);
  const size_t row_bytes = static_cast<size_t>(width) * in.channels;
  for (int y = 0; y < height; ++y) {
    const uint8_t* src = in.pixels.data() + (static_cast<size_t>(top + y) * in.width + left) * in.channels;
    std::copy(src, src + row_bytes, out.pixels.data() + y * row_bytes);
  }
  return out;
}

void flip_horizontal(Image& image) {
  const int c = image.channels;
  for (int y = 0; y < image.height; ++y) {
    uint8_t* row = image.pixels.data() + static_cast<size_t>(y) * image.width * c;
    for (int a = 0, b = image.width - 1; a < b; ++a, --b)
      for (int k = 0; k < c; ++k) std::swap(row[a * c + k], row[b * c + k]);
  }
}

Image affine_image(const Image& in, float angle_degrees, int translate_x, int translate_y, const uint8_t fill[3]) {
  Image out;
  out.width = in.width;
  out.height = in.height;
  out.channels = in.channels;
  out.pixels.resize(in.pixels.size());
  const int channels = in.channels;
  const float radians = angle_degrees * kPi / 180.0f;
  const float cos_a = std::cos(radians), sin_a = std::sin(radians);
  const float cx = 0.5f * static_cast<float>(in.width - 1), cy = 0.5f * static_cast<float>(in.height - 1);
  // Inverse map: output pixel -> source position (undo the translation, then rotate back about the centre).
  for (int y = 0; y < in.height; ++y) {
    for (int x = 0; x < in.width; ++x) {
      const float dx = static_cast<float>(x) - cx - static_cast<float>(translate_x);
      const float dy = static_cast<float>(y) - cy - static_cast<float>(translate_y);
      const float sx = cos_a * dx - sin_a * dy + cx;
      const float sy = sin_a * dx + cos_a * dy + cy;
      const float fx0 = std::floor(sx), fy0 = std::floor(sy);
      const int x0 = static_cast<int>(fx0), y0 = static_cast<int>(fy0);
      const float wx = sx - fx0, wy = sy - fy0;
      uint8_t* dst = out.pixels.data() + (static_cast<size_t>(y) * in.width + x) * channels;
      for (int k = 0; k < channels; ++k) {
        const float background = fill[channels == 1 ? 0 : k];
        auto at = [&](int xi, int yi) -> float {
          if (xi < 0 || yi < 0 || xi >= in.width || yi >= in.height) return background;
          return in.pixels[(static_cast<size_t>(yi) * in.width + xi) * channels + k];
        };
        const float top = at(x0, y0) * (1 - wx) + at(x0 + 1, y0) * wx;
        const float bottom = at(x0, y0 + 1) * (1 - wx) + at(x0 + 1, y0 + 1) * wx;
        dst[k] = round_to_byte(top * (1 - wy) + bottom * wy);
      }
    }
  }
  return out;
}

void jitter_colour(Image& image, float brightness, float contrast, float saturation) {
  if (brightness == 1.0f && contrast == 1.0f && saturation == 1.0f) return;
  const int channels = image.channels;
  const size_t pixel_count = static_cast<size_t>(image.width) * image.height;
  std::vector<float> v(image.pixels.begin(), image.pixels.end());
  auto luma = [&](size_t p) {
    return channels == 3 ? 0.299f * v[3 * p] + 0.587f * v[3 * p + 1] + 0.114f * v[3 * p + 2] : v[p];
  };
  // torchvision's order of blends, each clamped to [0, 255]; applied in the fixed order brightness, contrast,
  // saturation.
  if (brightness != 1.0f)
    for (float& x : v) x = std::clamp(x * brightness, 0.0f, 255.0f);
  if (contrast != 1.0f && pixel_count > 0) {
    double sum = 0;
    for (size_t p = 0; p < pixel_count; ++p) sum += luma(p);
    const float mean = static_cast<float>(sum / static_cast<double>(pixel_count));
    for (float& x : v) x = std::clamp(contrast * x + (1.0f - contrast) * mean, 0.0f, 255.0f);
  }
  if (saturation != 1.0f && channels == 3) {
    for (size_t p = 0; p < pixel_count; ++p) {
      const float gray = luma(p);
      for (int k = 0; k < 3; ++k)
        v[3 * p + k] = std::clamp(saturation * v[3 * p + k] + (1.0f - saturation) * gray, 0.0f, 255.0f);
    }
  }
  for (size_t i = 0; i < v.size(); ++i) image.pixels[i] = round_to_byte(v[i]);
}

Image augment_image(const Image& in, int out_width, int out_height, const AugmentOptions& options,
                    const uint8_t fill[3], uint64_t seed, uint64_t stream) {
  VIGIL_CHECK(in.channels == 1 || in.channels == 3, "augment: images need 1 or 3 channels, got ", in.channels);
  VIGIL_CHECK(out_width > 0 && out_height > 0, "augment: bad output size ", out_width, "x", out_height);
  const AugmentDraw d = draw_augmentation(in.width, in.height, options, seed, stream);
  Image out = options.random_resized_crop
                  ? crop_image(in, d.crop_left, d.crop_top, d.crop_width, d.crop_height)
                  : in;
  if (out.width != out_width || out.height != out_height) out = resize_bilinear(out, out_width, out_height);
  if (d.flip) flip_horizontal(out);
  const int shift_x = static_cast<int>(std::lround(d.translate_x * static_cast<float>(out_width)));
  const int shift_y = static_cast<int>(std::lround(d.translate_y * static_cast<float>(out_height)));
  if (d.angle_degrees != 0.0f || shift_x != 0 || shift_y != 0)
    out = affine_image(out, d.angle_degrees, shift_x, shift_y, fill);
  jitter_colour(out, d.brightness, d.contrast, d.saturation);
  return out;
}

}  // namespace vigil::data
