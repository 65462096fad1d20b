// Implementation of the clip walk and the clip fingerprint (see clips.h).
#include "infer/clips.h"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "data/sha256.h"

namespace vigil::infer {

namespace {

std::string strip_trailing_slashes(std::string p) {
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  return p;
}

std::string join(const std::string& dir, const std::string& name) { return (dir == "/" ? "/" : dir + "/") + name; }

}  // namespace

ClipWalker::ClipWalker(std::vector<std::string> roots) : roots_(std::move(roots)) {}

bool ClipWalker::list(const std::string& path, ClipEntry& entry) {
  DIR* d = ::opendir(path.c_str());
  if (d == nullptr) {
    entry.error = std::string("cannot read directory: ") + std::strerror(errno);
    return false;
  }
  std::vector<std::string> names;
  while (const dirent* e = ::readdir(d))
    if (e->d_name[0] != '.') names.emplace_back(e->d_name);
  ::closedir(d);
  std::sort(names.begin(), names.end());
  PendingDirs sub{path, {}, 0};
  for (const auto& name : names) {
    struct stat st {};
    if (::stat(join(path, name).c_str(), &st) != 0) continue;  // a broken link: no frame, no folder
    if (S_ISREG(st.st_mode)) entry.frames.push_back(name);
    else if (S_ISDIR(st.st_mode) && entered_.insert({st.st_dev, st.st_ino}).second) sub.names.push_back(name);
  }
  if (!sub.names.empty()) stack_.push_back(std::move(sub));
  return true;
}

bool ClipWalker::next(ClipEntry& entry) {
  for (;;) {
    std::string path;
    if (!stack_.empty()) {
      PendingDirs& top = stack_.back();
      if (top.next == top.names.size()) {
        stack_.pop_back();
        continue;
      }
      path = join(top.parent, top.names[top.next++]);
    } else if (next_root_ < roots_.size()) {
      path = strip_trailing_slashes(roots_[next_root_++]);
      entry = ClipEntry{path, {}, ""};
      struct stat st {};
      if (::stat(path.c_str(), &st) != 0) {
        entry.error = std::strerror(errno);
        return true;
      }
      if (!S_ISDIR(st.st_mode)) {
        entry.error = "not a directory (--clips takes a folder of clip folders)";
        return true;
      }
      if (!entered_.insert({st.st_dev, st.st_ino}).second) continue;  // the same folder given twice
    } else {
      return false;
    }
    entry = ClipEntry{path, {}, ""};
    if (!list(path, entry)) return true;
    if (!entry.frames.empty()) return true;
  }
}

std::string clip_fingerprint(const std::string& dir, const std::vector<std::string>& frames) {
  std::string listing;
  for (const auto& name : frames) {
    struct stat st {};
    listing += name;
    if (::stat(join(dir, name).c_str(), &st) == 0) {
      const long long mtime_ns = static_cast<long long>(st.st_mtim.tv_sec) * 1000000000LL + st.st_mtim.tv_nsec;
      listing += "\t" + std::to_string(static_cast<long long>(st.st_size)) + "\t" + std::to_string(mtime_ns) + "\n";
    } else {
      listing += "\t-\t-\n";
    }
  }
  return data::sha256_hex(listing);
}

}  // namespace vigil::infer
