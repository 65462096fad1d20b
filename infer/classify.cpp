// Implementation of `vigil classify`: lazy walk, resume bookkeeping, parallel decode per batch, one forward per
// batch (animations and clips after it, frame by frame), JSONL records flushed per batch, the terminal table,
// progress and summary.
#include "infer/classify.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iomanip>
#include <memory>
#include <sstream>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/parallel.h"
#include "data/image.h"
#include "data/preprocess.h"
#include "data/sha256.h"
#include "infer/batch_decode.h"
#include "infer/classify_frames.h"
#include "infer/clips.h"
#include "infer/predictor.h"

namespace vigil::infer {

namespace {

std::string errno_text(int err) { return std::strerror(err); }

std::string strip_trailing_slashes(std::string p) {
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  return p;
}

}  // namespace

// ---------------------------------------------------------------------------------------------------------------
// The input walk.

InputWalker::InputWalker(std::vector<std::string> roots) : roots_(std::move(roots)) {}

std::string InputWalker::enter(const std::string& path, dev_t dev, ino_t ino) {
  if (!entered_.insert({dev, ino}).second) return "";  // already walked (a link back up the tree, or a duplicate)
  DIR* d = ::opendir(path.c_str());
  if (d == nullptr) return "cannot read directory: " + errno_text(errno);
  OpenDir dir{path, {}, 0};
  while (const dirent* e = ::readdir(d))
    if (e->d_name[0] != '.') dir.names.emplace_back(e->d_name);
  ::closedir(d);
  std::sort(dir.names.begin(), dir.names.end());
  stack_.push_back(std::move(dir));
  return "";
}

bool InputWalker::next(InputEntry& entry) {
  for (;;) {
    std::string path;
    bool from_root = false;
    if (!stack_.empty()) {
      OpenDir& top = stack_.back();
      if (top.next == top.names.size()) {
        stack_.pop_back();
        continue;
      }
      path = (top.path == "/" ? "/" : top.path + "/") + top.names[top.next++];
    } else if (next_root_ < roots_.size()) {
      path = strip_trailing_slashes(roots_[next_root_++]);
      from_root = true;
    } else {
      return false;
    }

    entry = InputEntry{path, ""};
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
      const int err = errno;
      struct stat link {};
      entry.error = (!from_root && ::lstat(path.c_str(), &link) == 0 && S_ISLNK(link.st_mode))
                        ? "broken symbolic link"
                        : errno_text(err);
      return true;
    }
    if (S_ISDIR(st.st_mode)) {
      entry.error = enter(path, st.st_dev, st.st_ino);
      if (!entry.error.empty()) return true;
      continue;
    }
    if (!S_ISREG(st.st_mode)) entry.error = "not a regular file";
    return true;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Resume.

std::string record_key(const std::string& path, const std::string& sha256) { return path + '\n' + sha256; }

std::unordered_set<std::string> read_done_records(const std::string& jsonl_path, std::ostream& note) {
  std::unordered_set<std::string> done;
  struct stat st {};
  if (::stat(jsonl_path.c_str(), &st) != 0 && errno == ENOENT) return done;  // nothing recorded yet
  std::ifstream in(jsonl_path, std::ios::binary);
  VIGIL_CHECK(in.good(), jsonl_path, ": cannot read for --resume: ", errno_text(errno));
  uint64_t offset = 0, good_end = 0;
  int64_t line_number = 0;
  std::vector<int64_t> bad_lines;  // unparsable complete lines followed by good ones
  std::string line;
  while (std::getline(in, line)) {
    ++line_number;
    const bool complete = !in.eof();  // getline stopped at a newline
    offset += line.size() + (complete ? 1 : 0);
    if (!complete) break;
    nlohmann::json record = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (record.is_discarded() || !record.is_object()) {
      bad_lines.push_back(line_number);
      continue;
    }
    // Lines before this good one that did not parse stay in the file (they are not a torn tail): ignored.
    for (int64_t b : bad_lines) note << jsonl_path << ":" << b << ": not a JSON record, ignored\n";
    bad_lines.clear();
    good_end = offset;
    const auto status = record.find("status");
    const auto path = record.find("path");
    const auto sha = record.find("sha256");
    if (status == record.end() || path == record.end() || sha == record.end() || !path->is_string() ||
        !sha->is_string() || !status->is_string())
      continue;
    if (*status == "ok" || *status == "error") done.insert(record_key(path->get<std::string>(), sha->get<std::string>()));
  }
  if (offset > good_end) {
    VIGIL_CHECK(::truncate(jsonl_path.c_str(), static_cast<off_t>(good_end)) == 0, jsonl_path,
                ": cannot cut off the half-written last record: ", errno_text(errno));
    note << jsonl_path << ": removed a half-written last record (" << (offset - good_end)
         << " bytes) left by an interrupted run\n";
  }
  return done;
}

// ---------------------------------------------------------------------------------------------------------------
// Summary.

std::string ClassifySummary::line() const {
  std::ostringstream s;
  s << "classified " << (ok + errors) << " inputs: " << ok << " ok, " << errors << " error";
  auto counts = [&](const char* what, const std::map<std::string, int64_t>& m) {
    if (m.empty()) return;
    s << "; " << what << ":";
    bool first = true;
    for (const auto& [name, n] : m) {
      s << (first ? " " : ", ") << name << " " << n;
      first = false;
    }
  };
  counts("class", by_class);
  counts("decision", by_decision);
  if (multi_frame)
    s << "; " << multi_frame << " multi-frame (" << frames_scored << " frames scored, " << early_exits
      << " early exit" << (early_exits == 1 ? "" : "s") << ")";
  if (skipped) s << "; skipped " << skipped << " already recorded";
  return s.str();
}

// ---------------------------------------------------------------------------------------------------------------
// The run.

namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

// An image file, an animated GIF/WebP (found out while preparing) or a clip folder.
enum class Kind { Image, Animation, Clip };

// One input of a batch, from its walk entry to its record.
struct Item {
  Kind kind = Kind::Image;
  std::string path;
  std::string sha256;  // empty when the file could not be read; clips: the listing fingerprint
  std::string error;
  bool skipped = false;  // already recorded (--resume)
  std::vector<std::string> frame_names;  // clips
  std::vector<float> input;
  double prepare_ms = 0;
  std::vector<float> probabilities;
  Decision decision;
  MultiFrameScore frames;  // animations and clips
};

// Reads a file of at most max_file_bytes whole; false with `error` set ("io_error: ...") when it cannot.
bool read_whole_file(const std::string& path, std::vector<uint8_t>& bytes, std::string& error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = "io_error: cannot open: " + errno_text(errno);
    return false;
  }
  bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  if (in.bad()) {
    error = "io_error: read failed: " + errno_text(errno);
    return false;
  }
  return true;
}

// Decodes a GIF or WebP far enough to tell an animation (a second frame) from a still; a still is preprocessed
// into item.input, an animation is left for the frame-by-frame pass.
void prepare_gif_or_webp(Item& item, const std::vector<uint8_t>& bytes, const ModelSpec& spec,
                         const data::DecodeOptions& decode) {
  data::Image first;
  bool animated = false;
  const data::FrameScan scan =
      data::scan_frames_memory(bytes.data(), bytes.size(), item.path, decode, [&](data::Image&& frame, int index) {
        if (index == 0) {
          first = std::move(frame);
          return true;
        }
        animated = true;
        return false;
      });
  if (animated) item.kind = Kind::Animation;
  else if (scan.frames > 0) item.input = data::preprocess_image(first, spec);  // a still (or frame 2 is broken)
  else item.error = error_reason(scan.error, item.path);
}

// Reads, hashes, decodes and preprocesses one file (a clip: fingerprints its listing); every failure lands in
// item.error.
void prepare(Item& item, const ModelSpec& spec, const data::DecodeOptions& decode,
             const std::unordered_set<std::string>& done) {
  const auto t0 = Clock::now();
  try {
    if (item.kind == Kind::Clip) {
      item.sha256 = clip_fingerprint(item.path, item.frame_names);
      item.skipped = done.count(record_key(item.path, item.sha256)) > 0;
      item.prepare_ms = ms_since(t0);
      return;
    }
    std::vector<uint8_t> bytes;
    struct stat st {};
    if (::stat(item.path.c_str(), &st) != 0) {
      item.error = "io_error: " + errno_text(errno);
    } else if (static_cast<uint64_t>(st.st_size) > decode.limits.max_file_bytes) {
      item.sha256 = data::sha256_file_hex(item.path);
      if (done.count(record_key(item.path, item.sha256))) item.skipped = true;
      else item.error = error_reason(data::decode_file(item.path, decode).error, item.path);
    } else if (read_whole_file(item.path, bytes, item.error)) {
      item.sha256 = data::sha256_hex(bytes.data(), bytes.size());
      if (done.count(record_key(item.path, item.sha256))) {
        item.skipped = true;
      } else {
        const data::ImageFormat format = data::sniff_format(bytes.data(), bytes.size());
        if (format == data::ImageFormat::Gif || format == data::ImageFormat::Webp) {
          prepare_gif_or_webp(item, bytes, spec, decode);
        } else {
          data::DecodeResult r = data::decode_memory(bytes.data(), bytes.size(), item.path, decode);
          if (!r.ok()) item.error = error_reason(r.error, item.path);
          else item.input = data::preprocess_image(r.image, spec);
        }
      }
    }
  } catch (const std::exception& e) {
    item.error = std::string("preprocess: ") + user_message(e);
  }
  item.prepare_ms = ms_since(t0);
}

// Scores an animation or a clip frame by frame (after the batch's forward pass, one input at a time). The
// animation is read again rather than kept since preparing, so a batch never holds more than one file's bytes.
void score_frames(Item& item, FrameScorer& scorer, const data::DecodeOptions& decode) {
  const auto t0 = Clock::now();
  if (item.kind == Kind::Animation) {
    std::vector<uint8_t> bytes;
    if (read_whole_file(item.path, bytes, item.error)) {
      item.sha256 = data::sha256_hex(bytes.data(), bytes.size());  // what was scored, should the file have changed
      item.frames = scorer.score_animation(bytes, item.path, decode);
    }
  } else {
    item.frames = scorer.score_clip(item.path, item.frame_names, decode);
  }
  if (item.error.empty()) item.error = item.frames.error;
  if (item.error.empty()) {
    item.probabilities = item.frames.probabilities;
    item.decision = item.frames.decision;
  }
  item.prepare_ms += ms_since(t0);
}

// Up to 7 significant digits: a float's precision, printed without binary noise (0.1, not 0.10000000149).
double tidy(float v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.7g", static_cast<double>(v));
  return std::strtod(buf, nullptr);
}

// {class: p} for every class, in class order.
nlohmann::ordered_json probability_object(const std::vector<float>& p, const ModelSpec& spec) {
  nlohmann::ordered_json probs = nlohmann::ordered_json::object();
  for (size_t c = 0; c < spec.classes.size(); ++c) probs[spec.classes[c]] = tidy(p[c]);
  return probs;
}

// The multi-frame part of a record: what was scored, how it was folded, and every frame considered.
void add_frame_fields(nlohmann::ordered_json& j, const Item& item, const std::string& aggregate) {
  const MultiFrameScore& f = item.frames;
  j["input"] = item.kind == Kind::Clip ? "clip" : "animation";
  j["aggregate"] = aggregate;
  j["frames_scored"] = f.scored;
  j["frames_total"] = f.total >= 0 ? nlohmann::ordered_json(f.total) : nlohmann::ordered_json(nullptr);
  j["frame_errors"] = f.errors;
  j["early_exit"] = f.early_exit;
}

nlohmann::ordered_json frame_list(const Item& item, const ModelSpec& spec) {
  nlohmann::ordered_json frames = nlohmann::ordered_json::array();
  for (const FrameRecord& r : item.frames.frames) {
    nlohmann::ordered_json fj;
    fj["index"] = r.index;
    if (item.kind == Kind::Clip) fj["file"] = r.file;
    if (r.error.empty()) {
      fj["class_name"] = spec.classes[static_cast<size_t>(r.top)];
      fj["probabilities"] = probability_object(r.probabilities, spec);
    } else {
      fj["error"] = r.error;
    }
    frames.push_back(std::move(fj));
  }
  return frames;
}

std::string json_record(const Item& item, const ModelSpec& spec, double latency_ms, const std::string& aggregate) {
  nlohmann::ordered_json j;
  j["path"] = item.path;
  j["sha256"] = item.sha256.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(item.sha256);
  const bool ok = item.error.empty();
  j["status"] = ok ? "ok" : "error";
  if (!ok) j["error"] = item.error;
  if (ok) {
    j["class_id"] = item.decision.top;
    j["class_name"] = spec.classes[static_cast<size_t>(item.decision.top)];
    j["probabilities"] = probability_object(item.probabilities, spec);
    if (spec.head == Head::Softmax) {
      j["decision"] = item.decision.label;
    } else {
      nlohmann::ordered_json flagged = nlohmann::ordered_json::array();
      for (int c : item.decision.flagged) flagged.push_back(spec.classes[static_cast<size_t>(c)]);
      j["decision"] = flagged;
    }
  } else {
    j["class_id"] = nullptr;
    j["class_name"] = nullptr;
    j["probabilities"] = nullptr;
    j["decision"] = nullptr;
  }
  const bool multi = item.kind != Kind::Image;
  if (multi) add_frame_fields(j, item, aggregate);
  j["latency_ms"] = std::round(latency_ms * 1000.0) / 1000.0;
  if (multi) j["frames"] = frame_list(item, spec);
  // File names need not be UTF-8: invalid bytes become U+FFFD rather than failing the record.
  return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
}

// The JSONL destination: standard output or a file opened before any work (an unwritable path is fatal early).
class JsonlWriter {
 public:
  JsonlWriter(const std::string& path, bool append) : path_(path) {
    if (path.empty()) return;
    if (path == "-") {
      file_ = stdout;
      return;
    }
    file_ = std::fopen(path.c_str(), append ? "ab" : "wb");
    VIGIL_CHECK(file_ != nullptr, "--jsonl ", path, ": cannot open for writing: ", errno_text(errno));
    owned_ = true;
  }
  ~JsonlWriter() {
    if (owned_) std::fclose(file_);
  }
  JsonlWriter(const JsonlWriter&) = delete;
  JsonlWriter& operator=(const JsonlWriter&) = delete;

  bool enabled() const { return file_ != nullptr; }
  // Writes a batch of records and flushes them, so a killed run loses at most the batch in flight.
  void write(const std::string& lines) {
    if (!file_ || lines.empty()) return;
    const bool ok = std::fwrite(lines.data(), 1, lines.size(), file_) == lines.size() && std::fflush(file_) == 0;
    VIGIL_CHECK(ok, "--jsonl ", path_, ": write failed: ", errno_text(errno));
  }

 private:
  std::string path_;
  std::FILE* file_ = nullptr;
  bool owned_ = false;
};

// After the path of an animation or clip: "  [clip: 12 of 40 frames scored, 2 bad, early exit]".
std::string frames_note(const Item& item) {
  if (item.kind == Kind::Image) return "";
  const MultiFrameScore& f = item.frames;
  std::ostringstream s;
  s << "  [" << (item.kind == Kind::Clip ? "clip" : "animation") << ": " << f.scored;
  if (f.total >= 0) s << " of " << f.total;
  s << " frames scored";
  if (f.errors) s << ", " << f.errors << " bad";
  if (f.early_exit) s << ", early exit";
  s << "]";
  return s.str();
}

// The aligned table: CLASS, PROB, DECISION, then the path (last, so rows stay aligned however long paths are).
class Table {
 public:
  Table(std::ostream& out, const ModelSpec& spec) : out_(out) {
    class_w_ = 5;
    for (const auto& c : spec.classes) class_w_ = std::max(class_w_, c.size());
    decision_w_ = std::max<size_t>(class_w_, 8);
  }
  void row(const Item& item, const ModelSpec& spec) {
    if (!header_done_) {
      out_ << std::left << std::setw(static_cast<int>(class_w_)) << "CLASS" << "  " << std::setw(6) << "PROB"
           << "  " << std::setw(static_cast<int>(decision_w_)) << "DECISION" << "  PATH\n";
      header_done_ = true;
    }
    if (!item.error.empty()) {
      out_ << std::left << std::setw(static_cast<int>(class_w_)) << "-" << "  " << std::setw(6) << "-" << "  "
           << std::setw(static_cast<int>(decision_w_)) << "error" << "  " << item.path << "  error: " << item.error
           << frames_note(item) << "\n";
      return;
    }
    const size_t top = static_cast<size_t>(item.decision.top);
    std::ostringstream p;
    p << std::fixed << std::setprecision(4) << item.probabilities[top];
    out_ << std::left << std::setw(static_cast<int>(class_w_)) << spec.classes[top] << "  " << std::setw(6) << p.str()
         << "  " << std::setw(static_cast<int>(decision_w_)) << item.decision.label << "  " << item.path
         << frames_note(item) << "\n";
  }
  void flush() { out_.flush(); }

 private:
  std::ostream& out_;
  size_t class_w_, decision_w_;
  bool header_done_ = false;
};

// One redrawn line on a terminal: inputs done, rate, errors so far.
class ProgressLine {
 public:
  ProgressLine(std::ostream& err, bool enabled) : err_(err), enabled_(enabled), start_(Clock::now()) {}
  void show(const ClassifySummary& s) {
    if (!enabled_) return;
    const int64_t n = s.ok + s.errors + s.skipped;
    const double seconds = std::max(1e-9, ms_since(start_) / 1000.0);
    std::ostringstream line;
    line << "\r\033[K  " << n << " inputs  " << std::fixed << std::setprecision(1) << double(s.ok + s.errors) / seconds
         << "/s  ok " << s.ok << "  error " << s.errors;
    if (s.skipped) line << "  skipped " << s.skipped;
    err_ << line.str() << std::flush;
    shown_ = true;
  }
  void clear() {
    if (shown_) err_ << "\r\033[K" << std::flush;
    shown_ = false;
  }

 private:
  std::ostream& err_;
  bool enabled_;
  Clock::time_point start_;
  bool shown_ = false;
};

}  // namespace

ClassifySummary run_classify(const ClassifyOptions& o, std::ostream& out, std::ostream& err) {
  VIGIL_CHECK(!o.model.empty(), "--model is required");
  VIGIL_CHECK(!o.paths.empty() || !o.clips.empty(), "no inputs: give at least one file or directory (or --clips DIR)");
  VIGIL_CHECK(o.batch >= 1, "--batch must be positive");
  VIGIL_CHECK(o.frame_step >= 1, "--frame-step ", o.frame_step, ": must be at least 1");
  VIGIL_CHECK(o.max_frames >= 1, "--max-frames ", o.max_frames, ": must be at least 1");
  const AggregateRule aggregate = parse_aggregate(o.aggregate);
  VIGIL_CHECK(!o.resume || (!o.jsonl.empty() && o.jsonl != "-"), "--resume needs --jsonl FILE (the records to resume)");
  if (o.threads > 0) cpu::set_num_threads(o.threads);

  const Device device = resolve_device(o.device, o.quiet ? nullptr : &err);
  Predictor predictor(o.model, device, o.model_def);
  const ModelSpec& spec = predictor.model().spec();
  const std::vector<float> thresholds = resolve_thresholds(spec, predictor.model().thresholds, o.thresholds);
  const data::DecodeOptions decode = data::decode_options_for(spec);
  const int workers = o.workers > 0 ? o.workers : default_workers();
  FrameSettings frame_settings;
  frame_settings.aggregate = aggregate;
  frame_settings.benign = resolve_benign_class(spec.classes, o.benign);
  frame_settings.frame_step = o.frame_step;
  frame_settings.max_frames = o.max_frames;
  frame_settings.early_exit = o.early_exit;
  frame_settings.batch = o.batch;
  frame_settings.workers = workers;
  FrameScorer frame_scorer(predictor, thresholds, frame_settings);

  std::unordered_set<std::string> done;
  if (o.resume) done = read_done_records(o.jsonl, err);
  JsonlWriter jsonl(o.jsonl, o.resume);
  const bool show_table = !o.quiet && o.jsonl != "-";
  Table table(out, spec);
  ProgressLine progress(err, !o.quiet && ::isatty(STDERR_FILENO));

  ClassifySummary summary;
  int64_t files_found = 0;
  std::string first_problem;  // reported when nothing at all could be found
  InputWalker walker(o.paths);
  ClipWalker clip_walker(o.clips);
  // The next input: the PATH arguments' files first, then the clips.
  auto next_item = [&](Item& item) {
    InputEntry entry;
    if (walker.next(entry)) {
      item.path = entry.path;
      item.error = entry.error;
      return true;
    }
    ClipEntry clip;
    if (!clip_walker.next(clip)) return false;
    item.kind = Kind::Clip;
    item.path = clip.path;
    item.error = clip.error;
    item.frame_names = std::move(clip.frames);
    return true;
  };
  std::vector<Item> batch;
  bool more = true;
  while (more) {
    batch.clear();
    Item item;
    while (batch.size() < static_cast<size_t>(o.batch) && (more = next_item(item))) {
      if (item.error.empty()) ++files_found;
      else if (first_problem.empty()) first_problem = item.path + ": " + item.error;
      batch.push_back(std::move(item));
      item = Item{};
    }
    if (batch.empty()) break;

    // Decode and preprocess in parallel.
    parallel_for_each(batch.size(), workers, [&](size_t i) {
      if (batch[i].error.empty()) prepare(batch[i], spec, decode, done);
    });

    // One forward over the images that decoded.
    std::vector<const float*> inputs;
    std::vector<Item*> decoded;
    for (auto& item : batch)
      if (item.error.empty() && !item.skipped && item.kind == Kind::Image) {
        inputs.push_back(item.input.data());
        decoded.push_back(&item);
      }
    double forward_share_ms = 0;
    if (!inputs.empty()) {
      const auto t0 = Clock::now();
      const auto probs = predictor.probabilities(inputs);
      forward_share_ms = ms_since(t0) / double(inputs.size());
      for (size_t i = 0; i < decoded.size(); ++i) {
        decoded[i]->probabilities = probs[i];
        decoded[i]->decision = decide(probs[i], thresholds, spec.classes, spec.head);
        decoded[i]->input = {};
      }
    }
    // Then the animations and clips, frame by frame.
    for (auto& item : batch)
      if (item.error.empty() && !item.skipped && item.kind != Kind::Image) score_frames(item, frame_scorer, decode);

    std::string lines;
    progress.clear();
    for (const auto& item : batch) {
      if (item.skipped) {
        ++summary.skipped;
        continue;
      }
      const bool ok = item.error.empty();
      const bool multi = item.kind != Kind::Image;
      lines += json_record(item, spec, item.prepare_ms + (ok && !multi ? forward_share_ms : 0.0), aggregate.name());
      if (multi) {
        ++summary.multi_frame;
        summary.frames_scored += item.frames.scored;
        summary.early_exits += item.frames.early_exit ? 1 : 0;
      }
      if (ok) {
        ++summary.ok;
        ++summary.by_class[spec.classes[static_cast<size_t>(item.decision.top)]];
        ++summary.by_decision[item.decision.label];
      } else {
        ++summary.errors;
      }
      if (show_table) table.row(item, spec);
    }
    if (show_table) table.flush();
    jsonl.write(lines);
    progress.show(summary);
  }
  progress.clear();
  VIGIL_CHECK(files_found > 0, "no inputs: no file or clip found (",
              first_problem.empty() ? "the directories are empty" : first_problem, ")");
  err << summary.line() << "\n";
  return summary;
}

}  // namespace vigil::infer
