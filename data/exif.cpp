// EXIF orientation parsing (IFD0 of the TIFF structure, both byte orders) and the matching pixel transforms.
#include "data/exif.h"

#include <cstring>

namespace vigil::data {
namespace {

constexpr uint16_t kOrientationTag = 0x0112;
constexpr uint16_t kTypeShort = 3, kTypeLong = 4;
constexpr size_t kIfdEntryBytes = 12;
constexpr size_t kMaxIfdEntries = 1024;  // real IFD0s hold a few dozen

struct TiffReader {
  const uint8_t* data;
  size_t size;
  bool big_endian;

  uint16_t u16(size_t at) const {
    return big_endian ? static_cast<uint16_t>(data[at] << 8 | data[at + 1])
                      : static_cast<uint16_t>(data[at + 1] << 8 | data[at]);
  }
  uint32_t u32(size_t at) const {
    return big_endian ? (uint32_t(data[at]) << 24 | uint32_t(data[at + 1]) << 16 | uint32_t(data[at + 2]) << 8 | data[at + 3])
                      : (uint32_t(data[at + 3]) << 24 | uint32_t(data[at + 2]) << 16 | uint32_t(data[at + 1]) << 8 | data[at]);
  }
};

}  // namespace

int exif_orientation(const uint8_t* data, size_t size) {
  if (data == nullptr) return 1;
  if (size >= 6 && std::memcmp(data, "Exif\0\0", 6) == 0) {
    data += 6;
    size -= 6;
  }
  if (size < 8) return 1;
  TiffReader r{data, size, false};
  if (data[0] == 'M' && data[1] == 'M') r.big_endian = true;
  else if (!(data[0] == 'I' && data[1] == 'I')) return 1;
  if (r.u16(2) != 42) return 1;
  const uint32_t ifd = r.u32(4);
  if (ifd < 8 || ifd > size - 2) return 1;
  size_t entries = r.u16(ifd);
  const size_t fit = (size - ifd - 2) / kIfdEntryBytes;
  if (entries > fit) entries = fit;
  if (entries > kMaxIfdEntries) entries = kMaxIfdEntries;
  for (size_t i = 0; i < entries; ++i) {
    const size_t e = ifd + 2 + i * kIfdEntryBytes;  // e + 12 <= size by the `fit` bound
    if (r.u16(e) != kOrientationTag) continue;
    const uint16_t type = r.u16(e + 2);
    const uint32_t count = r.u32(e + 4);
    if (count < 1) return 1;
    uint32_t value = 0;
    if (type == kTypeShort) value = r.u16(e + 8);
    else if (type == kTypeLong) value = r.u32(e + 8);
    else return 1;
    return value >= 1 && value <= 8 ? static_cast<int>(value) : 1;
  }
  return 1;
}

Image apply_orientation(const Image& stored, int orientation) {
  if (orientation < 2 || orientation > 8) return stored;
  const int w = stored.width, h = stored.height, c = stored.channels;
  const bool swaps = orientation >= 5;  // 5..8 exchange width and height
  Image out;
  out.width = swaps ? h : w;
  out.height = swaps ? w : h;
  out.channels = c;
  out.pixels.resize(stored.pixels.size());
  for (int oy = 0; oy < out.height; ++oy) {
    for (int ox = 0; ox < out.width; ++ox) {
      int sx = ox, sy = oy;
      switch (orientation) {
        case 2: sx = w - 1 - ox; break;
        case 3: sx = w - 1 - ox; sy = h - 1 - oy; break;
        case 4: sy = h - 1 - oy; break;
        case 5: sx = oy; sy = ox; break;
        case 6: sx = oy; sy = h - 1 - ox; break;
        case 7: sx = w - 1 - oy; sy = h - 1 - ox; break;
        case 8: sx = w - 1 - oy; sy = ox; break;
      }
      const uint8_t* src = &stored.pixels[(static_cast<size_t>(sy) * w + sx) * c];
      std::memcpy(&out.pixels[(static_cast<size_t>(oy) * out.width + ox) * c], src, c);
    }
  }
  return out;
}

}  // namespace vigil::data
