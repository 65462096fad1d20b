// JPEG encoding through libjpeg-turbo, for small images vigil writes itself (evaluation report thumbnails, fuzz seeds).
#pragma once
#include <cstdint>
#include <vector>

#include "data/image.h"

namespace vigil::data {

struct JpegEncodeOptions {
  int quality = 85;           // 1..100 (libjpeg's scale)
  bool progressive = false;   // libjpeg's simple progression script instead of one baseline scan
  bool full_chroma = false;   // 4:4:4 instead of 4:2:0 chroma subsampling (RGB only)
};

// JPEG of an 8-bit image with 1 (gray) or 3 (RGB) channels. Throws vigil::Error when the image is empty or has
// another channel count, or when vigil was built without libjpeg-turbo.
std::vector<uint8_t> encode_jpeg(const Image& image, const JpegEncodeOptions& options = {});

}  // namespace vigil::data
