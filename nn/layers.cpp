// Layer implementations: forward through nn/functional, shapes and costs for the layer table.
#include "nn/layers.h"

#include <sstream>

#include "common/error.h"

namespace vigil {
namespace {

std::string layer_id(const Module& m) { return m.name().empty() ? std::string(m.type()) : m.name() + " (" + m.type() + ")"; }

// Output size of a sliding window (floor mode); 0 when the window does not fit even once.
int64_t conv_out(int64_t in, int k, int s, int p, int d) {
  const int64_t span = in + 2 * p - int64_t(d) * (k - 1) - 1;
  return span < 0 ? 0 : span / s + 1;
}

bool has_pre_pad(const fn::Pad2dOptions& p) { return p.top || p.bottom || p.left || p.right; }

void move_var(Var& v, Device device) {
  if (v.defined()) v.mutable_value() = v.value().to(device);
}

}  // namespace

// ---- Conv2d
Conv2d::Conv2d(const Options& o) : o_(o) {
  VIGIL_CHECK(o.in_channels > 0 && o.out_channels > 0 && o.kernel_h > 0 && o.kernel_w > 0, "conv2d: channels and kernel must be positive");
  VIGIL_CHECK(o.conv.groups > 0 && o.in_channels % o.conv.groups == 0 && o.out_channels % o.conv.groups == 0,
              "conv2d: in_channels ", o.in_channels, " and out_channels ", o.out_channels, " must be divisible by groups ",
              o.conv.groups);
  VIGIL_CHECK(o.conv.stride_h > 0 && o.conv.stride_w > 0 && o.conv.dil_h > 0 && o.conv.dil_w > 0 && o.conv.pad_h >= 0 &&
                  o.conv.pad_w >= 0, "conv2d: stride and dilation must be positive, padding non-negative");
  weight_ = Var(Tensor::zeros({o.out_channels, o.in_channels / o.conv.groups, o.kernel_h, o.kernel_w}), true);
  if (o.bias) bias_ = Var(Tensor::zeros({o.out_channels}), true);
}

void Conv2d::initialize(uint64_t seed, uint64_t stream) {
  const int64_t rf = int64_t(o_.kernel_h) * o_.kernel_w;
  const int64_t fan_in = o_.in_channels / o_.conv.groups * rf, fan_out = o_.out_channels / o_.conv.groups * rf;
  init_tensor(weight_.mutable_value(), o_.init, fan_in, fan_out, seed, stream);
  if (bias_.defined())
    init_tensor(bias_.mutable_value(), o_.init == InitKind::TorchDefault ? InitKind::TorchDefault : InitKind::Zeros,
                fan_in, fan_out, seed, stream + 1);
}

Var Conv2d::forward(Tape& tape, const Var& x, const RunContext&) {
  if (!has_pre_pad(o_.pre_pad)) return fn::conv2d(tape, x, weight_, bias_, o_.conv);
  return fn::conv2d(tape, fn::pad2d(tape, x, o_.pre_pad), weight_, bias_, o_.conv);
}

LayerStats Conv2d::stats(const Shape& in) const {
  VIGIL_CHECK(in.size() == 3, layer_id(*this), ": expects (C, H, W) input, got ", shape_str(in));
  VIGIL_CHECK(in[0] == o_.in_channels, layer_id(*this), ": expects ", o_.in_channels, " input channels, got ", in[0],
              " (input ", shape_str(in), ")");
  const int64_t h = in[1] + o_.pre_pad.top + o_.pre_pad.bottom, w = in[2] + o_.pre_pad.left + o_.pre_pad.right;
  const int64_t oh = conv_out(h, o_.kernel_h, o_.conv.stride_h, o_.conv.pad_h, o_.conv.dil_h);
  const int64_t ow = conv_out(w, o_.kernel_w, o_.conv.stride_w, o_.conv.pad_w, o_.conv.dil_w);
  VIGIL_CHECK(oh >= 1 && ow >= 1, layer_id(*this), ": input ", shape_str(in), " is too small for kernel ", o_.kernel_h,
              "x", o_.kernel_w, " (output would be ", oh, "x", ow, ")");
  LayerStats s;
  s.output = {o_.out_channels, oh, ow};
  s.params = weight_.value().numel() + (bias_.defined() ? bias_.value().numel() : 0);
  s.macs = int64_t(o_.out_channels) * oh * ow * (o_.in_channels / o_.conv.groups) * o_.kernel_h * o_.kernel_w;
  return s;
}

std::string Conv2d::detail() const {
  std::ostringstream os;
  os << o_.in_channels << "->" << o_.out_channels << ", k" << o_.kernel_h;
  if (o_.kernel_w != o_.kernel_h) os << "x" << o_.kernel_w;
  os << " s" << o_.conv.stride_h << " p" << o_.conv.pad_h;
  if (has_pre_pad(o_.pre_pad))
    os << " pad(t" << o_.pre_pad.top << " b" << o_.pre_pad.bottom << " l" << o_.pre_pad.left << " r" << o_.pre_pad.right
       << ")";
  if (o_.conv.dil_h != 1) os << " d" << o_.conv.dil_h;
  if (o_.conv.groups != 1) os << " g" << o_.conv.groups;
  if (!o_.bias) os << ", no bias";
  return os.str();
}

void Conv2d::collect(std::vector<ParamRef>& params, std::vector<BufferRef>&) {
  params.push_back({name_ + ".weight", weight_});
  if (bias_.defined()) params.push_back({name_ + ".bias", bias_});
}

void Conv2d::to(Device d) {
  move_var(weight_, d);
  move_var(bias_, d);
}

// ---- Linear
Linear::Linear(const Options& o) : o_(o) {
  VIGIL_CHECK(o.in_features > 0 && o.out_features > 0, "linear: in_features and out_features must be positive");
  weight_ = Var(Tensor::zeros({o.out_features, o.in_features}), true);
  if (o.bias) bias_ = Var(Tensor::zeros({o.out_features}), true);
}

void Linear::initialize(uint64_t seed, uint64_t stream) {
  init_tensor(weight_.mutable_value(), o_.init, o_.in_features, o_.out_features, seed, stream);
  if (bias_.defined())
    init_tensor(bias_.mutable_value(), o_.init == InitKind::TorchDefault ? InitKind::TorchDefault : InitKind::Zeros,
                o_.in_features, o_.out_features, seed, stream + 1);
}

Var Linear::forward(Tape& tape, const Var& x, const RunContext&) { return fn::linear(tape, x, weight_, bias_); }

LayerStats Linear::stats(const Shape& in) const {
  VIGIL_CHECK(in.size() == 1, layer_id(*this), ": expects flat (features) input, got ", shape_str(in),
              " (add a flatten or global_avg_pool layer before it)");
  VIGIL_CHECK(in[0] == o_.in_features, layer_id(*this), ": expects ", o_.in_features, " input features, got ", in[0]);
  return LayerStats{{o_.out_features}, weight_.value().numel() + (bias_.defined() ? o_.out_features : 0),
                    o_.in_features * o_.out_features};
}

std::string Linear::detail() const {
  return std::to_string(o_.in_features) + "->" + std::to_string(o_.out_features) + (o_.bias ? "" : ", no bias");
}

void Linear::collect(std::vector<ParamRef>& params, std::vector<BufferRef>&) {
  params.push_back({name_ + ".weight", weight_});
  if (bias_.defined()) params.push_back({name_ + ".bias", bias_});
}

void Linear::to(Device d) {
  move_var(weight_, d);
  move_var(bias_, d);
}

// ---- BatchNorm2d
BatchNorm2d::BatchNorm2d(int64_t channels, float eps, float momentum)
    : channels_(channels), eps_(eps), momentum_(momentum) {
  VIGIL_CHECK(channels > 0, "batchnorm2d: channels must be positive");
  VIGIL_CHECK(eps > 0.f && momentum >= 0.f && momentum <= 1.f, "batchnorm2d: need eps > 0 and momentum in [0, 1]");
  weight_ = Var(Tensor::full({channels}, 1.f), true);
  bias_ = Var(Tensor::zeros({channels}), true);
  running_mean_ = Tensor::zeros({channels});
  running_var_ = Tensor::full({channels}, 1.f);
  num_batches_ = Tensor::zeros({}, DType::I64);
}

Var BatchNorm2d::forward(Tape& tape, const Var& x, const RunContext& ctx) {
  fn::BatchNormOptions o;
  o.training = ctx.training && !frozen_;
  o.eps = eps_;
  o.momentum = momentum_;
  if (o.training) num_batches_.data<int64_t>()[0] += 1;
  return fn::batch_norm(tape, x, weight_, bias_, running_mean_, running_var_, o);
}

LayerStats BatchNorm2d::stats(const Shape& in) const {
  VIGIL_CHECK((in.size() == 3 || in.size() == 1) && in[0] == channels_, layer_id(*this), ": expects (", channels_,
              ", H, W) or (", channels_, ") input, got ", shape_str(in));
  return LayerStats{in, 2 * channels_, 0};
}

std::string BatchNorm2d::detail() const { return std::to_string(channels_); }

void BatchNorm2d::collect(std::vector<ParamRef>& params, std::vector<BufferRef>& buffers) {
  params.push_back({name_ + ".weight", weight_});
  params.push_back({name_ + ".bias", bias_});
  buffers.push_back({name_ + ".running_mean", &running_mean_});
  buffers.push_back({name_ + ".running_var", &running_var_});
  buffers.push_back({name_ + ".num_batches_tracked", &num_batches_});
}

void BatchNorm2d::to(Device d) {
  move_var(weight_, d);
  move_var(bias_, d);
  running_mean_ = running_mean_.to(d);
  running_var_ = running_var_.to(d);
  // num_batches_tracked stays on the CPU: it is a host-side counter.
}

// ---- activations, pooling, dropout, flatten
const char* Activation::type() const {
  switch (p_.kind) {
    case ops::ActivationKind::Relu: return "ReLU";
    case ops::ActivationKind::LeakyRelu: return "LeakyReLU";
    case ops::ActivationKind::Relu6: return "ReLU6";
    case ops::ActivationKind::HardSwish: return "Hardswish";
    case ops::ActivationKind::Silu: return "SiLU";
    case ops::ActivationKind::Sigmoid: return "Sigmoid";
    case ops::ActivationKind::HardSigmoid: return "Hardsigmoid";
  }
  return "Activation";
}

Var Activation::forward(Tape& tape, const Var& x, const RunContext&) { return fn::activation(tape, x, p_); }

std::string Activation::detail() const {
  if (p_.kind != ops::ActivationKind::LeakyRelu) return "";
  std::ostringstream os;
  os << "slope " << p_.negative_slope;
  return os.str();
}

Var Pool2d::forward(Tape& tape, const Var& x, const RunContext&) {
  return max_ ? fn::max_pool2d(tape, x, o_) : fn::avg_pool2d(tape, x, o_);
}

LayerStats Pool2d::stats(const Shape& in) const {
  VIGIL_CHECK(in.size() == 3, layer_id(*this), ": expects (C, H, W) input, got ", shape_str(in));
  const int64_t oh = conv_out(in[1], o_.kernel_h, o_.stride_h, o_.pad_h, 1);
  const int64_t ow = conv_out(in[2], o_.kernel_w, o_.stride_w, o_.pad_w, 1);
  VIGIL_CHECK(oh >= 1 && ow >= 1, layer_id(*this), ": input ", shape_str(in), " is smaller than the ", o_.kernel_h, "x",
              o_.kernel_w, " window");
  return LayerStats{{in[0], oh, ow}, 0, 0};
}

std::string Pool2d::detail() const {
  std::ostringstream os;
  os << "k" << o_.kernel_h;
  if (o_.kernel_w != o_.kernel_h) os << "x" << o_.kernel_w;
  os << " s" << o_.stride_h << " p" << o_.pad_h;
  return os.str();
}

Var GlobalAvgPool::forward(Tape& tape, const Var& x, const RunContext&) { return fn::global_avg_pool(tape, x); }

LayerStats GlobalAvgPool::stats(const Shape& in) const {
  VIGIL_CHECK(in.size() == 3, layer_id(*this), ": expects (C, H, W) input, got ", shape_str(in));
  return LayerStats{{in[0]}, 0, 0};
}

Var Dropout::forward(Tape& tape, const Var& x, const RunContext& ctx) {
  return fn::dropout(tape, x, p_, ctx.training, ctx.seed, ctx.step * RunContext::kStreamsPerStep + layer_id_);
}

std::string Dropout::detail() const {
  std::ostringstream os;
  os << "p " << p_;
  return os.str();
}

Var Flatten::forward(Tape& tape, const Var& x, const RunContext&) { return fn::flatten(tape, x); }

LayerStats Flatten::stats(const Shape& in) const { return LayerStats{{shape_numel(in)}, 0, 0}; }

// ---- containers
Var Sequential::forward(Tape& tape, const Var& x, const RunContext& ctx) {
  Var h = x;
  for (auto& c : children_) h = c->forward(tape, h, ctx);
  return h;
}

LayerStats Sequential::stats(const Shape& in) const {
  LayerStats total{in, 0, 0};
  for (const auto& c : children_) {
    LayerStats s = c->stats(total.output);
    total.output = s.output;
    total.params += s.params;
    total.macs += s.macs;
  }
  return total;
}

void Sequential::collect(std::vector<ParamRef>& params, std::vector<BufferRef>& buffers) {
  for (auto& c : children_) c->collect(params, buffers);
}

void Sequential::table(const Shape& in, int depth, std::vector<LayerRow>& rows) const {
  Shape cur = in;
  for (const auto& c : children_) {
    c->table(cur, depth, rows);
    cur = c->stats(cur).output;
  }
}

void Sequential::to(Device d) {
  for (auto& c : children_) c->to(d);
}

void Sequential::set_batchnorm_frozen(bool frozen) {
  for (auto& c : children_) c->set_batchnorm_frozen(frozen);
}

Var Residual::forward(Tape& tape, const Var& x, const RunContext& ctx) {
  Var main = body_->forward(tape, x, ctx);
  Var skip = shortcut_->children().empty() ? x : shortcut_->forward(tape, x, ctx);
  Var y = fn::add(tape, main, skip);
  return relu_after_ ? fn::relu(tape, y) : y;
}

LayerStats Residual::stats(const Shape& in) const {
  LayerStats b = body_->stats(in);
  LayerStats s = shortcut_->stats(in);
  VIGIL_CHECK(b.output == s.output, layer_id(*this), ": body output ", shape_str(b.output),
              " and shortcut output ", shape_str(s.output), " differ (add a projection shortcut)");
  return LayerStats{b.output, b.params + s.params, b.macs + s.macs};
}

void Residual::collect(std::vector<ParamRef>& params, std::vector<BufferRef>& buffers) {
  body_->collect(params, buffers);
  shortcut_->collect(params, buffers);
}

void Residual::table(const Shape& in, int depth, std::vector<LayerRow>& rows) const {
  LayerStats s = stats(in);
  rows.push_back(LayerRow{name_, type(), detail(), LayerStats{s.output, 0, 0}, depth});
  body_->table(in, depth + 1, rows);
  shortcut_->table(in, depth + 1, rows);
}

void Residual::to(Device d) {
  body_->to(d);
  shortcut_->to(d);
}

void Residual::set_batchnorm_frozen(bool frozen) {
  body_->set_batchnorm_frozen(frozen);
  shortcut_->set_batchnorm_frozen(frozen);
}

}  // namespace vigil
