// Hardened decoding: every format and mode, written at test time (stb_image_write for PNG/BMP, libjpeg-turbo for
// JPEG, a hand-made PNG writer for 16-bit/palette files, giflib's encoder, libwebp's encoder and a hand-assembled animated WebP),
// then truncations, bombs and limits, unsupported and non-image bytes, EXIF orientation 1..8, PIL references
// (luma, progressive/baseline JPEG), and a fuzz run over thousands of mutated files that must never crash.
#include "data/image.h"

#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "common/rng.h"
#include "data/encode_jpeg.h"
#include "data/exif.h"
#include "support/golden.h"

#if VIGIL_WITH_STB
#define STB_IMAGE_WRITE_STATIC
#define STB_IMAGE_WRITE_IMPLEMENTATION
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wsign-compare"
#include <stb_image_write.h>
#pragma GCC diagnostic pop
#endif
#if VIGIL_WITH_GIF
#include <gif_lib.h>
#endif
#if VIGIL_WITH_WEBP
#include <webp/encode.h>
#endif
#if VIGIL_WITH_ZLIB
#include <zlib.h>
#endif

namespace vigil::data {
namespace {

using Bytes = std::vector<uint8_t>;
namespace fs = std::filesystem;

#if VIGIL_WITH_STB

// ------------------------------------------------------------------------------------------------ test images

Image make_image(int w, int h, int c) {
  Image img;
  img.width = w;
  img.height = h;
  img.channels = c;
  img.pixels.resize(static_cast<size_t>(w) * h * c);
  return img;
}

// Distinct values everywhere, so any misplaced row, column or channel shows.
Image pattern(int w, int h, int c, int seed = 0) {
  Image img = make_image(w, h, c);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int k = 0; k < c; ++k)
        img.pixels[(static_cast<size_t>(y) * w + x) * c + k] =
            static_cast<uint8_t>(x * 37 + y * 91 + k * 53 + seed * 17 + (x * y) % 13 * 7);
  return img;
}

// A smooth image (what JPEG and lossy WebP reproduce closely).
Image smooth(int w, int h) {
  Image img = make_image(w, h, 3);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      uint8_t* p = &img.pixels[(static_cast<size_t>(y) * w + x) * 3];
      p[0] = static_cast<uint8_t>(40 + 160 * x / (w - 1));
      p[1] = static_cast<uint8_t>(40 + 160 * y / (h - 1));
      p[2] = 120;
    }
  return img;
}

const uint8_t kRed[3] = {255, 0, 0}, kGreen[3] = {0, 255, 0}, kBlue[3] = {0, 0, 255}, kWhite[3] = {255, 255, 255};

// Stored image for the orientation tests: top-left red, top-right green, bottom-left blue, bottom-right white.
Image quadrants(int w, int h) {
  Image img = make_image(w, h, 3);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      const uint8_t* c = y < h / 2 ? (x < w / 2 ? kRed : kGreen) : (x < w / 2 ? kBlue : kWhite);
      std::memcpy(&img.pixels[(static_cast<size_t>(y) * w + x) * 3], c, 3);
    }
  return img;
}

const uint8_t* px(const Image& img, int x, int y) {
  return &img.pixels[(static_cast<size_t>(y) * img.width + x) * img.channels];
}

::testing::AssertionResult PixelNear(const Image& img, int x, int y, const uint8_t* rgb, int tol) {
  const uint8_t* p = px(img, x, y);
  for (int k = 0; k < 3; ++k)
    if (std::abs(int(p[k]) - int(rgb[k])) > tol)
      return ::testing::AssertionFailure() << "pixel (" << x << "," << y << ") is " << int(p[0]) << "," << int(p[1])
                                           << "," << int(p[2]) << ", expected " << int(rgb[0]) << "," << int(rgb[1])
                                           << "," << int(rgb[2]) << " within " << tol;
  return ::testing::AssertionSuccess();
}

int max_abs_diff(const Image& a, const Image& b) {
  if (a.width != b.width || a.height != b.height || a.channels != b.channels) return 1 << 20;
  int m = 0;
  for (size_t i = 0; i < a.pixels.size(); ++i) m = std::max(m, std::abs(int(a.pixels[i]) - int(b.pixels[i])));
  return m;
}

// ------------------------------------------------------------------------------------------------ encoders

void append_to(void* ctx, void* data, int size) {
  auto* out = static_cast<Bytes*>(ctx);
  out->insert(out->end(), static_cast<uint8_t*>(data), static_cast<uint8_t*>(data) + size);
}

Bytes encode_png_stb(const Image& img) {
  Bytes out;
  stbi_write_png_to_func(append_to, &out, img.width, img.height, img.channels, img.pixels.data(),
                         img.width * img.channels);
  return out;
}

Bytes encode_bmp_stb(const Image& img) {
  Bytes out;
  stbi_write_bmp_to_func(append_to, &out, img.width, img.height, img.channels, img.pixels.data());
  return out;
}

// Baseline JPEG through libjpeg-turbo; quality > 90 also means 4:4:4 chroma (so colour edges stay sharp).
Bytes encode_jpeg_libjpeg(const Image& img, int quality) {
  data::JpegEncodeOptions o;
  o.quality = quality;
  o.full_chroma = quality > 90;
  return encode_jpeg(img, o);
}

void put_be32(Bytes& b, uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) b.push_back(static_cast<uint8_t>(v >> s));
}
void put_le16(Bytes& b, uint32_t v) {
  b.push_back(static_cast<uint8_t>(v));
  b.push_back(static_cast<uint8_t>(v >> 8));
}
void put_le24(Bytes& b, uint32_t v) {
  put_le16(b, v);
  b.push_back(static_cast<uint8_t>(v >> 16));
}
void put_le32(Bytes& b, uint32_t v) {
  put_le16(b, v);
  put_le16(b, v >> 16);
}

uint32_t crc32_of(const uint8_t* p, size_t n) {
  uint32_t crc = 0xFFFFFFFFu;
  for (size_t i = 0; i < n; ++i) {
    crc ^= p[i];
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
  }
  return ~crc;
}

void add_png_chunk(Bytes& png, const char* type, const Bytes& data) {
  put_be32(png, static_cast<uint32_t>(data.size()));
  const size_t start = png.size();
  png.insert(png.end(), type, type + 4);
  png.insert(png.end(), data.begin(), data.end());
  put_be32(png, crc32_of(&png[start], png.size() - start));
}

// A zlib stream of stored (uncompressed) deflate blocks.
Bytes zlib_stored(const Bytes& raw) {
  Bytes z = {0x78, 0x01};
  size_t pos = 0;
  do {
    const size_t n = std::min<size_t>(65535, raw.size() - pos);
    z.push_back(pos + n == raw.size() ? 1 : 0);
    put_le16(z, static_cast<uint32_t>(n));
    put_le16(z, static_cast<uint32_t>(~n & 0xFFFF));
    z.insert(z.end(), raw.begin() + pos, raw.begin() + pos + n);
    pos += n;
  } while (pos < raw.size());
  uint32_t a = 1, b = 0;
  for (uint8_t v : raw) {
    a = (a + v) % 65521;
    b = (b + a) % 65521;
  }
  put_be32(z, b << 16 | a);
  return z;
}

// Hand-made PNG for the modes stb_image_write cannot produce (16-bit, palette, tRNS, eXIf).
struct PngSpec {
  int width = 0, height = 0, depth = 8, color = 2;
  Bytes rows;  // packed samples, row after row, without filter bytes
  Bytes palette, transparency, exif;
};

Bytes encode_png_raw(const PngSpec& s) {
  Bytes png = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  Bytes ihdr;
  put_be32(ihdr, s.width);
  put_be32(ihdr, s.height);
  ihdr.insert(ihdr.end(), {static_cast<uint8_t>(s.depth), static_cast<uint8_t>(s.color), 0, 0, 0});
  add_png_chunk(png, "IHDR", ihdr);
  if (!s.palette.empty()) add_png_chunk(png, "PLTE", s.palette);
  if (!s.transparency.empty()) add_png_chunk(png, "tRNS", s.transparency);
  if (!s.exif.empty()) add_png_chunk(png, "eXIf", s.exif);
  const size_t row_bytes = s.rows.size() / s.height;
  Bytes filtered;
  for (int y = 0; y < s.height; ++y) {
    filtered.push_back(0);
    filtered.insert(filtered.end(), s.rows.begin() + y * row_bytes, s.rows.begin() + (y + 1) * row_bytes);
  }
  add_png_chunk(png, "IDAT", zlib_stored(filtered));
  add_png_chunk(png, "IEND", {});
  return png;
}

// Rewrites the IHDR size (and its CRC) of a PNG.
void set_png_size(Bytes& png, uint32_t w, uint32_t h) {
  Bytes wh;
  put_be32(wh, w);
  put_be32(wh, h);
  std::copy(wh.begin(), wh.end(), png.begin() + 16);
  Bytes crc;
  put_be32(crc, crc32_of(&png[12], 17));
  std::copy(crc.begin(), crc.end(), png.begin() + 29);
}

// Offset of the first byte after FF <marker> in a JPEG.
size_t find_marker(const Bytes& jpeg, uint8_t marker) {
  for (size_t i = 2; i + 1 < jpeg.size(); ++i)
    if (jpeg[i] == 0xFF && jpeg[i + 1] == marker) return i + 2;
  return 0;
}

// ---- EXIF

struct TiffEntry {
  uint16_t tag, type;
  uint32_t count, value;
};

// A TIFF block (as in EXIF): header, IFD0 with `entries`, then `next_ifd`; `claimed_count` overrides the count.
Bytes tiff_block(const std::vector<TiffEntry>& entries, bool big_endian, uint32_t ifd_offset = 8,
                 int claimed_count = -1, uint32_t next_ifd = 0) {
  Bytes t;
  auto u16 = [&](uint32_t v) {
    if (big_endian) {
      t.push_back(static_cast<uint8_t>(v >> 8));
      t.push_back(static_cast<uint8_t>(v));
    } else {
      put_le16(t, v);
    }
  };
  auto u32 = [&](uint32_t v) {
    if (big_endian) put_be32(t, v);
    else put_le32(t, v);
  };
  t.push_back(big_endian ? 'M' : 'I');
  t.push_back(big_endian ? 'M' : 'I');
  u16(42);
  u32(ifd_offset);
  u16(claimed_count >= 0 ? static_cast<uint32_t>(claimed_count) : static_cast<uint32_t>(entries.size()));
  for (const TiffEntry& e : entries) {
    u16(e.tag);
    u16(e.type);
    u32(e.count);
    if (e.type == 3) {  // SHORT: left-justified in the value field
      u16(e.value);
      u16(0);
    } else {
      u32(e.value);
    }
  }
  u32(next_ifd);
  return t;
}

Bytes orientation_tiff(int orientation, bool big_endian) {
  return tiff_block({{0x010F, 2, 4, 0}, {0x0112, 3, 1, static_cast<uint32_t>(orientation)}, {0x0131, 2, 4, 0}},
                    big_endian);
}

// Inserts an APP1 "Exif\0\0" segment holding `tiff` right after SOI.
Bytes jpeg_with_exif(const Bytes& jpeg, const Bytes& tiff) {
  const size_t len = 2 + 6 + tiff.size();
  const uint8_t head[10] = {0xFF, 0xE1, static_cast<uint8_t>(len >> 8), static_cast<uint8_t>(len), 'E', 'x', 'i', 'f', 0, 0};
  Bytes out(jpeg.size() + 2 + len);
  size_t at = 0;
  auto put = [&](const uint8_t* p, size_t n) {
    if (n > 0) std::memcpy(&out[at], p, n);
    at += n;
  };
  put(jpeg.data(), 2);
  put(head, sizeof head);
  put(tiff.data(), tiff.size());
  put(jpeg.data() + 2, jpeg.size() - 2);
  return out;
}

// ---- GIF

#if VIGIL_WITH_GIF
struct GifFrame {
  int left = 0, top = 0, width = 0, height = 0;
  std::vector<uint8_t> indices;  // row-major, width x height
  int transparent = NO_TRANSPARENT_COLOR;
  int disposal = DISPOSAL_UNSPECIFIED;
  bool interlace = false;
};

int gif_append(GifFileType* gif, const GifByteType* data, int n) {
  auto* out = static_cast<Bytes*>(gif->UserData);
  out->insert(out->end(), data, data + n);
  return n;
}

// A GIF89a with a global palette (a power of two of colours) and the given frames, written by giflib.
Bytes encode_gif(int screen_w, int screen_h, const std::vector<GifColorType>& palette,
                 const std::vector<GifFrame>& frames) {
  Bytes out;
  int err = 0;
  GifFileType* gif = EGifOpen(&out, gif_append, &err);
  if (gif == nullptr) return {};
  EGifSetGifVersion(gif, true);
  ColorMapObject* map = GifMakeMapObject(static_cast<int>(palette.size()), palette.data());
  EGifPutScreenDesc(gif, screen_w, screen_h, 8, 0, map);
  GifFreeMapObject(map);
  for (const GifFrame& f : frames) {
    GraphicsControlBlock gcb{f.disposal, false, 10, f.transparent};
    GifByteType ext[4];
    const size_t n = EGifGCBToExtension(&gcb, ext);
    EGifPutExtension(gif, GRAPHICS_EXT_FUNC_CODE, static_cast<int>(n), ext);
    EGifPutImageDesc(gif, f.left, f.top, f.width, f.height, f.interlace, nullptr);
    std::vector<int> order;
    if (f.interlace) {
      const int first[4] = {0, 4, 2, 1}, step[4] = {8, 8, 4, 2};
      for (int p = 0; p < 4; ++p)
        for (int y = first[p]; y < f.height; y += step[p]) order.push_back(y);
    } else {
      for (int y = 0; y < f.height; ++y) order.push_back(y);
    }
    for (int y : order) {
      std::vector<GifPixelType> line(f.indices.begin() + y * f.width, f.indices.begin() + (y + 1) * f.width);
      EGifPutLine(gif, line.data(), f.width);
    }
  }
  EGifCloseFile(gif, &err);
  return out;
}

const std::vector<GifColorType> kGifPalette = {{255, 0, 0}, {0, 255, 0}, {0, 0, 255}, {255, 255, 255}};

GifFrame solid_gif_frame(int left, int top, int w, int h, uint8_t index) {
  GifFrame f;
  f.left = left;
  f.top = top;
  f.width = w;
  f.height = h;
  f.indices.assign(static_cast<size_t>(w) * h, index);
  return f;
}
#endif

// ---- WebP

#if VIGIL_WITH_WEBP
Bytes encode_webp(const Image& img, bool lossless, float quality = 90) {
  uint8_t* out = nullptr;
  size_t n = 0;
  const int stride = img.width * img.channels;
  if (img.channels == 4)
    n = lossless ? WebPEncodeLosslessRGBA(img.pixels.data(), img.width, img.height, stride, &out)
                 : WebPEncodeRGBA(img.pixels.data(), img.width, img.height, stride, quality, &out);
  else
    n = lossless ? WebPEncodeLosslessRGB(img.pixels.data(), img.width, img.height, stride, &out)
                 : WebPEncodeRGB(img.pixels.data(), img.width, img.height, stride, quality, &out);
  Bytes b(out, out + n);
  WebPFree(out);
  return b;
}

void add_riff_chunk(Bytes& out, const char* fourcc, const Bytes& payload) {
  out.insert(out.end(), fourcc, fourcc + 4);
  put_le32(out, static_cast<uint32_t>(payload.size()));
  out.insert(out.end(), payload.begin(), payload.end());
  if (payload.size() % 2) out.push_back(0);
}

Bytes riff_webp(const Bytes& chunks) {
  Bytes out = {'R', 'I', 'F', 'F'};
  put_le32(out, static_cast<uint32_t>(4 + chunks.size()));
  out.insert(out.end(), {'W', 'E', 'B', 'P'});
  out.insert(out.end(), chunks.begin(), chunks.end());
  return out;
}

Bytes vp8x_chunk(uint8_t flags, int w, int h) {
  Bytes p = {flags, 0, 0, 0};
  put_le24(p, w - 1);
  put_le24(p, h - 1);
  Bytes out;
  add_riff_chunk(out, "VP8X", p);
  return out;
}

// The image chunk(s) of a simple-format lossless WebP (everything after "RIFF<size>WEBP").
Bytes lossless_chunks(const Image& img) {
  const Bytes still = encode_webp(img, true);
  return Bytes(still.begin() + 12, still.end());
}

struct WebpFrame {
  int x = 0, y = 0;  // even
  Image rgba;
  bool dispose_to_background = false;
};

// An animated WebP assembled by hand: VP8X + ANIM + one ANMF per frame (lossless, no blending).
Bytes webp_animation(int w, int h, const std::vector<WebpFrame>& frames) {
  Bytes chunks = vp8x_chunk(0x02 | 0x10, w, h);
  add_riff_chunk(chunks, "ANIM", {0, 0, 0, 0, 0, 0});
  for (const WebpFrame& f : frames) {
    Bytes p;
    put_le24(p, f.x / 2);
    put_le24(p, f.y / 2);
    put_le24(p, f.rgba.width - 1);
    put_le24(p, f.rgba.height - 1);
    put_le24(p, 100);
    p.push_back(static_cast<uint8_t>(0x02 | (f.dispose_to_background ? 0x01 : 0)));
    const Bytes data = lossless_chunks(f.rgba);
    p.insert(p.end(), data.begin(), data.end());
    add_riff_chunk(chunks, "ANMF", p);
  }
  return riff_webp(chunks);
}

Image solid_rgba(int w, int h, const uint8_t* rgb, uint8_t alpha = 255) {
  Image img = make_image(w, h, 4);
  for (size_t i = 0; i < img.pixels.size(); i += 4) {
    std::memcpy(&img.pixels[i], rgb, 3);
    img.pixels[i + 3] = alpha;
  }
  return img;
}
#endif

// ------------------------------------------------------------------------------------------------ fixtures

class DecodeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("vigil_decode_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  std::string write(const std::string& name, const Bytes& bytes) const {
    const std::string path = (dir_ / name).string();
    std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    return path;
  }
  fs::path dir_;
};

DecodeResult decode(const Bytes& b, const DecodeOptions& o = {}, const std::string& name = "mem") {
  return decode_memory(b.data(), b.size(), name, o);
}

::testing::AssertionResult HasStatus(const DecodeResult& r, DecodeStatus s, const std::string& name) {
  if (r.status != s)
    return ::testing::AssertionFailure() << "status " << status_name(r.status) << ", expected " << status_name(s)
                                         << " (error: '" << r.error << "')";
  if (s == DecodeStatus::Ok) return r.error.empty() ? ::testing::AssertionSuccess() : ::testing::AssertionFailure() << "ok with error '" << r.error << "'";
  const std::string prefix = name + ": " + status_name(s) + ": ";
  if (r.error.rfind(prefix, 0) != 0 || r.error.size() <= prefix.size())
    return ::testing::AssertionFailure() << "error '" << r.error << "' does not start with '" << prefix << "' and a reason";
  return ::testing::AssertionSuccess();
}

DecodeOptions with_channels(int c) {
  DecodeOptions o;
  o.channels = c;
  return o;
}

// ------------------------------------------------------------------------------------------------ names, sniffing

TEST(DecodeNames, StatusAndFormatNames) {
  EXPECT_STREQ(status_name(DecodeStatus::Ok), "ok");
  EXPECT_STREQ(status_name(DecodeStatus::Unsupported), "unsupported");
  EXPECT_STREQ(status_name(DecodeStatus::Truncated), "truncated");
  EXPECT_STREQ(status_name(DecodeStatus::TooLarge), "too_large");
  EXPECT_STREQ(status_name(DecodeStatus::Corrupt), "corrupt");
  EXPECT_STREQ(status_name(DecodeStatus::IoError), "io_error");
  EXPECT_STREQ(status_name(DecodeStatus::Empty), "empty");
  EXPECT_STREQ(format_name(ImageFormat::Jpeg), "JPEG");
  EXPECT_STREQ(format_name(ImageFormat::Webp), "WebP");
  EXPECT_STREQ(format_name(ImageFormat::Unknown), "unknown");
}

TEST(DecodeSniff, MagicBytesDecideTheFormat) {
  const Image img = pattern(8, 6, 3);
  const Bytes png = encode_png_stb(img), jpg = encode_jpeg_libjpeg(img, 90), bmp = encode_bmp_stb(img);
  EXPECT_EQ(sniff_format(png.data(), png.size()), ImageFormat::Png);
  EXPECT_EQ(sniff_format(jpg.data(), jpg.size()), ImageFormat::Jpeg);
  EXPECT_EQ(sniff_format(bmp.data(), bmp.size()), ImageFormat::Bmp);
  const Bytes gif87 = {'G', 'I', 'F', '8', '7', 'a', 0}, gif89 = {'G', 'I', 'F', '8', '9', 'a', 0};
  EXPECT_EQ(sniff_format(gif87.data(), gif87.size()), ImageFormat::Gif);
  EXPECT_EQ(sniff_format(gif89.data(), gif89.size()), ImageFormat::Gif);
  const Bytes webp = {'R', 'I', 'F', 'F', 0, 0, 0, 0, 'W', 'E', 'B', 'P'}, avi = {'R', 'I', 'F', 'F', 0, 0, 0, 0, 'A', 'V', 'I', ' '};
  EXPECT_EQ(sniff_format(webp.data(), webp.size()), ImageFormat::Webp);
  EXPECT_EQ(sniff_format(avi.data(), avi.size()), ImageFormat::Unknown);
  EXPECT_EQ(sniff_format(nullptr, 0), ImageFormat::Unknown);
  EXPECT_EQ(sniff_format(jpg.data(), 2), ImageFormat::Unknown);  // FF D8 alone is not enough
}

TEST_F(DecodeTest, FileNameNeverDecidesTheFormat) {
  const Image img = pattern(9, 7, 3);
  const std::string path = write("really_a_png.jpg", encode_png_stb(img));
  const DecodeResult r = decode_file(path);
  ASSERT_TRUE(HasStatus(r, DecodeStatus::Ok, path));
  EXPECT_EQ(r.format, ImageFormat::Png);
  EXPECT_EQ(r.image.pixels, img.pixels);
}

TEST_F(DecodeTest, TextRenamedJpgIsUnsupportedNamingFileAndReason) {
  const std::string text = "<html><body>not an image</body></html>\n";
  const std::string path = write("photo.jpg", Bytes(text.begin(), text.end()));
  const DecodeResult r = decode_file(path);
  EXPECT_TRUE(HasStatus(r, DecodeStatus::Unsupported, path));
  EXPECT_NE(r.error.find("HTML"), std::string::npos) << r.error;
  const std::string plain = "just some words";
  const DecodeResult t = decode(Bytes(plain.begin(), plain.end()), {}, "notes.png");
  EXPECT_TRUE(HasStatus(t, DecodeStatus::Unsupported, "notes.png"));
  EXPECT_NE(t.error.find("text"), std::string::npos) << t.error;
}

TEST(DecodeSniff, OtherContainersAreNamedInTheError) {
  const Bytes tiff = {'I', 'I', 42, 0, 8, 0, 0, 0, 0, 0};
  const Bytes heic = {0, 0, 0, 24, 'f', 't', 'y', 'p', 'h', 'e', 'i', 'c', 0, 0, 0, 0};
  const Bytes avif = {0, 0, 0, 24, 'f', 't', 'y', 'p', 'a', 'v', 'i', 'f', 0, 0, 0, 0};
  const Bytes pdf = {'%', 'P', 'D', 'F', '-', '1', '.', '7', '\n'};
  const std::map<std::string, Bytes> cases = {{"TIFF", tiff}, {"HEIF", heic}, {"AVIF", avif}, {"PDF", pdf}};
  for (const auto& [what, bytes] : cases) {
    const DecodeResult r = decode(bytes, {}, "x");
    EXPECT_TRUE(HasStatus(r, DecodeStatus::Unsupported, "x")) << what;
    EXPECT_NE(r.error.find(what), std::string::npos) << r.error;
  }
}

// ------------------------------------------------------------------------------------------------ file errors

TEST_F(DecodeTest, ZeroByteFileIsEmpty) {
  const std::string path = write("empty.png", {});
  EXPECT_TRUE(HasStatus(decode_file(path), DecodeStatus::Empty, path));
  EXPECT_TRUE(HasStatus(decode(Bytes{}), DecodeStatus::Empty, "mem"));
  EXPECT_TRUE(HasStatus(decode_memory(nullptr, 0, "null"), DecodeStatus::Empty, "null"));
}

TEST_F(DecodeTest, MissingFileAndDirectoryAreIoErrors) {
  const std::string missing = (dir_ / "nope.jpg").string();
  const DecodeResult r = decode_file(missing);
  EXPECT_TRUE(HasStatus(r, DecodeStatus::IoError, missing));
  EXPECT_NE(r.error.find("No such file"), std::string::npos) << r.error;
  const DecodeResult d = decode_file(dir_.string());
  EXPECT_TRUE(HasStatus(d, DecodeStatus::IoError, dir_.string()));
  EXPECT_NE(d.error.find("directory"), std::string::npos) << d.error;
  const FramesResult f = decode_frames_file(missing);
  EXPECT_EQ(f.status, DecodeStatus::IoError);
  EXPECT_TRUE(f.frames.empty());
}

TEST_F(DecodeTest, FifoIsRefusedWithoutBlocking) {
  const std::string path = (dir_ / "pipe.jpg").string();
  ASSERT_EQ(::mkfifo(path.c_str(), 0600), 0);
  const DecodeResult r = decode_file(path);  // would block forever if opened for a blocking read
  EXPECT_TRUE(HasStatus(r, DecodeStatus::IoError, path));
  EXPECT_NE(r.error.find("not a regular file"), std::string::npos) << r.error;
}

TEST_F(DecodeTest, FileSizeLimitIsCheckedBeforeReading) {
  const std::string path = write("big.png", encode_png_stb(pattern(64, 64, 3)));
  DecodeOptions o;
  o.limits.max_file_bytes = 100;
  const DecodeResult r = decode_file(path, o);
  EXPECT_TRUE(HasStatus(r, DecodeStatus::TooLarge, path));
  EXPECT_NE(r.error.find("over the limit of 100"), std::string::npos) << r.error;
}

TEST(DecodeOptionsCheck, BadChannelCountIsAResultNotAnException) {
  DecodeOptions o;
  o.channels = 2;
  const Bytes png = encode_png_stb(pattern(4, 4, 3));
  DecodeResult r;
  EXPECT_NO_THROW(r = decode(png, o, "a.png"));
  EXPECT_TRUE(HasStatus(r, DecodeStatus::Unsupported, "a.png"));
}

// ------------------------------------------------------------------------------------------------ PNG modes

TEST(DecodePng, Rgb8RoundTripsExactly) {
  const Image img = pattern(13, 11, 3);
  const DecodeResult r = decode(encode_png_stb(img));
  ASSERT_TRUE(HasStatus(r, DecodeStatus::Ok, "mem"));
  EXPECT_EQ(r.format, ImageFormat::Png);
  EXPECT_EQ(r.image.width, 13);
  EXPECT_EQ(r.image.height, 11);
  EXPECT_EQ(r.image.channels, 3);
  EXPECT_EQ(r.image.pixels, img.pixels);
}

TEST(DecodePng, GrayIsReplicatedToRgbAndKeptAsGray) {
  const Image gray = pattern(10, 7, 1);
  const Bytes png = encode_png_stb(gray);
  const DecodeResult rgb = decode(png);
  ASSERT_TRUE(rgb.ok()) << rgb.error;
  for (size_t i = 0; i < gray.pixels.size(); ++i)
    for (int k = 0; k < 3; ++k) ASSERT_EQ(rgb.image.pixels[i * 3 + k], gray.pixels[i]);
  const DecodeResult g = decode(png, with_channels(1));
  ASSERT_TRUE(g.ok()) << g.error;
  EXPECT_EQ(g.image.channels, 1);
  EXPECT_EQ(g.image.pixels, gray.pixels);
}

uint8_t expected_blend(int c, int a, int bg) { return static_cast<uint8_t>(std::lround((c * a + bg * (255.0 - a)) / 255.0)); }

TEST(DecodePng, RgbaIsCompositedOntoTheBackground) {
  Image img = pattern(16, 16, 4);
  for (int i = 0; i < 16; ++i) img.pixels[i * 4 + 3] = 0;      // fully transparent
  for (int i = 16; i < 32; ++i) img.pixels[i * 4 + 3] = 255;   // opaque
  const Bytes png = encode_png_stb(img);
  for (const uint8_t bg : {uint8_t(255), uint8_t(0)}) {
    DecodeOptions o;
    o.background[0] = bg;
    o.background[1] = 0;
    o.background[2] = 128;
    const DecodeResult r = decode(png, o);
    ASSERT_TRUE(r.ok()) << r.error;
    ASSERT_EQ(r.image.channels, 3);
    for (size_t i = 0; i < 256; ++i)
      for (int k = 0; k < 3; ++k)
        ASSERT_EQ(r.image.pixels[i * 3 + k], expected_blend(img.pixels[i * 4 + k], img.pixels[i * 4 + 3], o.background[k]))
            << "pixel " << i << " channel " << k;
    EXPECT_EQ(r.image.pixels[0], bg);  // transparent -> background
    EXPECT_EQ(r.image.pixels[16 * 3], img.pixels[16 * 4]);  // opaque -> colour
  }
}

TEST(DecodePng, GrayAlphaIsCompositedThenConverted) {
  Image img = pattern(12, 5, 2);
  const Bytes png = encode_png_stb(img);
  const DecodeResult rgb = decode(png);  // white background
  ASSERT_TRUE(rgb.ok()) << rgb.error;
  const DecodeResult gray = decode(png, with_channels(1));
  ASSERT_TRUE(gray.ok()) << gray.error;
  for (size_t i = 0; i < 60; ++i) {
    const uint8_t e = expected_blend(img.pixels[i * 2], img.pixels[i * 2 + 1], 255);
    ASSERT_EQ(rgb.image.pixels[i * 3], e);
    ASSERT_EQ(rgb.image.pixels[i * 3 + 2], e);
    ASSERT_EQ(gray.image.pixels[i], e);  // luma of a gray pixel is the pixel
  }
}

TEST(DecodePng, PaletteWithTransparency) {
  PngSpec s;
  s.width = 4;
  s.height = 2;
  s.color = 3;
  s.palette = {10, 20, 30, 200, 100, 50, 0, 0, 0};
  s.transparency = {255, 255, 0};  // index 2 fully transparent
  s.rows = {0, 1, 2, 0, 1, 1, 2, 2};
  const DecodeResult r = decode(encode_png_raw(s));
  ASSERT_TRUE(r.ok()) << r.error;
  const uint8_t c0[3] = {10, 20, 30}, c1[3] = {200, 100, 50};
  EXPECT_TRUE(PixelNear(r.image, 0, 0, c0, 0));
  EXPECT_TRUE(PixelNear(r.image, 1, 0, c1, 0));
  EXPECT_TRUE(PixelNear(r.image, 2, 0, kWhite, 0));
  EXPECT_TRUE(PixelNear(r.image, 3, 1, kWhite, 0));
}

TEST(DecodePng, SixteenBitKeepsTheHighByte) {
  PngSpec s;
  s.width = 3;
  s.height = 2;
  s.depth = 16;
  s.color = 2;
  const uint16_t samples[18] = {0, 0x00FF, 0x0100, 0x7FFF, 0x8000, 0xFFFF, 0x1234, 0xABCD, 0x5555,
                                1, 2, 3, 0xFF00, 0xFEFF, 0x8080, 0x4000, 0xC000, 0x00AA};
  for (uint16_t v : samples) {
    s.rows.push_back(static_cast<uint8_t>(v >> 8));
    s.rows.push_back(static_cast<uint8_t>(v));
  }
  const DecodeResult r = decode(encode_png_raw(s));
  ASSERT_TRUE(r.ok()) << r.error;
  for (int i = 0; i < 18; ++i) EXPECT_EQ(r.image.pixels[i], samples[i] >> 8) << i;

  PngSpec g = s;  // 16-bit gray
  g.color = 0;
  g.width = 3;
  g.height = 3;
  g.rows.resize(18);
  const DecodeResult rg = decode(encode_png_raw(g), with_channels(1));
  ASSERT_TRUE(rg.ok()) << rg.error;
  for (int i = 0; i < 9; ++i) EXPECT_EQ(rg.image.pixels[i], samples[i] >> 8) << i;
}

TEST(DecodePng, OneBitGray) {
  PngSpec s;
  s.width = 10;
  s.height = 2;
  s.depth = 1;
  s.color = 0;
  s.rows = {0xA5, 0x40, 0xFF, 0xC0};  // 1010010101 / 1111111111
  const DecodeResult r = decode(encode_png_raw(s), with_channels(1));
  ASSERT_TRUE(r.ok()) << r.error;
  const int bits[20] = {1, 0, 1, 0, 0, 1, 0, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
  for (int i = 0; i < 20; ++i) EXPECT_EQ(r.image.pixels[i], bits[i] ? 255 : 0) << i;
}

TEST(DecodeLuma, MatchesPilConvertL) {
  for (const auto& c : test::load_golden("preprocess")) {
    if (c.params.value("kind", "") != "luma") continue;
    const auto& in = c.at("input");
    Image img = make_image(static_cast<int>(in.shape[1]), static_cast<int>(in.shape[0]), 3);
    for (size_t i = 0; i < img.pixels.size(); ++i) img.pixels[i] = static_cast<uint8_t>(in.data[i]);
    const DecodeResult r = decode(encode_png_stb(img), with_channels(1));
    ASSERT_TRUE(r.ok()) << r.error;
    const auto& gray = c.at("gray");
    ASSERT_EQ(r.image.pixels.size(), gray.data.size());
    for (size_t i = 0; i < gray.data.size(); ++i) ASSERT_EQ(r.image.pixels[i], gray.data[i]) << "pixel " << i;
  }
}

// ------------------------------------------------------------------------------------------------ BMP, JPEG

TEST(DecodeBmp, RoundTripsExactly) {
  for (int w : {7, 8}) {  // with and without row padding
    const Image img = pattern(w, 5, 3);
    const DecodeResult r = decode(encode_bmp_stb(img));
    ASSERT_TRUE(r.ok()) << r.error;
    EXPECT_EQ(r.format, ImageFormat::Bmp);
    EXPECT_EQ(r.image.pixels, img.pixels);
  }
}

TEST(DecodeBmp, RleIsUnsupported) {
  Bytes bmp = encode_bmp_stb(pattern(8, 4, 3));
  bmp[30] = 1;  // BI_RLE8
  EXPECT_TRUE(HasStatus(decode(bmp, {}, "rle.bmp"), DecodeStatus::Unsupported, "rle.bmp"));
}

TEST(DecodeJpeg, BaselineIsCloseToTheSource) {
  const Image img = smooth(48, 40);
  const DecodeResult r = decode(encode_jpeg_libjpeg(img, 95));
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.format, ImageFormat::Jpeg);
  EXPECT_LE(max_abs_diff(r.image, img), 8);
}

// PIL (libjpeg-turbo) encodes progressive and baseline files at generator time. vigil decodes JPEG with the same
// library and the same settings as PIL (accurate integer IDCT, fancy upsampling), whose SIMD paths are bit-exact
// with its C code, so the pixels must be identical.
TEST(DecodeJpeg, ProgressiveAndBaselineMatchPil) {
  int cases = 0;
  for (const auto& c : test::load_golden("preprocess")) {
    if (c.params.value("kind", "") != "jpeg") continue;
    ++cases;
    const auto& file = c.at("file");
    Bytes bytes(file.data.begin(), file.data.end());
    const int channels = c.params.at("channels").get<int>();
    const DecodeResult r = decode(bytes, with_channels(channels), c.name);
    ASSERT_TRUE(r.ok()) << r.error;
    const auto& ref = c.at("decoded");
    ASSERT_EQ(r.image.height, ref.shape[0]);
    ASSERT_EQ(r.image.width, ref.shape[1]);
    int worst = 0;
    double sum = 0;
    for (size_t i = 0; i < ref.data.size(); ++i) {
      const int d = std::abs(int(r.image.pixels[i]) - int(ref.data[i]));
      worst = std::max(worst, d);
      sum += d;
    }
    std::printf("[ jpeg ] %s: vigil vs PIL max |diff| %d, mean %.3f\n", c.name.c_str(), worst, sum / ref.data.size());
    EXPECT_EQ(worst, 0) << c.name;
  }
  EXPECT_EQ(cases, 3);
}

TEST(DecodeJpeg, UnsupportedCodings) {
  const Bytes base = encode_jpeg_libjpeg(smooth(16, 16), 90);
  Bytes arithmetic = base;
  arithmetic[find_marker(base, 0xC0) - 1] = 0xC9;
  const DecodeResult a = decode(arithmetic, {}, "a.jpg");
  EXPECT_TRUE(HasStatus(a, DecodeStatus::Unsupported, "a.jpg"));
  EXPECT_NE(a.error.find("arithmetic"), std::string::npos) << a.error;
  Bytes twelve = base;
  twelve[find_marker(base, 0xC0) + 2] = 12;
  EXPECT_TRUE(HasStatus(decode(twelve, {}, "b.jpg"), DecodeStatus::Unsupported, "b.jpg"));
}

TEST(DecodeJpeg, CorruptHuffmanDataIsAnError) {
  Bytes jpeg = encode_jpeg_libjpeg(smooth(32, 32), 90);
  const size_t dht = find_marker(jpeg, 0xC4);
  ASSERT_GT(dht, 0u);
  Bytes many = jpeg;
  jpeg[dht + 2] = 0x47;  // table class/id 4/7: invalid
  EXPECT_TRUE(HasStatus(decode(jpeg, {}, "c.jpg"), DecodeStatus::Corrupt, "c.jpg"));
  // 16 x 32 = 512 codes: stb_image 2.27 would write past its Huffman arrays; vigil refuses the table first.
  for (int i = 0; i < 16; ++i) many[dht + 3 + i] = 32;
  const DecodeResult r = decode(many, {}, "d.jpg");
  EXPECT_TRUE(HasStatus(r, DecodeStatus::Corrupt, "d.jpg"));
  EXPECT_NE(r.error.find("Huffman"), std::string::npos) << r.error;
}

// ------------------------------------------------------------------------------------------------ truncation

// Every strict prefix of a valid file is reported as truncated (never decoded into an image padded with zeros).
void expect_all_prefixes_truncated(const Bytes& file, const std::string& what, size_t allowed_tail = 0) {
  const size_t step = file.size() > 3000 ? file.size() / 1500 : 1;
  for (size_t n = 1; n + allowed_tail < file.size(); n += step) {
    const DecodeResult r = decode_memory(file.data(), n, what);
    ASSERT_TRUE(HasStatus(r, DecodeStatus::Truncated, what)) << what << " cut to " << n << " of " << file.size();
  }
}

TEST(DecodeTruncated, EveryPrefixOfPngJpegBmp) {
  expect_all_prefixes_truncated(encode_png_stb(pattern(20, 10, 3)), "cut.png");
  expect_all_prefixes_truncated(encode_png_stb(pattern(9, 9, 4)), "cut_rgba.png");
  expect_all_prefixes_truncated(encode_jpeg_libjpeg(smooth(24, 24), 80), "cut.jpg");
  expect_all_prefixes_truncated(encode_bmp_stb(pattern(8, 6, 3)), "cut.bmp");
}

TEST(DecodeTruncated, HalfAProgressiveJpeg) {
  for (const auto& c : test::load_golden("preprocess")) {
    if (c.name != "jpeg_progressive_rgb") continue;
    const Bytes bytes(c.at("file").data.begin(), c.at("file").data.end());
    expect_all_prefixes_truncated(bytes, "prog.jpg");
  }
}

TEST_F(DecodeTest, TruncatedFileOnDiskNamesTheFile) {
  const Bytes png = encode_png_stb(pattern(30, 30, 3));
  const std::string path = write("half.png", Bytes(png.begin(), png.begin() + png.size() / 2));
  const DecodeResult r = decode_file(path);
  EXPECT_TRUE(HasStatus(r, DecodeStatus::Truncated, path));
  EXPECT_NE(r.error.find("IDAT"), std::string::npos) << r.error;
}

// ------------------------------------------------------------------------------------------------ limits, bombs

TEST(DecodeLimitsCheck, PngBombHeaderIsRejectedAtOnce) {
  Bytes png = encode_png_stb(pattern(2, 2, 3));
  set_png_size(png, 100000, 100000);
  const DecodeResult r = decode(png, {}, "bomb.png");
  EXPECT_TRUE(HasStatus(r, DecodeStatus::TooLarge, "bomb.png"));
  EXPECT_NE(r.error.find("100000x100000"), std::string::npos) << r.error;
}

TEST(DecodeLimitsCheck, PngDecompressionBomb) {
#if VIGIL_WITH_ZLIB
  // A 64x64 header over an IDAT that inflates to 48 MiB of zeros (about 50 KiB compressed).
  const Bytes zeros(48u << 20, 0);
  uLongf packed_size = compressBound(zeros.size());
  Bytes packed(packed_size);
  ASSERT_EQ(compress2(packed.data(), &packed_size, zeros.data(), zeros.size(), 9), Z_OK);
  packed.resize(packed_size);
  Bytes png = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  Bytes ihdr;
  put_be32(ihdr, 64);
  put_be32(ihdr, 64);
  ihdr.insert(ihdr.end(), {8, 2, 0, 0, 0});
  add_png_chunk(png, "IHDR", ihdr);
  add_png_chunk(png, "IDAT", packed);
  add_png_chunk(png, "IEND", {});
  const DecodeResult r = decode(png, {}, "zip.png");
  EXPECT_TRUE(HasStatus(r, DecodeStatus::TooLarge, "zip.png"));
  EXPECT_NE(r.error.find("decompression bomb"), std::string::npos) << r.error;
#else
  GTEST_SKIP() << "built without zlib: PNG inflation is bounded only by stb_image";
#endif
}

TEST(DecodeLimitsCheck, JpegHeaderDimensions) {
  Bytes jpeg = encode_jpeg_libjpeg(smooth(16, 16), 90);
  const size_t sof = find_marker(jpeg, 0xC0);
  jpeg[sof + 3] = 0xEA;  // height 60000
  jpeg[sof + 4] = 0x60;
  jpeg[sof + 5] = 0xEA;  // width 60000
  jpeg[sof + 6] = 0x60;
  const DecodeResult r = decode(jpeg, {}, "huge.jpg");
  EXPECT_TRUE(HasStatus(r, DecodeStatus::TooLarge, "huge.jpg"));
  EXPECT_NE(r.error.find("60000x60000"), std::string::npos) << r.error;
}

TEST(DecodeLimitsCheck, EachLimitApplies) {
  const Bytes png = encode_png_stb(pattern(40, 30, 3));
  DecodeOptions o;
  o.limits.max_width = 39;
  EXPECT_EQ(decode(png, o).status, DecodeStatus::TooLarge);
  o = DecodeOptions{};
  o.limits.max_height = 29;
  EXPECT_EQ(decode(png, o).status, DecodeStatus::TooLarge);
  o = DecodeOptions{};
  o.limits.max_pixels = 40 * 30 - 1;
  EXPECT_EQ(decode(png, o).status, DecodeStatus::TooLarge);
  o.limits.max_pixels = 40 * 30;
  EXPECT_TRUE(decode(png, o).ok());
  o = DecodeOptions{};
  o.limits.max_width = 8;
  EXPECT_EQ(decode(encode_bmp_stb(pattern(9, 2, 3)), o).status, DecodeStatus::TooLarge);
  EXPECT_EQ(decode(encode_jpeg_libjpeg(smooth(9, 9), 90), o).status, DecodeStatus::TooLarge);
}

// ------------------------------------------------------------------------------------------------ EXIF

enum Side { Top, Bottom, Left, Right };
Side opposite(Side s) { return s == Top ? Bottom : s == Bottom ? Top : s == Left ? Right : Left; }

// The EXIF definition: orientation n puts the stored 0th row on side row0[n] and the 0th column on col0[n] of the
// displayed image; a stored corner lands where its row side and column side meet.
const Side kRow0[9] = {Top, Top, Top, Bottom, Bottom, Left, Right, Right, Left};
const Side kCol0[9] = {Left, Left, Right, Right, Left, Top, Top, Bottom, Bottom};

// Displayed pixel coordinates of the corner between two sides (one horizontal, one vertical) of a w x h image.
std::pair<int, int> corner(Side a, Side b, int w, int h) {
  const Side vertical = (a == Left || a == Right) ? a : b, horizontal = (a == Top || a == Bottom) ? a : b;
  return {vertical == Left ? 2 : w - 3, horizontal == Top ? 2 : h - 3};
}

void expect_oriented(const Image& shown, int orientation, int stored_w, int stored_h, int tol) {
  const bool swapped = orientation >= 5;
  ASSERT_EQ(shown.width, swapped ? stored_h : stored_w) << "orientation " << orientation;
  ASSERT_EQ(shown.height, swapped ? stored_w : stored_h) << "orientation " << orientation;
  const Side r = kRow0[orientation], c = kCol0[orientation];
  struct StoredCorner {
    bool first_row, first_col;
    const uint8_t* color;
  };
  const StoredCorner corners[4] = {{true, true, kRed}, {true, false, kGreen}, {false, true, kBlue}, {false, false, kWhite}};
  for (const StoredCorner& s : corners) {
    const auto [x, y] = corner(s.first_row ? r : opposite(r), s.first_col ? c : opposite(c), shown.width, shown.height);
    EXPECT_TRUE(PixelNear(shown, x, y, s.color, tol)) << "orientation " << orientation;
  }
}

TEST(DecodeExif, JpegOrientationsOneToEightBothByteOrders) {
  const Image stored = quadrants(64, 32);
  const Bytes jpeg = encode_jpeg_libjpeg(stored, 100);  // 4:4:4, block-aligned quadrants
  for (int orientation = 1; orientation <= 8; ++orientation)
    for (const bool big_endian : {false, true}) {
      const Bytes file = jpeg_with_exif(jpeg, orientation_tiff(orientation, big_endian));
      const DecodeResult r = decode(file);
      ASSERT_TRUE(r.ok()) << r.error;
      expect_oriented(r.image, orientation, 64, 32, 12);
      DecodeOptions raw;
      raw.apply_exif_orientation = false;
      const DecodeResult u = decode(file, raw);
      ASSERT_TRUE(u.ok()) << u.error;
      expect_oriented(u.image, 1, 64, 32, 12);
    }
}

TEST(DecodeExif, OrientationAppliesToGrayOutput) {
  const Bytes file = jpeg_with_exif(encode_jpeg_libjpeg(quadrants(64, 32), 100), orientation_tiff(6, false));
  const DecodeResult r = decode(file, with_channels(1));
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.image.width, 32);
  EXPECT_EQ(r.image.height, 64);
  EXPECT_EQ(r.image.channels, 1);
}

TEST(DecodeExif, MalformedBlocksAreIgnoredSafely) {
  const Bytes jpeg = encode_jpeg_libjpeg(quadrants(64, 32), 100);
  const TiffEntry six{0x0112, 3, 1, 6};
  const std::vector<std::pair<std::string, Bytes>> blocks = {
      {"IFD offset past the end", tiff_block({six}, false, 0xFFFFFF00u)},
      {"IFD offset inside the header", tiff_block({six}, false, 4)},
      {"entry count larger than the block", tiff_block({{0x010F, 2, 4, 0}}, true, 8, 0xFFFF)},
      {"next-IFD pointer to itself", tiff_block({{0x010F, 2, 4, 0}}, false, 8, -1, 8)},
      {"orientation 9", tiff_block({{0x0112, 3, 1, 9}}, false)},
      {"orientation 0", tiff_block({{0x0112, 3, 1, 0}}, true)},
      {"orientation with ASCII type", tiff_block({{0x0112, 2, 1, 6}}, false)},
      {"orientation with count 0", tiff_block({{0x0112, 3, 0, 6}}, false)},
      {"bad byte order", Bytes{'X', 'X', 42, 0, 8, 0, 0, 0}},
      {"bad magic", Bytes{'I', 'I', 43, 0, 8, 0, 0, 0}},
      {"header only", Bytes{'M', 'M', 0, 42}},
      {"empty", Bytes{}},
  };
  for (const auto& [what, block] : blocks) {
    const DecodeResult r = decode(jpeg_with_exif(jpeg, block));
    ASSERT_TRUE(r.ok()) << what << ": " << r.error;
    expect_oriented(r.image, 1, 64, 32, 12);
    EXPECT_EQ(exif_orientation(block.data(), block.size()), 1) << what;
  }
  // An entry split by the end of the block is not read.
  Bytes cut = orientation_tiff(6, false);
  cut.resize(8 + 2 + 12 + 8);
  EXPECT_EQ(exif_orientation(cut.data(), cut.size()), 1);
  cut = orientation_tiff(6, false);
  cut.resize(8 + 2 + 24);
  EXPECT_EQ(exif_orientation(cut.data(), cut.size()), 6);
  EXPECT_EQ(exif_orientation(nullptr, 0), 1);
}

TEST(DecodeExif, LongTypeAndExifPrefix) {
  const Bytes t = tiff_block({{0x0112, 4, 1, 8}}, true);
  EXPECT_EQ(exif_orientation(t.data(), t.size()), 8);
  Bytes prefixed = {'E', 'x', 'i', 'f', 0, 0};
  const Bytes t3 = orientation_tiff(3, false);
  prefixed.insert(prefixed.end(), t3.begin(), t3.end());
  EXPECT_EQ(exif_orientation(prefixed.data(), prefixed.size()), 3);
}

TEST(DecodeExif, PngExifChunk) {
  const Image stored = quadrants(16, 8);
  PngSpec s;
  s.width = 16;
  s.height = 8;
  s.rows = stored.pixels;
  s.exif = orientation_tiff(6, true);
  const DecodeResult r = decode(encode_png_raw(s));
  ASSERT_TRUE(r.ok()) << r.error;
  expect_oriented(r.image, 6, 16, 8, 0);
}

TEST(DecodeExif, ApplyOrientationIsAPermutation) {
  const Image img = pattern(5, 3, 2);
  for (int o = 1; o <= 8; ++o) {
    Image shown = apply_orientation(img, o);
    EXPECT_EQ(shown.width * shown.height, 15);
    std::vector<uint8_t> a = shown.pixels, b = img.pixels;
    std::sort(a.begin(), a.end());
    std::sort(b.begin(), b.end());
    EXPECT_EQ(a, b) << o;
  }
  // 2 and 4 and 3 are their own inverses; 6 then 8 is the identity.
  for (int o : {2, 3, 4, 5, 7}) EXPECT_EQ(apply_orientation(apply_orientation(img, o), o).pixels, img.pixels) << o;
  EXPECT_EQ(apply_orientation(apply_orientation(img, 6), 8).pixels, img.pixels);
}

// ------------------------------------------------------------------------------------------------ GIF

#if VIGIL_WITH_GIF
TEST(DecodeGif, SingleFramePaletteColours) {
  GifFrame f = solid_gif_frame(0, 0, 4, 3, 0);
  f.indices = {0, 1, 2, 3, 3, 2, 1, 0, 0, 0, 1, 1};
  const Bytes gif = encode_gif(4, 3, kGifPalette, {f});
  const DecodeResult r = decode(gif);
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.format, ImageFormat::Gif);
  ASSERT_EQ(r.image.width, 4);
  ASSERT_EQ(r.image.height, 3);
  for (int i = 0; i < 12; ++i) {
    const GifColorType& c = kGifPalette[f.indices[i]];
    const uint8_t rgb[3] = {c.Red, c.Green, c.Blue};
    EXPECT_TRUE(PixelNear(r.image, i % 4, i / 4, rgb, 0));
  }
}

TEST(DecodeGif, InterlacedEqualsProgressiveRows) {
  GifFrame f = solid_gif_frame(0, 0, 5, 13, 0);
  for (size_t i = 0; i < f.indices.size(); ++i) f.indices[i] = static_cast<uint8_t>((i * 7 / 5) % 4);
  GifFrame g = f;
  g.interlace = true;
  const DecodeResult a = decode(encode_gif(5, 13, kGifPalette, {f})), b = decode(encode_gif(5, 13, kGifPalette, {g}));
  ASSERT_TRUE(a.ok() && b.ok()) << a.error << b.error;
  EXPECT_EQ(a.image.pixels, b.image.pixels);
}

TEST(DecodeGif, TransparencyAndFramesOutsideTheScreen) {
  GifFrame f = solid_gif_frame(3, 3, 4, 4, 2);
  f.transparent = 3;
  f.indices[0] = 3;
  GifFrame off = solid_gif_frame(8, 8, 4, 4, 1);  // overhangs the 10x10 screen
  const Bytes gif = encode_gif(10, 10, kGifPalette, {f, off});
  DecodeOptions black;
  black.background[0] = black.background[1] = black.background[2] = 0;
  const DecodeResult r = decode(gif, black);
  ASSERT_TRUE(r.ok()) << r.error;
  const uint8_t k0[3] = {0, 0, 0};
  EXPECT_TRUE(PixelNear(r.image, 0, 0, k0, 0));   // never drawn
  EXPECT_TRUE(PixelNear(r.image, 3, 3, k0, 0));   // transparent index
  EXPECT_TRUE(PixelNear(r.image, 4, 3, kBlue, 0));
  const FramesResult all = decode_frames_memory(gif.data(), gif.size(), "t.gif", black);
  ASSERT_TRUE(all.ok()) << all.error;
  ASSERT_EQ(all.frames.size(), 2u);
  EXPECT_TRUE(PixelNear(all.frames[1], 9, 9, kGreen, 0));
  EXPECT_TRUE(PixelNear(all.frames[1], 4, 3, kBlue, 0));
}

TEST(DecodeGif, AnimationDisposalModes) {
  GifFrame f1 = solid_gif_frame(0, 0, 8, 8, 0);  // red everywhere
  f1.disposal = DISPOSE_DO_NOT;
  GifFrame f2 = solid_gif_frame(2, 2, 4, 4, 1);  // green square, then cleared to background
  f2.disposal = DISPOSE_BACKGROUND;
  GifFrame f3 = solid_gif_frame(0, 0, 2, 2, 2);  // blue corner, then restored to the previous canvas
  f3.disposal = DISPOSE_PREVIOUS;
  GifFrame f4 = solid_gif_frame(6, 6, 2, 2, 1);  // green corner
  const Bytes gif = encode_gif(8, 8, kGifPalette, {f1, f2, f3, f4});
  const FramesResult r = decode_frames_memory(gif.data(), gif.size(), "anim.gif");
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.format, ImageFormat::Gif);
  ASSERT_EQ(r.frames.size(), 4u);
  EXPECT_TRUE(PixelNear(r.frames[0], 3, 3, kRed, 0));
  EXPECT_TRUE(PixelNear(r.frames[1], 3, 3, kGreen, 0));
  EXPECT_TRUE(PixelNear(r.frames[1], 0, 0, kRed, 0));
  EXPECT_TRUE(PixelNear(r.frames[2], 3, 3, kWhite, 0));  // cleared to transparent: the white background
  EXPECT_TRUE(PixelNear(r.frames[2], 0, 0, kBlue, 0));
  EXPECT_TRUE(PixelNear(r.frames[3], 0, 0, kRed, 0));    // blue corner restored away
  EXPECT_TRUE(PixelNear(r.frames[3], 3, 3, kWhite, 0));
  EXPECT_TRUE(PixelNear(r.frames[3], 7, 7, kGreen, 0));
  const DecodeResult first = decode(gif);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first.image.pixels, r.frames[0].pixels);
  DecodeOptions few;
  few.limits.max_frames = 3;
  const FramesResult capped = decode_frames_memory(gif.data(), gif.size(), "anim.gif", few);
  EXPECT_EQ(capped.status, DecodeStatus::TooLarge);
  EXPECT_NE(capped.error.find("more than 3 frames"), std::string::npos) << capped.error;
  EXPECT_TRUE(decode(gif, few).ok());  // the first frame alone is within the limit
}

TEST(DecodeGif, ScreenSizeLimitAndTruncation) {
  const Bytes gif = encode_gif(20, 10, kGifPalette, {solid_gif_frame(0, 0, 20, 10, 1)});
  DecodeOptions o;
  o.limits.max_width = 19;
  EXPECT_TRUE(HasStatus(decode(gif, o, "w.gif"), DecodeStatus::TooLarge, "w.gif"));
  Bytes huge = gif;
  huge[6] = huge[7] = huge[8] = huge[9] = 0xFF;  // 65535 x 65535 screen
  EXPECT_TRUE(HasStatus(decode(huge, {}, "h.gif"), DecodeStatus::TooLarge, "h.gif"));
  expect_all_prefixes_truncated(gif, "cut.gif", 1);  // only a missing trailer byte is tolerated
  EXPECT_TRUE(decode_memory(gif.data(), gif.size() - 1, "no_trailer.gif").ok());
}
#endif

// ------------------------------------------------------------------------------------------------ WebP

#if VIGIL_WITH_WEBP
TEST(DecodeWebp, LosslessRgbAndRgba) {
  const Image rgb = pattern(17, 9, 3);
  const DecodeResult r = decode(encode_webp(rgb, true));
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.format, ImageFormat::Webp);
  EXPECT_EQ(r.image.pixels, rgb.pixels);
  Image rgba = pattern(6, 5, 4);
  const DecodeResult a = decode(encode_webp(rgba, true));
  ASSERT_TRUE(a.ok()) << a.error;
  for (size_t i = 0; i < 30; ++i)
    for (int k = 0; k < 3; ++k) {
      const int alpha = rgba.pixels[i * 4 + 3];
      if (alpha == 0) continue;  // libwebp may drop the colour of invisible pixels
      ASSERT_EQ(a.image.pixels[i * 3 + k], expected_blend(rgba.pixels[i * 4 + k], alpha, 255)) << i;
    }
}

TEST(DecodeWebp, LossyIsCloseToTheSource) {
  const Image img = smooth(40, 32);
  const DecodeResult r = decode(encode_webp(img, false, 95));
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_LE(max_abs_diff(r.image, img), 16);
}

TEST(DecodeWebp, AnimationFramesOnTheCanvas) {
  std::vector<WebpFrame> frames(3);
  frames[0].rgba = solid_rgba(8, 8, kRed);
  frames[1].rgba = solid_rgba(4, 4, kGreen);
  frames[1].x = frames[1].y = 2;
  frames[2].rgba = solid_rgba(2, 2, kBlue);
  const Bytes webp = webp_animation(8, 8, frames);
  const FramesResult r = decode_frames_memory(webp.data(), webp.size(), "anim.webp");
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.format, ImageFormat::Webp);
  ASSERT_EQ(r.frames.size(), 3u);
  EXPECT_TRUE(PixelNear(r.frames[0], 5, 5, kRed, 0));
  EXPECT_TRUE(PixelNear(r.frames[1], 3, 3, kGreen, 0));
  EXPECT_TRUE(PixelNear(r.frames[1], 7, 7, kRed, 0));
  EXPECT_TRUE(PixelNear(r.frames[2], 0, 0, kBlue, 0));
  EXPECT_TRUE(PixelNear(r.frames[2], 3, 3, kGreen, 0));
  const DecodeResult first = decode(webp);
  ASSERT_TRUE(first.ok()) << first.error;
  EXPECT_EQ(first.image.pixels, r.frames[0].pixels);
  DecodeOptions few;
  few.limits.max_frames = 2;
  EXPECT_EQ(decode_frames_memory(webp.data(), webp.size(), "a.webp", few).status, DecodeStatus::TooLarge);
  expect_all_prefixes_truncated(webp, "cut_anim.webp");
}

TEST(DecodeWebp, ExifOrientationAndTruncation) {
  const Image stored = quadrants(16, 8);
  Bytes chunks = vp8x_chunk(0x08, 16, 8);
  const Bytes image = lossless_chunks(stored);
  chunks.insert(chunks.end(), image.begin(), image.end());
  add_riff_chunk(chunks, "EXIF", orientation_tiff(8, false));
  const Bytes webp = riff_webp(chunks);
  const DecodeResult r = decode(webp);
  ASSERT_TRUE(r.ok()) << r.error;
  expect_oriented(r.image, 8, 16, 8, 0);
  expect_all_prefixes_truncated(encode_webp(pattern(12, 12, 3), false), "cut.webp");
  DecodeOptions o;
  o.limits.max_height = 7;
  EXPECT_TRUE(HasStatus(decode(webp, o, "tall.webp"), DecodeStatus::TooLarge, "tall.webp"));
}
#endif

// ------------------------------------------------------------------------------------------------ every path

TEST_F(DecodeTest, FileAndMemoryAgreeAndRepeatIdentically) {
  const Bytes jpeg = encode_jpeg_libjpeg(smooth(33, 21), 85);
  const std::string path = write("same.jpg", jpeg);
  const DecodeResult a = decode_file(path), b = decode(jpeg), c = decode(jpeg);
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  EXPECT_EQ(a.image.pixels, b.image.pixels);
  EXPECT_EQ(b.image.pixels, c.image.pixels);
  const FramesResult f = decode_frames_file(path);
  ASSERT_TRUE(f.ok()) << f.error;
  ASSERT_EQ(f.frames.size(), 1u);
  EXPECT_EQ(f.frames[0].pixels, a.image.pixels);
}

// ------------------------------------------------------------------------------------------------ fuzzing

struct CorpusFile {
  std::string name;
  Bytes bytes;
};

std::vector<CorpusFile> fuzz_corpus() {
  std::vector<CorpusFile> c;
  c.push_back({"rgb.png", encode_png_stb(pattern(12, 9, 3))});
  c.push_back({"rgba.png", encode_png_stb(pattern(7, 7, 4))});
  c.push_back({"gray.png", encode_png_stb(pattern(9, 5, 1))});
  c.push_back({"gray_alpha.png", encode_png_stb(pattern(6, 6, 2))});
  PngSpec pal;
  pal.width = 5;
  pal.height = 3;
  pal.color = 3;
  pal.palette = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  pal.transparency = {0, 128};
  pal.rows = {0, 1, 2, 1, 0, 2, 2, 1, 0, 0, 1, 1, 2, 2, 0};
  pal.exif = orientation_tiff(5, false);
  c.push_back({"palette.png", encode_png_raw(pal)});
  PngSpec deep;
  deep.width = 4;
  deep.height = 3;
  deep.depth = 16;
  deep.rows = pattern(24, 3, 1).pixels;
  c.push_back({"deep.png", encode_png_raw(deep)});
  c.push_back({"rgb.bmp", encode_bmp_stb(pattern(8, 5, 3))});  // no row padding: every prefix is short
  c.push_back({"base.jpg", encode_jpeg_libjpeg(smooth(16, 16), 75)});
  c.push_back({"exif.jpg", jpeg_with_exif(encode_jpeg_libjpeg(quadrants(16, 8), 95), orientation_tiff(6, true))});
  for (const auto& g : test::load_golden("preprocess"))
    if (g.name == "jpeg_progressive_gray") c.push_back({"prog.jpg", Bytes(g.at("file").data.begin(), g.at("file").data.end())});
#if VIGIL_WITH_GIF
  GifFrame a = solid_gif_frame(0, 0, 6, 5, 0), b = solid_gif_frame(1, 1, 3, 3, 2);
  for (size_t i = 0; i < a.indices.size(); ++i) a.indices[i] = static_cast<uint8_t>(i % 4);
  b.transparent = 1;
  b.disposal = DISPOSE_PREVIOUS;
  b.interlace = true;
  c.push_back({"anim.gif", encode_gif(6, 5, kGifPalette, {a, b, solid_gif_frame(4, 0, 2, 2, 3)})});
#endif
#if VIGIL_WITH_WEBP
  c.push_back({"lossy.webp", encode_webp(smooth(16, 12), false, 80)});
  c.push_back({"lossless.webp", encode_webp(pattern(8, 6, 4), true)});
  std::vector<WebpFrame> frames(2);
  frames[0].rgba = solid_rgba(6, 6, kRed, 200);
  frames[1].rgba = solid_rgba(2, 4, kBlue);
  frames[1].x = 2;
  frames[1].dispose_to_background = true;
  c.push_back({"anim.webp", webp_animation(6, 6, frames)});
#endif
  return c;
}

// One mutation of `in` chosen by Philox draws: bit flips, byte overwrites, extreme values, truncation,
// insertion, deletion, duplication of a range.
Bytes mutate(const Bytes& in, uint64_t stream, uint64_t index) {
  const Philox4 r0 = philox4x32(20240601, stream, index * 4), r1 = philox4x32(20240601, stream, index * 4 + 1);
  Bytes b = in;
  const size_t n = b.size();
  if (n == 0) return b;
  const size_t at = r0.v[1] % n, len = 1 + r0.v[2] % 16;
  switch (r0.v[0] % 8) {
    case 0:
      for (uint32_t k = 0; k <= r0.v[3] % 4; ++k) b[(at + r1.v[k] % 64) % n] ^= static_cast<uint8_t>(1u << (r1.v[k] >> 8) % 8);
      break;
    case 1:
      for (size_t k = 0; k < len % 8 + 1; ++k) b[(at + k) % n] = static_cast<uint8_t>(r1.v[k % 4] >> (8 * (k / 4)));
      break;
    case 2: b[at] = (r0.v[3] & 1) ? 0xFF : 0x00; break;
    case 3: b.resize(at); break;
    case 4:
      for (size_t k = 0; k < len; ++k) b.insert(b.begin() + at, static_cast<uint8_t>(r1.v[k % 4] >> k));
      break;
    case 5: b.erase(b.begin() + at, b.begin() + std::min(n, at + len)); break;
    case 6: {
      const Bytes piece(b.begin() + at, b.begin() + std::min(n, at + len * 4));
      b.insert(b.begin() + r1.v[0] % n, piece.begin(), piece.end());
      break;
    }
    default:
      for (size_t k = 0; k < 4 && at + k < n; ++k) b[at + k] = 0xFF;
      break;
  }
  return b;
}

::testing::AssertionResult WellFormed(const std::vector<Image>& frames, DecodeStatus status, const std::string& error,
                                      const std::string& name, const DecodeLimits& limits) {
  if (status != DecodeStatus::Ok) {
    if (error.rfind(name + ": " + status_name(status) + ": ", 0) != 0)
      return ::testing::AssertionFailure() << "bad error text '" << error << "'";
    if (!frames.empty()) return ::testing::AssertionFailure() << "frames returned with an error";
    return ::testing::AssertionSuccess();
  }
  if (frames.empty()) return ::testing::AssertionFailure() << "ok without frames";
  for (const Image& f : frames) {
    const int64_t longest = std::max(limits.max_width, limits.max_height);
    if (f.width <= 0 || f.height <= 0 || f.width > longest || f.height > longest || f.channels != 3 ||
        f.pixels.size() != static_cast<size_t>(f.width) * f.height * 3 ||
        static_cast<uint64_t>(f.width) * f.height > limits.max_pixels)
      return ::testing::AssertionFailure() << "inconsistent frame " << f.width << "x" << f.height << "x"
                                           << f.channels << " with " << f.pixels.size() << " bytes";
  }
  return ::testing::AssertionSuccess();
}

TEST(DecodeFuzz, ThousandsOfMutationsNeverCrash) {
  DecodeOptions o;
  o.limits.max_width = o.limits.max_height = 2048;
  o.limits.max_pixels = 1u << 18;
  o.limits.max_frames = 50;
  const std::vector<CorpusFile> corpus = fuzz_corpus();
  // VIGIL_FUZZ_MUTATIONS raises the count for long runs (e.g. under AddressSanitizer).
  const char* env = std::getenv("VIGIL_FUZZ_MUTATIONS");
  const int kMutationsPerFile = env ? std::max(1, std::atoi(env)) : 1000;
  std::map<std::string, int> outcomes;
  int decodes = 0;
  for (size_t f = 0; f < corpus.size(); ++f) {
    const CorpusFile& file = corpus[f];
    const DecodeResult clean = decode(file.bytes, o, file.name);
    ASSERT_TRUE(clean.ok()) << file.name << ": " << clean.error;
    for (int i = 0; i < kMutationsPerFile; ++i) {
      Bytes m = mutate(file.bytes, f, i);
      if (i % 3 == 2) m = mutate(m, f + 1000, i);  // every third file carries two mutations
      if (i % 2 == 0) {
        const DecodeResult r = decode_memory(m.data(), m.size(), file.name, o);
        std::vector<Image> frames;
        if (r.ok()) frames.push_back(r.image);
        ASSERT_TRUE(WellFormed(frames, r.status, r.error, file.name, o.limits)) << file.name << " mutation " << i;
        ++outcomes[status_name(r.status)];
      } else {
        const FramesResult r = decode_frames_memory(m.data(), m.size(), file.name, o);
        ASSERT_TRUE(WellFormed(r.frames, r.status, r.error, file.name, o.limits)) << file.name << " mutation " << i;
        ++outcomes[status_name(r.status)];
      }
      ++decodes;
    }
  }
  std::printf("[ fuzz ] %d mutated decodes of %zu files:", decodes, corpus.size());
  for (const auto& [status, count] : outcomes) std::printf(" %s=%d", status.c_str(), count);
  std::printf("\n");
  EXPECT_GE(decodes, std::min(10000, 14 * kMutationsPerFile));
}

TEST(DecodeFuzz, EveryPrefixOfEveryCorpusFileIsHandled) {
  DecodeOptions o;
  o.limits.max_pixels = 1u << 18;
  for (const CorpusFile& file : fuzz_corpus())
    for (size_t n = 0; n <= file.bytes.size(); ++n) {
      const FramesResult r = decode_frames_memory(file.bytes.data(), n, file.name, o);
      ASSERT_TRUE(WellFormed(r.frames, r.status, r.error, file.name, o.limits)) << file.name << " cut to " << n;
      // A GIF cut between frames holds the frames before the cut (as browsers and PIL show it); every other cut
      // is an error.
      const bool gif = file.name.find(".gif") != std::string::npos;
      if (n + 1 < file.bytes.size() && !gif) {
        ASSERT_NE(r.status, DecodeStatus::Ok) << file.name << " cut to " << n << " of " << file.bytes.size();
      }
    }
}

TEST(DecodeThreads, ConcurrentDecodesMatchSerial) {
  const std::vector<CorpusFile> corpus = fuzz_corpus();
  std::vector<DecodeResult> serial;
  for (const CorpusFile& f : corpus) serial.push_back(decode(f.bytes, {}, f.name));
  // Mix in failures so the thread-local stb failure text is exercised too.
  std::vector<Bytes> broken;
  for (const CorpusFile& f : corpus) broken.push_back(mutate(f.bytes, 99, 3));
  std::vector<DecodeResult> broken_serial;
  for (size_t i = 0; i < broken.size(); ++i) broken_serial.push_back(decode(broken[i], {}, corpus[i].name));
  std::vector<std::thread> threads;
  std::vector<int> mismatches(4, 0);
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int rep = 0; rep < 20; ++rep)
        for (size_t i = 0; i < corpus.size(); ++i) {
          const DecodeResult r = decode(corpus[i].bytes, {}, corpus[i].name);
          const DecodeResult b = decode(broken[i], {}, corpus[i].name);
          if (r.image.pixels != serial[i].image.pixels || b.error != broken_serial[i].error) ++mismatches[t];
        }
    });
  for (auto& th : threads) th.join();
  for (int t = 0; t < 4; ++t) EXPECT_EQ(mismatches[t], 0) << "thread " << t;
}

#else

TEST(DecodeTest, NeedsStb) { GTEST_SKIP() << "built without stb_image (apt-get install libstb-dev)"; }

#endif  // VIGIL_WITH_STB

}  // namespace
}  // namespace vigil::data
