// libFuzzer target: image decoding from memory, every format, as a still (RGB and gray) and frame by frame. libFuzzer
// runs many inputs in one process, so state a decoder leaks from one input into the next shows up here.
#include <cstdlib>

#include "data/image.h"

namespace {

// A decoded image must be consistent with its header and the limits; anything else is a decoder bug.
void check_image(const vigil::data::Image& img, int channels, const vigil::data::DecodeLimits& limits) {
  const bool ok = img.width > 0 && img.height > 0 && img.channels == channels && img.width <= limits.max_width &&
                  img.height <= limits.max_height &&
                  static_cast<uint64_t>(img.width) * img.height <= limits.max_pixels &&
                  img.pixels.size() == static_cast<size_t>(img.width) * img.height * channels;
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace vigil::data;
  DecodeOptions o;
  o.limits.max_width = o.limits.max_height = 4096;
  o.limits.max_pixels = 1u << 22;
  o.limits.max_frames = 64;
  const DecodeResult rgb = decode_memory(data, size, "fuzz", o);
  if (rgb.ok()) check_image(rgb.image, 3, o.limits);
  else if (rgb.error.rfind("fuzz: ", 0) != 0) std::abort();
  o.channels = 1;
  o.apply_exif_orientation = false;
  const FramesResult frames = decode_frames_memory(data, size, "fuzz", o);
  for (const Image& f : frames.frames) check_image(f, 1, o.limits);
  if (frames.status == DecodeStatus::Ok && frames.frames.empty()) std::abort();
  return 0;
}
