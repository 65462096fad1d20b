// Finds progressive JPEGs that make stb_image 2.27's JPEG decoder (no longer built into vigil) index out of bounds:
// progressive seeds written by libjpeg, SOS headers rewritten to name Huffman tables or components the file never
// defined, several decodes per process. Built and driven by stb_jpeg_finder.sh; what it found is kept in
// tests/fixtures/hostile_jpeg and replayed against vigil's decoder by tests/data/decode_hostile_jpeg_test.cpp.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>
#include <string>
#include <random>
#include <jpeglib.h>
#define STBI_ONLY_JPEG
#define STB_IMAGE_IMPLEMENTATION
#include <stb/stb_image.h>
using Bytes = std::vector<unsigned char>;
Bytes encode(int w, int h, int comps, bool prog, int seed) {
  jpeg_compress_struct c; jpeg_error_mgr e; c.err = jpeg_std_error(&e); jpeg_create_compress(&c);
  unsigned char* buf = nullptr; unsigned long n = 0; jpeg_mem_dest(&c, &buf, &n);
  c.image_width = w; c.image_height = h; c.input_components = comps; c.in_color_space = comps == 3 ? JCS_RGB : JCS_GRAYSCALE;
  jpeg_set_defaults(&c); jpeg_set_quality(&c, 85, TRUE); if (prog) jpeg_simple_progression(&c);
  jpeg_start_compress(&c, TRUE);
  std::vector<unsigned char> row(w * comps);
  while (c.next_scanline < c.image_height) { for (int x = 0; x < w * comps; ++x) row[x] = (x * 7 + c.next_scanline * 13 + seed * 31 + (x*c.next_scanline)%17) & 255; JSAMPROW r = row.data(); jpeg_write_scanlines(&c, &r, 1); }
  jpeg_finish_compress(&c); Bytes out(buf, buf + n); free(buf); jpeg_destroy_compress(&c); return out;
}
std::vector<size_t> markers(const Bytes& b, unsigned char m) { std::vector<size_t> v; for (size_t i = 2; i + 1 < b.size(); ++i) if (b[i] == 0xFF && b[i+1] == m) v.push_back(i); return v; }
Bytes craft(const Bytes& seed, std::mt19937& rng) {
  Bytes b = seed;
  auto sos = markers(b, 0xDA);
  int edits = 1 + rng() % 3;
  for (int k = 0; k < edits; ++k) {
    size_t at = sos[rng() % sos.size()] + 4;  // after FF DA len(2): Ns
    int ns = b[at];
    int which = rng() % 4;
    if (ns == 0) continue;
    size_t comp = at + 1 + 2 * (rng() % ns);
    if (which == 0) b[comp + 1] = (rng() % 4) << 4 | (rng() % 4);      // table selectors 0..3 (only 0,1 defined)
    else if (which == 1) b[comp] = rng() % 6;                          // component id, maybe undefined
    else if (which == 2) { size_t ss = at + 1 + 2 * ns; b[ss + rng() % 3] = rng() % 64; }   // Ss/Se/AhAl
    else { auto dht = markers(b, 0xC4); if (!dht.empty()) b[dht[rng() % dht.size()] + 4] = (rng() % 2) << 4 | (2 + rng() % 2); } // redefine under unused id
  }
  return b;
}
int main(int argc, char** argv) {
  int start = atoi(argv[1]), count = atoi(argv[2]);
  std::vector<Bytes> seeds = {encode(64, 48, 3, true, 1), encode(33, 17, 1, true, 2), encode(80, 80, 3, true, 3), encode(64, 64, 3, false, 4)};
  for (int i = start; i < start + count; ++i) {
    std::mt19937 rng(i);
    Bytes f = craft(seeds[rng() % 3], rng);
    char name[64]; snprintf(name, sizeof name, "cand_%d.jpg", i);
    FILE* o = fopen("current.jpg", "wb"); fwrite(f.data(), 1, f.size(), o); fclose(o);
    fprintf(stderr, "CASE %d\n", i);
    int w, h, c;
    for (int rep = 0; rep < 2; ++rep) {
      stbi_uc* p = stbi_load_from_memory(seeds[rep % 4].data(), seeds[rep % 4].size(), &w, &h, &c, 0); stbi_image_free(p);
      p = stbi_load_from_memory(f.data(), f.size(), &w, &h, &c, 0); stbi_image_free(p);
    }
  }
  return 0;
}
