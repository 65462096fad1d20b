// Grouped stratified splitting (greedy by per-class deficits over Philox-shuffled groups), SHA-256 duplicate
// detection across splits, and the atomic manifest writer and its reader.
#include "data/split.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>
#include <unordered_map>

#include "common/error.h"
#include "common/rng.h"
#include "data/sha256.h"

namespace vigil::data {
namespace {

constexpr uint64_t kSplitShuffleStream = 0x5350'4c49'5400'0000ull;  // "SPLIT": apart from the loader's streams
constexpr int kSplitCount = 3;
constexpr Split kAllSplits[kSplitCount] = {Split::Train, Split::Val, Split::Test};

// Hex SHA-256 of every sample's content ("" when a file cannot be read), hashed on `threads` threads.
std::vector<std::string> hash_samples(const Dataset& data, int threads, std::vector<std::string>* errors) {
  std::vector<std::string> hashes(data.size()), failures(data.size());
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t i = next++; i < data.size(); i = next++) {
      const Sample& s = data.samples[i];
      try {
        if (s.memory_index >= 0) {
          const ImageBank& bank = *data.memory;
          hashes[i] = sha256_hex(bank.pixels.data() + static_cast<size_t>(s.memory_index) * bank.image_bytes(),
                                 bank.image_bytes());
        } else {
          hashes[i] = sha256_file_hex(s.path);
        }
      } catch (const std::exception& e) {
        failures[i] = user_message(e);
      }
    }
  };
  const int n = std::max(1, std::min<int>(threads, static_cast<int>(std::min<size_t>(data.size(), 64))));
  std::vector<std::thread> pool;
  for (int t = 1; t < n; ++t) pool.emplace_back(work);
  work();
  for (std::thread& t : pool) t.join();
  for (size_t i = 0; i < failures.size(); ++i)
    if (!failures[i].empty()) errors->push_back(data.samples[i].path + ": cannot hash: " + failures[i]);
  return hashes;
}

// Marks copies of earlier samples (dataset order) that sit in another split than the first one as removed.
std::vector<bool> find_duplicates(const Dataset& data, const std::vector<std::string>& hashes,
                                  const std::vector<Split>& split_of, bool remove, DuplicateReport* report) {
  std::vector<bool> removed(data.size(), false);
  std::unordered_map<std::string, size_t> first_with_hash;
  for (size_t i = 0; i < data.size(); ++i) {
    if (hashes[i].empty()) continue;
    auto [it, inserted] = first_with_hash.emplace(hashes[i], i);
    if (inserted) continue;
    const size_t first = it->second;
    ++report->copies;
    const Sample& a = data.samples[first];
    const Sample& b = data.samples[i];
    if (a.label != b.label) {
      ++report->label_conflicts;
      report->lines.push_back("label conflict: " + b.path + " (" + data.classes[b.label] + ") has the same content as " +
                              a.path + " (" + data.classes[a.label] + ")");
    }
    if (remove && split_of[i] != split_of[first]) {
      removed[i] = true;
      ++report->removed;
      report->lines.push_back(std::string("removed ") + split_name(split_of[i]) + " copy " + b.path +
                              " (same content as " + a.path + " in " + split_name(split_of[first]) + ")");
    }
  }
  return removed;
}

SplitPart& writable_part(SplitSet& set, Split split) {
  return split == Split::Train ? set.train : split == Split::Val ? set.val : set.test;
}

SplitSet assemble(const Dataset& data, const std::vector<std::string>& hashes, const std::vector<Split>& split_of,
                  const std::vector<bool>& removed, DuplicateReport report) {
  SplitSet out;
  out.duplicates = std::move(report);
  for (Split split : kAllSplits) {
    std::vector<size_t> chosen;
    for (size_t i = 0; i < data.size(); ++i)
      if (split_of[i] == split && !removed[i]) chosen.push_back(i);
    SplitPart& part = writable_part(out, split);
    part.data = data.subset(chosen);
    for (size_t i : chosen) part.sha256.push_back(hashes[i]);
  }
  return out;
}

bool is_hex_digest(const std::string& s) {
  return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

}  // namespace

const char* split_name(Split split) {
  switch (split) {
    case Split::Train: return "train";
    case Split::Val: return "val";
    case Split::Test: return "test";
  }
  return "?";
}

Split parse_split_name(const std::string& name) {
  for (Split split : kAllSplits)
    if (name == split_name(split)) return split;
  VIGIL_FAIL("split '", name, "' is not one of train, val, test");
}

void philox_shuffle(std::vector<size_t>& items, uint64_t seed, uint64_t stream) {
  for (size_t i = items.size(); i > 1; --i) {
    // 64 random bits per draw; the modulo bias (i / 2^64) is far below anything measurable.
    const Philox4 r = philox4x32(seed, stream, i);
    const uint64_t bits = (static_cast<uint64_t>(r.v[0]) << 32) | r.v[1];
    std::swap(items[i - 1], items[bits % i]);
  }
}

const SplitPart& SplitSet::part(Split split) const {
  switch (split) {
    case Split::Train: return train;
    case Split::Val: return val;
    case Split::Test: return test;
  }
  return train;
}

std::string SplitSet::summary() const {
  std::ostringstream os;
  for (Split split : kAllSplits) {
    const Dataset& d = part(split).data;
    os << (split == Split::Train ? "" : ", ") << split_name(split) << " " << d.size() << " (";
    const std::vector<int64_t> counts = d.class_counts();
    for (size_t c = 0; c < counts.size(); ++c) os << (c ? ", " : "") << d.classes[c] << " " << counts[c];
    os << ")";
  }
  os << "; " << duplicates.removed << " duplicate(s) removed";
  if (duplicates.label_conflicts) os << ", " << duplicates.label_conflicts << " label conflict(s)";
  if (duplicates.unreadable) os << ", " << duplicates.unreadable << " unreadable file(s)";
  if (duplicates.straddling_groups) os << ", " << duplicates.straddling_groups << " group(s) in several splits";
  return os.str();
}

SplitSet split_dataset(const Dataset& all, const SplitOptions& options) {
  const double fractions[kSplitCount] = {1.0 - options.val_fraction - options.test_fraction, options.val_fraction,
                                         options.test_fraction};
  VIGIL_CHECK(options.val_fraction >= 0 && options.test_fraction >= 0 && fractions[0] > 0,
              "split fractions: val ", options.val_fraction, " and test ", options.test_fraction,
              " must be >= 0 and leave a positive train fraction");
  const size_t num_classes = all.classes.size();

  // Groups in a deterministic order (std::map), then shuffled; big groups are placed first for a tight fit.
  std::map<std::string, std::vector<size_t>> by_key;
  for (size_t i = 0; i < all.size(); ++i) {
    const Sample& s = all.samples[i];
    VIGIL_CHECK(s.label >= 0 && static_cast<size_t>(s.label) < num_classes, s.path, ": label out of range");
    by_key[s.group.empty() ? "\x01sample " + std::to_string(i) : "\x02" + s.group].push_back(i);
  }
  std::vector<const std::vector<size_t>*> groups;
  for (const auto& kv : by_key) groups.push_back(&kv.second);
  std::vector<size_t> order(groups.size());
  for (size_t g = 0; g < order.size(); ++g) order[g] = g;
  philox_shuffle(order, options.seed, kSplitShuffleStream);
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return groups[a]->size() > groups[b]->size(); });

  const std::vector<int64_t> class_totals = all.class_counts();
  std::vector<std::vector<double>> deficit(kSplitCount, std::vector<double>(num_classes));
  for (int s = 0; s < kSplitCount; ++s)
    for (size_t c = 0; c < num_classes; ++c) deficit[s][c] = fractions[s] * static_cast<double>(class_totals[c]);

  std::vector<Split> split_of(all.size(), Split::Train);
  std::vector<int64_t> histogram(num_classes);
  for (size_t g : order) {
    std::fill(histogram.begin(), histogram.end(), 0);
    for (size_t i : *groups[g]) ++histogram[all.samples[i].label];
    int best = 0;
    double best_score = 0;
    for (int s = 0; s < kSplitCount; ++s) {
      if (fractions[s] <= 0) continue;
      double score = 0;
      for (size_t c = 0; c < num_classes; ++c) score += static_cast<double>(histogram[c]) * deficit[s][c];
      if (s == 0 || score > best_score) {
        best = s;
        best_score = score;
      }
    }
    for (size_t c = 0; c < num_classes; ++c) deficit[best][c] -= static_cast<double>(histogram[c]);
    for (size_t i : *groups[g]) split_of[i] = kAllSplits[best];
  }

  DuplicateReport report;
  const std::vector<std::string> hashes = hash_samples(all, options.hash_threads, &report.lines);
  report.unreadable = report.lines.size();
  const std::vector<bool> removed =
      find_duplicates(all, hashes, split_of, options.remove_cross_split_duplicates, &report);
  return assemble(all, hashes, split_of, removed, std::move(report));
}

SplitSet presplit_dataset(const std::map<std::string, Dataset>& splits, const SplitOptions& options) {
  VIGIL_CHECK(!splits.empty(), "no split folders given");
  Dataset all;
  std::vector<Split> split_of;
  for (const auto& kv : splits) parse_split_name(kv.first);  // rejects unknown names
  for (Split split : kAllSplits) {
    auto it = splits.find(split_name(split));
    if (it == splits.end()) continue;
    const Dataset& d = it->second;
    if (all.classes.empty()) {
      all.classes = d.classes;
      all.memory = d.memory;
      all.source = d.source;
    }
    VIGIL_CHECK(d.classes == all.classes, d.source, ": class list differs from the other splits'");
    VIGIL_CHECK(d.memory == all.memory, d.source, ": in-memory images differ from the other splits'");
    all.samples.insert(all.samples.end(), d.samples.begin(), d.samples.end());
    split_of.insert(split_of.end(), d.samples.size(), split);
  }
  DuplicateReport report;
  std::map<std::string, std::set<Split>> splits_of_group;
  for (size_t i = 0; i < all.size(); ++i)
    if (!all.samples[i].group.empty()) splits_of_group[all.samples[i].group].insert(split_of[i]);
  for (const auto& kv : splits_of_group)
    if (kv.second.size() > 1) ++report.straddling_groups;
  const std::vector<std::string> hashes = hash_samples(all, options.hash_threads, &report.lines);
  report.unreadable = report.lines.size();
  const std::vector<bool> removed =
      find_duplicates(all, hashes, split_of, options.remove_cross_split_duplicates, &report);
  return assemble(all, hashes, split_of, removed, std::move(report));
}

void write_manifest(const SplitSet& splits, const std::string& path) {
  std::ostringstream text;
  text << "path,sha256,label,group,split\n";
  for (Split split : kAllSplits) {
    const SplitPart& part = splits.part(split);
    for (size_t i = 0; i < part.data.size(); ++i) {
      const Sample& s = part.data.samples[i];
      text << csv_field(s.path) << ',' << part.sha256[i] << ',' << csv_field(part.data.classes[s.label]) << ','
           << csv_field(s.group) << ',' << split_name(split) << '\n';
    }
  }
  const std::string bytes = text.str();
  const std::string temp = path + ".tmp." + std::to_string(::getpid());
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) VIGIL_FAIL(path, ": cannot create temporary manifest '", temp, "': ", std::strerror(errno));
  size_t written = 0;
  while (written < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + written, bytes.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const std::string why = std::strerror(errno);
      ::close(fd);
      ::unlink(temp.c_str());
      VIGIL_FAIL(path, ": cannot write manifest: ", why);
    }
    written += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    const std::string why = std::strerror(errno);
    ::unlink(temp.c_str());
    VIGIL_FAIL(path, ": cannot flush manifest: ", why);
  }
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    const std::string why = std::strerror(errno);
    ::unlink(temp.c_str());
    VIGIL_FAIL(path, ": cannot rename the temporary manifest into place: ", why);
  }
}

std::vector<ManifestEntry> read_manifest(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) VIGIL_FAIL(path, ": cannot open manifest: ", std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  const std::vector<CsvRecord> records = parse_csv(text.str(), path);
  const std::vector<std::string> header = {"path", "sha256", "label", "group", "split"};
  VIGIL_CHECK(!records.empty() && records[0].fields == header, path,
              ":1: not a split manifest (the header must be path,sha256,label,group,split)");
  std::vector<ManifestEntry> entries;
  for (size_t r = 1; r < records.size(); ++r) {
    const CsvRecord& rec = records[r];
    if (rec.fields.size() != 5) VIGIL_FAIL(path, ":", rec.line, ": expected 5 fields, got ", rec.fields.size());
    ManifestEntry e{rec.fields[0], rec.fields[1], rec.fields[2], rec.fields[3], Split::Train};
    if (e.path.empty()) VIGIL_FAIL(path, ":", rec.line, ": empty path");
    if (!e.sha256.empty() && !is_hex_digest(e.sha256))
      VIGIL_FAIL(path, ":", rec.line, ": '", e.sha256, "' is not a SHA-256 hex digest");
    try {
      e.split = parse_split_name(rec.fields[4]);
    } catch (const Error&) {
      VIGIL_FAIL(path, ":", rec.line, ": split '", rec.fields[4], "' is not one of train, val, test");
    }
    entries.push_back(std::move(e));
  }
  return entries;
}

Dataset manifest_dataset(const std::vector<ManifestEntry>& entries, Split split,
                         const std::vector<std::string>& classes) {
  Dataset out;
  out.classes = classes;
  out.source = std::string("manifest split ") + split_name(split);
  for (const ManifestEntry& e : entries) {
    if (e.split != split) continue;
    auto cls = std::find(classes.begin(), classes.end(), e.label);
    if (cls == classes.end()) {
      std::string known;
      for (const std::string& c : classes) known += (known.empty() ? "" : ", ") + c;
      VIGIL_FAIL(e.path, ": manifest label '", e.label, "' is not a model class (classes: ", known, ")");
    }
    Sample s;
    s.path = e.path;
    s.label = static_cast<int>(cls - classes.begin());
    s.group = e.group;
    out.samples.push_back(std::move(s));
  }
  return out;
}

Dataset select_manifest_split(const Dataset& full, const std::vector<ManifestEntry>& entries, Split split) {
  std::unordered_map<std::string, size_t> index_of_path;
  for (size_t i = 0; i < full.size(); ++i) index_of_path.emplace(full.samples[i].path, i);
  std::vector<size_t> chosen;
  for (const ManifestEntry& e : entries) {
    if (e.split != split) continue;
    auto it = index_of_path.find(e.path);
    if (it == index_of_path.end()) VIGIL_FAIL(e.path, ": in the manifest's ", split_name(split), " split but not in ", full.source);
    const Sample& s = full.samples[it->second];
    if (full.classes[s.label] != e.label)
      VIGIL_FAIL(e.path, ": labelled '", e.label, "' in the manifest but '", full.classes[s.label], "' in ",
                 full.source);
    chosen.push_back(it->second);
  }
  return full.subset(chosen);
}

}  // namespace vigil::data
