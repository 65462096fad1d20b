// Multi-frame scoring rules for animations and clips: how per-frame probabilities fold into one score per class
// (--aggregate max|mean|topk:K), which class is the benign one, and when later frames can no longer clear an input
// that is already flagged (early exit).
#pragma once
#include <string>
#include <vector>

#include "infer/predictor.h"

namespace vigil::infer {

// max: a class's highest probability over the frames; mean: its average; topk:K: the average of its K highest.
// The benign class (see resolve_benign_class) is the mirror image: its lowest value, or the average of its K lowest,
// because an input is only as benign as its least benign frames. mean treats every class alike.
struct AggregateRule {
  enum class Kind { Max, Mean, TopK };
  Kind kind = Kind::Max;
  int k = 1;  // TopK only (max is topk:1)
  std::string name() const;  // "max", "mean", "topk:K"
};
// "max", "mean" or "topk:K" (1 <= K <= 100000); anything else throws vigil::Error naming --aggregate.
AggregateRule parse_aggregate(const std::string& text);

// The benign class index: `name` ("none": no benign class, -1), or with an empty name the class called "standard"
// when the model has one (else -1). An unknown class throws vigil::Error naming --benign.
int resolve_benign_class(const std::vector<std::string>& classes, const std::string& name);

// The running aggregate of one input's frames.
class FrameAggregator {
 public:
  FrameAggregator(AggregateRule rule, size_t classes, int benign);
  void add(const std::vector<float>& probabilities);  // one frame, class order
  int count() const { return count_; }
  std::vector<float> value() const;  // per class; needs count() > 0

  // Early exit: true when the aggregate already flags a class other than the benign one (`decision` is
  // decide(value(), ...)) and later frames cannot clear it. That holds for max and topk:K once K frames are in:
  // from then on every non-benign score can only rise and the benign one only fall. A mean can move either way
  // with every frame (and the frame count of an animation is unknown until its end), so it never exits early;
  // nor does any rule without a benign class (every frame's top class would already count as flagged).
  bool settled(const Decision& decision) const;

 private:
  AggregateRule rule_;
  int benign_;
  int count_ = 0;
  std::vector<double> sum_;               // mean
  std::vector<std::vector<float>> kept_;  // max/topk: per class the K most extreme values (sorted, extreme first)
};

}  // namespace vigil::infer
