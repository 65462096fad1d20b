// Implementation of the multi-frame aggregation rules and the early-exit test (see frame_aggregate.h).
#include "infer/frame_aggregate.h"

#include <algorithm>
#include <cstdlib>

#include "common/error.h"

namespace vigil::infer {

std::string AggregateRule::name() const {
  switch (kind) {
    case Kind::Max: return "max";
    case Kind::Mean: return "mean";
    case Kind::TopK: return "topk:" + std::to_string(k);
  }
  return "max";
}

AggregateRule parse_aggregate(const std::string& text) {
  AggregateRule rule;
  if (text == "max") return rule;
  if (text == "mean") {
    rule.kind = AggregateRule::Kind::Mean;
    return rule;
  }
  const std::string prefix = "topk:";
  if (text.compare(0, prefix.size(), prefix) == 0) {
    const std::string digits = text.substr(prefix.size());
    const bool numeric = !digits.empty() && digits.size() <= 6 &&
                         std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; });
    const long k = numeric ? std::strtol(digits.c_str(), nullptr, 10) : 0;
    VIGIL_CHECK(k >= 1 && k <= 100000, "--aggregate ", text, ": K must be a whole number in [1, 100000]");
    rule.kind = AggregateRule::Kind::TopK;
    rule.k = static_cast<int>(k);
    return rule;
  }
  VIGIL_FAIL("--aggregate ", text, ": must be max, mean or topk:K (e.g. topk:3)");
}

int resolve_benign_class(const std::vector<std::string>& classes, const std::string& name) {
  if (name == "none") return -1;
  const std::string wanted = name.empty() ? "standard" : name;
  for (size_t c = 0; c < classes.size(); ++c)
    if (classes[c] == wanted) return static_cast<int>(c);
  if (name.empty()) return -1;
  std::string known;
  for (const auto& c : classes) known += (known.empty() ? "" : ", ") + c;
  VIGIL_FAIL("--benign ", name, ": not a class of the model (classes: ", known, "; or none)");
}

FrameAggregator::FrameAggregator(AggregateRule rule, size_t classes, int benign)
    : rule_(rule), benign_(benign), sum_(classes, 0.0), kept_(classes) {
  if (rule_.kind == AggregateRule::Kind::Max) rule_.k = 1;
}

void FrameAggregator::add(const std::vector<float>& p) {
  VIGIL_CHECK(p.size() == sum_.size(), "FrameAggregator: ", p.size(), " probabilities for ", sum_.size(), " classes");
  ++count_;
  for (size_t c = 0; c < p.size(); ++c) {
    sum_[c] += p[c];
    if (rule_.kind == AggregateRule::Kind::Mean) continue;
    // Keep the K highest values (the K lowest for the benign class), most extreme first.
    const bool lowest = static_cast<int>(c) == benign_;
    auto more_extreme = [lowest](float a, float b) { return lowest ? a < b : a > b; };
    auto& kept = kept_[c];
    kept.insert(std::upper_bound(kept.begin(), kept.end(), p[c], more_extreme), p[c]);
    if (kept.size() > static_cast<size_t>(rule_.k)) kept.pop_back();
  }
}

std::vector<float> FrameAggregator::value() const {
  VIGIL_CHECK(count_ > 0, "FrameAggregator: no frames");
  std::vector<float> v(sum_.size());
  for (size_t c = 0; c < v.size(); ++c) {
    if (rule_.kind == AggregateRule::Kind::Mean) {
      v[c] = static_cast<float>(sum_[c] / count_);
      continue;
    }
    double s = 0;
    for (float x : kept_[c]) s += x;
    v[c] = static_cast<float>(s / static_cast<double>(kept_[c].size()));
  }
  return v;
}

bool FrameAggregator::settled(const Decision& decision) const {
  if (benign_ < 0 || rule_.kind == AggregateRule::Kind::Mean || count_ < rule_.k) return false;
  for (int c : decision.flagged)
    if (c != benign_) return true;
  return false;
}

}  // namespace vigil::infer
