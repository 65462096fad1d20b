// Implementation of reading a manifest split back, IDX entries included (see manifest_split.h).
#include "infer/manifest_split.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>

#include "common/error.h"
#include "data/idx.h"
#include "data/sha256.h"

namespace vigil::infer {

namespace {

namespace fs = std::filesystem;

struct IdxRef {
  std::string file;
  int64_t index = 0;
};

// "FILE#n" naming image n of an IDX file, or nothing when the path is an ordinary file name.
std::optional<IdxRef> idx_reference(const std::string& path) {
  const size_t hash = path.rfind('#');
  if (hash == std::string::npos || hash == 0 || hash + 1 == path.size() || path.size() - hash - 1 > 12) return {};
  const std::string digits = path.substr(hash + 1);
  if (!std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) return {};
  IdxRef ref{path.substr(0, hash), std::strtoll(digits.c_str(), nullptr, 10)};
  std::error_code ec;
  if (fs::exists(path, ec)) return {};  // a real file whose name ends in #n
  const bool idx_name = fs::path(ref.file).filename().string().find("idx3-ubyte") != std::string::npos;
  if (!idx_name && !fs::is_regular_file(ref.file, ec)) return {};
  return ref;
}

int class_index(const std::vector<std::string>& classes, const data::ManifestEntry& e) {
  const auto it = std::find(classes.begin(), classes.end(), e.label);
  if (it != classes.end()) return static_cast<int>(it - classes.begin());
  std::string known;
  for (const std::string& c : classes) known += (known.empty() ? "" : ", ") + c;
  VIGIL_FAIL(e.path, ": manifest label '", e.label, "' is not a model class (classes: ", known, ")");
}

}  // namespace

data::Dataset load_manifest_split(const std::string& manifest_path, data::Split split,
                                  const std::vector<std::string>& classes) {
  const std::vector<data::ManifestEntry> entries = data::read_manifest(manifest_path);
  data::Dataset out;
  out.classes = classes;
  out.source = manifest_path + " (" + data::split_name(split) + " split)";
  std::map<std::string, data::IdxArray> idx_files;  // read once each
  auto bank = std::make_shared<data::ImageBank>();
  for (const data::ManifestEntry& e : entries) {
    if (e.split != split) continue;
    data::Sample s;
    s.path = e.path;
    s.label = class_index(classes, e);
    s.group = e.group;
    if (const auto ref = idx_reference(e.path)) {
      auto it = idx_files.find(ref->file);
      if (it == idx_files.end()) {
        std::error_code ec;
        VIGIL_CHECK(fs::is_regular_file(ref->file, ec), manifest_path, ": entry ", e.path, ": the IDX file ", ref->file,
                    " does not exist (the run was trained on IDX data there)");
        data::IdxArray images = data::read_idx_file(ref->file);
        VIGIL_CHECK(images.dims.size() == 3, ref->file, ": not an IDX image file (", images.dims.size(),
                    " dimensions, expected 3: count, rows, columns)");
        it = idx_files.emplace(ref->file, std::move(images)).first;
      }
      const data::IdxArray& images = it->second;
      const int64_t count = images.dims[0], rows = images.dims[1], cols = images.dims[2];
      VIGIL_CHECK(ref->index < count, manifest_path, ": entry ", e.path, ": ", ref->file, " has only ", count,
                  " images");
      if (bank->image_bytes() == 0) {
        bank->width = static_cast<int>(cols);
        bank->height = static_cast<int>(rows);
        bank->channels = 1;
      }
      VIGIL_CHECK(bank->width == cols && bank->height == rows, manifest_path, ": entry ", e.path, ": ", cols, "x",
                  rows, " images, but earlier entries of the split are ", bank->width, "x", bank->height);
      const size_t bytes = bank->image_bytes();
      const uint8_t* pixels = images.values.data() + static_cast<size_t>(ref->index) * bytes;
      VIGIL_CHECK(e.sha256.empty() || data::sha256_hex(pixels, bytes) == e.sha256, manifest_path, ": entry ", e.path,
                  ": the image in ", ref->file, " is not the one the manifest recorded (SHA-256 differs)");
      s.memory_index = bank->count();
      bank->pixels.insert(bank->pixels.end(), pixels, pixels + bytes);
    }
    out.samples.push_back(std::move(s));
  }
  if (bank->count() > 0) out.memory = bank;
  return out;
}

}  // namespace vigil::infer
