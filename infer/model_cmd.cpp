// Implementation of `vigil model`.
#include "infer/model_cmd.h"

#include <iostream>
#include <string>

#include "common/error.h"
#include "nn/layer_table.h"

namespace vigil::cli {

namespace {
bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}
}  // namespace

int run_model(int argc, char** argv) {
  const std::string usage =
      "usage: vigil model show seed|default|fmnist|DEFINITION.json|MODEL.safetensors\n"
      "       vigil model presets          list the built-in definitions\n"
      "       vigil model print NAME       print a preset's definition (a starting point for your own)\n";
  if (argc < 2 || std::string(argv[1]) == "--help") {
    std::cout << usage;
    return argc < 2 ? 2 : 0;
  }
  const std::string sub = argv[1];
  if (sub == "presets") {
    for (const auto& p : preset_names()) std::cout << p << "\n";
    return 0;
  }
  if (sub == "print" && argc == 3) {
    std::cout << preset_text(argv[2]);
    return 0;
  }
  if (sub == "show" && argc == 3) {
    const std::string what = argv[2];
    if (ends_with(what, ".safetensors")) {
      print_layer_table(Model::load(what), std::cout);
    } else {
      print_layer_table(Model(load_model_spec(what), 0), std::cout);
    }
    return 0;
  }
  std::cerr << usage;
  return 2;
}

}  // namespace vigil::cli
