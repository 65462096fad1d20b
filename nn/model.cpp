// Model construction, state_dict import/export and model files.
#include "nn/model.h"

#include <set>
#include <sstream>

#include "common/error.h"

namespace vigil {

namespace {
constexpr const char* kFormat = "vigil-weights/1";

std::string floats_json(const std::vector<float>& v) {
  nlohmann::json j = v;
  return j.dump();
}
}  // namespace

Model::Model(ModelSpec spec, uint64_t init_seed) : spec_(std::move(spec)) {
  net_ = build_network(spec_, init_seed);
  net_->collect(params_, buffers_);
}

Var Model::forward(Tape& tape, const Var& x, const RunContext& ctx) {
  const Tensor& xv = x.value();
  VIGIL_CHECK(xv.dim() == 4 && xv.size(1) == spec_.input.channels, "model ", spec_.name, " expects (N, ",
              spec_.input.channels, ", H, W) input, got ", xv.str());
  VIGIL_CHECK(xv.device() == device_, "input on ", xv.device().str(), " but the model is on ", device_.str());
  return net_->forward(tape, x, ctx);
}

void Model::to(Device device) {
  net_->to(device);
  device_ = device;
}

std::vector<LayerRow> Model::layer_table() const {
  std::vector<LayerRow> rows;
  net_->table({spec_.input.channels, spec_.input.height, spec_.input.width}, 0, rows);
  return rows;
}

LayerStats Model::totals() const { return net_->stats({spec_.input.channels, spec_.input.height, spec_.input.width}); }

std::vector<NamedTensor> Model::state_dict() const {
  std::vector<NamedTensor> out;
  for (const auto& p : params_) out.push_back({p.name, p.var.value().to(Device::cpu())});
  for (const auto& b : buffers_) out.push_back({b.name, b.tensor->to(Device::cpu())});
  return out;
}

void Model::load_state_dict(const SafetensorsContent& content, const std::string& source) {
  std::set<std::string> expected;
  for (const auto& p : params_) expected.insert(p.name);
  for (const auto& b : buffers_) expected.insert(b.name);
  std::vector<std::string> unexpected;
  for (const auto& t : content.tensors)
    if (!expected.count(t.name)) unexpected.push_back(t.name);
  if (!unexpected.empty()) {
    std::string list;
    for (size_t i = 0; i < unexpected.size() && i < 8; ++i) list += (i ? ", " : "") + unexpected[i];
    if (unexpected.size() > 8) list += ", ... (" + std::to_string(unexpected.size()) + " in all)";
    VIGIL_FAIL(source, ": unexpected tensors for model '", spec_.name, "': ", list);
  }
  // Validate everything before changing anything: a failed load leaves the model untouched.
  auto fetch = [&](const std::string& name, const Tensor& like) {
    const Tensor* t = content.find(name);
    VIGIL_CHECK(t != nullptr, source, ": missing tensor '", name, "' (", shape_str(like.shape()), ") for model '",
                spec_.name, "'");
    VIGIL_CHECK(t->numel() == like.numel() && (t->shape() == like.shape() || like.dim() == 0 || t->dim() == 0),
                source, ": tensor '", name, "' has shape ", shape_str(t->shape()), " but the definition needs ",
                shape_str(like.shape()));
    if (like.dtype() == DType::F32)
      VIGIL_CHECK(t->dtype() == DType::F32 || t->dtype() == DType::F16 || t->dtype() == DType::BF16, source,
                  ": tensor '", name, "' is ", dtype_name(t->dtype()), ", expected a float type");
    else
      VIGIL_CHECK(t->dtype() == like.dtype() || (like.dtype() == DType::I64 && t->dtype() == DType::I32), source,
                  ": tensor '", name, "' is ", dtype_name(t->dtype()), ", expected ", dtype_name(like.dtype()));
    return t->to(like.dtype()).reshape(like.shape());
  };
  std::vector<std::pair<Tensor*, Tensor>> staged;
  for (auto& p : params_) staged.emplace_back(&p.var.mutable_value(), fetch(p.name, p.var.value()));
  for (auto& b : buffers_) staged.emplace_back(b.tensor, fetch(b.name, *b.tensor));
  for (auto& [dst, src] : staged) dst->copy_from(src);
}

std::map<std::string, std::string> Model::metadata() const {
  std::map<std::string, std::string> m;
  m["format"] = "pt";  // lets PyTorch tooling treat the file as a state_dict
  m["vigil.format"] = kFormat;
  m["vigil.definition"] = spec_.text;
  m["vigil.version"] = spec_.version;
  m["vigil.classes"] = nlohmann::json(spec_.classes).dump();
  m["vigil.input"] = std::to_string(spec_.input.channels) + "x" + std::to_string(spec_.input.height) + "x" +
                     std::to_string(spec_.input.width);
  m["vigil.mean"] = floats_json(spec_.preprocess.mean);
  m["vigil.std"] = floats_json(spec_.preprocess.std);
  std::ostringstream t;
  t.precision(9);
  t << temperature;
  m["vigil.temperature"] = t.str();
  if (!thresholds.empty()) m["vigil.thresholds"] = nlohmann::json(thresholds).dump();
  return m;
}

void Model::save(const std::string& path, const std::map<std::string, std::string>& extra) const {
  auto meta = metadata();
  for (const auto& [k, v] : extra) meta[k] = v;
  save_safetensors(path, state_dict(), meta);
}

Model Model::load(const std::string& path, const std::string& definition) {
  SafetensorsContent c = load_safetensors(path);
  auto it = c.metadata.find("vigil.definition");
  ModelSpec spec;
  if (!definition.empty()) {
    spec = load_model_spec(definition);
  } else {
    VIGIL_CHECK(it != c.metadata.end(), path,
                ": no vigil model definition in its metadata (a plain state_dict?): pass the definition "
                "(--model-def seed|default|FILE)");
    spec = parse_model_spec(it->second, path + " (embedded definition)");
  }
  Model m(std::move(spec), 0);
  m.load_state_dict(c, path);
  if (auto t = c.metadata.find("vigil.temperature"); t != c.metadata.end()) {
    try {
      m.temperature = std::stof(t->second);
    } catch (const std::exception&) {
      VIGIL_FAIL(path, ": metadata vigil.temperature '", t->second, "' is not a number");
    }
    VIGIL_CHECK(m.temperature > 0.f && m.temperature < 1e4f, path, ": metadata vigil.temperature ", m.temperature,
                " is out of range");
  }
  if (auto t = c.metadata.find("vigil.thresholds"); t != c.metadata.end()) {
    try {
      m.thresholds = nlohmann::json::parse(t->second).get<std::map<std::string, float>>();
    } catch (const std::exception& e) {
      VIGIL_FAIL(path, ": metadata vigil.thresholds is malformed: ", e.what());
    }
    for (const auto& [cls, v] : m.thresholds) {
      bool known = false;
      for (const auto& name : m.spec().classes) known = known || name == cls;
      VIGIL_CHECK(known, path, ": metadata vigil.thresholds names unknown class '", cls, "'");
      VIGIL_CHECK(v >= 0.f && v <= 1.f, path, ": threshold for '", cls, "' must be in [0, 1]");
    }
  }
  return m;
}

}  // namespace vigil
