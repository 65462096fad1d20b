// Hostile JPEGs through libjpeg-turbo: the crafted progressive files that broke stb_image 2.27 (committed under
// fixtures/hostile_jpeg, found by scripts/fuzz/stb_jpeg_finder.cpp), systematic scans naming Huffman tables and
// components the file never defined, and thousands of scan-header mutations decoded in one process between valid
// images. Every answer must be the same whatever was decoded before it: the stb defect leaked heap state from
// one decode into the next. Also progressive/baseline agreement, CMYK, and the scan-count limit.
#include "data/image.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "common/rng.h"

#if VIGIL_WITH_JPEG
#include <jpeglib.h>
#endif

namespace vigil::data {
namespace {

#if VIGIL_WITH_JPEG

using Bytes = std::vector<uint8_t>;
namespace fs = std::filesystem;

// A libjpeg-written file (progressive when asked) of a textured test card, `components` 1, 3 or 4 (CMYK).
Bytes encode_libjpeg(int w, int h, int components, bool progressive, int seed = 0, const Bytes* pixels = nullptr) {
  jpeg_compress_struct c;
  jpeg_error_mgr err;
  c.err = jpeg_std_error(&err);
  jpeg_create_compress(&c);
  unsigned char* buf = nullptr;
  unsigned long size = 0;
  jpeg_mem_dest(&c, &buf, &size);
  c.image_width = static_cast<JDIMENSION>(w);
  c.image_height = static_cast<JDIMENSION>(h);
  c.input_components = components;
  c.in_color_space = components == 1 ? JCS_GRAYSCALE : components == 3 ? JCS_RGB : JCS_CMYK;
  jpeg_set_defaults(&c);
  jpeg_set_quality(&c, 90, TRUE);
  if (progressive) jpeg_simple_progression(&c);
  jpeg_start_compress(&c, TRUE);
  Bytes row(static_cast<size_t>(w) * components);
  while (c.next_scanline < c.image_height) {
    const size_t y = c.next_scanline;
    for (size_t x = 0; x < row.size(); ++x)
      row[x] = pixels ? (*pixels)[y * row.size() + x]
                      : static_cast<uint8_t>(x * 3 + y * 5 + seed * 29 + (x / 8 + y / 8) % 2 * 60);
    JSAMPROW r = row.data();
    jpeg_write_scanlines(&c, &r, 1);
  }
  jpeg_finish_compress(&c);
  Bytes out(buf, buf + size);
  std::free(buf);
  jpeg_destroy_compress(&c);
  return out;
}

DecodeResult decode(const Bytes& b, const DecodeOptions& o = {}, const std::string& name = "mem") {
  return decode_memory(b.data(), b.size(), name, o);
}

std::vector<size_t> marker_offsets(const Bytes& b, uint8_t marker) {  // offsets of FF <marker>
  std::vector<size_t> at;
  for (size_t i = 2; i + 1 < b.size(); ++i)
    if (b[i] == 0xFF && b[i + 1] == marker) at.push_back(i);
  return at;
}

// Everything a decode reports, for comparing one decode of the same bytes with another.
struct Outcome {
  DecodeStatus status;
  std::string error;
  int width, height;
  std::vector<uint8_t> pixels;
  bool operator==(const Outcome& o) const {
    return status == o.status && error == o.error && width == o.width && height == o.height && pixels == o.pixels;
  }
};

Outcome outcome_of(const Bytes& b, const std::string& name) {
  const DecodeResult r = decode_memory(b.data(), b.size(), name);
  return {r.status, r.error, r.image.width, r.image.height, r.image.pixels};
}

::testing::AssertionResult CleanOutcome(const Outcome& o, const std::string& name) {
  if (o.status == DecodeStatus::Ok)
    return o.pixels.size() == static_cast<size_t>(o.width) * o.height * 3 && o.error.empty()
               ? ::testing::AssertionSuccess()
               : ::testing::AssertionFailure() << "ok with an inconsistent image or an error text";
  if (o.error.rfind(name + ": ", 0) != 0 || !o.pixels.empty())
    return ::testing::AssertionFailure() << "error '" << o.error << "' does not name " << name << " or has pixels";
  return ::testing::AssertionSuccess();
}

// Valid images decoded between hostile ones, so that any state a decode leaves behind meets the next file.
std::vector<Bytes> valid_neighbours() {
  return {encode_libjpeg(64, 48, 3, true, 1), encode_libjpeg(33, 17, 1, true, 2), encode_libjpeg(80, 80, 3, false, 3),
          encode_libjpeg(16, 40, 4, true, 4)};
}

std::vector<fs::path> hostile_fixtures() {
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(fs::path(VIGIL_FIXTURE_DIR) / "hostile_jpeg")) files.push_back(e.path());
  std::sort(files.begin(), files.end());
  return files;
}

Bytes read_all(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

TEST(HostileJpeg, InputsThatBrokeStbGiveTheSameCleanAnswerWhateverCameBefore) {
  const std::vector<fs::path> files = hostile_fixtures();
  ASSERT_GE(files.size(), 8u);
  const std::vector<Bytes> neighbours = valid_neighbours();
  std::vector<Outcome> neighbour_first;
  for (size_t i = 0; i < neighbours.size(); ++i) neighbour_first.push_back(outcome_of(neighbours[i], "n.jpg"));
  for (const fs::path& p : files) {
    const Bytes bytes = read_all(p);
    const std::string name = p.filename().string();
    const Outcome alone = outcome_of(bytes, name);
    ASSERT_TRUE(CleanOutcome(alone, name));
    std::printf("[ hostile ] %s: %s\n", name.c_str(), alone.status == DecodeStatus::Ok ? "ok" : alone.error.c_str());
    for (size_t i = 0; i < neighbours.size(); ++i) {
      EXPECT_TRUE(outcome_of(neighbours[i], "n.jpg") == neighbour_first[i]) << "after " << name;
      EXPECT_TRUE(outcome_of(bytes, name) == alone) << name << " after neighbour " << i;
    }
  }
}

// Every scan header of a progressive file rewritten to name table 3 (never defined) or a component id the frame
// lacks; libjpeg either uses a standard table or refuses the scan, and it does so the same way every time.
TEST(HostileJpeg, ScansNamingUndefinedTablesOrComponents) {
  const Bytes seed = encode_libjpeg(48, 32, 3, true, 7);
  const std::vector<size_t> scans = marker_offsets(seed, 0xDA);
  ASSERT_GE(scans.size(), 6u);
  const Outcome clean = outcome_of(seed, "seed.jpg");
  ASSERT_EQ(clean.status, DecodeStatus::Ok) << clean.error;
  int refused = 0;
  for (size_t s : scans) {
    const size_t ns_at = s + 4, ns = seed[ns_at];
    for (size_t k = 0; k < ns; ++k) {
      Bytes table = seed, component = seed;
      table[ns_at + 2 + 2 * k] = 0x33;
      component[ns_at + 1 + 2 * k] = 9;
      const Outcome t = outcome_of(table, "table.jpg"), c = outcome_of(component, "component.jpg");
      ASSERT_TRUE(CleanOutcome(t, "table.jpg"));
      ASSERT_EQ(c.status, DecodeStatus::Corrupt) << c.error;
      EXPECT_NE(c.error.find("component"), std::string::npos) << c.error;
      refused += t.status != DecodeStatus::Ok;
      EXPECT_TRUE(outcome_of(seed, "seed.jpg") == clean);
      EXPECT_TRUE(outcome_of(table, "table.jpg") == t);
    }
  }
  std::printf("[ hostile ] %zu scans: undefined tables refused in %d component slots\n", scans.size(), refused);
}

// The finder's family of edits (table selectors, component ids, spectral/approximation bytes, DHT ids), drawn
// with Philox, 3000 files decoded twice each with valid images in between (VIGIL_FUZZ_MUTATIONS overrides).
TEST(HostileJpeg, ScanHeaderMutationsInOneProcess) {
  const std::vector<Bytes> neighbours = valid_neighbours();
  std::vector<Outcome> neighbour_first;
  for (const Bytes& n : neighbours) neighbour_first.push_back(outcome_of(n, "n.jpg"));
  const char* env = std::getenv("VIGIL_FUZZ_MUTATIONS");
  const int count = env ? std::max(1, std::atoi(env)) : 3000;
  int ok = 0, mismatches = 0;
  for (int i = 0; i < count; ++i) {
    const Philox4 r = philox4x32(20261206, 1, static_cast<uint64_t>(i)), q = philox4x32(20261206, 2, i);
    Bytes b = neighbours[r.v[0] % 2];
    const std::vector<size_t> scans = marker_offsets(b, 0xDA), tables = marker_offsets(b, 0xC4);
    for (int e = 0; e <= static_cast<int>(r.v[1] % 3); ++e) {
      const uint32_t d = q.v[e];
      const size_t ns_at = scans[d % scans.size()] + 4, ns = b[ns_at];
      const size_t comp = ns_at + 1 + 2 * ((d >> 8) % ns);
      switch ((d >> 16) % 4) {
        case 0: b[comp + 1] = static_cast<uint8_t>((d >> 20) % 4 << 4 | (d >> 24) % 4); break;
        case 1: b[comp] = static_cast<uint8_t>((d >> 20) % 6); break;
        case 2: b[ns_at + 1 + 2 * ns + (d >> 20) % 3] = static_cast<uint8_t>((d >> 24) % 64); break;
        default: b[tables[(d >> 20) % tables.size()] + 4] = static_cast<uint8_t>((d >> 24) % 2 << 4 | (2 + (d >> 28) % 2));
      }
    }
    const Outcome first = outcome_of(b, "m.jpg");
    ASSERT_TRUE(CleanOutcome(first, "m.jpg")) << "mutation " << i;
    ok += first.status == DecodeStatus::Ok;
    const size_t n = r.v[2] % neighbours.size();
    mismatches += !(outcome_of(neighbours[n], "n.jpg") == neighbour_first[n]);
    mismatches += !(outcome_of(b, "m.jpg") == first);
  }
  std::printf("[ hostile ] %d scan-header mutations: %d decoded, %d refused\n", count, ok, count - ok);
  EXPECT_EQ(mismatches, 0);
}

TEST(HostileJpeg, ProgressiveEqualsBaselineAndGrayStaysGray) {
  for (int components : {1, 3}) {
    Bytes pixels(40 * 24 * components);
    for (size_t i = 0; i < pixels.size(); ++i) pixels[i] = static_cast<uint8_t>(i % 251);
    const DecodeResult base = decode(encode_libjpeg(40, 24, components, false, 0, &pixels));
    const DecodeResult prog = decode(encode_libjpeg(40, 24, components, true, 0, &pixels));
    ASSERT_TRUE(base.ok() && prog.ok()) << base.error << prog.error;
    // The same quantised coefficients either way; progressive refinement reaches them exactly.
    EXPECT_EQ(base.image.pixels, prog.image.pixels) << components << " components";
  }
}

TEST(HostileJpeg, AdobeCmykBecomesRgb) {
  // libjpeg writes CMYK with an Adobe marker: Photoshop's inverted convention, 255 = no ink.
  Bytes cmyk(16 * 16 * 4, 255);
  for (size_t p = 0; p < 16 * 8; ++p) cmyk[4 * p] = 0;  // top half: full cyan ink
  const DecodeResult r = decode(encode_libjpeg(16, 16, 4, false, 0, &cmyk), {}, "cmyk.jpg");
  ASSERT_TRUE(r.ok()) << r.error;
  ASSERT_EQ(r.image.channels, 3);
  const uint8_t* top = &r.image.pixels[(2 * 16 + 8) * 3];
  const uint8_t* bottom = &r.image.pixels[(13 * 16 + 8) * 3];
  EXPECT_LE(top[0], 6);
  EXPECT_GE(top[1], 249);
  EXPECT_GE(top[2], 249);
  for (int k = 0; k < 3; ++k) EXPECT_GE(bottom[k], 249);
}

TEST(HostileJpeg, TooManyScansIsRefusedBeforeDecoding) {
  // Repeat the last (refinement) scan until the file has 501 scans: libjpeg-turbo's own TJFLAG_LIMITSCANS bound.
  const Bytes seed = encode_libjpeg(16, 16, 1, true);
  const std::vector<size_t> scans = marker_offsets(seed, 0xDA);
  const size_t last = scans.back(), eoi = seed.size() - 2;
  const Bytes scan(seed.begin() + last, seed.begin() + eoi);
  Bytes many(seed.begin(), seed.begin() + eoi);
  for (size_t n = scans.size(); n <= 500; ++n) many.insert(many.end(), scan.begin(), scan.end());
  many.push_back(0xFF);
  many.push_back(0xD9);
  const DecodeResult r = decode(many, {}, "scans.jpg");
  EXPECT_EQ(r.status, DecodeStatus::Corrupt) << r.error;
  EXPECT_NE(r.error.find("more than 500 scans"), std::string::npos) << r.error;
}

#else

TEST(HostileJpeg, NeedsLibjpegTurbo) { GTEST_SKIP() << "built without libjpeg-turbo (apt-get install libjpeg62-turbo-dev)"; }

#endif  // VIGIL_WITH_JPEG

}  // namespace
}  // namespace vigil::data
