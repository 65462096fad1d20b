// PNG (1..16-bit, gray, palette, alpha) and BMP decoding through Debian's stb_image, the only translation unit that
// compiles its implementation. Only those two loaders are built: JPEG goes through libjpeg-turbo (stb 2.27's
// progressive JPEG decoder reads out of bounds on crafted scans), GIF through giflib (stb's GIF decoder has
// advisories against 2.27), and its TGA, PSD, PIC, PNM and HDR loaders are left out, so such files are reported as
// unsupported rather than parsed by them. Every stb allocation is zero-filled (malloc and the grown part of a
// realloc), so no decoder state can carry heap contents from an earlier image into a later one.
#include <climits>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

#include "data/decode_formats.h"

#if VIGIL_WITH_STB
namespace vigil::data::detail {
namespace {
void* stb_zeroed_malloc(size_t bytes) { return std::calloc(1, bytes == 0 ? 1 : bytes); }
void* stb_zeroed_realloc(void* p, size_t old_bytes, size_t new_bytes) {
  void* grown = std::realloc(p, new_bytes == 0 ? 1 : new_bytes);
  if (grown != nullptr && new_bytes > old_bytes)
    std::memset(static_cast<char*>(grown) + old_bytes, 0, new_bytes - old_bytes);
  return grown;
}
}  // namespace
}  // namespace vigil::data::detail
#define STBI_MALLOC(bytes) ::vigil::data::detail::stb_zeroed_malloc(bytes)
#define STBI_REALLOC_SIZED(p, old_bytes, new_bytes) ::vigil::data::detail::stb_zeroed_realloc(p, old_bytes, new_bytes)
#define STBI_FREE(p) std::free(p)
#define STBI_ONLY_PNG
#define STBI_ONLY_BMP
#define STBI_NO_STDIO
#define STBI_NO_LINEAR
#define STBI_NO_HDR
// stb's own ceiling on each dimension, a second line behind DecodeLimits (checked before stb runs); JPEG's own
// maximum is 65535.
#define STBI_MAX_DIMENSIONS (1 << 16)
#define STB_IMAGE_STATIC
#define STB_IMAGE_IMPLEMENTATION
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <stb_image.h>
#pragma GCC diagnostic pop
#endif

namespace vigil::data::detail {
namespace {

#if VIGIL_WITH_STB
bool contains(const char* text, const char* part) { return std::strstr(text, part) != nullptr; }

DecodeStatus status_for_stb_failure(const char* why) {
  if (contains(why, "outofmem") || contains(why, "too large")) return DecodeStatus::TooLarge;
  if (contains(why, "only") || contains(why, "RLE") || contains(why, "JPEG/PNG") || contains(why, "unknown BMP") ||
      contains(why, "no header height"))
    return DecodeStatus::Unsupported;
  return DecodeStatus::Corrupt;
}

struct StbFree {
  void operator()(stbi_uc* p) const { stbi_image_free(p); }
};
#endif

}  // namespace

RawDecode decode_with_stb(const uint8_t* data, size_t size, ImageFormat format) {
#if VIGIL_WITH_STB
  if (size > static_cast<size_t>(INT_MAX))
    return RawDecode::failure(DecodeStatus::TooLarge, "more than 2 GiB of encoded data");
  int width = 0, height = 0, channels = 0;
  stbi__g_failure_reason = nullptr;  // thread-local, but left over from this thread's previous decode otherwise
  std::unique_ptr<stbi_uc, StbFree> pixels(
      stbi_load_from_memory(data, static_cast<int>(size), &width, &height, &channels, 0));
  if (!pixels) {
    const char* why = stbi_failure_reason();
    if (why == nullptr) why = "unknown error";
    return RawDecode::failure(status_for_stb_failure(why), std::string(format_name(format)) + " decoder: " + why);
  }
  if (width <= 0 || height <= 0 || channels < 1 || channels > 4)
    return RawDecode::failure(DecodeStatus::Corrupt, std::string(format_name(format)) + " decoder returned no pixels");
  RawDecode out;
  Image img;
  img.width = width;
  img.height = height;
  img.channels = channels;
  const size_t bytes = static_cast<size_t>(width) * height * channels;
  img.pixels.assign(pixels.get(), pixels.get() + bytes);
  out.frames.push_back(std::move(img));
  return out;
#else
  (void)data;
  (void)size;
  return RawDecode::failure(DecodeStatus::Unsupported,
                            std::string(format_name(format)) + ": built without stb_image (apt-get install libstb-dev)");
#endif
}

}  // namespace vigil::data::detail
