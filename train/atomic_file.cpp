// write_file_atomic: temporary file in the target's directory, fsync, rename over the target, fsync the directory.
#include "train/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "common/error.h"

namespace vigil::train {
namespace {

std::string errno_text() { return std::strerror(errno); }

// The temporary file of one write: closed and removed on destruction unless it was renamed into place.
class PendingFile {
 public:
  PendingFile(std::string temp_path, const std::string& target) : temp_path_(std::move(temp_path)) {
    fd_ = ::open(temp_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    VIGIL_CHECK(fd_ >= 0, target, ": cannot create temporary file '", temp_path_, "': ", errno_text());
  }
  ~PendingFile() {
    if (fd_ >= 0) ::close(fd_);
    if (!renamed_) ::unlink(temp_path_.c_str());
  }
  PendingFile(const PendingFile&) = delete;
  PendingFile& operator=(const PendingFile&) = delete;

  void write_all(const std::string& contents, const std::string& target) {
    const char* p = contents.data();
    size_t left = contents.size();
    while (left > 0) {
      const ssize_t put = ::write(fd_, p, left);
      if (put < 0 && errno == EINTR) continue;
      VIGIL_CHECK(put > 0, target, ": write to '", temp_path_, "' failed: ", put < 0 ? errno_text() : "no progress");
      p += put;
      left -= static_cast<size_t>(put);
    }
  }

  void commit(const std::string& target) {
    VIGIL_CHECK(::fsync(fd_) == 0, target, ": fsync of '", temp_path_, "' failed: ", errno_text());
    const int fd = fd_;
    fd_ = -1;
    VIGIL_CHECK(::close(fd) == 0, target, ": close of '", temp_path_, "' failed: ", errno_text());
    VIGIL_CHECK(::rename(temp_path_.c_str(), target.c_str()) == 0, target, ": cannot rename '", temp_path_,
                "' over it: ", errno_text());
    renamed_ = true;
  }

 private:
  std::string temp_path_;
  int fd_ = -1;
  bool renamed_ = false;
};

// Makes a completed rename durable; filesystems without directory fsync (EINVAL) are accepted.
void fsync_directory_of(const std::string& path) {
  std::string dir = std::filesystem::path(path).parent_path().string();
  if (dir.empty()) dir = ".";
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  VIGIL_CHECK(fd >= 0, path, ": written, but cannot open directory '", dir, "' to fsync it: ", errno_text());
  const bool synced = ::fsync(fd) == 0 || errno == EINVAL;
  const std::string reason = synced ? "" : errno_text();
  ::close(fd);
  VIGIL_CHECK(synced, path, ": written, but fsync of directory '", dir, "' failed: ", reason);
}

}  // namespace

void write_file_atomic(const std::string& path, const std::string& contents) {
  VIGIL_CHECK(!path.empty(), "write_file_atomic: empty path");
  PendingFile temp(path + ".tmp." + std::to_string(::getpid()), path);
  temp.write_all(contents, path);
  temp.commit(path);
  fsync_directory_of(path);
}

}  // namespace vigil::train
