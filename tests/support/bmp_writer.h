// write_bmp: a 24-bit BMP written by the tests themselves (no encoder needed), for image folders of generated data.
#pragma once
#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

namespace vigil::test {

// A 24-bit BMP of a w x h image whose pixel (x, y) is f(x, y) -> {r, g, b}.
template <typename F>
void write_bmp(const std::string& path, int w, int h, F f) {
  const int row = (w * 3 + 3) / 4 * 4;
  const uint32_t size = 54 + static_cast<uint32_t>(row * h);
  std::vector<uint8_t> b(size, 0);
  auto put32 = [&](size_t at, uint32_t v) {
    for (int i = 0; i < 4; ++i) b[at + static_cast<size_t>(i)] = static_cast<uint8_t>(v >> (8 * i));
  };
  b[0] = 'B';
  b[1] = 'M';
  put32(2, size);
  put32(10, 54);
  put32(14, 40);
  put32(18, static_cast<uint32_t>(w));
  put32(22, static_cast<uint32_t>(h));
  b[26] = 1;
  b[28] = 24;
  put32(34, static_cast<uint32_t>(row * h));
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      auto [r, g, bl] = f(x, h - 1 - y);
      uint8_t* p = &b[54 + static_cast<size_t>(y * row + x * 3)];
      p[0] = bl;
      p[1] = g;
      p[2] = r;
    }
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}

}  // namespace vigil::test
