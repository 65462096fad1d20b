// Training-time augmentation: random resized crop, horizontal flip, random affine (rotation + translation,
// bilinear, filled with the background) and colour jitter. Every draw comes from Philox(seed, stream, counter), so
// one (seed, stream) always gives the same pixels, whatever the thread count. Evaluation uses none of it.
#pragma once
#include <cstdint>

#include "data/image.h"

namespace vigil::data {

struct AugmentOptions {
  // RandomResizedCrop as in torchvision: a crop of area fraction U[scale_min, scale_max] and aspect ratio
  // log-uniform in [ratio_min, ratio_max] (10 tries, then a centre crop), resized to the output size. When off,
  // the whole image is resized (stretched) to the output size.
  bool random_resized_crop = true;
  float scale_min = 0.08f, scale_max = 1.0f;
  float ratio_min = 3.0f / 4.0f, ratio_max = 4.0f / 3.0f;
  float flip_probability = 0.5f;    // horizontal flip
  float rotation_degrees = 0.0f;    // random affine: angle U[-d, d] (positive = counter-clockwise)
  float translate_fraction = 0.0f;  // random affine: shift U[-f, f] x width (height), rounded to whole pixels
  float brightness = 0.0f, contrast = 0.0f, saturation = 0.0f;  // factor U[max(0, 1 - x), 1 + x]; 0 = off
};

// Throws vigil::Error naming the bad field (e.g. scale_min > scale_max, a negative jitter).
void validate_augment_options(const AugmentOptions& options);

// The Philox stream of sample `index` in `epoch` for a data set of `num_samples` samples: epoch * N + index.
uint64_t augment_stream(int64_t epoch, uint64_t num_samples, uint64_t index);

// The parameters drawn for one image, exposed so tests can check them against torchvision's rules.
struct AugmentDraw {
  int crop_left = 0, crop_top = 0, crop_width = 0, crop_height = 0;
  bool flip = false;
  float angle_degrees = 0.0f;
  float translate_x = 0.0f, translate_y = 0.0f;  // fractions of the output width / height
  float brightness = 1.0f, contrast = 1.0f, saturation = 1.0f;
};
AugmentDraw draw_augmentation(int width, int height, const AugmentOptions& options, uint64_t seed, uint64_t stream);

// Augments `in` (1 or 3 channels) into an out_width x out_height image with the draws of (seed, stream); `fill`
// (per channel; fill[0] for grayscale) colours the area an affine transform uncovers.
Image augment_image(const Image& in, int out_width, int out_height, const AugmentOptions& options,
                    const uint8_t fill[3], uint64_t seed, uint64_t stream);

// The pieces, usable on their own.
Image crop_image(const Image& in, int left, int top, int width, int height);  // must lie inside the image
void flip_horizontal(Image& image);
Image affine_image(const Image& in, float angle_degrees, int translate_x, int translate_y, const uint8_t fill[3]);
void jitter_colour(Image& image, float brightness, float contrast, float saturation);

}  // namespace vigil::data
