// A run's manifest split read back as a labelled dataset for `vigil evaluate` (and calibrate): image files as they
// are, and the in-memory images of IDX runs (Fashion-MNIST), whose manifest paths read "IDX_FILE#n", taken back out
// of their IDX files.
#pragma once
#include <string>
#include <vector>

#include "data/dataset.h"
#include "data/split.h"

namespace vigil::infer {

// The samples of `split` in the manifest at `manifest_path`, labelled by `classes` (a label that is no class is an
// error naming the entry). An entry "FILE#n" whose FILE is an IDX image file (it exists while "FILE#n" does not, or
// its name has "idx3-ubyte") is image n of FILE, read once per file into one in-memory bank; its SHA-256 (when the
// manifest has one) must match the image's pixels, so a different IDX file at that path is an error rather than a
// silent mismatch. A missing IDX file, an index past its end, or images of different sizes are errors naming the
// entry.
data::Dataset load_manifest_split(const std::string& manifest_path, data::Split split,
                                  const std::vector<std::string>& classes);

}  // namespace vigil::infer
