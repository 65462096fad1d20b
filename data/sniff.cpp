// Format detection from magic numbers, the format/status names, and descriptions of bytes that are not images.
#include <cstring>
#include <string>

#include "data/decode_formats.h"
#include "data/image.h"

namespace vigil::data {
namespace {

struct Signature {
  ImageFormat format;
  const char* magic;
  size_t length;
};

// RIFF....WEBP is handled separately (bytes 4..7 are a size).
constexpr Signature kSignatures[] = {
    {ImageFormat::Jpeg, "\xFF\xD8\xFF", 3},
    {ImageFormat::Png, "\x89PNG\r\n\x1A\n", 8},
    {ImageFormat::Gif, "GIF87a", 6},
    {ImageFormat::Gif, "GIF89a", 6},
    {ImageFormat::Bmp, "BM", 2},
};

bool starts_with(const uint8_t* data, size_t size, const char* magic, size_t length) {
  return size >= length && std::memcmp(data, magic, length) == 0;
}

bool looks_like_text(const uint8_t* data, size_t size) {
  const size_t n = size < 512 ? size : 512;
  for (size_t i = 0; i < n; ++i) {
    const uint8_t c = data[i];
    if (c < 0x09 || (c > 0x0D && c < 0x20 && c != 0x1B)) return false;
  }
  return n > 0;
}

}  // namespace

const char* format_name(ImageFormat f) {
  switch (f) {
    case ImageFormat::Jpeg: return "JPEG";
    case ImageFormat::Png: return "PNG";
    case ImageFormat::Bmp: return "BMP";
    case ImageFormat::Gif: return "GIF";
    case ImageFormat::Webp: return "WebP";
    case ImageFormat::Unknown: break;
  }
  return "unknown";
}

const char* status_name(DecodeStatus s) {
  switch (s) {
    case DecodeStatus::Ok: return "ok";
    case DecodeStatus::Unsupported: return "unsupported";
    case DecodeStatus::Truncated: return "truncated";
    case DecodeStatus::TooLarge: return "too_large";
    case DecodeStatus::Corrupt: return "corrupt";
    case DecodeStatus::IoError: return "io_error";
    case DecodeStatus::Empty: return "empty";
  }
  return "unknown";
}

ImageFormat sniff_format(const uint8_t* data, size_t size) {
  if (data == nullptr) return ImageFormat::Unknown;
  for (const Signature& s : kSignatures)
    if (starts_with(data, size, s.magic, s.length)) return s.format;
  if (size >= 12 && std::memcmp(data, "RIFF", 4) == 0 && std::memcmp(data + 8, "WEBP", 4) == 0)
    return ImageFormat::Webp;
  return ImageFormat::Unknown;
}

namespace detail {

bool is_partial_signature(const uint8_t* data, size_t size) {
  if (data == nullptr || size == 0) return false;
  for (const Signature& s : kSignatures)
    if (size < s.length && std::memcmp(data, s.magic, size) == 0) return true;
  if (size < 12) {  // RIFF????WEBP cut short
    const size_t riff = size < 4 ? size : 4;
    if (std::memcmp(data, "RIFF", riff) != 0) return false;
    return size <= 8 || std::memcmp(data + 8, "WEBP", size - 8) == 0;
  }
  return false;
}

std::string describe_unknown(const uint8_t* data, size_t size) {
  if (starts_with(data, size, "II*\0", 4) || starts_with(data, size, "MM\0*", 4)) return "a TIFF image";
  if (size >= 12 && std::memcmp(data + 4, "ftyp", 4) == 0) {
    const std::string brand(reinterpret_cast<const char*>(data + 8), 4);
    if (brand == "avif" || brand == "avis") return "an AVIF image";
    if (brand.rfind("hei", 0) == 0 || brand.rfind("mif", 0) == 0 || brand == "msf1") return "a HEIF/HEIC image";
    return "an ISO media file (MP4/MOV/HEIF family)";
  }
  if (starts_with(data, size, "\x1A\x45\xDF\xA3", 4)) return "a Matroska/WebM video";
  if (starts_with(data, size, "RIFF", 4)) return "a RIFF file that is not WebP (AVI/WAV?)";
  if (starts_with(data, size, "%PDF", 4)) return "a PDF document";
  if (starts_with(data, size, "PK\x03\x04", 4)) return "a ZIP archive";
  if (starts_with(data, size, "\x1F\x8B", 2)) return "gzip-compressed data";
  if (starts_with(data, size, "8BPS", 4)) return "a Photoshop document";
  if (starts_with(data, size, "\0\0\0\x0CjXL ", 8) || starts_with(data, size, "\xFF\x0A", 2)) return "a JPEG XL image";
  if (starts_with(data, size, "\0\0\x01\0", 4)) return "a Windows icon";
  if (looks_like_text(data, size)) {
    const char* p = reinterpret_cast<const char*>(data);
    const std::string head(p, size < 256 ? size : 256);
    if (head.find("<svg") != std::string::npos) return "an SVG drawing (vector images are not decoded)";
    if (head.find("<html") != std::string::npos || head.find("<!DOCTYPE") != std::string::npos ||
        head.find("<!doctype") != std::string::npos)
      return "an HTML page";
    return "text";
  }
  return "not a recognised image";
}

}  // namespace detail
}  // namespace vigil::data
