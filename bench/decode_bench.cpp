// Image decoding and preprocessing throughput on one core: CIFAR-10 JPEGs (a few hundred extracted from
// shared/data at run time) to the 3x32x32 recipe, and generated 512x512 JPEGs to the default model's 3x224x224
// recipe; decode alone and decode + preprocess. bench/torch/decode.py times PIL on the same files.
// Usage: decode_bench [--data DIR (shared/data)] [--work DIR (/tmp/vigil_decode_bench)] [--reps N (5)]
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "data/image.h"
#include "data/preprocess.h"

#if VIGIL_WITH_STB
#define STB_IMAGE_WRITE_STATIC
#define STB_IMAGE_WRITE_IMPLEMENTATION
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wsign-compare"
#include <stb_image_write.h>
#pragma GCC diagnostic pop
#endif

namespace fs = std::filesystem;
using vigil::data::Image;

namespace {

using Bytes = std::vector<uint8_t>;

constexpr int kCifarFiles = 500;
constexpr int kLargeFiles = 32;

// vigil's source tree sits beside shared/ (this file is <root>/bench/decode_bench.cpp).
std::string default_data_dir() { return (fs::path(__FILE__).parent_path().parent_path().parent_path() / "shared" / "data").string(); }

Bytes read_all(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return Bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// 50 test images per class (test/<class>/00[0-4]?.jpg), extracted once.
std::vector<fs::path> cifar_files(const std::string& data, const fs::path& work) {
  const fs::path dir = work / "cifar";
  if (!fs::exists(dir / "test")) {
    const std::string tgz = data + "/cifar10-jpeg/cifar10-jpeg.tar.gz";
    if (!fs::exists(tgz)) {
      std::fprintf(stderr, "decode_bench: %s not found: skipping CIFAR-10\n", tgz.c_str());
      return {};
    }
    fs::create_directories(dir);
    const std::string cmd = "tar -xzf '" + tgz + "' -C '" + dir.string() + "' --wildcards 'test/*/00[0-4]?.jpg'";
    if (std::system(cmd.c_str()) != 0) {
      std::fprintf(stderr, "decode_bench: extracting CIFAR-10 failed\n");
      return {};
    }
  }
  std::vector<fs::path> files;
  for (const auto& e : fs::recursive_directory_iterator(dir / "test"))
    if (e.path().extension() == ".jpg") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  if (files.size() > kCifarFiles) files.resize(kCifarFiles);
  return files;
}

void append_to(void* ctx, void* data, int size) {
  auto* out = static_cast<Bytes*>(ctx);
  out->insert(out->end(), static_cast<uint8_t*>(data), static_cast<uint8_t*>(data) + size);
}

// Photograph-like 512x512 content (gradients, edges, texture) as quality-90 4:2:0 baseline JPEGs.
std::vector<fs::path> large_files(const fs::path& work) {
  const fs::path dir = work / "jpeg512";
  fs::create_directories(dir);
  std::vector<fs::path> files;
  for (int i = 0; i < kLargeFiles; ++i) {
    const fs::path p = dir / ("img" + std::to_string(100 + i) + ".jpg");
    files.push_back(p);
    if (fs::exists(p)) continue;
    std::vector<uint8_t> px(512 * 512 * 3);
    for (int y = 0; y < 512; ++y)
      for (int x = 0; x < 512; ++x)
        for (int c = 0; c < 3; ++c) {
          const double v = 128 + 90 * std::sin((x + 13 * i) / (17.0 + c * 5)) * std::cos((y - 7 * i) / 23.0) +
                           ((x / 64 + y / 64 + i) % 2 ? 25 : -25) + ((x * 7 + y * 13 + c * 29 + i) % 17 - 8);
          px[(static_cast<size_t>(y) * 512 + x) * 3 + c] = static_cast<uint8_t>(std::clamp(v, 0.0, 255.0));
        }
    Bytes out;
#if VIGIL_WITH_STB
    stbi_write_jpg_to_func(append_to, &out, 512, 512, 3, px.data(), 90);
#endif
    std::ofstream(p, std::ios::binary).write(reinterpret_cast<const char*>(out.data()), out.size());
  }
  return files;
}

vigil::ModelSpec recipe(int size) {
  vigil::ModelSpec spec;
  spec.name = "bench";
  spec.input = vigil::InputSpec{3, size, size};
  spec.preprocess.mean = {0.485f, 0.456f, 0.406f};
  spec.preprocess.std = {0.229f, 0.224f, 0.225f};
  return spec;
}

// Median milliseconds per image over `reps` passes through every file (all already in memory).
double ms_per_image(const std::vector<Bytes>& files, const vigil::ModelSpec* spec, int reps) {
  std::vector<float> out(3 * static_cast<size_t>(spec ? spec->input.height * spec->input.width : 1));
  std::vector<double> ms;
  for (int r = 0; r < reps + 1; ++r) {  // the first pass warms up
    const auto t0 = std::chrono::steady_clock::now();
    for (const Bytes& b : files) {
      const vigil::data::DecodeResult d = vigil::data::decode_memory(b.data(), b.size(), "bench");
      if (!d.ok()) {
        std::fprintf(stderr, "decode_bench: %s\n", d.error.c_str());
        std::exit(1);
      }
      if (spec) vigil::data::preprocess_image(d.image, *spec, out.data());
    }
    const double t = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    if (r > 0) ms.push_back(t / files.size());
  }
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

void report(const char* op, const std::string& shape, double ms, size_t files) {
  std::printf("{\"op\":\"%s\",\"impl\":\"cpu\",\"shape\":\"%s\",\"ms\":%.4f,\"images_per_s\":%.1f,\"files\":%zu,"
              "\"threads\":1}\n",
              op, shape.c_str(), ms, 1000.0 / ms, files);
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
#if !VIGIL_WITH_STB
  std::fprintf(stderr, "decode_bench: built without stb_image (apt-get install libstb-dev): nothing to time\n");
  return 0;
#endif
  std::string data = default_data_dir();
  fs::path work = "/tmp/vigil_decode_bench";
  int reps = 5;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--data") data = argv[i + 1];
    else if (a == "--work") work = argv[i + 1];
    else if (a == "--reps") reps = std::max(1, std::atoi(argv[i + 1]));
  }
  fs::create_directories(work);
  struct Set {
    std::string shape;
    std::vector<fs::path> files;
    int size;
  };
  const Set sets[2] = {{"cifar10-jpeg 32x32 -> 3x32x32", cifar_files(data, work), 32},
                       {"jpeg 512x512 -> 3x224x224", large_files(work), 224}};
  for (const Set& s : sets) {
    if (s.files.empty()) continue;
    std::vector<Bytes> bytes;
    for (const auto& p : s.files) bytes.push_back(read_all(p));
    const vigil::ModelSpec spec = recipe(s.size);
    report("decode", s.shape, ms_per_image(bytes, nullptr, reps), bytes.size());
    report("decode_preprocess", s.shape, ms_per_image(bytes, &spec, reps), bytes.size());
  }
  std::fprintf(stderr, "decode_bench: files in %s; PIL on the same files: /usr/bin/python3 bench/torch/decode.py %s\n",
               work.string().c_str(), work.string().c_str());
  return 0;
}
