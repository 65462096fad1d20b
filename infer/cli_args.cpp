// Command-line reading shared by the vigil subcommands.
#include "infer/cli_args.h"

#include <cmath>
#include <cstring>
#include <iostream>
#include <utility>

#include "common/error.h"
#include "train/atomic_file.h"

namespace vigil::cli {

ArgReader::ArgReader(int argc, char** argv, std::set<std::string> options, std::set<std::string> flags, bool bare)
    : argc_(argc), argv_(argv), command_(argc > 0 ? argv[0] : "vigil"), options_(std::move(options)),
      flags_(std::move(flags)), bare_(bare) {}

bool ArgReader::next(CliArg& arg) {
  if (i_ >= argc_) return false;
  const std::string text = argv_[i_++];
  if (!options_done_ && text == "--") {
    options_done_ = true;
    return next(arg);
  }
  if (options_done_ || text.size() < 3 || text.compare(0, 2, "--") != 0) {
    VIGIL_CHECK(bare_, "unexpected argument '", text, "' (see vigil ", command_, " --help)");
    arg = {"", text};
    return true;
  }
  std::string name = text.substr(2), value;
  const size_t eq = name.find('=');
  const bool inline_value = eq != std::string::npos;
  if (inline_value) {
    value = name.substr(eq + 1);
    name.resize(eq);
  }
  if (flags_.count(name)) {
    VIGIL_CHECK(!inline_value, "--", name, " takes no value");
  } else {
    VIGIL_CHECK(options_.count(name), "unknown option --", name, " (see vigil ", command_, " --help)");
    if (!inline_value) {
      VIGIL_CHECK(i_ < argc_, "--", name, " needs a value");
      value = argv_[i_++];
    }
  }
  arg = {name, value};
  return true;
}

bool help_requested(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--")) return false;
    if (!std::strcmp(argv[i], "--help") || !std::strcmp(argv[i], "-h")) return true;
  }
  return false;
}

int usage_exit_code(int argc, char** argv, const char* help) {
  if (argc < 2) {
    std::cerr << help;
    return 2;
  }
  if (help_requested(argc, argv)) {
    std::cout << help;
    return 0;
  }
  return -1;
}

void write_output_file(const std::string& option, const std::string& path, const std::string& text) {
  try {
    train::write_file_atomic(path, text);
  } catch (const Error& e) {
    VIGIL_FAIL("--", option, " ", path, ": ", user_message(e));
  }
}

int parse_int(const std::string& option, const std::string& text) {
  try {
    size_t used = 0;
    const int x = std::stoi(text, &used);
    if (used == text.size()) return x;
  } catch (const std::exception&) {
  }
  VIGIL_FAIL("--", option, " ", text, ": not a whole number");
}

uint64_t parse_u64(const std::string& option, const std::string& text) {
  try {
    size_t used = 0;
    if (!text.empty() && text[0] != '-') {
      const uint64_t x = std::stoull(text, &used);
      if (used == text.size()) return x;
    }
  } catch (const std::exception&) {
  }
  VIGIL_FAIL("--", option, " ", text, ": not a whole non-negative number");
}

double parse_double(const std::string& option, const std::string& text) {
  try {
    size_t used = 0;
    const double x = std::stod(text, &used);
    if (used == text.size() && std::isfinite(x)) return x;
  } catch (const std::exception&) {
  }
  VIGIL_FAIL("--", option, " ", text, ": not a number");
}

}  // namespace vigil::cli
