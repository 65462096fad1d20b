// Layer table rendering.
#include "nn/layer_table.h"

#include <iomanip>
#include <sstream>

namespace vigil {

std::string human_count(int64_t n) {
  std::ostringstream os;
  os << std::fixed << std::setprecision(1);
  if (n >= 1000000000) os << n / 1e9 << " G";
  else if (n >= 1000000) os << n / 1e6 << " M";
  else if (n >= 1000) os << n / 1e3 << " k";
  else os << n;
  return os.str();
}

namespace {
std::string with_commas(int64_t n) {
  std::string s = std::to_string(n), out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (i && (s.size() - i) % 3 == 0) out += ',';
    out += s[i];
  }
  return out;
}
}  // namespace

void print_layer_table(const Model& model, std::ostream& out) {
  const ModelSpec& s = model.spec();
  out << "model " << s.name << " (version " << s.version << "), input " << s.input.channels << "x" << s.input.height
      << "x" << s.input.width << ", head " << (s.head == Head::Softmax ? "softmax" : "sigmoid") << ", classes:";
  for (size_t i = 0; i < s.classes.size(); ++i) out << (i ? ", " : " ") << i << "=" << s.classes[i];
  out << "\n\n";
  // A cell padded to `width`, and never run into the next one when longer.
  auto cell = [](const std::string& text, size_t width) { return text.size() < width ? text : text + " "; };
  out << std::left << std::setw(34) << "layer" << std::setw(14) << "type" << std::setw(40) << "detail" << std::setw(18)
      << "output" << std::right << std::setw(13) << "params" << std::setw(16) << "mult-adds" << "\n";
  out << std::string(135, '-') << "\n";
  for (const LayerRow& r : model.layer_table()) {
    std::string name = std::string(2 * r.depth, ' ') + (r.name.empty() ? "-" : r.name);
    out << std::left << std::setw(34) << cell(name, 34) << std::setw(14) << cell(r.type, 14) << std::setw(40)
        << cell(r.detail, 40) << std::setw(18)
        << shape_str(r.stats.output) << std::right << std::setw(13) << (r.stats.params ? with_commas(r.stats.params) : "")
        << std::setw(16) << (r.stats.macs ? with_commas(r.stats.macs) : "") << "\n";
  }
  const LayerStats t = model.totals();
  out << std::string(135, '-') << "\n";
  out << "total parameters: " << with_commas(t.params) << " (" << human_count(t.params) << ")\n";
  out << "multiply-adds per image (convolution + linear): " << with_commas(t.macs) << " (" << human_count(t.macs) << ")\n";
  int64_t buffers = 0;
  for (const auto& b : model.buffers()) buffers += b.tensor->numel();
  out << "buffers (batch-norm statistics): " << with_commas(buffers) << "\n";
}

}  // namespace vigil
