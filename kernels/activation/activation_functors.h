// The activation kinds as value/gradient functors, shared by the fast CPU path (activation_cpu.cpp) and the CUDA
// kernels (activation_cuda.cu): value(x) = f(x), grad(x, dy) = f'(x) * dy with PyTorch's choices at the kinks,
// written as selects so CPU loops stay branch-free. `Math::sigmoid` is each path's own (a vectorisable exp on the
// CPU, IEEE expf on a GPU); everything else is the same code on both.
#pragma once
#include "activation/activation.h"
#include "common/error.h"
#include "common/hd.h"

namespace vigil::ops::activation_functors {

VIGIL_HD float relu6(float x) { return x < 0.f ? 0.f : (x > 6.f ? 6.f : x); }

struct LeakyOp {  // Relu uses slope 0
  float slope;
  VIGIL_HD float value(float x) const { return x > 0.f ? x : slope * x; }
  VIGIL_HD float grad(float x, float dy) const { return x > 0.f ? dy : slope * dy; }
};
struct Relu6Op {
  VIGIL_HD float value(float x) const { return relu6(x); }
  VIGIL_HD float grad(float x, float dy) const { return x > 0.f && x < 6.f ? dy : 0.f; }
};
struct HardSwishOp {
  VIGIL_HD float value(float x) const { return x * relu6(x + 3.f) / 6.f; }
  VIGIL_HD float grad(float x, float dy) const {
    const float inner = dy * (x / 3.f + 0.5f);
    return x < -3.f ? 0.f : (x <= 3.f ? inner : dy);
  }
};
struct HardSigmoidOp {
  VIGIL_HD float value(float x) const { return relu6(x + 3.f) / 6.f; }
  VIGIL_HD float grad(float x, float dy) const { return x > -3.f && x < 3.f ? dy / 6.f : 0.f; }
};
template <typename Math>
struct SigmoidOp {
  VIGIL_HD float value(float x) const { return Math::sigmoid(x); }
  VIGIL_HD float grad(float x, float dy) const {
    const float s = Math::sigmoid(x);
    return dy * (s * (1.f - s));
  }
};
template <typename Math>
struct SiluOp {
  VIGIL_HD float value(float x) const { return x * Math::sigmoid(x); }
  VIGIL_HD float grad(float x, float dy) const {
    const float s = Math::sigmoid(x);
    return dy * (s * (1.f + x * (1.f - s)));
  }
};

// Calls fn(op) with the functor for p.kind (host code: the functor is then passed to a loop or a kernel).
template <typename Math, typename Fn>
void with_op(const ActivationParams& p, Fn&& fn) {
  switch (p.kind) {
    case ActivationKind::Relu: return fn(LeakyOp{0.f});
    case ActivationKind::LeakyRelu: return fn(LeakyOp{p.negative_slope});
    case ActivationKind::Relu6: return fn(Relu6Op{});
    case ActivationKind::HardSwish: return fn(HardSwishOp{});
    case ActivationKind::Silu: return fn(SiluOp<Math>{});
    case ActivationKind::Sigmoid: return fn(SigmoidOp<Math>{});
    case ActivationKind::HardSigmoid: return fn(HardSigmoidOp{});
  }
  VIGIL_FAIL("activation: unknown kind ", static_cast<int>(p.kind));
}

}  // namespace vigil::ops::activation_functors
