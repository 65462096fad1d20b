// Strict parsing of model definition files and construction of the network they describe.
#include "nn/model_spec.h"

#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "common/error.h"
#include "nn/presets.h"
#include "nn/strict_json.h"

namespace vigil {
namespace {

using nlohmann::json;

constexpr int kMaxDefinitionDepth = 64;  // residual blocks nest a few levels; thousands would exhaust the stack
constexpr int64_t kMaxChannels = 1 << 24;  // a convolution's channel count must fit the kernels' int indexing
constexpr size_t kMaxDefinitionBytes = 16u << 20;  // definitions are a few kilobytes

// Reads one JSON object's fields, rejecting unknown keys and wrongly typed values with "<source>: <path>: why".
class Fields {
 public:
  Fields(const json& j, std::string source, std::string path) : j_(j), source_(std::move(source)), path_(std::move(path)) {
    if (!j.is_object()) fail("", "must be an object");
  }
  [[noreturn]] void fail(const std::string& key, const std::string& why) const {
    VIGIL_FAIL(source_, ": ", key.empty() ? path_ : at(key), ": ", why);
  }
  std::string at(const std::string& key) const { return path_.empty() ? key : path_ + "." + key; }
  bool has(const std::string& key) const { return j_.contains(key); }
  const json& raw(const std::string& key) const { return j_.at(key); }

  void allow(std::initializer_list<const char*> keys) const {
    std::set<std::string> ok(keys.begin(), keys.end());
    for (const auto& [k, v] : j_.items()) {
      (void)v;
      if (!ok.count(k)) {
        std::string list;
        for (const auto& a : ok) list += (list.empty() ? "" : ", ") + a;
        fail(k, "unknown key (allowed here: " + list + ")");
      }
    }
  }
  std::string str(const std::string& key, const std::string& dflt, std::initializer_list<const char*> choices = {}) const {
    if (!has(key)) return dflt;
    if (!j_[key].is_string()) fail(key, "must be a string");
    std::string v = j_[key].get<std::string>();
    if (choices.size()) {
      std::string list;
      for (const char* c : choices) {
        if (v == c) return v;
        list += (list.empty() ? "" : ", ") + std::string(c);
      }
      fail(key, "'" + v + "' is not one of: " + list);
    }
    return v;
  }
  std::string required_str(const std::string& key) const {
    if (!has(key)) fail(key, "is required");
    return str(key, "");
  }
  int64_t integer(const std::string& key, int64_t dflt, int64_t min_value) const {
    if (!has(key)) return dflt;
    const json& v = j_[key];
    if (!v.is_number_integer()) fail(key, "must be an integer");
    const int64_t x = v.get<int64_t>();
    if (x < min_value) fail(key, "must be >= " + std::to_string(min_value) + ", got " + std::to_string(x));
    return x;
  }
  int64_t required_int(const std::string& key, int64_t min_value) const {
    if (!has(key)) fail(key, "is required");
    return integer(key, 0, min_value);
  }
  // An int or a [h, w] pair.
  std::pair<int, int> pair(const std::string& key, int dflt, int min_value) const {
    if (!has(key)) return {dflt, dflt};
    const json& v = j_[key];
    auto check = [&](const json& e) {
      if (!e.is_number_integer() || e.get<int64_t>() < min_value || e.get<int64_t>() > 65535)
        fail(key, "must be an integer >= " + std::to_string(min_value) + " (or a [height, width] pair of them)");
      return e.get<int>();
    };
    if (v.is_array()) {
      if (v.size() != 2) fail(key, "a pair must have exactly 2 entries");
      return {check(v[0]), check(v[1])};
    }
    const int x = check(v);
    return {x, x};
  }
  double number(const std::string& key, double dflt, double lo, double hi) const {
    if (!has(key)) return dflt;
    if (!j_[key].is_number()) fail(key, "must be a number");
    const double x = j_[key].get<double>();
    if (!(x >= lo && x <= hi)) {
      std::ostringstream os;
      os << "must be in [" << lo << ", " << hi << "], got " << x;
      fail(key, os.str());
    }
    return x;
  }
  bool boolean(const std::string& key, bool dflt) const {
    if (!has(key)) return dflt;
    if (!j_[key].is_boolean()) fail(key, "must be true or false");
    return j_[key].get<bool>();
  }
  std::vector<float> floats(const std::string& key, size_t count) const {
    if (!has(key)) fail(key, "is required");
    const json& v = j_[key];
    if (!v.is_array() || v.size() != count) fail(key, "must be a list of " + std::to_string(count) + " numbers");
    std::vector<float> out;
    for (const auto& e : v) {
      if (!e.is_number()) fail(key, "must be a list of numbers");
      out.push_back(e.get<float>());
    }
    return out;
  }

 private:
  const json& j_;
  std::string source_, path_;
};

void validate_layers(const json& layers, const std::string& source, const std::string& path);

// Layer types that are a pointwise activation with no options, and the kernel each runs.
const std::map<std::string, ops::ActivationKind>& plain_activations() {
  static const std::map<std::string, ops::ActivationKind> table = {
      {"relu", ops::ActivationKind::Relu},           {"relu6", ops::ActivationKind::Relu6},
      {"hardswish", ops::ActivationKind::HardSwish}, {"silu", ops::ActivationKind::Silu},
      {"sigmoid", ops::ActivationKind::Sigmoid},     {"hardsigmoid", ops::ActivationKind::HardSigmoid}};
  return table;
}

void validate_init(const Fields& f) {
  if (!f.has("init")) return;
  try {
    parse_init(f.str("init", ""));
  } catch (const Error&) {
    f.fail("init", "unknown initialiser '" + f.str("init", "") + "'");
  }
}

// A name inside a parameter name: non-empty, no leading, trailing or doubled dots, no spaces or quotes.
void validate_name(const Fields& f, const std::string& key, bool may_be_empty) {
  if (!f.has(key)) return;
  const std::string n = f.str(key, "");
  if (n.empty() && may_be_empty) return;
  if (n.empty() || n.front() == '.' || n.back() == '.' || n.find("..") != std::string::npos ||
      n.find_first_of(" \t\n\"") != std::string::npos)
    f.fail(key, "'" + n + "' is not a valid parameter name prefix");
}

void validate_conv2d(const Fields& f) {
  f.allow({"type", "name", "in_channels", "out_channels", "kernel", "stride", "padding", "dilation", "groups", "bias", "init"});
  f.required_int("out_channels", 1);
  f.integer("in_channels", 0, 1);
  f.pair("kernel", 3, 1);
  f.pair("stride", 1, 1);
  if (f.has("padding") && f.raw("padding").is_string()) f.str("padding", "same", {"same"});
  else f.pair("padding", 0, 0);
  f.pair("dilation", 1, 1);
  f.integer("groups", 1, 1);
  f.boolean("bias", true);
  validate_init(f);
}

void validate_layer(const json& l, const std::string& source, const std::string& path) {
  Fields f(l, source, path);
  const std::string type = f.required_str("type");
  validate_name(f, "name", false);
  if (type == "conv2d") {
    validate_conv2d(f);
  } else if (type == "linear") {
    f.allow({"type", "name", "in_features", "out_features", "bias", "init"});
    f.required_int("out_features", 1);
    f.integer("in_features", 0, 1);
    f.boolean("bias", true);
    validate_init(f);
  } else if (type == "batchnorm2d") {
    f.allow({"type", "name", "eps", "momentum"});
    f.number("eps", 1e-5, 1e-12, 1.0);
    f.number("momentum", 0.1, 0.0, 1.0);
  } else if (plain_activations().count(type) || type == "flatten" || type == "global_avg_pool") {
    f.allow({"type", "name"});
  } else if (type == "leaky_relu") {
    f.allow({"type", "name", "negative_slope"});
    f.number("negative_slope", 0.01, 0.0, 1.0);
  } else if (type == "maxpool2d" || type == "avgpool2d") {
    if (type == "avgpool2d") f.allow({"type", "name", "kernel", "stride", "padding", "count_include_pad"});
    else f.allow({"type", "name", "kernel", "stride", "padding"});
    const auto k = f.pair("kernel", 2, 1);
    f.pair("stride", k.first, 1);
    const auto p = f.pair("padding", 0, 0);
    if (p.first * 2 > k.first || p.second * 2 > k.second) f.fail("padding", "must be at most half the kernel size");
    f.boolean("count_include_pad", true);
  } else if (type == "dropout") {
    f.allow({"type", "name", "p"});
    const double p = f.number("p", 0.5, 0.0, 1.0);
    if (p >= 1.0) f.fail("p", "must be below 1");
  } else if (type == "residual") {
    f.allow({"type", "name", "body", "shortcut", "activation", "body_name", "shortcut_name"});
    if (!f.has("body")) f.fail("body", "is required");
    validate_layers(f.raw("body"), source, f.at("body"));
    if (f.has("shortcut")) validate_layers(f.raw("shortcut"), source, f.at("shortcut"));
    f.str("activation", "relu", {"relu", "none"});
    validate_name(f, "body_name", true);
    validate_name(f, "shortcut_name", true);
  } else if (type == "sequential") {
    f.allow({"type", "name", "layers"});
    if (!f.has("layers")) f.fail("layers", "is required");
    validate_layers(f.raw("layers"), source, f.at("layers"));
  } else {
    f.fail("type", "unknown layer type '" + type +
                       "' (known: conv2d, batchnorm2d, relu, relu6, leaky_relu, hardswish, silu, sigmoid, hardsigmoid, "
                       "maxpool2d, avgpool2d, global_avg_pool, dropout, flatten, linear, residual, sequential)");
  }
}

void validate_layers(const json& layers, const std::string& source, const std::string& path) {
  if (!layers.is_array()) VIGIL_FAIL(source, ": ", path, ": must be a list of layers");
  if (layers.empty()) VIGIL_FAIL(source, ": ", path, ": must not be empty");
  for (size_t i = 0; i < layers.size(); ++i) validate_layer(layers[i], source, path + "[" + std::to_string(i) + "]");
}

// ---- building

struct BuildState {
  const std::string& source;
  uint64_t seed;
  bool initialize;
  uint64_t next_stream = 1;  // Philox stream per initialised tensor
  uint64_t next_dropout = 0;
  std::set<std::string> names;
  ModelLimits limits;
  int64_t parameters = 0;        // so far, layer by layer
  int64_t activation_bytes = 0;  // float32 outputs so far, for one image
};

// a * b * ..., or -1 when the product exceeds int64 (every factor is >= 0).
int64_t checked_product(std::initializer_list<int64_t> factors) {
  int64_t p = 1;
  for (int64_t f : factors)
    if (__builtin_mul_overflow(p, f, &p)) return -1;
  return p;
}

// Adds a layer's parameter count before it is allocated; fails (naming the layer) past limits.max_parameters.
void add_parameters(const Fields& f, BuildState& st, int64_t count) {
  if (count < 0 || count > st.limits.max_parameters - st.parameters)
    f.fail("type", "the network would have more than " + std::to_string(st.limits.max_parameters) +
                       " parameters with this layer (" + std::to_string(st.parameters) + " before it; " +
                       (count < 0 ? std::string("this one overflows") : "this one adds " + std::to_string(count)) +
                       "): over the model-size limit");
  st.parameters += count;
}

// Adds a layer's per-image output (float32) to the activation total; fails past limits.max_activation_bytes.
void add_activations(const Fields& f, BuildState& st, const Shape& out) {
  int64_t elements = 1;
  for (int64_t d : out) elements = checked_product({elements, d});
  const int64_t bytes = elements < 0 ? -1 : checked_product({elements, 4});
  if (bytes < 0 || bytes > st.limits.max_activation_bytes - st.activation_bytes)
    f.fail("type", "the layer outputs " + shape_str(out) + " per image, which takes the activations of one image past " +
                       std::to_string(st.limits.max_activation_bytes >> 20) + " MiB: over the model-size limit");
  st.activation_bytes += bytes;
}

std::unique_ptr<Sequential> build_list(const json& layers, const std::string& prefix, const std::string& path, Shape& shape,
                                       BuildState& st);

// TensorFlow "SAME" padding for this input size: the output is ceil(in / stride) and the padding that needs is
// split with the extra row/column at the bottom/right. Symmetric padding goes to the convolution itself, an
// asymmetric split to a zero-padding step before it.
void set_same_padding(Conv2d::Options& o, const Shape& chw) {
  auto split = [](int64_t in, int k, int stride, int dil) {
    const int64_t out = (in + stride - 1) / stride;
    const int64_t total = std::max<int64_t>((out - 1) * stride + int64_t(dil) * (k - 1) + 1 - in, 0);
    return std::pair<int, int>(static_cast<int>(total / 2), static_cast<int>(total - total / 2));
  };
  const auto [top, bottom] = split(chw[1], o.kernel_h, o.conv.stride_h, o.conv.dil_h);
  const auto [left, right] = split(chw[2], o.kernel_w, o.conv.stride_w, o.conv.dil_w);
  if (top == bottom && left == right) {
    o.conv.pad_h = top;
    o.conv.pad_w = left;
  } else {
    o.pre_pad = {top, bottom, left, right};
  }
}

ModulePtr build_layer(const json& l, const std::string& name, const std::string& path, Shape& shape, BuildState& st) {
  Fields f(l, st.source, path);
  const std::string type = f.str("type", "");
  ModulePtr m;
  auto need_chw = [&](const char* what) {
    if (shape.size() != 3)
      f.fail("type", std::string(what) + " needs (C, H, W) input but gets " + shape_str(shape));
  };
  if (type == "conv2d") {
    need_chw("conv2d");
    Conv2d::Options o;
    o.in_channels = static_cast<int>(shape[0]);
    if (f.has("in_channels") && f.integer("in_channels", 0, 1) != shape[0])
      f.fail("in_channels", "is " + std::to_string(f.integer("in_channels", 0, 1)) + " but the input has " +
                                std::to_string(shape[0]) + " channels");
    const int64_t out_channels = f.required_int("out_channels", 1);
    if (out_channels > kMaxChannels) f.fail("out_channels", "must be at most " + std::to_string(kMaxChannels));
    o.out_channels = static_cast<int>(out_channels);
    std::tie(o.kernel_h, o.kernel_w) = f.pair("kernel", 3, 1);
    std::tie(o.conv.stride_h, o.conv.stride_w) = f.pair("stride", 1, 1);
    std::tie(o.conv.dil_h, o.conv.dil_w) = f.pair("dilation", 1, 1);
    if (f.has("padding") && f.raw("padding").is_string()) set_same_padding(o, shape);
    else std::tie(o.conv.pad_h, o.conv.pad_w) = f.pair("padding", 0, 0);
    o.conv.groups = static_cast<int>(f.integer("groups", 1, 1));
    if (o.in_channels % o.conv.groups || o.out_channels % o.conv.groups)
      f.fail("groups", "input channels " + std::to_string(o.in_channels) + " and out_channels " +
                           std::to_string(o.out_channels) + " must both be divisible by groups " +
                           std::to_string(o.conv.groups));
    o.bias = f.boolean("bias", true);
    o.init = parse_init(f.str("init", "kaiming_normal"));
    const int64_t weights = checked_product({o.out_channels, o.in_channels / o.conv.groups, o.kernel_h, o.kernel_w});
    add_parameters(f, st, weights < 0 ? -1 : weights + (o.bias ? o.out_channels : 0));
    auto conv = std::make_unique<Conv2d>(o);
    if (st.initialize) conv->initialize(st.seed, st.next_stream);
    st.next_stream += 2;
    m = std::move(conv);
  } else if (type == "linear") {
    if (shape.size() != 1) f.fail("type", "linear needs flat input but gets " + shape_str(shape) + " (add flatten or global_avg_pool)");
    Linear::Options o;
    o.in_features = shape[0];
    if (f.has("in_features") && f.integer("in_features", 0, 1) != shape[0])
      f.fail("in_features", "is " + std::to_string(f.integer("in_features", 0, 1)) + " but the input has " +
                                std::to_string(shape[0]) + " features");
    o.out_features = f.required_int("out_features", 1);
    o.bias = f.boolean("bias", true);
    o.init = parse_init(f.str("init", "torch_default"));
    const int64_t weights = checked_product({o.in_features, o.out_features});
    add_parameters(f, st, weights < 0 ? -1 : weights + (o.bias ? o.out_features : 0));
    auto lin = std::make_unique<Linear>(o);
    if (st.initialize) lin->initialize(st.seed, st.next_stream);
    st.next_stream += 2;
    m = std::move(lin);
  } else if (type == "batchnorm2d") {
    if (shape.size() != 3 && shape.size() != 1) f.fail("type", "batchnorm2d needs (C, H, W) or (C) input, gets " + shape_str(shape));
    add_parameters(f, st, checked_product({shape[0], 4}));  // weight, bias, running mean and variance
    m = std::make_unique<BatchNorm2d>(shape[0], static_cast<float>(f.number("eps", 1e-5, 1e-12, 1.0)),
                                      static_cast<float>(f.number("momentum", 0.1, 0.0, 1.0)));
  } else if (const auto act = plain_activations().find(type); act != plain_activations().end()) {
    m = std::make_unique<Activation>(ops::ActivationParams{act->second, 0.f});
  } else if (type == "leaky_relu") {
    m = std::make_unique<Activation>(ops::ActivationParams{
        ops::ActivationKind::LeakyRelu, static_cast<float>(f.number("negative_slope", 0.01, 0.0, 1.0))});
  } else if (type == "sequential") {
    Shape inner = shape;
    m = build_list(f.raw("layers"), name, f.at("layers"), inner, st);
  } else if (type == "maxpool2d" || type == "avgpool2d") {
    need_chw(type.c_str());
    fn::Pool2dOptions o;
    std::tie(o.kernel_h, o.kernel_w) = f.pair("kernel", 2, 1);
    std::tie(o.stride_h, o.stride_w) = f.pair("stride", o.kernel_h, 1);
    if (!f.has("stride")) o.stride_w = o.kernel_w;
    std::tie(o.pad_h, o.pad_w) = f.pair("padding", 0, 0);
    o.count_include_pad = f.boolean("count_include_pad", true);
    m = std::make_unique<Pool2d>(type == "maxpool2d", o);
  } else if (type == "global_avg_pool") {
    need_chw("global_avg_pool");
    m = std::make_unique<GlobalAvgPool>();
  } else if (type == "dropout") {
    m = std::make_unique<Dropout>(static_cast<float>(f.number("p", 0.5, 0.0, 1.0)), st.next_dropout++);
  } else if (type == "flatten") {
    m = std::make_unique<Flatten>();
  } else if (type == "residual") {
    Shape body_shape = shape, short_shape = shape;
    auto prefixed = [&](const std::string& part) { return part.empty() ? name : name + "." + part; };
    auto body = build_list(f.raw("body"), prefixed(f.str("body_name", "body")), f.at("body"), body_shape, st);
    std::unique_ptr<Sequential> shortcut =
        f.has("shortcut") ? build_list(f.raw("shortcut"), prefixed(f.str("shortcut_name", "shortcut")), f.at("shortcut"),
                                       short_shape, st)
                          : std::make_unique<Sequential>();
    if (body_shape != short_shape)
      f.fail(f.has("shortcut") ? "shortcut" : "body", "body output " + shape_str(body_shape) + " and shortcut output " +
                                                          shape_str(short_shape) + " differ" +
                                                          (f.has("shortcut") ? "" : " (add a projection shortcut)"));
    m = std::make_unique<Residual>(std::move(body), std::move(shortcut), f.str("activation", "relu") == "relu");
  }
  m->set_name(name);
  if (type != "residual" && type != "sequential") {
    try {
      shape = m->stats(shape).output;
    } catch (const Error& e) {
      VIGIL_FAIL(st.source, ": ", path, ": ", e.what());
    }
  } else {
    shape = m->stats(shape).output;  // the parts' errors already name their own paths
  }
  if (type != "sequential") add_activations(f, st, shape);  // a sequential's output is its last layer's
  return m;
}

std::unique_ptr<Sequential> build_list(const json& layers, const std::string& prefix, const std::string& path, Shape& shape,
                                       BuildState& st) {
  auto seq = std::make_unique<Sequential>();
  seq->set_name(prefix);
  for (size_t i = 0; i < layers.size(); ++i) {
    const json& l = layers[i];
    const std::string own = l.contains("name") ? l["name"].get<std::string>() : std::to_string(i);
    const std::string name = prefix.empty() ? own : prefix + "." + own;
    const std::string p = path + "[" + std::to_string(i) + "]";
    if (!st.names.insert(name).second) VIGIL_FAIL(st.source, ": ", p, ".name: '", name, "' is used twice");
    seq->add(build_layer(l, name, p, shape, st));
  }
  return seq;
}

}  // namespace

ModelSpec parse_model_spec(const std::string& text, const std::string& source, const ModelLimits& limits) {
  const json j = parse_strict_json(text.data(), text.size(), source, kMaxDefinitionDepth);
  Fields top(j, source, "");
  top.allow({"format", "name", "version", "input", "preprocess", "head", "classes", "layers", "description"});
  const std::string format = top.str("format", "vigil-model/1");
  if (format != "vigil-model/1") top.fail("format", "unsupported format '" + format + "' (this vigil reads vigil-model/1)");
  ModelSpec s;
  s.text = text;
  s.source = source;
  s.limits = limits;
  s.name = top.required_str("name");
  s.version = top.str("version", s.name);
  if (top.has("description")) top.str("description", "");
  s.head = top.str("head", "softmax", {"softmax", "sigmoid"}) == "sigmoid" ? Head::Sigmoid : Head::Softmax;

  if (!top.has("input")) top.fail("input", "is required");
  Fields in(top.raw("input"), source, "input");
  in.allow({"channels", "height", "width"});
  s.input.channels = static_cast<int>(in.required_int("channels", 1));
  if (s.input.channels != 1 && s.input.channels != 3) in.fail("channels", "must be 1 (grayscale) or 3 (RGB)");
  s.input.height = static_cast<int>(in.required_int("height", 1));
  s.input.width = static_cast<int>(in.required_int("width", 1));
  if (s.input.height > 8192 || s.input.width > 8192) in.fail("height", "input larger than 8192 pixels");

  if (!top.has("classes")) top.fail("classes", "is required");
  const json& cls = top.raw("classes");
  if (!cls.is_array() || cls.size() < 2) top.fail("classes", "must be a list of at least 2 class names in id order");
  std::set<std::string> seen;
  for (size_t i = 0; i < cls.size(); ++i) {
    const std::string p = "classes[" + std::to_string(i) + "]";
    if (!cls[i].is_string() || cls[i].get<std::string>().empty()) VIGIL_FAIL(source, ": ", p, ": must be a non-empty string");
    const std::string c = cls[i].get<std::string>();
    if (c.find_first_of(",=\"\n") != std::string::npos) VIGIL_FAIL(source, ": ", p, ": '", c, "' may not contain , = \" or newlines");
    if (!seen.insert(c).second) VIGIL_FAIL(source, ": ", p, ": class '", c, "' appears twice");
    s.classes.push_back(c);
  }

  PreprocessSpec& pp = s.preprocess;
  if (top.has("preprocess")) {
    Fields f(top.raw("preprocess"), source, "preprocess");
    f.allow({"resize", "crop", "resize_shorter", "interpolation", "mean", "std", "alpha"});
    pp.resize = f.str("resize", "stretch", {"stretch", "shorter_side"});
    pp.crop = f.str("crop", pp.resize == "shorter_side" ? "center" : "none", {"none", "center"});
    pp.resize_shorter = static_cast<int>(f.integer("resize_shorter", 0, 1));
    pp.interpolation = f.str("interpolation", "bilinear", {"bilinear", "area"});
    pp.alpha = f.str("alpha", "white", {"white", "black"});
    pp.mean = f.has("mean") ? f.floats("mean", s.input.channels) : std::vector<float>(s.input.channels, 0.f);
    pp.std = f.has("std") ? f.floats("std", s.input.channels) : std::vector<float>(s.input.channels, 1.f);
    for (float v : pp.std)
      if (!(v > 0.f)) f.fail("std", "every entry must be positive");
    if (pp.resize == "shorter_side") {
      if (pp.crop != "center") f.fail("crop", "resize: shorter_side needs crop: center to reach the input size");
      if (pp.resize_shorter == 0) pp.resize_shorter = std::min(s.input.height, s.input.width);
      if (pp.resize_shorter < std::min(s.input.height, s.input.width))
        f.fail("resize_shorter", "must be at least the input's shorter side so the crop fits");
    } else if (pp.crop != "none") {
      f.fail("crop", "a centre crop needs resize: shorter_side");
    }
  } else {
    pp.mean.assign(s.input.channels, 0.f);
    pp.std.assign(s.input.channels, 1.f);
  }

  if (!top.has("layers")) top.fail("layers", "is required");
  validate_layers(top.raw("layers"), source, "layers");
  s.layers = top.raw("layers");
  // Shapes must fit and the network must end in one logit per class.
  auto net = build_network(s, 0, false);
  const Shape out = net->stats({s.input.channels, s.input.height, s.input.width}).output;
  if (out.size() != 1 || out[0] != static_cast<int64_t>(s.classes.size()))
    VIGIL_FAIL(source, ": layers: the network outputs ", shape_str(out), " per image but there are ", s.classes.size(),
               " classes (the last layer must give one logit per class)");
  return s;
}

std::unique_ptr<Sequential> build_network(const ModelSpec& spec, uint64_t seed, bool initialize) {
  BuildState st{spec.source, seed, initialize, 1, 0, {}, spec.limits, 0, 0};
  Shape shape = {spec.input.channels, spec.input.height, spec.input.width};
  return build_list(spec.layers, "", "layers", shape, st);
}

std::vector<std::string> preset_names() { return {"seed", "default", "fmnist"}; }

std::string preset_text(const std::string& name) {
  const char* t = find_preset(name);
  VIGIL_CHECK(t != nullptr, "unknown model preset '", name, "' (presets: seed, default, fmnist)");
  return t;
}

ModelSpec load_model_spec(const std::string& preset_or_path, const ModelLimits& limits) {
  if (const char* t = find_preset(preset_or_path)) return parse_model_spec(t, preset_or_path + " (preset)", limits);
  std::ifstream in(preset_or_path, std::ios::binary);
  VIGIL_CHECK(in.good(), "cannot open model definition '", preset_or_path, "' (not a preset: seed, default, fmnist)");
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  VIGIL_CHECK(size >= 0 && static_cast<uint64_t>(size) <= kMaxDefinitionBytes, preset_or_path,
              ": not a model definition (", size, " bytes; definitions are at most ", kMaxDefinitionBytes >> 20, " MiB)");
  in.seekg(0);
  std::string text(static_cast<size_t>(size), '\0');
  in.read(text.data(), size);
  VIGIL_CHECK(in.gcount() == size, "cannot read model definition '", preset_or_path, "'");
  return parse_model_spec(text, preset_or_path, limits);
}

}  // namespace vigil
