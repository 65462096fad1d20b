// Labelled image datasets: ImageFolder trees and list files (CSV), with the class order fixed by the model or the
// user (never by folder names), class maps, split groups, and in-memory image banks (Fashion-MNIST, see idx.h).
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "data/image.h"

namespace vigil::data {

struct Sample {
  std::string path;           // the image file, or "<IDX file>#<n>" for an in-memory image
  int label = -1;             // index into Dataset::classes
  std::string group;          // split group (samples of one group never straddle splits); empty: its own group
  int64_t memory_index = -1;  // >= 0: the pixels are image #memory_index of Dataset::memory
};

// Equal-sized uint8 images held in memory, each HWC, stored back to back.
struct ImageBank {
  int width = 0, height = 0, channels = 0;
  std::vector<uint8_t> pixels;
  size_t image_bytes() const { return static_cast<size_t>(width) * height * channels; }
  int64_t count() const { return image_bytes() ? static_cast<int64_t>(pixels.size() / image_bytes()) : 0; }
};

struct Dataset {
  std::vector<std::string> classes;  // label i is classes[i]
  std::vector<Sample> samples;
  std::shared_ptr<const ImageBank> memory;  // the images of samples with memory_index >= 0
  std::string source;                       // where the samples came from, for messages

  size_t size() const { return samples.size(); }
  // Decodes sample i (or copies it from memory, converted to options.channels). Never throws for a bad file:
  // the result's status and error ("PATH: reason") say why.
  DecodeResult load(size_t i, const DecodeOptions& options) const;
  std::vector<int64_t> class_counts() const;         // samples per class
  Dataset subset(const std::vector<size_t>& indices) const;  // same classes and memory, the chosen samples
};

// Throws when a class has no samples: "WHAT: no images of class 'violence' (classes: nudity, violence, standard)".
void require_every_class(const Dataset& dataset, const std::string& what);

// "nudity,violence,standard" -> the class list; errors on empty names and duplicates.
std::vector<std::string> parse_class_list(const std::string& text);
// "fight=violence,noFight=standard": folder (or list label) name -> class. The target "-" ignores that name.
// Every target must be one of `classes` (or "-").
std::map<std::string, std::string> parse_class_map(const std::string& text, const std::vector<std::string>& classes);

// How samples are grouped for splitting ("no guessing": only what the user asked for).
struct GroupRule {
  enum class Kind {
    Default,  // ImageFolder: each sample alone; list file: its group column when it has one
    Folder,   // ImageFolder: the first folder below the class folder (class/<clip>/frame.jpg); list: the parent folder
    Regex,    // a regex searched in the file name: the first capture group, or the whole match
  };
  Kind kind = Kind::Default;
  std::string pattern;
};
// "" | "folder" | "regex:PATTERN"; an invalid pattern or other text is an error.
GroupRule parse_group_rule(const std::string& text);

struct FolderOptions {
  std::vector<std::string> classes;               // required: the model's classes or --classes, in label order
  std::map<std::string, std::string> class_map;   // see parse_class_map
  bool ignore_unknown_folders = false;            // else a folder that is no known class is an error
  GroupRule group;
};

// An ImageFolder tree: DIR/<split>/<class>/... (split = train, val, test; those present) or DIR/<class>/...
struct FolderScan {
  bool presplit = false;
  Dataset all;                             // every sample (presplit: all splits together)
  std::map<std::string, Dataset> splits;   // presplit only: "train" / "val" / "test"
  std::vector<std::string> notes;          // ignored folders and loose files, one line each
};
// Lists every regular, non-hidden file below each class folder, recursively, sorted by path (content is sniffed
// at decode time, so extensions do not matter). Errors name the folder and list the known classes.
FolderScan scan_image_folder(const std::string& root, const FolderOptions& options);

struct ListOptions {
  std::vector<std::string> classes;
  std::map<std::string, std::string> class_map;  // maps list labels as it maps folder names
  GroupRule group;
};
// A CSV list "path,label[,group]" (header "path,label[,group]" optional, quoted fields allowed, paths relative to
// the CSV's folder). Errors name the file and line: "list.csv:7: unknown label 'cat' (classes: ...)".
Dataset read_list_file(const std::string& csv_path, const ListOptions& options);

// CSV records with the line each starts on (RFC 4180: quotes, doubled quotes, commas and newlines in quotes).
struct CsvRecord {
  int line = 0;
  std::vector<std::string> fields;
};
std::vector<CsvRecord> parse_csv(const std::string& text, const std::string& name);
std::string csv_field(const std::string& value);  // quotes the value when it needs quoting

}  // namespace vigil::data
