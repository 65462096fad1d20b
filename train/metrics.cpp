// ConfusionMatrix and wilson_interval.
#include "train/metrics.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <set>
#include <sstream>

#include "common/error.h"

namespace vigil::train {

using nlohmann::json;

ConfusionMatrix::ConfusionMatrix(std::vector<std::string> class_names) : class_names_(std::move(class_names)) {
  VIGIL_CHECK(!class_names_.empty(), "ConfusionMatrix needs at least one class");
  std::set<std::string> seen;
  for (const std::string& name : class_names_) {
    VIGIL_CHECK(!name.empty(), "ConfusionMatrix: empty class name");
    VIGIL_CHECK(seen.insert(name).second, "ConfusionMatrix: duplicate class name '", name, "'");
  }
  counts_.assign(class_names_.size() * class_names_.size(), 0);
}

void ConfusionMatrix::add(int truth, int predicted) {
  const int c = num_classes();
  VIGIL_CHECK(truth >= 0 && truth < c, "ConfusionMatrix::add: true label ", truth, " outside [0, ", c, ")");
  VIGIL_CHECK(predicted >= 0 && predicted < c, "ConfusionMatrix::add: predicted label ", predicted, " outside [0, ",
              c, ")");
  ++counts_[static_cast<size_t>(truth) * c + predicted];
  ++total_;
}

void ConfusionMatrix::add_batch(const int32_t* truth, const float* probs, int64_t n) {
  VIGIL_CHECK(n >= 0, "ConfusionMatrix::add_batch: negative count ", n);
  if (n == 0) return;
  VIGIL_CHECK(truth != nullptr && probs != nullptr, "ConfusionMatrix::add_batch: null input");
  const int c = num_classes();
  for (int64_t i = 0; i < n; ++i) {
    const float* row = probs + i * c;
    int best = 0;
    for (int k = 0; k < c; ++k) {
      VIGIL_CHECK(!std::isnan(row[k]), "ConfusionMatrix::add_batch: row ", i, " has NaN for class '",
                  class_names_[k], "'");
      if (row[k] > row[best]) best = k;  // strict: on ties the lowest index stays
    }
    add(truth[i], best);
  }
}

int64_t ConfusionMatrix::count(int truth, int predicted) const {
  const int c = num_classes();
  VIGIL_CHECK(truth >= 0 && truth < c && predicted >= 0 && predicted < c, "ConfusionMatrix::count: (", truth, ", ",
              predicted, ") outside a ", c, "-class matrix");
  return counts_[static_cast<size_t>(truth) * c + predicted];
}

int64_t ConfusionMatrix::support(int truth) const {
  int64_t sum = 0;
  for (int p = 0; p < num_classes(); ++p) sum += count(truth, p);
  return sum;
}

int64_t ConfusionMatrix::predicted_count(int predicted) const {
  int64_t sum = 0;
  for (int t = 0; t < num_classes(); ++t) sum += count(t, predicted);
  return sum;
}

int64_t ConfusionMatrix::correct() const {
  int64_t sum = 0;
  for (int k = 0; k < num_classes(); ++k) sum += count(k, k);
  return sum;
}

double ConfusionMatrix::accuracy() const {
  return total_ == 0 ? 0.0 : static_cast<double>(correct()) / static_cast<double>(total_);
}

std::vector<ConfusionMatrix::ClassStats> ConfusionMatrix::per_class() const {
  const auto ratio = [](int64_t num, int64_t den) {
    return den == 0 ? 0.0 : static_cast<double>(num) / static_cast<double>(den);
  };
  std::vector<ClassStats> stats;
  for (int k = 0; k < num_classes(); ++k) {
    const int64_t tp = count(k, k), sup = support(k), pred = predicted_count(k);
    const int64_t fn = sup - tp, fp = pred - tp;
    stats.push_back({class_names_[k], sup, ratio(tp, pred), ratio(tp, sup), ratio(2 * tp, 2 * tp + fp + fn), pred, tp});
  }
  return stats;
}

double ConfusionMatrix::macro_f1() const {
  double sum = 0;
  int used = 0;
  for (const ClassStats& s : per_class()) {
    if (s.support + s.predicted == 0) continue;
    sum += s.f1;
    ++used;
  }
  return used == 0 ? 0.0 : sum / used;
}

double ConfusionMatrix::balanced_accuracy() const {
  double sum = 0;
  int used = 0;
  for (const ClassStats& s : per_class()) {
    if (s.support == 0) continue;
    sum += s.recall;
    ++used;
  }
  return used == 0 ? 0.0 : sum / used;
}

json ConfusionMatrix::to_json() const {
  json matrix = json::array();
  for (int t = 0; t < num_classes(); ++t) {
    json row = json::array();
    for (int p = 0; p < num_classes(); ++p) row.push_back(count(t, p));
    matrix.push_back(std::move(row));
  }
  json classes = json::array();
  for (const ClassStats& s : per_class())
    classes.push_back({{"name", s.name},
                       {"support", s.support},
                       {"predicted", s.predicted},
                       {"precision", s.precision},
                       {"recall", s.recall},
                       {"f1", s.f1}});
  return json{{"classes", class_names_},
              {"matrix", std::move(matrix)},
              {"total", total_},
              {"accuracy", accuracy()},
              {"macro_f1", macro_f1()},
              {"balanced_accuracy", balanced_accuracy()},
              {"per_class", std::move(classes)}};
}

ConfusionMatrix ConfusionMatrix::from_json(const json& j) {
  VIGIL_CHECK(j.is_object() && j.contains("classes") && j.contains("matrix"),
              "confusion matrix JSON needs \"classes\" and \"matrix\"");
  const json& classes = j.at("classes");
  VIGIL_CHECK(classes.is_array() && !classes.empty(), "confusion matrix JSON: \"classes\" must be a non-empty array");
  std::vector<std::string> names;
  for (const json& name : classes) {
    VIGIL_CHECK(name.is_string(), "confusion matrix JSON: class names must be strings, got ", name.dump());
    names.push_back(name.get<std::string>());
  }
  ConfusionMatrix cm(std::move(names));
  const json& matrix = j.at("matrix");
  const size_t c = cm.class_names_.size();
  VIGIL_CHECK(matrix.is_array() && matrix.size() == c, "confusion matrix JSON: \"matrix\" must have ", c, " rows");
  for (size_t t = 0; t < c; ++t) {
    VIGIL_CHECK(matrix[t].is_array() && matrix[t].size() == c, "confusion matrix JSON: row ", t, " must have ", c,
                " entries");
    for (size_t p = 0; p < c; ++p) {
      const json& v = matrix[t][p];
      VIGIL_CHECK(v.is_number_integer() && v.get<int64_t>() >= 0, "confusion matrix JSON: entry (", t, ", ", p,
                  ") must be a non-negative integer, got ", v.dump());
      cm.counts_[t * c + p] = v.get<int64_t>();
      cm.total_ += v.get<int64_t>();
    }
  }
  return cm;
}

namespace {

std::string fixed(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

// Right-aligns `text` in `width` columns (counting bytes; class names are expected to be short ASCII).
std::string pad_left(const std::string& text, size_t width) {
  return text.size() >= width ? text : std::string(width - text.size(), ' ') + text;
}
std::string pad_right(const std::string& text, size_t width) {
  return text.size() >= width ? text : text + std::string(width - text.size(), ' ');
}

}  // namespace

std::string ConfusionMatrix::to_text() const {
  const std::string corner = "truth \\ predicted";
  size_t label_width = corner.size();
  for (const std::string& name : class_names_) label_width = std::max(label_width, name.size());
  size_t cell_width = std::to_string(total_).size();
  for (const std::string& name : class_names_) cell_width = std::max(cell_width, name.size());
  cell_width = std::max<size_t>(cell_width, 7) + 2;

  std::ostringstream os;
  os << pad_right(corner, label_width);
  for (const std::string& name : class_names_) os << pad_left(name, cell_width);
  os << pad_left("support", cell_width) << "\n";
  for (int t = 0; t < num_classes(); ++t) {
    os << pad_right(class_names_[t], label_width);
    for (int p = 0; p < num_classes(); ++p) os << pad_left(std::to_string(count(t, p)), cell_width);
    os << pad_left(std::to_string(support(t)), cell_width) << "\n";
  }
  os << pad_right("predicted", label_width);
  for (int p = 0; p < num_classes(); ++p) os << pad_left(std::to_string(predicted_count(p)), cell_width);
  os << pad_left(std::to_string(total_), cell_width) << "\n\n";

  const size_t w = 11;
  os << pad_right("class", label_width) << pad_left("support", w) << pad_left("predicted", w)
     << pad_left("precision", w) << pad_left("recall", w) << pad_left("f1", w) << "\n";
  for (const ClassStats& s : per_class()) {
    os << pad_right(s.name, label_width) << pad_left(std::to_string(s.support), w)
       << pad_left(std::to_string(s.predicted), w) << pad_left(s.predicted == 0 ? "n/a" : fixed(s.precision, 4), w)
       << pad_left(s.support == 0 ? "n/a" : fixed(s.recall, 4), w)
       << pad_left(s.support + s.predicted == 0 ? "n/a" : fixed(s.f1, 4), w) << "\n";
  }
  const auto [low, high] = wilson_interval(correct(), total_);
  os << "\naccuracy " << fixed(accuracy(), 4) << " (" << correct() << " of " << total_ << ", 95% CI "
     << fixed(low, 4) << "-" << fixed(high, 4) << ")  macro F1 " << fixed(macro_f1(), 4) << "  balanced accuracy "
     << fixed(balanced_accuracy(), 4) << "\n";
  return os.str();
}

std::pair<double, double> wilson_interval(int64_t successes, int64_t n, double z) {
  VIGIL_CHECK(n >= 0 && successes >= 0 && successes <= n, "wilson_interval: need 0 <= successes (", successes,
              ") <= n (", n, ")");
  VIGIL_CHECK(z > 0 && std::isfinite(z), "wilson_interval: z must be positive, got ", z);
  if (n == 0) return {0.0, 1.0};
  const double nn = static_cast<double>(n), p = static_cast<double>(successes) / nn, z2 = z * z;
  const double denom = 1.0 + z2 / nn;
  const double center = (p + z2 / (2.0 * nn)) / denom;
  const double half = z * std::sqrt(p * (1.0 - p) / nn + z2 / (4.0 * nn * nn)) / denom;
  // The exact bounds at 0 and n successes are 0 and 1; pin them so rounding cannot leave 1e-17 there.
  const double low = successes == 0 ? 0.0 : std::max(0.0, center - half);
  const double high = successes == n ? 1.0 : std::min(1.0, center + half);
  return {low, high};
}

}  // namespace vigil::train
