// Differentiable ops over Vars: each runs the kernel dispatcher for the tensor's device and records its backward
// on the tape. Shapes follow PyTorch (NCHW images, (N, features) matrices).
#pragma once
#include <cstdint>

#include "activation/activation.h"
#include "nn/autograd.h"

namespace vigil::fn {

// Element-wise.
Var relu(Tape& tape, const Var& x);
Var leaky_relu(Tape& tape, const Var& x, float negative_slope);
// Any pointwise activation of kernels/activation (ReLU6, hard-swish, SiLU, sigmoid, hard-sigmoid, ...).
Var activation(Tape& tape, const Var& x, const ops::ActivationParams& p);
Var add(Tape& tape, const Var& a, const Var& b);  // same shapes (residual connections)
Var mul(Tape& tape, const Var& a, const Var& b);  // same shapes
Var scale(Tape& tape, const Var& x, float alpha);
Var sum(Tape& tape, const Var& x);                // -> (1,)

// Views.
Var reshape(Tape& tape, const Var& x, const Shape& shape);
Var flatten(Tape& tape, const Var& x);  // (N, ...) -> (N, prod(...))

// Zero padding of (N, C, H, W) to (N, C, top + H + bottom, left + W + right), each side separately (TensorFlow
// "SAME" convolutions pad one more row/column at the bottom/right).
struct Pad2dOptions {
  int top = 0, bottom = 0, left = 0, right = 0;
};
Var pad2d(Tape& tape, const Var& x, const Pad2dOptions& o);

struct Conv2dOptions {
  int stride_h = 1, stride_w = 1, pad_h = 0, pad_w = 0, dil_h = 1, dil_w = 1, groups = 1;
};
// x (N, Cin, H, W), weight (Cout, Cin/groups, KH, KW), bias (Cout) or undefined -> (N, Cout, OH, OW).
Var conv2d(Tape& tape, const Var& x, const Var& weight, const Var& bias, const Conv2dOptions& o);

// x (N, in), weight (out, in), bias (out) or undefined -> (N, out).
Var linear(Tape& tape, const Var& x, const Var& weight, const Var& bias);

struct BatchNormOptions {
  bool training = true;
  float momentum = 0.1f;
  float eps = 1e-5f;
};
// x (N, C, H, W) or (N, C); gamma, beta (C); running_mean/var (C) are updated in training mode.
Var batch_norm(Tape& tape, const Var& x, const Var& gamma, const Var& beta, Tensor& running_mean,
               Tensor& running_var, const BatchNormOptions& o);

struct Pool2dOptions {
  int kernel_h = 2, kernel_w = 2, stride_h = 2, stride_w = 2, pad_h = 0, pad_w = 0;
  bool count_include_pad = true;  // average pooling only
};
Var max_pool2d(Tape& tape, const Var& x, const Pool2dOptions& o);
Var avg_pool2d(Tape& tape, const Var& x, const Pool2dOptions& o);
Var global_avg_pool(Tape& tape, const Var& x);  // (N, C, H, W) -> (N, C)

// Inverted dropout; identity when !training or p == 0. (seed, stream) select the Philox mask.
Var dropout(Tape& tape, const Var& x, float p, bool training, uint64_t seed, uint64_t stream);

// Along the last dimension of a 2-D (rows, cols) input.
Var softmax(Tape& tape, const Var& x);
Var log_softmax(Tape& tape, const Var& x);

struct CrossEntropyOptions {
  float label_smoothing = 0.f;
  Tensor class_weights;  // (C) float32 or undefined
};
// Mean softmax cross-entropy of logits (N, C) against int32 labels (N) -> (1,). Labels are validated here.
Var cross_entropy(Tape& tape, const Var& logits, const Tensor& labels, const CrossEntropyOptions& o = {});

}  // namespace vigil::fn
