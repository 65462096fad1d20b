// Small inline images for the evaluation report: an image shrunk to at most 64 pixels on its longer side and
// embedded as a base64 JPEG data URI, so the page stays one self-contained file.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

#include "data/image.h"

namespace vigil::infer {

struct Thumbnail {
  int width = 0, height = 0;  // of the encoded image
  std::string data_uri;       // "data:image/jpeg;base64,..."; empty when no encoder was built in
};

// Shrinks `image` (1 or 3 channels) with area averaging so its longer side is at most `max_side` (never enlarges;
// the page scales small images up) and encodes it as a JPEG data URI. Throws vigil::Error for an empty image.
Thumbnail make_thumbnail(const data::Image& image, int max_side = 64);

// RFC 4648 base64 with padding.
std::string base64_encode(const uint8_t* data, size_t size);

}  // namespace vigil::infer
