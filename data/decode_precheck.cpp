// Container walks for JPEG, PNG and BMP before a decoder sees the bytes: stb_image (PNG, BMP) fills missing data
// with zeros and reports success, and libjpeg-turbo (JPEG) pads a cut-off file with a fake end, so truncation, oversized headers, unsupported variants and PNG decompression bombs are caught
// here, from the structure alone, without allocating anything proportional to the image.
#include <cstdlib>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#if VIGIL_WITH_ZLIB
#include <zlib.h>
#endif

#include "data/decode_formats.h"
#include "data/exif.h"

namespace vigil::data::detail {
namespace {

// A progressive JPEG needs about 10 scans; each scan walks every block of the image, so hundreds of tiny
// end-of-band scans are a CPU-exhaustion trick. 500 is libjpeg-turbo's own TJFLAG_LIMITSCANS bound.
constexpr int kMaxJpegScans = 500;

uint32_t be16(const uint8_t* p) { return uint32_t(p[0]) << 8 | p[1]; }
uint32_t be32(const uint8_t* p) { return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | p[3]; }
uint32_t le16(const uint8_t* p) { return uint32_t(p[1]) << 8 | p[0]; }
uint32_t le32(const uint8_t* p) { return uint32_t(p[3]) << 24 | uint32_t(p[2]) << 16 | uint32_t(p[1]) << 8 | p[0]; }

RawDecode truncated(const std::string& why) { return RawDecode::failure(DecodeStatus::Truncated, why); }
RawDecode corrupt(const std::string& why) { return RawDecode::failure(DecodeStatus::Corrupt, why); }
RawDecode unsupported(const std::string& why) { return RawDecode::failure(DecodeStatus::Unsupported, why); }

std::string hex_marker(uint8_t m) {
  static const char* digits = "0123456789ABCDEF";
  return std::string("FF") + digits[m >> 4] + digits[m & 15];
}

// Moves `pos` past the entropy-coded data of a scan to the next real marker (0xFF followed by neither a stuffed
// zero, a restart marker nor a fill byte). False when the data ends first.
bool skip_entropy_coded(const uint8_t* data, size_t size, size_t& pos) {
  while (pos < size) {
    const void* ff = std::memchr(data + pos, 0xFF, size - pos);
    if (ff == nullptr) return false;
    const size_t at = static_cast<size_t>(static_cast<const uint8_t*>(ff) - data);
    if (at + 1 >= size) return false;
    const uint8_t b = data[at + 1];
    if (b == 0x00 || (b >= 0xD0 && b <= 0xD7)) {
      pos = at + 2;
    } else if (b == 0xFF) {
      pos = at + 1;
    } else {
      pos = at;
      return true;
    }
  }
  return false;
}

bool is_sof(uint8_t m) { return m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC; }

// Each Huffman table in a DHT segment: class/id byte, 16 code counts, then that many symbols. More than 256 codes
// is malformed (libjpeg rejects it too; kept here so the message names the segment before any decoder runs).
bool huffman_tables_fit(const uint8_t* seg, size_t len) {
  size_t pos = 0;
  while (pos < len) {
    if (len - pos < 17) return false;
    size_t codes = 0;
    for (int i = 1; i <= 16; ++i) codes += seg[pos + i];
    if (codes > 256 || codes > len - pos - 17) return false;
    pos += 17 + codes;
  }
  return true;
}

}  // namespace

RawDecode check_dimensions(int64_t width, int64_t height, const DecodeLimits& limits, const std::string& what) {
  if (width <= 0 || height <= 0)
    return corrupt(what + " gives the size " + std::to_string(width) + "x" + std::to_string(height));
  const bool too_wide = width > limits.max_width, too_tall = height > limits.max_height;
  const bool too_many = static_cast<uint64_t>(width) * static_cast<uint64_t>(height) > limits.max_pixels;
  if (too_wide || too_tall || too_many)
    return RawDecode::failure(DecodeStatus::TooLarge,
                              what + " gives " + std::to_string(width) + "x" + std::to_string(height) +
                                  " pixels, over the limit of " + std::to_string(limits.max_width) + "x" +
                                  std::to_string(limits.max_height) + " and " + std::to_string(limits.max_pixels) +
                                  " pixels");
  return RawDecode{};
}

RawDecode precheck_jpeg(const uint8_t* data, size_t size, const DecodeLimits& limits, ContainerInfo& info) {
  size_t pos = 2;  // after SOI
  bool have_frame = false;
  int scans = 0;
  for (;;) {
    if (pos < size && data[pos] != 0xFF) {  // stray bytes between segments: skip to the next marker, as libjpeg does
      const void* ff = std::memchr(data + pos, 0xFF, size - pos);
      pos = ff ? static_cast<size_t>(static_cast<const uint8_t*>(ff) - data) : size;
    }
    while (pos < size && data[pos] == 0xFF) ++pos;
    if (pos >= size) return truncated("JPEG data ends before the end-of-image marker");
    const uint8_t m = data[pos++];
    if (m == 0xD9) {
      if (!have_frame || scans == 0) return corrupt("JPEG has no image data before its end-of-image marker");
      return RawDecode{};
    }
    if (m == 0x00 || m == 0x01 || m == 0xD8 || (m >= 0xD0 && m <= 0xD7)) continue;  // markers without a length
    if (pos + 2 > size) return truncated("JPEG data ends inside the " + hex_marker(m) + " segment");
    const size_t len = be16(data + pos);
    if (len < 2) return corrupt("JPEG segment " + hex_marker(m) + " has the invalid length " + std::to_string(len));
    if (pos + len > size) return truncated("JPEG data ends inside the " + hex_marker(m) + " segment");
    const uint8_t* seg = data + pos + 2;
    const size_t seg_len = len - 2;
    pos += len;
    if (m == 0xC4 && !huffman_tables_fit(seg, seg_len)) {
      return corrupt("JPEG Huffman table segment is malformed (more than 256 codes or a wrong length)");
    } else if (m == 0xE1 && info.orientation == 1 && seg_len >= 6 && std::memcmp(seg, "Exif\0\0", 6) == 0) {
      info.orientation = exif_orientation(seg, seg_len);
    } else if (is_sof(m)) {
      if (m != 0xC0 && m != 0xC1 && m != 0xC2)
        return unsupported("JPEG coding " + hex_marker(m) +
                           " (lossless, hierarchical or arithmetic-coded; only baseline and progressive Huffman are "
                           "decoded)");
      if (have_frame) return corrupt("JPEG has two frame headers");
      if (seg_len < 6) return corrupt("JPEG frame header is too short");
      if (seg[0] != 8) return unsupported(std::to_string(seg[0]) + "-bit JPEG (only 8-bit samples are decoded)");
      info.height = be16(seg + 1);
      info.width = be16(seg + 3);
      if (info.height == 0) return unsupported("JPEG whose height is given later by a DNL marker");
      RawDecode dims = check_dimensions(info.width, info.height, limits, "JPEG header");
      if (!dims.ok()) return dims;
      have_frame = true;
    } else if (m == 0xDA) {
      if (!have_frame) return corrupt("JPEG scan before the frame header");
      if (++scans > kMaxJpegScans)
        return corrupt("JPEG has more than " + std::to_string(kMaxJpegScans) + " scans");
      if (!skip_entropy_coded(data, size, pos)) return truncated("JPEG scan data ends before the end-of-image marker");
    }
  }
}

namespace {

struct PngHeader {
  int64_t width = 0, height = 0;
  int depth = 0, color = 0, interlace = 0;
};

int png_channels(int color) {
  switch (color) {
    case 0: return 1;
    case 2: return 3;
    case 3: return 1;
    case 4: return 2;
    case 6: return 4;
  }
  return 0;
}

// Bytes of filtered scanlines the zlib stream must hold for this header (Adam7: the sum over the 7 passes).
uint64_t png_raw_bytes(const PngHeader& h) {
  const uint64_t bits = static_cast<uint64_t>(h.depth) * png_channels(h.color);
  auto rows = [&](uint64_t w, uint64_t n) { return w == 0 || n == 0 ? 0 : n * (1 + (w * bits + 7) / 8); };
  if (h.interlace == 0) return rows(h.width, h.height);
  static const int pass[7][4] = {{0, 0, 8, 8}, {4, 0, 8, 8}, {0, 4, 4, 8}, {2, 0, 4, 4},
                                 {0, 2, 2, 4}, {1, 0, 2, 2}, {0, 1, 1, 2}};
  uint64_t total = 0;
  for (const auto& p : pass) {
    const uint64_t w = h.width > p[0] ? (h.width - p[0] + p[2] - 1) / p[2] : 0;
    const uint64_t n = h.height > p[1] ? (h.height - p[1] + p[3] - 1) / p[3] : 0;
    total += rows(w, n);
  }
  return total;
}

#if VIGIL_WITH_ZLIB
// Inflates the IDAT stream into a small scratch buffer, only counting bytes, and stops as soon as it exceeds what
// stb_image may reasonably be asked to hold; stb would otherwise keep doubling its buffer (up to 4 GiB).
RawDecode check_png_inflation(const std::vector<std::pair<const uint8_t*, size_t>>& idat, bool raw_deflate,
                              uint64_t needed) {
  const uint64_t allowed = 2 * needed + 65536;
  z_stream zs;
  std::memset(&zs, 0, sizeof zs);
  if (inflateInit2(&zs, raw_deflate ? -15 : 15) != Z_OK) return corrupt("cannot start zlib");
  unsigned char scratch[16384];
  RawDecode result;
  bool ended = false;
  for (const auto& span : idat) {
    zs.next_in = const_cast<Bytef*>(span.first);
    zs.avail_in = static_cast<uInt>(span.second);
    for (;;) {
      zs.next_out = scratch;
      zs.avail_out = sizeof scratch;
      const int rc = inflate(&zs, Z_NO_FLUSH);
      if (zs.total_out > allowed) {
        result = RawDecode::failure(DecodeStatus::TooLarge,
                                    "PNG image data inflates to more than " + std::to_string(allowed) +
                                        " bytes although the header needs " + std::to_string(needed) +
                                        " (a decompression bomb)");
        ended = true;
        break;
      }
      if (rc == Z_STREAM_END) {
        ended = true;
        break;
      }
      if (rc == Z_NEED_DICT || rc == Z_DATA_ERROR || rc == Z_MEM_ERROR || rc == Z_STREAM_ERROR) {
        result = corrupt(std::string("PNG image data is not a valid zlib stream (") + (zs.msg ? zs.msg : "error") + ")");
        ended = true;
        break;
      }
      if (rc == Z_BUF_ERROR || (zs.avail_in == 0 && zs.avail_out != 0)) break;  // needs the next IDAT
    }
    if (ended) break;
  }
  const uint64_t produced = zs.total_out;
  inflateEnd(&zs);
  if (!ended || (result.ok() && produced < needed))
    return corrupt("PNG image data ends early: " + std::to_string(produced) + " of " + std::to_string(needed) +
                   " bytes");
  return result;
}
#endif

}  // namespace

RawDecode precheck_png(const uint8_t* data, size_t size, const DecodeLimits& limits, ContainerInfo& info) {
  size_t pos = 8;  // after the signature
  PngHeader hdr;
  bool have_header = false, ended = false, apple = false;
  std::vector<std::pair<const uint8_t*, size_t>> idat;
  while (pos < size) {
    if (size - pos < 12) return truncated("PNG data ends inside a chunk header");
    const uint32_t len = be32(data + pos);
    const std::string type(reinterpret_cast<const char*>(data + pos + 4), 4);
    if (len > 0x7FFFFFFFu) return corrupt("PNG chunk length " + std::to_string(len) + " is invalid");
    if (len > size - pos - 12) return truncated("PNG data ends inside the '" + type + "' chunk");
    const uint8_t* body = data + pos + 8;
    pos += 12 + static_cast<size_t>(len);
    if (type == "IHDR") {
      if (have_header || len != 13) return corrupt("PNG has a bad or repeated IHDR chunk");
      hdr.width = be32(body);
      hdr.height = be32(body + 4);
      hdr.depth = body[8];
      hdr.color = body[9];
      hdr.interlace = body[12];
      RawDecode dims = check_dimensions(hdr.width, hdr.height, limits, "PNG header");
      if (!dims.ok()) return dims;
      if (png_channels(hdr.color) == 0 || hdr.interlace > 1 ||
          !(hdr.depth == 1 || hdr.depth == 2 || hdr.depth == 4 || hdr.depth == 8 || hdr.depth == 16))
        return corrupt("PNG header has colour type " + std::to_string(hdr.color) + ", bit depth " +
                       std::to_string(hdr.depth) + ", interlace " + std::to_string(hdr.interlace));
      have_header = true;
    } else if (type == "CgBI") {
      apple = true;  // Apple's PNG variant: raw deflate, BGR order (stb_image handles it)
    } else if (type == "IDAT") {
      if (!have_header) return corrupt("PNG image data before the IHDR chunk");
      idat.emplace_back(body, len);
    } else if (type == "eXIf") {
      if (info.orientation == 1) info.orientation = exif_orientation(body, len);
    } else if (type == "IEND") {
      ended = true;
      break;
    }
  }
  if (!ended) return truncated("PNG data ends before the IEND chunk");
  if (!have_header) return corrupt("PNG has no IHDR chunk");
  if (idat.empty()) return corrupt("PNG has no image data (IDAT)");
  info.width = hdr.width;
  info.height = hdr.height;
#if VIGIL_WITH_ZLIB
  return check_png_inflation(idat, apple, png_raw_bytes(hdr));
#else
  (void)apple;
  return RawDecode{};
#endif
}

RawDecode precheck_bmp(const uint8_t* data, size_t size, const DecodeLimits& limits, ContainerInfo& info) {
  if (size < 18) return truncated("BMP file header is cut short");
  const uint32_t offset = le32(data + 10), header = le32(data + 14);
  int64_t width = 0, height = 0;
  uint32_t bpp = 0, compression = 0;
  if (header == 12) {
    if (size < 26) return truncated("BMP header is cut short");
    width = le16(data + 18);
    height = le16(data + 20);
    bpp = le16(data + 24);
  } else if (header == 40 || header == 56 || header == 108 || header == 124) {
    if (size < 14 + static_cast<size_t>(header)) return truncated("BMP header is cut short");
    width = static_cast<int32_t>(le32(data + 18));
    height = static_cast<int32_t>(le32(data + 22));
    bpp = le16(data + 28);
    compression = le32(data + 30);
    if (height < 0) height = -height;  // top-down rows; int64 holds -INT32_MIN
  } else {
    return unsupported("BMP with a " + std::to_string(header) + "-byte header");
  }
  if (compression == 1 || compression == 2) return unsupported("RLE-compressed BMP");
  if (compression >= 4) return unsupported("BMP with compression " + std::to_string(compression) + " (JPEG/PNG inside)");
  if (!(bpp == 1 || bpp == 4 || bpp == 8 || bpp == 16 || bpp == 24 || bpp == 32))
    return corrupt("BMP with " + std::to_string(bpp) + " bits per pixel");
  RawDecode dims = check_dimensions(width, height, limits, "BMP header");
  if (!dims.ok()) return dims;
  // The pixel array: padded rows, except that the last row's padding may be missing.
  const uint64_t row = (static_cast<uint64_t>(width) * bpp + 7) / 8;
  const uint64_t stride = (static_cast<uint64_t>(width) * bpp + 31) / 32 * 4;
  const uint64_t needed = static_cast<uint64_t>(offset) + stride * static_cast<uint64_t>(height - 1) + row;
  if (needed > size)
    return truncated("BMP pixel data needs " + std::to_string(needed) + " bytes but the file has " +
                     std::to_string(size));
  info.width = width;
  info.height = height;
  return RawDecode{};
}

}  // namespace vigil::data::detail
