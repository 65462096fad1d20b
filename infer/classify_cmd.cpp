// Implementation of `vigil classify`: option parsing and help; the work is in infer/classify.cpp.
#include "infer/classify_cmd.h"

#include <iostream>
#include <string>

#include "common/error.h"
#include "infer/classify.h"
#include "infer/cli_args.h"

namespace vigil::cli {

namespace {

const char* kHelp =
    "usage: vigil classify --model MODEL.safetensors [options] PATH... [--clips DIR]\n"
    "\n"
    "Classifies image files; each PATH is a file or a directory (walked recursively in name order, hidden\n"
    "entries skipped). Animated GIF and WebP files are scored frame by frame; --clips DIR scores every folder\n"
    "below DIR that holds frame images as one clip (after the PATHs). A file that cannot be used becomes one\n"
    "error record; the exit status is non-zero only for fatal problems (no or invalid model, unwritable output,\n"
    "no inputs).\n"
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
    "animations and clips:\n"
    "  --clips DIR          each folder at or below DIR that directly holds files is a clip: its files, in name\n"
    "                       order, are its frames (DIR/<clip>/frame_0001.jpg or DIR/<class>/<clip>/...);\n"
    "                       may be given more than once\n"
    "  --aggregate RULE     how frame scores fold into the input's probabilities (default max):\n"
    "                       max: each class's highest probability over the frames (one violent frame flags the\n"
    "                       input); mean: the average; topk:K: the average of the K highest. The benign class is\n"
    "                       mirrored (its lowest value / the average of its K lowest): an input is only as benign\n"
    "                       as its least benign frames. The decision applies the thresholds to the aggregate.\n"
    "  --benign CLASS|none  the benign class (default: standard, when the model has that class)\n"
    "  --frame-step N       score frames 0, N, 2N, ... (default 1: every frame)\n"
    "  --max-frames N       consider at most N frames per input (default 1000); later frames are not decoded\n"
    "  --early-exit         max and topk:K (on by default): stop at the first frame after which the aggregate flags\n"
    "                       a class other than the benign one; later frames could only raise those scores, so\n"
    "                       the input stays flagged. Never for mean (every frame can move it) nor without a\n"
    "                       benign class.\n"
    "  --no-early-exit      score every frame (up to --max-frames)\n"
    "\n"
    "table (standard output): CLASS (top class), PROB (its probability), DECISION, PATH; a bad input reads\n"
    "\"error  PATH  error: REASON\".\n"
    "JSONL record per input: path, sha256 (null when unreadable), status (ok|error), error (REASON, errors\n"
    "only), class_id, class_name, probabilities {class: p} (all classes), decision (softmax: a class or\n"
    "\"review\"; sigmoid: the list of classes at or over their thresholds), latency_ms (decode, preprocess and\n"
    "its share of the batch's forward pass). Error records hold null class_id/class_name/probabilities/decision.\n"
    "Animations and clips add: input (animation|clip), aggregate, frames_scored, frames_total (null when an\n"
    "animation was not read to its end), frame_errors, early_exit and frames, one entry per frame considered\n"
    "{index, file (clips), class_name, probabilities} or {index, file, error}; probabilities, class and decision\n"
    "are the aggregate's. A bad clip frame is counted, not fatal: the clip fails only when no frame decodes; an\n"
    "animation cut inside a later frame keeps the frames before it. For --resume a clip's sha256 is the SHA-256\n"
    "of its frame listing (file names, sizes and modification times), so a changed clip is scored again.\n"
    "table: animations and clips end with \"[clip: 12 of 40 frames scored, 2 bad, early exit]\".\n";

}  // namespace

int run_classify(int argc, char** argv) {
  if (const int code = usage_exit_code(argc, argv, kHelp); code >= 0) return code;
  infer::ClassifyOptions o;
  bool early_exit_asked = false;
  ArgReader args(argc, argv,
                 {"model", "model-def", "jsonl", "batch", "device", "threads", "workers", "threshold", "clips",
                  "aggregate", "benign", "frame-step", "max-frames"},
                 {"resume", "quiet", "early-exit", "no-early-exit"}, /*bare=*/true);
  for (CliArg a; args.next(a);) {
    const std::string& name = a.name;
    const std::string& value = a.value;
    if (name.empty()) o.paths.push_back(value);
    else if (name == "resume") o.resume = true;
    else if (name == "quiet") o.quiet = true;
    else if (name == "early-exit") o.early_exit = early_exit_asked = true;
    else if (name == "no-early-exit") o.early_exit = false;
    else if (name == "model") o.model = value;
    else if (name == "model-def") o.model_def = value;
    else if (name == "jsonl") o.jsonl = value;
    else if (name == "device") o.device = value;
    else if (name == "threshold") o.thresholds += (o.thresholds.empty() ? "" : ",") + value;
    else if (name == "batch") o.batch = parse_int(name, value);
    else if (name == "threads") o.threads = parse_int(name, value);
    else if (name == "workers") o.workers = parse_int(name, value);
    else if (name == "clips") o.clips.push_back(value);
    else if (name == "aggregate") o.aggregate = value;
    else if (name == "benign") o.benign = value;
    else if (name == "frame-step") o.frame_step = parse_int(name, value);
    else if (name == "max-frames") o.max_frames = parse_int(name, value);
  }
  VIGIL_CHECK(!(early_exit_asked && o.aggregate == "mean"),
              "--early-exit: a mean can change with every frame, so it never stops early (use max or topk:K)");
  VIGIL_CHECK(o.batch >= 1 && o.batch <= 65536, "--batch ", o.batch, ": must be in [1, 65536]");
  VIGIL_CHECK(o.threads >= 0, "--threads ", o.threads, ": must be >= 0");
  VIGIL_CHECK(o.workers >= 0 && o.workers <= 256, "--workers ", o.workers, ": must be in [0, 256]");
  infer::run_classify(o, std::cout, std::cerr);
  return 0;
}

}  // namespace vigil::cli
