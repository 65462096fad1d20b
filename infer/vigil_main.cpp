// `vigil`: one CLI with git-style subcommands; errors are caught here and reported with a non-zero exit.
#include <cstring>
#include <functional>
#include <iostream>
#include <string>
#include <vector>

#include "common/error.h"
#include "infer/info.h"
#include "infer/model_cmd.h"

namespace {

struct Command {
  const char* name;
  const char* summary;
  std::function<int(int, char**)> run;
};

const std::vector<Command>& commands() {
  static const std::vector<Command> cmds = {
      {"info", "show the build (CUDA, cuDNN, BLAS versions) and this machine's GPUs and threads",
       [](int, char**) { return vigil::cli::run_info(std::cout); }},
      {"model", "show a model's layer table (parameters, multiply-adds), list or print presets",
       [](int argc, char** argv) { return vigil::cli::run_model(argc, argv); }},
      {"version", "print the version", [](int, char**) {
         std::cout << "vigil " << VIGIL_VERSION << "\n";
         return 0;
       }},
  };
  return cmds;
}

void usage(std::ostream& out) {
  out << "usage: vigil <command> [options]\n\ncommands:\n";
  for (const auto& c : commands()) out << "  " << c.name << std::string(10 - std::strlen(c.name), ' ') << c.summary << "\n";
  out << "\nvigil <command> --help shows a command's options.\n";
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h") || !std::strcmp(argv[1], "help")) {
    usage(argc < 2 ? std::cerr : std::cout);
    return argc < 2 ? 2 : 0;
  }
  for (const auto& c : commands()) {
    if (argv[1] == std::string(c.name)) {
      try {
        return c.run(argc - 1, argv + 1);
      } catch (const vigil::Error& e) {
        std::cerr << "vigil " << c.name << ": error: " << e.what() << "\n";
        return 1;
      } catch (const std::exception& e) {
        std::cerr << "vigil " << c.name << ": internal error: " << e.what() << "\n";
        return 3;
      }
    }
  }
  std::cerr << "vigil: unknown command '" << argv[1] << "'\n";
  usage(std::cerr);
  return 2;
}
