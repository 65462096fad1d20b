// `vigil classify`: options, the lazy input walk, resume bookkeeping and the batched run that writes one record
// per input (JSONL and/or a table) and a summary. A bad input is one error record; only fatal problems throw.
// Animated GIF/WebP files and clips (--clips) are scored frame by frame (infer/classify_frames.h).
#pragma once
#include <cstdint>
#include <map>
#include <ostream>
#include <set>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

#include <sys/types.h>

namespace vigil::infer {

struct ClassifyOptions {
  std::string model;       // model file (.safetensors)
  std::string model_def;   // definition for plain state_dicts (preset or JSON file)
  std::vector<std::string> paths;  // files and directories, in the order given
  std::string jsonl;       // "" (none), "-" (standard output) or a file
  int batch = 32;
  std::string device = "auto";
  int threads = 0;         // CPU threads for the model (0: the default)
  std::string thresholds;  // "nudity=0.8,violence=0.7", merged over the model file's
  bool resume = false;
  int workers = 0;         // decoding threads (0: min(4, cores))
  bool quiet = false;      // no table, no progress bar, no device note
  // Multi-frame inputs (animated GIF/WebP files and clips).
  std::vector<std::string> clips;  // --clips DIR: every folder below holding frame files is one clip
  std::string aggregate = "max";   // max | mean | topk:K
  std::string benign;              // the benign class ("" : "standard" when the model has it; "none")
  int frame_step = 1;              // score every Nth frame
  int max_frames = 1000;           // at most N frames per input
  bool early_exit = true;          // max / topk: stop once the input is flagged for good
};

// One input found by the walk: a file to classify, or a path that cannot be used (error says why).
struct InputEntry {
  std::string path;
  std::string error;
};

// Walks the PATH arguments lazily, one entry at a time: a file is yielded as given; a directory recursively, its
// entries sorted by name (byte order), hidden entries (".name") skipped, symbolic links followed, each directory
// entered at most once (so link loops end). Only the names of the directories being walked are held in memory.
// A missing path, an unreadable directory, a broken link or something that is no regular file is yielded with
// an error.
class InputWalker {
 public:
  explicit InputWalker(std::vector<std::string> roots);
  bool next(InputEntry& entry);  // false when every input has been yielded

 private:
  struct OpenDir {
    std::string path;
    std::vector<std::string> names;
    size_t next = 0;
  };
  // Lists `path` onto the stack; returns an error message when it cannot be read ("" when fine or already seen).
  std::string enter(const std::string& path, dev_t dev, ino_t ino);

  std::vector<std::string> roots_;
  size_t next_root_ = 0;
  std::vector<OpenDir> stack_;
  std::set<std::pair<dev_t, ino_t>> entered_;
};

// The inputs already recorded in a JSONL output file: keys (path, sha256) of records with status "ok" or
// "error". A half-written or unparsable tail (a killed run) is cut off the file, with a note; other unparsable
// lines are noted and ignored. A missing file is an empty set. Throws vigil::Error when the file cannot be read
// or repaired.
std::unordered_set<std::string> read_done_records(const std::string& jsonl_path, std::ostream& note);
std::string record_key(const std::string& path, const std::string& sha256);

struct ClassifySummary {
  int64_t ok = 0, errors = 0, skipped = 0;
  int64_t multi_frame = 0, frames_scored = 0, early_exits = 0;  // animations and clips (ok or not)
  std::map<std::string, int64_t> by_class;     // top class of ok records
  std::map<std::string, int64_t> by_decision;  // decision label of ok records
  std::string line() const;                    // the final summary line
};

// Runs the whole command: the table goes to `out` (unless quiet or the JSONL goes to standard output), notes,
// progress and the summary to `err`. Throws vigil::Error for fatal problems: no or invalid model, an unwritable
// output, no inputs at all.
ClassifySummary run_classify(const ClassifyOptions& options, std::ostream& out, std::ostream& err);

}  // namespace vigil::infer
