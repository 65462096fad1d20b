// Command-line reading shared by the vigil subcommands: "--name value" and "--name=value" options, flags without a
// value, bare arguments, "--" ending the options, and numbers checked with the option's name in the message.
#pragma once
#include <cstdint>
#include <set>
#include <string>

namespace vigil::cli {

struct CliArg {
  std::string name;   // the option's name without "--"; empty for a bare argument
  std::string value;  // the option's value ("" for a flag), or the bare argument
};

class ArgReader {
 public:
  // argv[0] names the command ("classify"); `options` take a value, `flags` take none; `bare`: whether bare
  // arguments are accepted (classify's PATHs) or an error.
  ArgReader(int argc, char** argv, std::set<std::string> options, std::set<std::string> flags, bool bare = false);
  // The next argument; false once all are read. Throws vigil::Error naming the argument for an unknown option, an
  // option without its value, a flag given a value, or a bare argument the command does not take.
  bool next(CliArg& arg);

 private:
  int argc_;
  char** argv_;
  int i_ = 1;
  bool options_done_ = false;
  std::string command_;
  std::set<std::string> options_, flags_;
  bool bare_;
};

// True when an argument before any "--" is --help or -h.
bool help_requested(int argc, char** argv);
// A command's opening: without arguments `help` goes to standard error (returns exit code 2); with --help/-h to
// standard output (returns 0); otherwise returns -1 and the command goes on.
int usage_exit_code(int argc, char** argv, const char* help);

// Writes an output file named by an option (--json FILE) atomically; a failure names the option and the file.
void write_output_file(const std::string& option, const std::string& path, const std::string& text);

int parse_int(const std::string& option, const std::string& text);         // a whole int, sign allowed
uint64_t parse_u64(const std::string& option, const std::string& text);    // a whole non-negative number
double parse_double(const std::string& option, const std::string& text);   // a finite number

}  // namespace vigil::cli
