// write_file_atomic: replaces a file's contents all at once (temporary file, fsync, rename), for reports and logs.
#pragma once
#include <string>

namespace vigil::train {

// Writes `contents` to "<path>.tmp.<pid>" in the same directory, fsyncs it and renames it over `path`, then fsyncs
// the directory. Readers see either the old file or the complete new one. On failure the temporary file is removed,
// an existing file at `path` is left untouched, and vigil::Error names the path and the reason.
void write_file_atomic(const std::string& path, const std::string& contents);

}  // namespace vigil::train
