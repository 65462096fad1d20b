// Dataset discovery, splitting and the split manifest for `vigil train`.
#include "train/run_data.h"

#include <filesystem>
#include <map>

#include "common/error.h"
#include "data/idx.h"
#include "data/split.h"

namespace vigil::train {
namespace {

namespace fs = std::filesystem;

bool is_idx_dir(const std::string& dir) {
  for (const char* f : {"/train-images-idx3-ubyte.gz", "/train-images-idx3-ubyte"})
    if (fs::exists(dir + f)) return true;
  return false;
}

nlohmann::json class_counts(const data::Dataset& d) {
  nlohmann::json j = nlohmann::json::object();
  const auto counts = d.class_counts();
  for (size_t c = 0; c < d.classes.size(); ++c) j[d.classes[c]] = counts[c];
  return j;
}

data::SplitOptions split_options(const TrainConfig& c, double val, double test) {
  data::SplitOptions o;
  o.val_fraction = val;
  o.test_fraction = test;
  o.seed = c.seed;
  o.hash_threads = std::max(1, c.workers);
  return o;
}

}  // namespace

data::Dataset stratified_subset(const data::Dataset& d, int64_t limit, uint64_t seed) {
  if (limit <= 0 || limit >= static_cast<int64_t>(d.size())) return d;
  std::vector<std::vector<size_t>> by_class(d.classes.size());
  for (size_t i = 0; i < d.size(); ++i) by_class[d.samples[i].label].push_back(i);
  std::vector<size_t> chosen;
  for (size_t c = 0; c < by_class.size(); ++c) {
    auto& idx = by_class[c];
    data::philox_shuffle(idx, seed, 0x5b5e7 + c);
    size_t take = static_cast<size_t>(double(limit) * double(idx.size()) / double(d.size()) + 0.5);
    take = std::min(idx.size(), std::max<size_t>(take, idx.empty() ? 0 : 1));
    chosen.insert(chosen.end(), idx.begin(), idx.begin() + take);
  }
  std::sort(chosen.begin(), chosen.end());
  return d.subset(chosen);
}

RunData prepare_run_data(const TrainConfig& c, const std::vector<std::string>& classes, const std::string& run_dir,
                         std::ostream& log) {
  RunData out;
  data::SplitSet splits;
  std::string kind;
  VIGIL_CHECK(fs::exists(c.data), "--data ", c.data, ": no such file or directory");
  if (fs::is_directory(c.data) && is_idx_dir(c.data)) {
    kind = "idx";
    const data::Dataset train_all = data::load_idx_dataset(
        c.data + "/train-images-idx3-ubyte" + (fs::exists(c.data + "/train-images-idx3-ubyte.gz") ? ".gz" : ""),
        c.data + "/train-labels-idx1-ubyte" + (fs::exists(c.data + "/train-labels-idx1-ubyte.gz") ? ".gz" : ""),
        classes);
    splits = data::split_dataset(train_all, split_options(c, c.val_fraction, 0.0));
    const std::string t = c.data + "/t10k-images-idx3-ubyte";
    if (fs::exists(t + ".gz") || fs::exists(t)) {
      const bool gz = fs::exists(t + ".gz");
      splits.test.data = data::load_idx_dataset(t + (gz ? ".gz" : ""),
                                                c.data + "/t10k-labels-idx1-ubyte" + (gz ? ".gz" : ""), classes);
      splits.test.sha256.assign(splits.test.data.size(), "");
    }
  } else {
    data::Dataset all;
    std::map<std::string, data::Dataset> given;
    const auto class_map = data::parse_class_map(c.class_map, classes);
    const auto group = data::parse_group_rule(c.group_by);
    if (fs::is_regular_file(c.data)) {
      kind = "list";
      all = data::read_list_file(c.data, data::ListOptions{classes, class_map, group});
    } else {
      kind = "folder";
      data::FolderScan scan =
          data::scan_image_folder(c.data, data::FolderOptions{classes, class_map, c.ignore_unknown_folders, group});
      for (const auto& n : scan.notes) log << "note: " << n << "\n";
      if (scan.presplit) given = std::move(scan.splits);
      else all = std::move(scan.all);
    }
    if (!given.empty()) {
      kind += " (split folders)";
      splits = data::presplit_dataset(given, split_options(c, 0, 0));
      if (splits.val.data.size() == 0 && c.val_fraction > 0) {  // no val folder: carve it out of train
        data::SplitSet carved = data::split_dataset(splits.train.data, split_options(c, c.val_fraction, 0.0));
        splits.train = std::move(carved.train);
        splits.val = std::move(carved.val);
      }
    } else {
      splits = data::split_dataset(all, split_options(c, c.val_fraction, c.test_fraction));
    }
  }
  for (const auto& line : splits.duplicates.lines) log << "note: " << line << "\n";
  out.train = stratified_subset(splits.train.data, c.limit_train, c.seed);
  out.val = stratified_subset(splits.val.data, c.limit_val, c.seed + 1);
  out.test = splits.test.data;
  data::require_every_class(out.train, "training data " + c.data);
  fs::create_directories(run_dir);
  data::write_manifest(splits, run_dir + "/manifest.csv");
  out.summary = {{"source", c.data},
                 {"kind", kind},
                 {"splits", {{"train", class_counts(out.train)}, {"val", class_counts(out.val)}, {"test", class_counts(out.test)}}},
                 {"duplicates_removed", splits.duplicates.removed},
                 {"label_conflicts", splits.duplicates.label_conflicts},
                 {"unreadable_files", splits.duplicates.unreadable},
                 {"groups_straddling_given_splits", splits.duplicates.straddling_groups}};
  log << "data: " << kind << " " << c.data << ": train " << out.train.size() << ", val " << out.val.size() << ", test "
      << out.test.size();
  if (splits.duplicates.removed) log << "; " << splits.duplicates.removed << " duplicates removed";
  if (c.limit_train) log << " (train limited to " << out.train.size() << ")";
  log << "\n";
  return out;
}

}  // namespace vigil::train
