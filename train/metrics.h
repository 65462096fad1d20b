// Classification metrics: the confusion matrix with per-class precision / recall / F1, macro F1, balanced accuracy,
// and the Wilson score interval for proportions measured on small evaluation sets.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace vigil::train {

// Accumulates (true label, predicted label) pairs for one epoch or evaluation. Rows are true classes, columns are
// predicted classes.
class ConfusionMatrix {
 public:
  // One non-empty, unique name per class, at least one class.
  explicit ConfusionMatrix(std::vector<std::string> class_names);

  // Counts one example; both labels must lie in [0, num_classes).
  void add(int truth, int predicted);
  // Counts `n` examples: truth[i] is the true label and the prediction is the argmax of row i of `probs`
  // (row-major (n, C)); on ties the lowest class index wins. A row containing NaN is an error (vigil::Error naming
  // the row), so a diverged model cannot quietly count as predicting class 0.
  void add_batch(const int32_t* truth, const float* probs, int64_t n);

  int num_classes() const { return static_cast<int>(class_names_.size()); }
  const std::vector<std::string>& class_names() const { return class_names_; }
  int64_t count(int truth, int predicted) const;
  int64_t support(int truth) const;           // examples whose true label is `truth` (row sum)
  int64_t predicted_count(int predicted) const;  // examples predicted as `predicted` (column sum)
  int64_t total() const { return total_; }
  int64_t correct() const;                    // the diagonal's sum
  double accuracy() const;                    // correct / total; 0 when empty

  // Per-class figures. precision = TP / predicted, recall = TP / support, f1 = 2TP / (2TP + FP + FN); each is 0
  // when its denominator is 0: precision is undefined when predicted == 0, recall when support == 0.
  struct ClassStats {
    std::string name;
    int64_t support;
    double precision, recall, f1;
    int64_t predicted;  // column sum: 0 flags an undefined precision
    int64_t true_positives;
  };
  std::vector<ClassStats> per_class() const;
  // Mean F1 over the classes that occur in the truth or the predictions (support + predicted > 0); a class absent
  // from both has no defined F1 and is left out, so an evaluation set without, say, violence examples is not
  // penalised for it. 0 when empty.
  double macro_f1() const;
  // Mean recall over the classes with support > 0; 0 when empty.
  double balanced_accuracy() const;

  // {"classes":[...], "matrix":[[...]], "total":n, "accuracy":..., "macro_f1":..., "balanced_accuracy":...,
  //  "per_class":[{"name","support","predicted","precision","recall","f1"}]}
  nlohmann::json to_json() const;
  // Rebuilds a matrix from to_json()'s "classes" and "matrix" (the derived figures are recomputed); throws
  // vigil::Error on a malformed object.
  static ConfusionMatrix from_json(const nlohmann::json& j);
  // The matrix as an aligned table (rows = truth, columns = predicted) followed by per-class P/R/F1 and totals.
  std::string to_text() const;

 private:
  std::vector<std::string> class_names_;
  std::vector<int64_t> counts_;  // row-major (truth, predicted)
  int64_t total_ = 0;
};

// Wilson score interval {low, high} for `successes` out of `n` (z = 1.96: 95%). Unlike the normal approximation it
// stays inside [0, 1] and is sensible for 0 or n successes and small n. n == 0 gives {0, 1} (nothing known).
std::pair<double, double> wilson_interval(int64_t successes, int64_t n, double z = 1.96);

}  // namespace vigil::train
