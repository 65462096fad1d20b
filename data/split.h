// Grouped, stratified, seeded train/val/test splits with exact-duplicate removal, and the split manifest (CSV)
// that records which file went where so evaluation never scores an image that was trained on.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "data/dataset.h"

namespace vigil::data {

enum class Split { Train = 0, Val = 1, Test = 2 };
const char* split_name(Split split);            // "train", "val", "test"
Split parse_split_name(const std::string& name);  // throws for anything else

// Fisher-Yates shuffle drawing from Philox(seed, stream): the same on every machine and thread count.
void philox_shuffle(std::vector<size_t>& items, uint64_t seed, uint64_t stream);

struct SplitOptions {
  double val_fraction = 0.1, test_fraction = 0.1;  // of each class's samples; train gets the rest
  uint64_t seed = 0;
  bool remove_cross_split_duplicates = true;  // same content in two splits: keep the first copy only
  int hash_threads = 2;                       // threads hashing file contents
};

// What duplicate detection found. A "copy" is a sample whose content (SHA-256) equals an earlier sample's
// (dataset order); copies in another split than that first sample are removed and counted.
struct DuplicateReport {
  size_t copies = 0;            // samples whose content equals an earlier sample's
  size_t removed = 0;           // copies removed because they sat in another split than the first one
  size_t label_conflicts = 0;   // copies whose label differs from the first one's
  size_t unreadable = 0;        // files that could not be hashed (they will fail to decode too)
  size_t straddling_groups = 0; // presplit data only: groups found in more than one given split
  std::vector<std::string> lines;  // one line per removed copy, label conflict and unreadable file
};

// One split's samples and the hex SHA-256 of each one's content ("" when the file could not be read).
struct SplitPart {
  Dataset data;
  std::vector<std::string> sha256;
};

struct SplitSet {
  SplitPart train, val, test;
  DuplicateReport duplicates;
  const SplitPart& part(Split split) const;
  std::string summary() const;  // "train 800 (a 400, b 400), val 100 (...), test 100 (...); 3 duplicates removed"
};

// Splits a flat dataset: samples of one group (Sample::group; empty = alone) always land in the same split, each
// class is divided in the requested proportions as closely as the groups allow, and the result depends only on
// the data and the seed.
SplitSet split_dataset(const Dataset& all, const SplitOptions& options);

// Keeps the user's own split folders (ImageFolder train/val/test) and only hashes, removes cross-split
// duplicates (first copy in train, then val, then test, wins) and counts groups found in several splits.
SplitSet presplit_dataset(const std::map<std::string, Dataset>& splits, const SplitOptions& options);

// The manifest: CSV "path,sha256,label,group,split", one row per sample, written to a temporary file in the
// same folder, flushed and renamed over `path`.
void write_manifest(const SplitSet& splits, const std::string& path);

struct ManifestEntry {
  std::string path, sha256, label, group;
  Split split = Split::Train;
};
// Reads a manifest back; errors name the file and line.
std::vector<ManifestEntry> read_manifest(const std::string& path);
// The samples of one split of a manifest as a file dataset labelled by `classes` (an unknown label is an error
// naming the entry's path). Groups are kept.
Dataset manifest_dataset(const std::vector<ManifestEntry>& entries, Split split,
                         const std::vector<std::string>& classes);
// The samples of `full` whose paths the manifest puts in `split` (for in-memory data sets such as Fashion-MNIST,
// whose paths read "FILE#n"); an entry of that split missing from `full` is an error naming it.
Dataset select_manifest_split(const Dataset& full, const std::vector<ManifestEntry>& entries, Split split);

}  // namespace vigil::data
