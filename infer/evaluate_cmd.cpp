// Implementation of `vigil evaluate`: option parsing and help; the work is in infer/evaluate.cpp.
#include "infer/evaluate_cmd.h"
#include "infer/cli_args.h"

#include <iostream>
#include <string>

#include "common/error.h"
#include "infer/evaluate.h"

namespace vigil::cli {

namespace {

const char* kHelp =
    "usage: vigil evaluate --model MODEL.safetensors --data DIR|LIST.csv|RUN_DIR/manifest.csv [options]\n"
    "\n"
    "Scores a model on labelled images: accuracy with 95% intervals (bootstrap and Wilson), confusion matrix,\n"
    "per-class precision/recall/F1, one-vs-rest ROC-AUC and PR-AUC (average precision), expected calibration\n"
    "error with a reliability table, and a per-class threshold sweep (precision, recall, share sent to review)\n"
    "with the threshold that reaches --target-precision. Unreadable images are skipped with one line each and\n"
    "counted; the exit status is non-zero only for fatal problems.\n"
    "\n"
    "data:\n"
    "  DIR                  DIR/<class>/... (every image), or the test split of DIR/{train,val,test}/<class>/...\n"
    "  LIST.csv             path,label[,group] (paths relative to the CSV's folder)\n"
    "  RUN_DIR/manifest.csv a training run's manifest: its test split (or --split); IDX runs' FILE#n entries\n"
    "                       are read back out of the IDX files\n"
    "\n"
    "options:\n"
    "  --model FILE         model file (required); class names and order come from it\n"
    "  --model-def DEF      definition (preset or JSON file) for a plain state_dict without vigil metadata\n"
    "  --data PATH          the labelled images (required)\n"
    "  --split test|val     which split of split folders or a manifest (default test)\n"
    "  --class-map LIST     folder/list label -> class, e.g. fight=violence,noFight=standard (- ignores a name)\n"
    "  --json FILE          metrics as JSON\n"
    "  --predictions FILE   one JSON line per image: path, label, status, probabilities, predicted, correct\n"
    "  --html FILE          self-contained HTML report (the worst mistakes with 64 px thumbnails embedded)\n"
    "  --target-precision P precision the recommended thresholds aim for (default 0.95)\n"
    "  --bootstrap N        bootstrap resamples for the accuracy interval (default 1000)\n"
    "  --seed S             bootstrap seed (default 0)\n"
    "  --batch N            images per forward pass (default 32)\n"
    "  --device D           cpu | cuda | cuda:N | auto (default auto)\n"
    "  --threads N          CPU threads for the model (default: all cores)\n"
    "  --workers N          decoding threads (default: min(4, cores))\n";

}  // namespace

int run_evaluate(int argc, char** argv) {
  if (const int code = usage_exit_code(argc, argv, kHelp); code >= 0) return code;
  infer::EvaluateOptions o;
  ArgReader args(argc, argv,
                 {"model", "model-def", "data", "split", "class-map", "json", "predictions", "html", "device",
                  "target-precision", "bootstrap", "seed", "batch", "threads", "workers"},
                 {});
  for (CliArg arg; args.next(arg);) {
    const std::string& name = arg.name;
    const std::string& value = arg.value;
    if (name == "model") o.model = value;
    else if (name == "model-def") o.model_def = value;
    else if (name == "data") o.data = value;
    else if (name == "split") o.split = value;
    else if (name == "class-map") o.class_map = value;
    else if (name == "json") o.json = value;
    else if (name == "predictions") o.predictions = value;
    else if (name == "html") o.html = value;
    else if (name == "device") o.device = value;
    else if (name == "target-precision") o.target_precision = parse_double(name, value);
    else if (name == "bootstrap") o.bootstrap = parse_int(name, value);
    else if (name == "seed") o.seed = parse_u64(name, value);
    else if (name == "batch") o.batch = parse_int(name, value);
    else if (name == "threads") o.threads = parse_int(name, value);
    else if (name == "workers") o.workers = parse_int(name, value);
    else VIGIL_FAIL("unknown option --", name, " (see vigil evaluate --help)");
  }
  VIGIL_CHECK(o.batch >= 1 && o.batch <= 65536, "--batch ", o.batch, ": must be in [1, 65536]");
  VIGIL_CHECK(o.workers >= 0 && o.workers <= 256, "--workers ", o.workers, ": must be in [0, 256]");
  VIGIL_CHECK(o.threads >= 0, "--threads ", o.threads, ": must be >= 0");
  VIGIL_CHECK(o.bootstrap >= 1 && o.bootstrap <= 1000000, "--bootstrap ", o.bootstrap, ": must be in [1, 1000000]");
  infer::run_evaluate(o, std::cout, std::cerr);
  return 0;
}

}  // namespace vigil::cli
