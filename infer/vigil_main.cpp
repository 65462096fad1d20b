// `vigil`: one CLI with git-style subcommands; errors are caught here and reported with a non-zero exit.
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <new>

#include <unistd.h>
#include <functional>
#include <iostream>
#include <string>
#include <vector>

#include "common/error.h"
#include "infer/bench_cmd.h"
#include "infer/calibrate_cmd.h"
#include "infer/classify_cmd.h"
#include "infer/evaluate_cmd.h"
#include "infer/export_cmd.h"
#include "infer/info.h"
#include "infer/model_cmd.h"
#include "infer/serve_cmd.h"
#include "infer/train_cmd.h"

namespace {

struct Command {
  const char* name;
  const char* summary;
  std::function<int(int, char**)> run;
};

const std::vector<Command>& commands() {
  static const std::vector<Command> cmds = {
      {"bench", "time inference: model only and end to end, p50/p99 latency, images/s (--torch: beside PyTorch)",
       [](int argc, char** argv) { return vigil::cli::run_bench(argc, argv); }},
      {"calibrate", "fit temperature scaling on held-out images; store T and per-class thresholds in the model",
       [](int argc, char** argv) { return vigil::cli::run_calibrate(argc, argv); }},
      {"classify", "classify image files and folders (table, JSONL records, per-class thresholds, --resume)",
       [](int argc, char** argv) { return vigil::cli::run_classify(argc, argv); }},
      {"data", "data utilities: export Fashion-MNIST images as PNG class folders (vigil data export --help)",
       [](int argc, char** argv) { return vigil::cli::run_data(argc, argv); }},
      {"evaluate", "score a model on labelled images: accuracy, AUCs, calibration, threshold sweep (JSON, HTML)",
       [](int argc, char** argv) { return vigil::cli::run_evaluate(argc, argv); }},
      {"info", "show the build (CUDA, cuDNN, BLAS versions) and this machine's GPUs and threads",
       [](int, char**) { return vigil::cli::run_info(std::cout); }},
      {"model", "show a model's layer table (parameters, multiply-adds), list or print presets",
       [](int argc, char** argv) { return vigil::cli::run_model(argc, argv); }},
      {"serve", "HTTP server: /predict_image, /v1/classify, upload page, metrics; micro-batched (serve --help)",
       [](int argc, char** argv) { return vigil::cli::run_serve(argc, argv); }},
      {"train", "train a model on labelled folders, a list file or Fashion-MNIST (see vigil train --help)",
       [](int argc, char** argv) { return vigil::cli::run_train(argc, argv); }},
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

// OpenMP threads that spin at barriers starve the loader's threads (and anything else on a small machine): with
// 2 cores a training step ran 30x slower. The wait policy is read when the OpenMP runtime loads, before main(), so
// vigil re-executes itself once with OMP_WAIT_POLICY=PASSIVE unless the user chose a policy.
void ensure_passive_openmp_wait(char** argv) {
  if (std::getenv("OMP_WAIT_POLICY") != nullptr) return;
  setenv("OMP_WAIT_POLICY", "PASSIVE", 1);
  execv("/proc/self/exe", argv);  // returns only on failure: then carry on with the default policy
}

int main(int argc, char** argv) {
  ensure_passive_openmp_wait(argv);
  if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h") || !std::strcmp(argv[1], "help")) {
    usage(argc < 2 ? std::cerr : std::cout);
    return argc < 2 ? 2 : 0;
  }
  for (const auto& c : commands()) {
    if (argv[1] == std::string(c.name)) {
      try {
        return c.run(argc - 1, argv + 1);
      } catch (const vigil::Error& e) {  // user errors: the reason, no source location; faults: everything
        std::cerr << "vigil " << c.name << (e.internal() ? ": internal error: " : ": error: ") << e.message() << "\n";
        return e.internal() ? 3 : 1;
      } catch (const std::filesystem::filesystem_error& e) {
        std::cerr << "vigil " << c.name << ": error: " << vigil::user_message(e) << "\n";
        return 1;
      } catch (const std::bad_alloc&) {
        std::cerr << "vigil " << c.name << ": error: out of memory\n";
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
