// Implementation of the report thumbnails: area-average shrink (data/preprocess.h), JPEG through
// libjpeg-turbo (data/encode_jpeg.h), base64.
#include "infer/eval_thumbnails.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "common/error.h"
#include "data/encode_jpeg.h"
#include "data/preprocess.h"


namespace vigil::infer {

namespace {

constexpr int kJpegQuality = 85;


}  // namespace

std::string base64_encode(const uint8_t* data, size_t size) {
  static const char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((size + 2) / 3 * 4);
  for (size_t i = 0; i < size; i += 3) {
    const uint32_t b0 = data[i], b1 = i + 1 < size ? data[i + 1] : 0, b2 = i + 2 < size ? data[i + 2] : 0;
    const uint32_t triple = (b0 << 16) | (b1 << 8) | b2;
    out += kAlphabet[(triple >> 18) & 63];
    out += kAlphabet[(triple >> 12) & 63];
    out += i + 1 < size ? kAlphabet[(triple >> 6) & 63] : '=';
    out += i + 2 < size ? kAlphabet[triple & 63] : '=';
  }
  return out;
}

Thumbnail make_thumbnail(const data::Image& image, int max_side) {
  VIGIL_CHECK(image.width > 0 && image.height > 0 && (image.channels == 1 || image.channels == 3) &&
                  image.pixels.size() == static_cast<size_t>(image.width) * image.height * image.channels,
              "thumbnail: not a 1- or 3-channel image (", image.width, "x", image.height, "x", image.channels, ")");
  VIGIL_CHECK(max_side >= 1, "thumbnail: max_side must be positive");
  const int longer = std::max(image.width, image.height);
  data::Image small;
  const data::Image* src = &image;
  if (longer > max_side) {
    const double scale = static_cast<double>(max_side) / longer;
    const int w = std::max(1, static_cast<int>(std::lround(image.width * scale)));
    const int h = std::max(1, static_cast<int>(std::lround(image.height * scale)));
    small = data::resize_area(image, w, h);
    src = &small;
  }
  Thumbnail t;
  t.width = src->width;
  t.height = src->height;
#if VIGIL_WITH_JPEG
  const std::vector<uint8_t> jpeg = data::encode_jpeg(*src, {kJpegQuality});
  t.data_uri = "data:image/jpeg;base64," + base64_encode(jpeg.data(), jpeg.size());
#endif
  return t;
}

}  // namespace vigil::infer
