// Differentiable ops: forward through the kernel dispatchers, backward closures that ACCUMULATE input gradients.
#include "nn/functional.h"

#include "activation/activation.h"
#include "batchnorm/batchnorm.h"
#include "common/error.h"
#include "conv2d/conv2d.h"
#include "dropout/dropout.h"
#include "elementwise/elementwise.h"
#include "gemm/gemm.h"
#include "pad2d/pad2d.h"
#include "pool2d/pool2d.h"
#include "softmax/softmax.h"

namespace vigil::fn {
namespace {

void check_f32(const Var& v, const char* op, const char* what) {
  VIGIL_CHECK(v.defined(), op, ": ", what, " is undefined");
  VIGIL_CHECK(v.value().dtype() == DType::F32, op, ": ", what, " must be float32, got ", v.value().str());
  VIGIL_CHECK(v.value().is_contiguous(), op, ": ", what, " must be contiguous");
}

void check_same_device(const Var& a, const Var& b, const char* op) {
  VIGIL_CHECK(a.value().device() == b.value().device(), op, ": tensors on different devices (",
              a.value().device().str(), " and ", b.value().device().str(), ")");
}

Tensor empty_like(const Tensor& t, const Shape& shape) { return Tensor::empty(shape, DType::F32, t.device()); }

// Gradient buffer pointer of an input, or nullptr when it does not need one.
float* grad_ptr(const Var& v) { return v.defined() && v.requires_grad() ? Tape::grad_buffer(v).f32() : nullptr; }

// The gradient buffer of `v`, or a zeroed scratch tensor (kept alive in `scratch`) when `v` needs no gradient:
// for kernels that always write every gradient output.
float* grad_or_scratch(const Var& v, const Device& device, Tensor& scratch) {
  if (float* p = grad_ptr(v)) return p;
  scratch = Tensor::zeros(v.shape(), DType::F32, device);
  return scratch.f32();
}

Var run_activation(Tape& tape, const Var& x, const ops::ActivationParams& p, const char* name) {
  check_f32(x, name, "input");
  const Tensor& xv = x.value();
  const Backend b = tape.config().pick(xv, tape.config().other);
  Tensor y = empty_like(xv, xv.shape());
  ops::activation_forward(b, p, xv.numel(), xv.f32(), y.f32());
  if (!tape.needs_grad({&x})) return Var(y);
  return tape.record(name, {x}, y, [x, p, b](const Tensor& dy) {
    ops::activation_backward(b, p, dy.numel(), x.value().f32(), dy.f32(), grad_ptr(x));
  });
}

}  // namespace

Var relu(Tape& tape, const Var& x) { return run_activation(tape, x, {ops::ActivationKind::Relu, 0.f}, "relu"); }

Var leaky_relu(Tape& tape, const Var& x, float negative_slope) {
  return run_activation(tape, x, {ops::ActivationKind::LeakyRelu, negative_slope}, "leaky_relu");
}

Var activation(Tape& tape, const Var& x, const ops::ActivationParams& p) {
  return run_activation(tape, x, p, ops::activation_kind_name(p.kind));
}

Var pad2d(Tape& tape, const Var& x, const Pad2dOptions& o) {
  check_f32(x, "pad2d", "input");
  const Tensor& xv = x.value();
  VIGIL_CHECK(xv.dim() == 4, "pad2d: input must be (N, C, H, W), got ", shape_str(xv.shape()));
  ops::Pad2dShape s;
  s.n = static_cast<int>(xv.shape()[0]);
  s.c = static_cast<int>(xv.shape()[1]);
  s.h = static_cast<int>(xv.shape()[2]);
  s.w = static_cast<int>(xv.shape()[3]);
  s.top = o.top, s.bottom = o.bottom, s.left = o.left, s.right = o.right;
  const Backend b = tape.config().pick(xv, tape.config().other);
  Tensor y = empty_like(xv, {s.n, s.c, s.out_h(), s.out_w()});
  ops::pad2d_forward(b, s, xv.f32(), y.f32());
  if (!tape.needs_grad({&x})) return Var(y);
  return tape.record("pad2d", {x}, y, [x, s, b](const Tensor& dy) {
    ops::pad2d_backward(b, s, dy.f32(), grad_ptr(x));
  });
}

Var add(Tape& tape, const Var& a, const Var& b) {
  check_f32(a, "add", "a");
  check_f32(b, "add", "b");
  check_same_device(a, b, "add");
  VIGIL_CHECK(a.shape() == b.shape(), "add: shapes differ: ", shape_str(a.shape()), " vs ", shape_str(b.shape()));
  const Backend be = tape.config().pick(a.value(), tape.config().other);
  Tensor y = empty_like(a.value(), a.shape());
  ops::add(be, y.numel(), a.value().f32(), b.value().f32(), y.f32());
  if (!tape.needs_grad({&a, &b})) return Var(y);
  return tape.record("add", {a, b}, y, [a, b, be](const Tensor& dy) {
    if (a.requires_grad()) ops::axpy(be, dy.numel(), 1.f, dy.f32(), grad_ptr(a));
    if (b.requires_grad()) ops::axpy(be, dy.numel(), 1.f, dy.f32(), grad_ptr(b));
  });
}

Var mul(Tape& tape, const Var& a, const Var& b) {
  check_f32(a, "mul", "a");
  check_f32(b, "mul", "b");
  check_same_device(a, b, "mul");
  VIGIL_CHECK(a.shape() == b.shape(), "mul: shapes differ: ", shape_str(a.shape()), " vs ", shape_str(b.shape()));
  const Backend be = tape.config().pick(a.value(), tape.config().other);
  Tensor y = empty_like(a.value(), a.shape());
  ops::mul(be, y.numel(), a.value().f32(), b.value().f32(), y.f32());
  if (!tape.needs_grad({&a, &b})) return Var(y);
  return tape.record("mul", {a, b}, y, [a, b, be](const Tensor& dy) {
    ops::mul_backward(be, dy.numel(), a.value().f32(), b.value().f32(), dy.f32(), grad_ptr(a), grad_ptr(b));
  });
}

Var scale(Tape& tape, const Var& x, float alpha) {
  check_f32(x, "scale", "input");
  const Backend be = tape.config().pick(x.value(), tape.config().other);
  Tensor y = empty_like(x.value(), x.shape());
  ops::scale(be, y.numel(), alpha, x.value().f32(), y.f32());
  if (!tape.needs_grad({&x})) return Var(y);
  return tape.record("scale", {x}, y, [x, alpha, be](const Tensor& dy) {
    ops::axpy(be, dy.numel(), alpha, dy.f32(), grad_ptr(x));
  });
}

Var sum(Tape& tape, const Var& x) {
  check_f32(x, "sum", "input");
  const Backend be = tape.config().pick(x.value(), tape.config().other);
  Tensor y = empty_like(x.value(), {1});
  ops::sum(be, x.value().numel(), x.value().f32(), y.f32());
  if (!tape.needs_grad({&x})) return Var(y);
  return tape.record("sum", {x}, y, [x, be](const Tensor& dy) {
    // d sum / dx = 1 everywhere: grad += dy[0] (dy read on the host: one float)
    const float g = dy.item();
    Tensor ones = Tensor::full(x.shape(), 1.f, x.value().device());
    ops::axpy(be, ones.numel(), g, ones.f32(), grad_ptr(x));
  });
}

Var reshape(Tape& tape, const Var& x, const Shape& shape) {
  VIGIL_CHECK(x.defined(), "reshape of an undefined Var");
  Tensor y = x.value().reshape(shape);
  if (!tape.needs_grad({&x})) return Var(y);
  const Backend be = tape.config().pick(x.value(), tape.config().other);
  return tape.record("reshape", {x}, y, [x, be](const Tensor& dy) {
    ops::axpy(be, dy.numel(), 1.f, dy.f32(), grad_ptr(x));
  });
}

Var flatten(Tape& tape, const Var& x) {
  VIGIL_CHECK(x.defined() && x.value().dim() >= 2, "flatten needs (N, ...) input, got ", x.value().str());
  return reshape(tape, x, {x.value().size(0), -1});
}

Var conv2d(Tape& tape, const Var& x, const Var& weight, const Var& bias, const Conv2dOptions& o) {
  check_f32(x, "conv2d", "input");
  check_f32(weight, "conv2d", "weight");
  check_same_device(x, weight, "conv2d");
  const Tensor& xv = x.value();
  const Tensor& wv = weight.value();
  VIGIL_CHECK(xv.dim() == 4 && wv.dim() == 4, "conv2d: input ", xv.str(), " and weight ", wv.str(),
              " must be 4-D");
  ops::Conv2dShape s;
  s.n = static_cast<int>(xv.size(0));
  s.c_in = static_cast<int>(xv.size(1));
  s.h = static_cast<int>(xv.size(2));
  s.w = static_cast<int>(xv.size(3));
  s.c_out = static_cast<int>(wv.size(0));
  s.kh = static_cast<int>(wv.size(2));
  s.kw = static_cast<int>(wv.size(3));
  s.stride_h = o.stride_h;
  s.stride_w = o.stride_w;
  s.pad_h = o.pad_h;
  s.pad_w = o.pad_w;
  s.dil_h = o.dil_h;
  s.dil_w = o.dil_w;
  s.groups = o.groups;
  VIGIL_CHECK(wv.size(1) * o.groups == s.c_in, "conv2d: weight ", wv.str(), " expects ", wv.size(1) * o.groups,
              " input channels (groups ", o.groups, "), input has ", s.c_in);
  if (bias.defined()) {
    check_f32(bias, "conv2d", "bias");
    VIGIL_CHECK(bias.value().numel() == s.c_out, "conv2d: bias ", bias.value().str(), " for ", s.c_out, " channels");
  }
  s.validate();
  const Backend be = tape.config().pick(xv, tape.config().conv);
  Tensor y = empty_like(xv, {s.n, s.c_out, s.out_h(), s.out_w()});
  ops::conv2d_forward(be, s, xv.f32(), wv.f32(), bias.defined() ? bias.value().f32() : nullptr, y.f32());
  if (!tape.needs_grad({&x, &weight, &bias})) return Var(y);
  return tape.record("conv2d", {x, weight, bias.defined() ? bias : Var()}, y,
                     [x, weight, bias, s, be](const Tensor& dy) {
                       if (x.requires_grad()) ops::conv2d_backward_data(be, s, dy.f32(), weight.value().f32(), grad_ptr(x));
                       if (weight.requires_grad())
                         ops::conv2d_backward_weight(be, s, x.value().f32(), dy.f32(), grad_ptr(weight));
                       if (bias.defined() && bias.requires_grad())
                         ops::conv2d_backward_bias(be, s, dy.f32(), grad_ptr(bias));
                     });
}

Var linear(Tape& tape, const Var& x, const Var& weight, const Var& bias) {
  check_f32(x, "linear", "input");
  check_f32(weight, "linear", "weight");
  check_same_device(x, weight, "linear");
  const Tensor& xv = x.value();
  const Tensor& wv = weight.value();
  VIGIL_CHECK(xv.dim() == 2 && wv.dim() == 2 && xv.size(1) == wv.size(1), "linear: input ", xv.str(),
              " does not fit weight ", wv.str(), " (expected (N, ", wv.size(1), "))");
  const int64_t n = xv.size(0), in = xv.size(1), out = wv.size(0);
  if (bias.defined()) {
    check_f32(bias, "linear", "bias");
    VIGIL_CHECK(bias.value().numel() == out, "linear: bias ", bias.value().str(), " for ", out, " outputs");
  }
  const Backend be = tape.config().pick(xv, tape.config().other);
  Tensor y = empty_like(xv, {n, out});
  ops::linear_forward(be, n, in, out, xv.f32(), wv.f32(), bias.defined() ? bias.value().f32() : nullptr, y.f32());
  if (!tape.needs_grad({&x, &weight, &bias})) return Var(y);
  return tape.record("linear", {x, weight, bias.defined() ? bias : Var()}, y,
                     [x, weight, bias, n, in, out, be](const Tensor& dy) {
                       if (x.requires_grad()) ops::linear_backward_data(be, n, in, out, dy.f32(), weight.value().f32(), grad_ptr(x));
                       if (weight.requires_grad())
                         ops::linear_backward_weight(be, n, in, out, x.value().f32(), dy.f32(), grad_ptr(weight));
                       if (bias.defined() && bias.requires_grad())
                         ops::linear_backward_bias(be, n, out, dy.f32(), grad_ptr(bias));
                     });
}

Var batch_norm(Tape& tape, const Var& x, const Var& gamma, const Var& beta, Tensor& running_mean,
               Tensor& running_var, const BatchNormOptions& o) {
  check_f32(x, "batch_norm", "input");
  check_f32(gamma, "batch_norm", "weight");
  check_f32(beta, "batch_norm", "bias");
  const Tensor& xv = x.value();
  VIGIL_CHECK(xv.dim() == 4 || xv.dim() == 2, "batch_norm: input must be (N, C, H, W) or (N, C), got ", xv.str());
  ops::BatchNormShape s;
  s.n = xv.size(0);
  s.c = xv.size(1);
  s.hw = xv.dim() == 4 ? xv.size(2) * xv.size(3) : 1;
  s.eps = o.eps;
  s.momentum = o.momentum;
  for (const Tensor* t : std::initializer_list<const Tensor*>{&gamma.value(), &beta.value(), &running_mean, &running_var})
    VIGIL_CHECK(t->numel() == s.c && t->dtype() == DType::F32 && t->device() == xv.device(), "batch_norm: ",
                t->str(), " does not fit ", s.c, " channels on ", xv.device().str());
  s.validate();
  const Backend be = tape.config().pick(xv, tape.config().other);
  Tensor y = empty_like(xv, xv.shape());
  if (!o.training) {
    ops::batchnorm_forward_eval(be, s, xv.f32(), gamma.value().f32(), beta.value().f32(), running_mean.f32(),
                                running_var.f32(), y.f32());
    if (!tape.needs_grad({&x, &gamma, &beta})) return Var(y);
    Tensor rm = running_mean, rv = running_var;  // statistics frozen at this point
    return tape.record("batch_norm_eval", {x, gamma, beta}, y, [x, gamma, beta, rm, rv, s, be](const Tensor& dy) {
      Tensor sx, sg, sb;  // the kernel writes all three gradients; unneeded ones go to scratch
      ops::batchnorm_backward_eval(be, s, x.value().f32(), dy.f32(), gamma.value().f32(), rm.f32(), rv.f32(),
                                   grad_or_scratch(x, dy.device(), sx), grad_or_scratch(gamma, dy.device(), sg),
                                   grad_or_scratch(beta, dy.device(), sb));
    });
  }
  Tensor save_mean = Tensor::empty({s.c}, DType::F32, xv.device());
  Tensor save_invstd = Tensor::empty({s.c}, DType::F32, xv.device());
  ops::batchnorm_forward_train(be, s, xv.f32(), gamma.value().f32(), beta.value().f32(), y.f32(), running_mean.f32(),
                               running_var.f32(), save_mean.f32(), save_invstd.f32());
  if (!tape.needs_grad({&x, &gamma, &beta})) return Var(y);
  return tape.record("batch_norm", {x, gamma, beta}, y,
                     [x, gamma, beta, save_mean, save_invstd, s, be](const Tensor& dy) {
                       Tensor sx, sg, sb;  // the kernel writes all three gradients; unneeded ones go to scratch
                       ops::batchnorm_backward(be, s, x.value().f32(), dy.f32(), gamma.value().f32(), save_mean.f32(),
                                               save_invstd.f32(), grad_or_scratch(x, dy.device(), sx),
                                               grad_or_scratch(gamma, dy.device(), sg),
                                               grad_or_scratch(beta, dy.device(), sb));
                     });
}

namespace {
Var pool(Tape& tape, const Var& x, const Pool2dOptions& o, ops::PoolKind kind, const char* name) {
  check_f32(x, name, "input");
  const Tensor& xv = x.value();
  VIGIL_CHECK(xv.dim() == 4, name, ": input must be (N, C, H, W), got ", xv.str());
  ops::Pool2dShape s;
  s.n = static_cast<int>(xv.size(0));
  s.c = static_cast<int>(xv.size(1));
  s.h = static_cast<int>(xv.size(2));
  s.w = static_cast<int>(xv.size(3));
  s.kh = o.kernel_h;
  s.kw = o.kernel_w;
  s.stride_h = o.stride_h;
  s.stride_w = o.stride_w;
  s.pad_h = o.pad_h;
  s.pad_w = o.pad_w;
  s.kind = kind;
  s.count_include_pad = o.count_include_pad;
  s.validate();
  const Backend be = tape.config().pick(xv, tape.config().pool);
  Tensor y = empty_like(xv, {s.n, s.c, s.out_h(), s.out_w()});
  ops::pool2d_forward(be, s, xv.f32(), y.f32());
  if (!tape.needs_grad({&x})) return Var(y);
  return tape.record(name, {x}, y, [x, y, s, be](const Tensor& dy) {
    ops::pool2d_backward(be, s, x.value().f32(), y.f32(), dy.f32(), grad_ptr(x));
  });
}
}  // namespace

Var max_pool2d(Tape& tape, const Var& x, const Pool2dOptions& o) { return pool(tape, x, o, ops::PoolKind::Max, "max_pool2d"); }
Var avg_pool2d(Tape& tape, const Var& x, const Pool2dOptions& o) { return pool(tape, x, o, ops::PoolKind::Avg, "avg_pool2d"); }

Var global_avg_pool(Tape& tape, const Var& x) {
  check_f32(x, "global_avg_pool", "input");
  const Tensor& xv = x.value();
  VIGIL_CHECK(xv.dim() == 4, "global_avg_pool: input must be (N, C, H, W), got ", xv.str());
  const int64_t n = xv.size(0), c = xv.size(1), hw = xv.size(2) * xv.size(3);
  VIGIL_CHECK(hw > 0, "global_avg_pool: empty spatial size in ", xv.str());
  const Backend be = tape.config().pick(xv, tape.config().pool);
  Tensor y = empty_like(xv, {n, c});
  ops::global_avg_pool_forward(be, n, c, hw, xv.f32(), y.f32());
  if (!tape.needs_grad({&x})) return Var(y);
  return tape.record("global_avg_pool", {x}, y, [x, n, c, hw, be](const Tensor& dy) {
    ops::global_avg_pool_backward(be, n, c, hw, dy.f32(), grad_ptr(x));
  });
}

Var dropout(Tape& tape, const Var& x, float p, bool training, uint64_t seed, uint64_t stream) {
  check_f32(x, "dropout", "input");
  VIGIL_CHECK(p >= 0.f && p < 1.f, "dropout: p must be in [0, 1), got ", p);
  if (!training || p == 0.f) return x;
  const Tensor& xv = x.value();
  const Backend be = tape.config().pick(xv, tape.config().dropout);
  const ops::DropoutParams params{p, seed, stream};
  const int64_t n = xv.numel();
  Tensor reserve = Tensor::empty({static_cast<int64_t>(ops::dropout_reserve_bytes(be, n))}, DType::U8, xv.device());
  Tensor y = empty_like(xv, xv.shape());
  ops::dropout_forward(be, params, n, xv.f32(), y.f32(), reserve.raw_data());
  if (!tape.needs_grad({&x})) return Var(y);
  return tape.record("dropout", {x}, y, [x, reserve, params, n, be](const Tensor& dy) {
    ops::dropout_backward(be, params, n, dy.f32(), reserve.raw_data(), grad_ptr(x));
  });
}

namespace {
Var softmax_like(Tape& tape, const Var& x, bool log) {
  const char* name = log ? "log_softmax" : "softmax";
  check_f32(x, name, "input");
  const Tensor& xv = x.value();
  VIGIL_CHECK(xv.dim() == 2, name, ": input must be (rows, cols), got ", xv.str());
  const int64_t rows = xv.size(0), cols = xv.size(1);
  const Backend be = tape.config().pick(xv, tape.config().softmax);
  Tensor y = empty_like(xv, xv.shape());
  if (log) ops::log_softmax_forward(be, rows, cols, xv.f32(), y.f32());
  else ops::softmax_forward(be, rows, cols, xv.f32(), y.f32());
  if (!tape.needs_grad({&x})) return Var(y);
  return tape.record(name, {x}, y, [x, y, rows, cols, log, be](const Tensor& dy) {
    if (log) ops::log_softmax_backward(be, rows, cols, y.f32(), dy.f32(), grad_ptr(x));
    else ops::softmax_backward(be, rows, cols, y.f32(), dy.f32(), grad_ptr(x));
  });
}
}  // namespace

Var softmax(Tape& tape, const Var& x) { return softmax_like(tape, x, false); }
Var log_softmax(Tape& tape, const Var& x) { return softmax_like(tape, x, true); }

Var cross_entropy(Tape& tape, const Var& logits, const Tensor& labels, const CrossEntropyOptions& o) {
  check_f32(logits, "cross_entropy", "logits");
  const Tensor& lv = logits.value();
  VIGIL_CHECK(lv.dim() == 2, "cross_entropy: logits must be (N, C), got ", lv.str());
  const int64_t rows = lv.size(0), cols = lv.size(1);
  VIGIL_CHECK(labels.dtype() == DType::I32 && labels.numel() == rows, "cross_entropy: labels ", labels.str(),
              " must be int32 (", rows, ")");
  {
    const Tensor host = labels.to(Device::cpu());
    const int32_t* l = host.data<int32_t>();
    for (int64_t i = 0; i < rows; ++i)
      VIGIL_CHECK(l[i] >= 0 && l[i] < cols, "cross_entropy: label ", l[i], " of row ", i, " is outside [0, ", cols, ")");
  }
  VIGIL_CHECK(o.label_smoothing >= 0.f && o.label_smoothing <= 1.f, "cross_entropy: label_smoothing must be in [0, 1]");
  Tensor weights;
  if (o.class_weights.defined()) {
    VIGIL_CHECK(o.class_weights.numel() == cols && o.class_weights.dtype() == DType::F32,
                "cross_entropy: class weights ", o.class_weights.str(), " for ", cols, " classes");
    weights = o.class_weights.to(lv.device());
  }
  const Tensor lab = labels.to(lv.device());
  const Backend be = tape.config().pick(lv, tape.config().other);
  ops::CrossEntropyParams params;
  params.label_smoothing = o.label_smoothing;
  params.class_weights = weights.defined() ? weights.f32() : nullptr;
  Tensor probs = empty_like(lv, lv.shape());
  Tensor loss = empty_like(lv, {1});
  ops::softmax_cross_entropy_forward(be, params, rows, cols, lv.f32(), lab.data<int32_t>(), probs.f32(), loss.f32());
  if (!tape.needs_grad({&logits})) return Var(loss);
  return tape.record("cross_entropy", {logits}, loss, [logits, probs, lab, weights, params, rows, cols, be](const Tensor& dy) {
    ops::softmax_cross_entropy_backward(be, params, rows, cols, probs.f32(), lab.data<int32_t>(), dy.item(),
                                        grad_ptr(logits));
  });
}

}  // namespace vigil::fn
