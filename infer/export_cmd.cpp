// Implementation of `vigil data export --data IDX_DIR --split train|test --count N --out DIR`: the first N images of
// a Fashion-MNIST split as DIR/<class>/<index>.png (real image files to classify). stb_image_write is compiled
// here file-local (STB_IMAGE_WRITE_STATIC), as in eval_thumbnails.cpp.
#include "infer/export_cmd.h"

#include <filesystem>
#include <iostream>
#include <map>
#include <string>
#include <system_error>

#include "common/error.h"
#include "data/idx.h"

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

namespace vigil::cli {

namespace {

const char* kHelp =
    "usage: vigil data export [--data IDX_DIR] [--split train|test] --count N --out DIR\n"
    "\n"
    "Writes the first N images of a Fashion-MNIST split as PNG files DIR/<class>/<index>.png (class names with\n"
    "'/' written as '_', e.g. T-shirt_top; <index> is the image's position in the split).\n"
    "\n"
    "options:\n"
    "  --data DIR     the IDX files (default /usr/share/datasets/fashion-mnist, Debian's dataset-fashion-mnist)\n"
    "  --split S      train (60,000 images) or test (10,000; the default)\n"
    "  --count N      how many images, from the first (required)\n"
    "  --out DIR      output folder (created; existing files of the same name are replaced)\n";

// A class name as a folder name: no path separators.
std::string folder_name(std::string name) {
  for (char& c : name)
    if (c == '/' || c == '\\') c = '_';
  return name;
}

struct ExportOptions {
  std::string data = data::kFashionMnistDir, split = "test", out;
  int64_t count = 0;
};

ExportOptions parse_export_args(int argc, char** argv) {
  ExportOptions o;
  for (int i = 2; i < argc; ++i) {
    const std::string name = argv[i];
    VIGIL_CHECK(name == "--data" || name == "--split" || name == "--count" || name == "--out",
                "unknown option ", name, " (see vigil data export --help)");
    VIGIL_CHECK(i + 1 < argc, name, " needs a value");
    const std::string value = argv[++i];
    if (name == "--data") o.data = value;
    else if (name == "--split") o.split = value;
    else if (name == "--out") o.out = value;
    else {
      try {
        size_t used = 0;
        o.count = std::stoll(value, &used);
        VIGIL_CHECK(used == value.size(), "");
      } catch (const std::exception&) {
        VIGIL_FAIL("--count ", value, ": not an integer");
      }
    }
  }
  VIGIL_CHECK(!o.out.empty(), "--out DIR is required");
  VIGIL_CHECK(o.count > 0, "--count N is required and must be positive");
  VIGIL_CHECK(o.split == "train" || o.split == "test", "--split ", o.split, ": must be train or test");
  return o;
}

int run_export(const ExportOptions& o) {
#if VIGIL_WITH_STB
  const data::Dataset ds = data::load_fashion_mnist(o.data, o.split);
  VIGIL_CHECK(static_cast<size_t>(o.count) <= ds.size(), "--count ", o.count, ": the ", o.split, " split of ", o.data,
              " has only ", ds.size(), " images");
  data::DecodeOptions gray;
  gray.channels = 1;
  std::map<std::string, int64_t> per_class;
  for (size_t i = 0; i < static_cast<size_t>(o.count); ++i) {
    const data::DecodeResult r = ds.load(i, gray);
    VIGIL_CHECK(r.ok(), r.error);
    const std::string cls = ds.classes[static_cast<size_t>(ds.samples[i].label)];
    const std::filesystem::path dir = std::filesystem::path(o.out) / folder_name(cls);
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    VIGIL_CHECK(!ec, dir.string(), ": cannot create folder: ", ec.message());
    const std::string file = (dir / (std::to_string(i) + ".png")).string();
    const int written = stbi_write_png(file.c_str(), r.image.width, r.image.height, r.image.channels,
                                       r.image.pixels.data(), r.image.width * r.image.channels);
    VIGIL_CHECK(written != 0, file, ": cannot write the PNG file");
    ++per_class[cls];
  }
  std::cout << "wrote " << o.count << " " << o.split << " images to " << o.out << " (";
  bool first = true;
  for (const auto& [cls, n] : per_class) {
    std::cout << (first ? "" : ", ") << folder_name(cls) << " " << n;
    first = false;
  }
  std::cout << ")\n";
  return 0;
#else
  (void)o;
  VIGIL_FAIL("vigil was built without stb (apt-get install libstb-dev): cannot write PNG files");
#endif
}

}  // namespace

int run_data(int argc, char** argv) {
  const std::string sub = argc >= 2 ? argv[1] : "";
  if (sub == "--help") {
    std::cout << kHelp;
    return 0;
  }
  if (sub != "export") {
    if (!sub.empty()) std::cerr << "vigil data: unknown subcommand '" << sub << "'\n";
    std::cerr << kHelp;
    return 2;
  }
  for (int i = 2; i < argc; ++i)
    if (std::string(argv[i]) == "--help") {
      std::cout << kHelp;
      return 0;
    }
  return run_export(parse_export_args(argc, argv));
}

}  // namespace vigil::cli
