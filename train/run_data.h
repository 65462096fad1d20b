// The data of a training run: the train / val / test datasets built from --data (ImageFolder, list file or
// Fashion-MNIST IDX directory), split by group and class, with the manifest written into the run directory.
#pragma once
#include <ostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/dataset.h"
#include "train/config.h"

namespace vigil::train {

struct RunData {
  data::Dataset train, val, test;  // val / test may be empty
  nlohmann::json summary;          // {"source", "kind", "splits": {split: {class: count}}, "duplicates_removed", ...}
};

// Builds the splits for `classes` (label order), deterministic from config.seed; writes RUN_DIR/manifest.csv
// (path, sha256, label, group, split). Progress and notes go to `log`.
RunData prepare_run_data(const TrainConfig& config, const std::vector<std::string>& classes,
                         const std::string& run_dir, std::ostream& log);

// At most `limit` samples of `d`, every class kept in proportion (seeded). limit <= 0 or >= size: all.
data::Dataset stratified_subset(const data::Dataset& d, int64_t limit, uint64_t seed);

}  // namespace vigil::train
