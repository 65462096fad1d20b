// Implementation of multi-frame scoring (see classify_frames.h).
#include "infer/classify_frames.h"

#include <algorithm>
#include <climits>
#include <exception>

#include "common/error.h"
#include "data/preprocess.h"
#include "infer/batch_decode.h"

namespace vigil::infer {

// One input being scored: its record so far, the running aggregate and the frames waiting for a forward pass.
struct FrameScorer::Pass {
  Pass(const FrameSettings& s, size_t classes) : aggregate(s.aggregate, classes, s.benign) {}
  MultiFrameScore out;
  FrameAggregator aggregate;
  std::vector<std::vector<float>> pending;  // preprocessed frames
  std::vector<size_t> pending_at;           // their places in out.frames
  size_t flush_at = 1;                      // frames per forward pass: 1, 2, 4, ... up to --batch
  bool settled = false;                     // early exit reached: nothing more is scored
};

FrameScorer::FrameScorer(Predictor& predictor, std::vector<float> thresholds, FrameSettings settings)
    : predictor_(predictor), thresholds_(std::move(thresholds)), settings_(settings) {
  VIGIL_CHECK(settings_.frame_step >= 1 && settings_.max_frames >= 1 && settings_.batch >= 1,
              "frame settings: step, max frames and batch must be positive");
}

void FrameScorer::flush(Pass& pass) {
  if (pass.pending.empty()) return;
  const ModelSpec& spec = predictor_.model().spec();
  std::vector<const float*> inputs;
  for (const auto& x : pass.pending) inputs.push_back(x.data());
  const auto probs = predictor_.probabilities(inputs);
  for (size_t i = 0; i < probs.size(); ++i) {
    FrameRecord& frame = pass.out.frames[pass.pending_at[i]];
    frame.probabilities = probs[i];
    frame.top = decide(probs[i], thresholds_, spec.classes, spec.head).top;
    pass.aggregate.add(probs[i]);
    ++pass.out.scored;
    // Frame by frame, so where the scan ends does not depend on --batch.
    if (settings_.early_exit &&
        pass.aggregate.settled(decide(pass.aggregate.value(), thresholds_, spec.classes, spec.head))) {
      pass.out.early_exit = true;
      pass.settled = true;
      pass.out.frames.resize(pass.pending_at[i] + 1);
      break;
    }
  }
  pass.pending.clear();
  pass.pending_at.clear();
  pass.flush_at = std::min(pass.flush_at * 2, static_cast<size_t>(settings_.batch));
}

namespace {

// The aggregate, its decision and the failed-frame count, once the scan is over.
void finish(MultiFrameScore& out, const FrameAggregator& aggregate, const std::vector<float>& thresholds,
            const ModelSpec& spec) {
  out.errors = static_cast<int>(std::count_if(out.frames.begin(), out.frames.end(),
                                              [](const FrameRecord& f) { return !f.error.empty(); }));
  if (out.scored == 0) return;
  out.probabilities = aggregate.value();
  out.decision = decide(out.probabilities, thresholds, spec.classes, spec.head);
}

}  // namespace

MultiFrameScore FrameScorer::score_animation(const std::vector<uint8_t>& bytes, const std::string& name,
                                             const data::DecodeOptions& decode) {
  const ModelSpec& spec = predictor_.model().spec();
  Pass pass(settings_, spec.classes.size());
  // The decoder never needs to go past the last frame that can be scored.
  data::DecodeOptions options = decode;
  const int64_t last = int64_t(settings_.max_frames - 1) * settings_.frame_step + 1;
  options.limits.max_frames = static_cast<int>(std::min<int64_t>(last, INT_MAX));
  int considered = 0;
  std::string preprocess_error;
  // A forward-pass failure (flush) propagates: it is fatal, as it is for still images.
  const data::FrameScan scan =
      data::scan_frames_memory(bytes.data(), bytes.size(), name, options, [&](data::Image&& frame, int index) {
        if (index % settings_.frame_step != 0) return true;
        try {
          pass.pending.push_back(data::preprocess_image(frame, spec));
        } catch (const std::exception& e) {
          preprocess_error = std::string("preprocess: ") + user_message(e);
          return false;
        }
        FrameRecord record;
        record.index = index;
        pass.pending_at.push_back(pass.out.frames.size());
        pass.out.frames.push_back(std::move(record));
        ++considered;
        if (pass.pending.size() >= pass.flush_at) flush(pass);
        return !pass.settled && considered < settings_.max_frames;
      });
  if (!preprocess_error.empty()) {
    MultiFrameScore failed;
    failed.error = preprocess_error;
    return failed;
  }
  flush(pass);
  if (!scan.ok()) {
    const std::string reason = error_reason(scan.error, name);
    if (pass.out.scored == 0) {
      MultiFrameScore failed;
      failed.error = reason;
      return failed;
    }
    if (!pass.settled) {
      FrameRecord broken;
      broken.index = scan.frames;
      broken.error = reason;
      pass.out.frames.push_back(std::move(broken));
    }
  }
  if (scan.ok() && !scan.stopped) pass.out.total = scan.frames;
  finish(pass.out, pass.aggregate, thresholds_, spec);
  return std::move(pass.out);
}

MultiFrameScore FrameScorer::score_clip(const std::string& dir, const std::vector<std::string>& frames,
                                        const data::DecodeOptions& decode) {
  const ModelSpec& spec = predictor_.model().spec();
  Pass pass(settings_, spec.classes.size());
  pass.out.total = static_cast<int64_t>(frames.size());
  std::vector<size_t> chosen;
  for (size_t i = 0; i < frames.size() && chosen.size() < static_cast<size_t>(settings_.max_frames);
       i += static_cast<size_t>(settings_.frame_step))
    chosen.push_back(i);

  for (size_t start = 0, count = 0; start < chosen.size() && !pass.settled; start += count) {
    count = std::min(pass.flush_at, chosen.size() - start);
    std::vector<std::vector<float>> inputs(count);
    std::vector<std::string> errors(count);
    parallel_for_each(count, settings_.workers, [&](size_t k) {
      const std::string path = dir + "/" + frames[chosen[start + k]];
      try {
        const data::DecodeResult d = data::decode_file(path, decode);
        if (!d.ok()) errors[k] = error_reason(d.error, path);
        else inputs[k] = data::preprocess_image(d.image, spec);
      } catch (const std::exception& e) {
        errors[k] = std::string("preprocess: ") + user_message(e);
      }
    });
    for (size_t k = 0; k < count; ++k) {
      FrameRecord record;
      record.index = static_cast<int>(chosen[start + k]);
      record.file = frames[chosen[start + k]];
      record.error = std::move(errors[k]);
      if (record.error.empty()) {
        pass.pending.push_back(std::move(inputs[k]));
        pass.pending_at.push_back(pass.out.frames.size());
      }
      pass.out.frames.push_back(std::move(record));
    }
    flush(pass);
  }
  finish(pass.out, pass.aggregate, thresholds_, spec);
  if (pass.out.scored == 0) {
    const auto first = std::find_if(pass.out.frames.begin(), pass.out.frames.end(),
                                    [](const FrameRecord& f) { return !f.error.empty(); });
    pass.out.error = "no frame could be decoded (" + std::to_string(pass.out.errors) + " failed" +
                     (first != pass.out.frames.end() ? "; first: " + first->file + ": " + first->error : "") + ")";
  }
  return std::move(pass.out);
}

}  // namespace vigil::infer
