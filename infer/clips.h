// `vigil classify --clips DIR`: finding clips (folders of frame images) lazily and fingerprinting a clip's frame
// listing for --resume.
#pragma once
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <sys/types.h>

namespace vigil::infer {

// One clip: a folder and the names of the frame files directly inside it, in name (byte) order; or a root that
// cannot be used (error says why).
struct ClipEntry {
  std::string path;
  std::vector<std::string> frames;
  std::string error;
};

// Walks each root lazily: every folder at or below it (the root included, subfolders in name order, hidden entries
// skipped, symbolic links followed, each folder entered once) that directly holds at least one regular file is a
// clip, yielded before its subfolders. So DIR/<clip>/frame_0001.jpg and DIR/<class>/<clip>/frame_0001.jpg (the
// layout of scripts/video_to_frames.sh) both work. A missing root, one that is no folder, or an unreadable folder
// is yielded with an error.
class ClipWalker {
 public:
  explicit ClipWalker(std::vector<std::string> roots);
  bool next(ClipEntry& entry);  // false when every clip has been yielded

 private:
  struct PendingDirs {
    std::string parent;
    std::vector<std::string> names;  // subfolders still to walk
    size_t next = 0;
  };
  // Lists `path`: fills entry.frames, pushes its subfolders; false with entry.error set when it cannot be read.
  bool list(const std::string& path, ClipEntry& entry);

  std::vector<std::string> roots_;
  size_t next_root_ = 0;
  std::vector<PendingDirs> stack_;
  std::set<std::pair<dev_t, ino_t>> entered_;
};

// The fingerprint --resume keys a clip by (it is the clip record's "sha256"): the hex SHA-256 of one line
// "NAME\tSIZE\tMTIME_NS\n" per frame file, in the listing's order. A frame added, removed, renamed, resized or
// rewritten gives another fingerprint. A frame that cannot be stat'ed enters as "NAME\t-\t-\n".
std::string clip_fingerprint(const std::string& dir, const std::vector<std::string>& frames);

}  // namespace vigil::infer
