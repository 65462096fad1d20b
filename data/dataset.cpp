// ImageFolder scanning, list-file (CSV) reading, class lists and maps, group rules and in-memory sample loading.
#include "data/dataset.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "common/error.h"

namespace vigil::data {
namespace {

namespace fs = std::filesystem;

const char* const kSplitFolderNames[] = {"train", "val", "test"};

std::string trim(const std::string& s) {
  const size_t begin = s.find_first_not_of(" \t\r\n");
  if (begin == std::string::npos) return "";
  const size_t end = s.find_last_not_of(" \t\r\n");
  return s.substr(begin, end - begin + 1);
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

std::vector<std::string> split_commas(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) out.push_back(trim(item));
  if (!text.empty() && text.back() == ',') out.push_back("");
  return out;
}

bool is_hidden(const fs::path& p) {
  const std::string name = p.filename().string();
  return !name.empty() && name[0] == '.';
}

std::string read_text_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) VIGIL_FAIL(path, ": cannot open: ", std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) VIGIL_FAIL(path, ": read error");
  return text.str();
}

// Compiled form of a GroupRule's regex, built once per scan.
struct GroupMatcher {
  explicit GroupMatcher(const GroupRule& rule) : rule_(rule) {
    if (rule.kind == GroupRule::Kind::Regex) regex_ = std::regex(rule.pattern, std::regex::ECMAScript);
  }
  // The group of a file by its name, or false when the regex does not match it.
  bool group_from_name(const std::string& file_name, std::string* group) const {
    std::smatch match;
    if (!std::regex_search(file_name, match, regex_)) return false;
    *group = match.size() > 1 && match[1].matched ? match[1].str() : match[0].str();
    return true;
  }
  const GroupRule& rule_;
  std::regex regex_;
};

// Collects files whose names a regex group rule does not match, for one error listing a few of them.
struct UnmatchedNames {
  size_t count = 0;
  std::vector<std::string> examples;
  void add(const std::string& path) {
    if (count++ < 3) examples.push_back(path);
  }
  void throw_if_any(const std::string& source, const std::string& pattern) const {
    if (count == 0) return;
    VIGIL_FAIL(source, ": group_by regex '", pattern, "' does not match ", count, " file name(s), e.g. ",
               join(examples), " (every file needs a group)");
  }
};

// What a folder name stands for: a class index, or ignored (-1).
int resolve_folder(const std::string& name, const std::vector<std::string>& classes,
                   const std::map<std::string, std::string>& class_map, bool ignore_unknown,
                   const std::string& where, std::vector<std::string>* notes) {
  std::string target = name;
  if (auto it = class_map.find(name); it != class_map.end()) target = it->second;
  if (target == "-") {
    notes->push_back(where + ": ignored folder '" + name + "' (class map)");
    return -1;
  }
  auto it = std::find(classes.begin(), classes.end(), target);
  if (it != classes.end()) return static_cast<int>(it - classes.begin());
  if (ignore_unknown) {
    notes->push_back(where + ": ignored folder '" + name + "' (not a known class)");
    return -1;
  }
  VIGIL_FAIL(where, ": folder '", name, "' is not a known class; known classes: ", join(classes),
             ". Map it (class_map \"", name, "=CLASS\", or \"", name, "=-\" to skip it) or ignore unknown folders");
}

std::vector<fs::path> sorted_subfolders(const fs::path& dir, std::vector<std::string>* notes) {
  std::vector<fs::path> folders;
  size_t loose_files = 0;
  std::error_code ec;
  for (fs::directory_iterator it(dir, fs::directory_options::skip_permission_denied, ec), end; !ec && it != end;
       it.increment(ec)) {
    if (is_hidden(it->path())) continue;
    std::error_code type_ec;
    if (it->is_directory(type_ec)) folders.push_back(it->path());
    else ++loose_files;
  }
  if (ec) VIGIL_FAIL(dir.string(), ": cannot list folder: ", ec.message());
  if (loose_files > 0)
    notes->push_back(dir.string() + ": ignored " + std::to_string(loose_files) + " file(s) outside class folders");
  std::sort(folders.begin(), folders.end());
  return folders;
}

// Every regular non-hidden file below `dir` (hidden folders are not entered), sorted.
std::vector<fs::path> regular_files_below(const fs::path& dir) {
  std::vector<fs::path> files;
  std::error_code ec;
  fs::recursive_directory_iterator it(dir, fs::directory_options::skip_permission_denied, ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    if (is_hidden(it->path())) {
      std::error_code type_ec;
      if (it->is_directory(type_ec)) it.disable_recursion_pending();
      continue;
    }
    std::error_code type_ec;
    if (it->is_regular_file(type_ec)) files.push_back(it->path());
  }
  if (ec) VIGIL_FAIL(dir.string(), ": cannot list folder: ", ec.message());
  std::sort(files.begin(), files.end());
  return files;
}

// Scans the class folders of DIR (`class_dirs`) into `out` (appending), with groups per the rule; `prefix` names
// the split folder.
void scan_class_folders(const fs::path& dir, const std::vector<fs::path>& class_dirs, const std::string& prefix,
                        const FolderOptions& options, const GroupMatcher& matcher, UnmatchedNames* unmatched,
                        Dataset* out, std::vector<std::string>* notes) {
  for (const fs::path& class_dir : class_dirs) {
    const std::string folder = class_dir.filename().string();
    const int label = resolve_folder(folder, options.classes, options.class_map, options.ignore_unknown_folders,
                                     dir.string(), notes);
    if (label < 0) continue;
    for (const fs::path& file : regular_files_below(class_dir)) {
      Sample sample;
      sample.path = file.string();
      sample.label = label;
      if (options.group.kind == GroupRule::Kind::Folder) {
        const fs::path relative = file.lexically_relative(class_dir);
        if (std::distance(relative.begin(), relative.end()) > 1)
          sample.group = prefix + folder + "/" + relative.begin()->string();
      } else if (options.group.kind == GroupRule::Kind::Regex) {
        if (!matcher.group_from_name(file.filename().string(), &sample.group)) unmatched->add(sample.path);
      }
      out->samples.push_back(std::move(sample));
    }
  }
}

bool is_split_folder_name(const std::string& name) {
  return std::find(std::begin(kSplitFolderNames), std::end(kSplitFolderNames), name) != std::end(kSplitFolderNames);
}

}  // namespace

DecodeResult Dataset::load(size_t i, const DecodeOptions& options) const {
  VIGIL_CHECK(i < samples.size(), "sample ", i, " out of range (", samples.size(), " samples)");
  const Sample& sample = samples[i];
  if (sample.memory_index < 0) return decode_file(sample.path, options);
  VIGIL_CHECK(memory && sample.memory_index < memory->count(), sample.path, ": in-memory image missing");
  VIGIL_CHECK(options.channels == 1 || options.channels == 3, "channels must be 1 or 3, got ", options.channels);
  const ImageBank& bank = *memory;
  const uint8_t* src = bank.pixels.data() + static_cast<size_t>(sample.memory_index) * bank.image_bytes();
  DecodeResult result;
  Image& image = result.image;
  image.width = bank.width;
  image.height = bank.height;
  image.channels = options.channels;
  const size_t pixel_count = static_cast<size_t>(bank.width) * bank.height;
  image.pixels.resize(pixel_count * options.channels);
  if (bank.channels == options.channels) {
    std::copy(src, src + bank.image_bytes(), image.pixels.begin());
  } else if (bank.channels == 1) {
    for (size_t p = 0; p < pixel_count; ++p)
      for (int c = 0; c < 3; ++c) image.pixels[3 * p + c] = src[p];
  } else {
    VIGIL_CHECK(bank.channels == 3, sample.path, ": in-memory images have ", bank.channels, " channels");
    for (size_t p = 0; p < pixel_count; ++p) {  // ITU-R 601 luma, rounded
      const uint32_t luma = 299u * src[3 * p] + 587u * src[3 * p + 1] + 114u * src[3 * p + 2];
      image.pixels[p] = static_cast<uint8_t>((luma + 500) / 1000);
    }
  }
  return result;
}

std::vector<int64_t> Dataset::class_counts() const {
  std::vector<int64_t> counts(classes.size(), 0);
  for (const Sample& s : samples)
    if (s.label >= 0 && s.label < static_cast<int>(counts.size())) ++counts[s.label];
  return counts;
}

Dataset Dataset::subset(const std::vector<size_t>& indices) const {
  Dataset out;
  out.classes = classes;
  out.memory = memory;
  out.source = source;
  out.samples.reserve(indices.size());
  for (size_t i : indices) {
    VIGIL_CHECK(i < samples.size(), "subset index ", i, " out of range (", samples.size(), " samples)");
    out.samples.push_back(samples[i]);
  }
  return out;
}

void require_every_class(const Dataset& dataset, const std::string& what) {
  const std::vector<int64_t> counts = dataset.class_counts();
  for (size_t c = 0; c < counts.size(); ++c)
    if (counts[c] == 0)
      VIGIL_FAIL(what, ": no images of class '", dataset.classes[c], "' (classes: ", join(dataset.classes), ")");
}

std::vector<std::string> parse_class_list(const std::string& text) {
  const std::vector<std::string> names = split_commas(text);
  VIGIL_CHECK(!names.empty(), "class list is empty");
  std::set<std::string> seen;
  for (const std::string& name : names) {
    VIGIL_CHECK(!name.empty(), "class list '", text, "': empty class name");
    VIGIL_CHECK(seen.insert(name).second, "class list '", text, "': class '", name, "' appears twice");
  }
  return names;
}

std::map<std::string, std::string> parse_class_map(const std::string& text,
                                                   const std::vector<std::string>& classes) {
  std::map<std::string, std::string> out;
  if (trim(text).empty()) return out;
  for (const std::string& entry : split_commas(text)) {
    const size_t eq = entry.find('=');
    VIGIL_CHECK(eq != std::string::npos, "class map '", text, "': entry '", entry, "' is not NAME=CLASS");
    const std::string from = trim(entry.substr(0, eq)), to = trim(entry.substr(eq + 1));
    VIGIL_CHECK(!from.empty() && !to.empty(), "class map '", text, "': entry '", entry, "' is not NAME=CLASS");
    VIGIL_CHECK(to == "-" || std::find(classes.begin(), classes.end(), to) != classes.end(), "class map '", text,
                "': '", to, "' is not a class; classes: ", join(classes), " (or '-' to skip the folder)");
    VIGIL_CHECK(out.emplace(from, to).second, "class map '", text, "': '", from, "' is mapped twice");
  }
  return out;
}

GroupRule parse_group_rule(const std::string& text) {
  GroupRule rule;
  if (text.empty() || text == "none") return rule;
  if (text == "folder") {
    rule.kind = GroupRule::Kind::Folder;
    return rule;
  }
  if (text.rfind("regex:", 0) == 0) {
    rule.kind = GroupRule::Kind::Regex;
    rule.pattern = text.substr(6);
    VIGIL_CHECK(!rule.pattern.empty(), "group_by 'regex:' needs a pattern");
    try {
      std::regex check(rule.pattern, std::regex::ECMAScript);
    } catch (const std::regex_error& e) {
      VIGIL_FAIL("group_by regex '", rule.pattern, "' is not a valid regular expression: ", user_message(e));
    }
    return rule;
  }
  VIGIL_FAIL("group_by '", text, "' is not one of: folder, regex:PATTERN (or empty)");
}

FolderScan scan_image_folder(const std::string& root, const FolderOptions& options) {
  VIGIL_CHECK(!options.classes.empty(), root, ": the class list is empty (give the model's classes or --classes)");
  std::error_code ec;
  VIGIL_CHECK(fs::is_directory(root, ec), root, ": not a folder");
  const fs::path root_path = fs::absolute(root).lexically_normal();
  const GroupMatcher matcher(options.group);
  UnmatchedNames unmatched;
  FolderScan scan;
  scan.all.classes = options.classes;
  scan.all.source = root_path.string();

  std::vector<fs::path> top = sorted_subfolders(root_path, &scan.notes);
  for (const fs::path& folder : top) {
    const std::string name = folder.filename().string();
    const bool names_a_class = std::find(options.classes.begin(), options.classes.end(), name) !=
                                   options.classes.end() || options.class_map.count(name);
    if (is_split_folder_name(name) && !names_a_class) scan.presplit = true;
  }
  if (!scan.presplit) {
    scan_class_folders(root_path, top, "", options, matcher, &unmatched, &scan.all, &scan.notes);
  } else {
    for (const fs::path& folder : top) {
      const std::string name = folder.filename().string();
      if (!is_split_folder_name(name)) {
        VIGIL_CHECK(options.ignore_unknown_folders, root_path.string(), ": folder '", name,
                    "' sits beside the split folders train/val/test; move it or ignore unknown folders");
        scan.notes.push_back(root_path.string() + ": ignored folder '" + name + "' (not a split)");
        continue;
      }
      Dataset part;
      part.classes = options.classes;
      part.source = folder.string();
      scan_class_folders(folder, sorted_subfolders(folder, &scan.notes), name + "/", options, matcher, &unmatched,
                         &part, &scan.notes);
      scan.all.samples.insert(scan.all.samples.end(), part.samples.begin(), part.samples.end());
      scan.splits.emplace(name, std::move(part));
    }
  }
  unmatched.throw_if_any(root_path.string(), options.group.pattern);
  return scan;
}

std::vector<CsvRecord> parse_csv(const std::string& text, const std::string& name) {
  std::vector<CsvRecord> records;
  size_t pos = 0;
  int line = 1;
  if (text.compare(0, 3, "\xEF\xBB\xBF") == 0) pos = 3;  // UTF-8 byte order mark
  while (pos < text.size()) {
    CsvRecord record;
    record.line = line;
    bool record_done = false;
    while (!record_done) {
      std::string field;
      bool quoted = false;
      size_t scan = pos;
      while (scan < text.size() && (text[scan] == ' ' || text[scan] == '\t')) ++scan;
      if (scan < text.size() && text[scan] == '"') {
        quoted = true;
        const int quote_line = line;
        pos = scan + 1;
        while (true) {
          if (pos >= text.size()) VIGIL_FAIL(name, ":", quote_line, ": unterminated quoted field");
          const char c = text[pos++];
          if (c == '"') {
            if (pos < text.size() && text[pos] == '"') {
              field += '"';
              ++pos;
            } else {
              break;
            }
          } else {
            if (c == '\n') ++line;
            field += c;
          }
        }
        while (pos < text.size() && (text[pos] == ' ' || text[pos] == '\t')) ++pos;
      } else {
        while (pos < text.size() && text[pos] != ',' && text[pos] != '\n' && text[pos] != '\r') {
          if (text[pos] == '"') VIGIL_FAIL(name, ":", line, ": a quote inside an unquoted field (quote the field)");
          field += text[pos++];
        }
      }
      record.fields.push_back(quoted ? field : trim(field));
      if (pos >= text.size()) {
        record_done = true;
      } else if (text[pos] == ',') {
        ++pos;
      } else if (text[pos] == '\r' || text[pos] == '\n') {
        if (text[pos] == '\r') ++pos;
        if (pos < text.size() && text[pos] == '\n') ++pos;
        ++line;
        record_done = true;
      } else {
        VIGIL_FAIL(name, ":", line, ": unexpected character '", text[pos], "' after a quoted field");
      }
    }
    const bool blank = record.fields.size() == 1 && record.fields[0].empty();
    if (!blank) records.push_back(std::move(record));
  }
  return records;
}

std::string csv_field(const std::string& value) {
  const bool needs_quotes = value.find_first_of(",\"\r\n") != std::string::npos ||
                            (!value.empty() && (value.front() == ' ' || value.back() == ' ' ||
                                                value.front() == '\t' || value.back() == '\t'));
  if (!needs_quotes) return value;
  std::string out = "\"";
  for (char c : value) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

Dataset read_list_file(const std::string& csv_path, const ListOptions& options) {
  VIGIL_CHECK(!options.classes.empty(), csv_path, ": the class list is empty (give the model's classes or --classes)");
  const std::vector<CsvRecord> records = parse_csv(read_text_file(csv_path), csv_path);
  const fs::path base = fs::absolute(csv_path).parent_path();
  const GroupMatcher matcher(options.group);
  UnmatchedNames unmatched;
  Dataset out;
  out.classes = options.classes;
  out.source = csv_path;
  for (size_t r = 0; r < records.size(); ++r) {
    const CsvRecord& rec = records[r];
    const std::vector<std::string>& f = rec.fields;
    if (r == 0 && f.size() >= 2 && lower(f[0]) == "path" && lower(f[1]) == "label") {
      VIGIL_CHECK(f.size() == 2 || (f.size() == 3 && lower(f[2]) == "group"), csv_path, ":", rec.line,
                  ": header must be path,label or path,label,group");
      continue;
    }
    if (f.size() != 2 && f.size() != 3)
      VIGIL_FAIL(csv_path, ":", rec.line, ": expected 2 or 3 fields (path,label[,group]), got ", f.size());
    if (f[0].empty()) VIGIL_FAIL(csv_path, ":", rec.line, ": empty path");
    std::string label = f[1];
    if (auto it = options.class_map.find(label); it != options.class_map.end()) label = it->second;
    if (label == "-") continue;
    auto cls = std::find(options.classes.begin(), options.classes.end(), label);
    if (cls == options.classes.end())
      VIGIL_FAIL(csv_path, ":", rec.line, ": unknown label '", f[1], "' (classes: ", join(options.classes),
                 "; map other labels with a class map)");
    Sample sample;
    const fs::path path(f[0]);
    sample.path = (path.is_absolute() ? path : base / path).lexically_normal().string();
    sample.label = static_cast<int>(cls - options.classes.begin());
    switch (options.group.kind) {
      case GroupRule::Kind::Default:
        if (f.size() == 3) sample.group = f[2];
        break;
      case GroupRule::Kind::Folder:
        sample.group = fs::path(sample.path).parent_path().string();
        break;
      case GroupRule::Kind::Regex:
        if (!matcher.group_from_name(fs::path(sample.path).filename().string(), &sample.group))
          unmatched.add(csv_path + ":" + std::to_string(rec.line) + " " + f[0]);
        break;
    }
    out.samples.push_back(std::move(sample));
  }
  unmatched.throw_if_any(csv_path, options.group.pattern);
  return out;
}

}  // namespace vigil::data
