// Implementation of `vigil classify`: option parsing and help; the work is in infer/classify.cpp.
#include "infer/classify_cmd.h"

#include <iostream>
#include <string>

#include "common/error.h"
#include "infer/classify.h"

namespace vigil::cli {

namespace {

const char* kHelp =
    "usage: vigil classify --model MODEL.safetensors [options] PATH...\n"
    "\n"
    "Classifies image files; each PATH is a file or a directory (walked recursively in name order, hidden\n"
    "entries skipped). A file that cannot be used becomes one error record; the exit status is non-zero only\n"
    "for fatal problems (no or invalid model, unwritable output, no inputs).\n"
    "\n"
    "options:\n"
    "  --model FILE         model file (required)\n"
    "  --model-def DEF      definition (preset or JSON file) for a plain state_dict without vigil metadata\n"
    "  --jsonl FILE|-       write one JSON record per input (- : standard output, instead of the table)\n"
    "  --batch N            images per forward pass (default 32)\n"
    "  --device D           cpu | cuda | cuda:N | auto (default auto)\n"
    "  --threads N          CPU threads for the model (default: all cores)\n"
    "  --workers N          decoding threads (default: min(4, cores))\n"
    "  --threshold LIST     per-class thresholds, e.g. nudity=0.8,violence=0.7, over the model file's.\n"
    "                       softmax models: the top class when it reaches its threshold, else \"review\";\n"
    "                       sigmoid models: every class at or over its threshold (default 0.5)\n"
    "  --resume             skip inputs whose (path, sha256) the --jsonl FILE already records; repairs a\n"
    "                       half-written last line\n"
    "  --quiet              no table, no progress bar (the summary line still goes to standard error)\n"
    "\n"
    "table (standard output): CLASS (top class), PROB (its probability), DECISION, PATH; a bad input reads\n"
    "\"error  PATH  error: REASON\".\n"
    "JSONL record per input: path, sha256 (null when unreadable), status (ok|error), error (REASON, errors\n"
    "only), class_id, class_name, probabilities {class: p} (all classes), decision (softmax: a class or\n"
    "\"review\"; sigmoid: the list of classes at or over their thresholds), latency_ms (decode, preprocess and\n"
    "its share of the batch's forward pass). Error records hold null class_id/class_name/probabilities/decision.\n";

int to_int(const std::string& name, const std::string& v) {
  try {
    size_t used = 0;
    const int x = std::stoi(v, &used);
    if (used == v.size()) return x;
  } catch (const std::exception&) {
  }
  VIGIL_FAIL("--", name, " ", v, ": not an integer");
}

}  // namespace

int run_classify(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << kHelp;
    return 2;
  }
  infer::ClassifyOptions o;
  bool options_done = false;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (options_done || arg.size() < 2 || arg.compare(0, 2, "--") != 0) {
      o.paths.push_back(arg);
      continue;
    }
    if (arg == "--") {
      options_done = true;
      continue;
    }
    if (arg == "--help") {
      std::cout << kHelp;
      return 0;
    }
    std::string name = arg.substr(2), value;
    const size_t eq = name.find('=');
    const bool inline_value = eq != std::string::npos;
    if (inline_value) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
    }
    if (name == "resume" || name == "quiet") {
      VIGIL_CHECK(!inline_value, "--", name, " takes no value");
      (name == "resume" ? o.resume : o.quiet) = true;
      continue;
    }
    const bool known = name == "model" || name == "model-def" || name == "jsonl" || name == "batch" ||
                       name == "device" || name == "threads" || name == "workers" || name == "threshold";
    VIGIL_CHECK(known, "unknown option --", name, " (see vigil classify --help)");
    if (!inline_value) {
      VIGIL_CHECK(i + 1 < argc, "--", name, " needs a value");
      value = argv[++i];
    }
    if (name == "model") o.model = value;
    else if (name == "model-def") o.model_def = value;
    else if (name == "jsonl") o.jsonl = value;
    else if (name == "device") o.device = value;
    else if (name == "threshold") o.thresholds += (o.thresholds.empty() ? "" : ",") + value;
    else if (name == "batch") o.batch = to_int(name, value);
    else if (name == "threads") o.threads = to_int(name, value);
    else if (name == "workers") o.workers = to_int(name, value);
  }
  VIGIL_CHECK(o.batch >= 1 && o.batch <= 65536, "--batch ", o.batch, ": must be in [1, 65536]");
  VIGIL_CHECK(o.threads >= 0, "--threads ", o.threads, ": must be >= 0");
  VIGIL_CHECK(o.workers >= 0 && o.workers <= 256, "--workers ", o.workers, ": must be in [0, 256]");
  infer::run_classify(o, std::cout, std::cerr);
  return 0;
}

}  // namespace vigil::cli
