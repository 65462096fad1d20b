// libFuzzer target: the CSV reader behind list files and manifests (quotes, doubled quotes, newlines in quotes).
#include <string>

#include "common/error.h"
#include "data/dataset.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    for (const vigil::data::CsvRecord& r : vigil::data::parse_csv(text, "fuzz.csv"))
      for (const std::string& f : r.fields) vigil::data::csv_field(f);
  } catch (const vigil::Error&) {
  }
  return 0;
}
