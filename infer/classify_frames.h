// Multi-frame inputs of `vigil classify`: an animated GIF or WebP scored frame by frame, and a clip (a folder of
// frame images). Frames are decoded one at a time (animations) or one batch at a time (clips) and scored in batches
// that grow 1, 2, 4, ... up to --batch (so an input flagged on its first frames stops after little work), and
// memory does not grow with the length of the input; --frame-step and --max-frames bound the work, --aggregate
// folds the frames into one score, and early exit stops once the input is flagged for good.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "data/image.h"
#include "infer/frame_aggregate.h"
#include "infer/predictor.h"

namespace vigil::infer {

struct FrameSettings {
  AggregateRule aggregate;
  int benign = -1;        // the benign class index, -1: none (see resolve_benign_class)
  int frame_step = 1;     // score frames 0, step, 2 * step, ...
  int max_frames = 1000;  // at most this many frames considered per input (scored or failed)
  bool early_exit = true;  // stop at the first frame after which FrameAggregator::settled holds
  int batch = 32;          // most frames per forward pass
  int workers = 1;         // clip frames decoded in parallel
};

// One frame considered: scored (probabilities, top) or failed (error).
struct FrameRecord {
  int index = 0;      // position in the animation, or in the clip's name-ordered listing
  std::string file;   // clips: the frame's file name
  std::vector<float> probabilities;
  int top = -1;
  std::string error;
};

struct MultiFrameScore {
  std::vector<FrameRecord> frames;   // in input order, up to the frame that ended the scan
  std::vector<float> probabilities;  // the aggregate; empty when no frame could be scored
  Decision decision;                 // of the aggregate
  int scored = 0, errors = 0;        // frames scored / frames that failed
  int64_t total = -1;                // frames in the input; -1 when unknown (an animation not read to its end)
  bool early_exit = false;
  std::string error;                 // the input as a whole failed: no frame could be scored
};

// Scores multi-frame inputs with one model, its thresholds and the settings of the run.
class FrameScorer {
 public:
  FrameScorer(Predictor& predictor, std::vector<float> thresholds, FrameSettings settings);

  // An animation's bytes (`name` for messages). A decoding failure before any frame is scored fails the input;
  // one after some frames (a file cut inside frame 7) is one failed frame and the frames before it count.
  MultiFrameScore score_animation(const std::vector<uint8_t>& bytes, const std::string& name,
                                  const data::DecodeOptions& decode);

  // A clip folder and its frame files (name order). Each frame file is decoded as a still (the first frame of an
  // animated file); a frame that cannot be used is a failed frame. The clip fails only when no frame scores.
  MultiFrameScore score_clip(const std::string& dir, const std::vector<std::string>& frames,
                             const data::DecodeOptions& decode);

 private:
  struct Pass;
  void flush(Pass& pass);

  Predictor& predictor_;
  std::vector<float> thresholds_;
  FrameSettings settings_;
};

}  // namespace vigil::infer
