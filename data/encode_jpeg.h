// JPEG encoding through libjpeg-turbo, for small images vigil writes itself (evaluation report thumbnails).
#pragma once
#include <cstdint>
#include <vector>

#include "data/image.h"

namespace vigil::data {

// Baseline JPEG of an 8-bit image with 1 (gray) or 3 (RGB) channels, quality 1..100. Throws vigil::Error when the
// image is empty or has another channel count, or when vigil was built without libjpeg-turbo.
std::vector<uint8_t> encode_jpeg(const Image& image, int quality);

}  // namespace vigil::data
