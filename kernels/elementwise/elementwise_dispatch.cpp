// Backend dispatch for the element-wise ops; no cuDNN path (the Cudnn backend uses the hand-written kernels).
#include <initializer_list>

#include "common/error.h"
#include "elementwise/elementwise.h"
#include "elementwise/elementwise_cpu.h"
#include "elementwise/elementwise_ref.h"
#if VIGIL_WITH_CUDA
#include "elementwise/elementwise_cuda.h"
#endif

namespace vigil::ops {
namespace {

// ON_DEVICE(call) is the Cuda/Cudnn branch: the call itself in a CUDA build, nothing otherwise.
#if VIGIL_WITH_CUDA
#define ON_DEVICE(call) [&] { call; }
#else
#define ON_DEVICE(call) [] {}
#endif

// Runs `ref` on Reference, `cpu` on Cpu, `dev` on Cuda/Cudnn; a backend this build lacks throws.
template <typename Ref, typename Cpu, typename Dev>
void run(const char* op, Backend backend, const Ref& ref, const Cpu& cpu, const Dev& dev) {
  switch (backend) {
    case Backend::Reference: return ref();
    case Backend::Cpu: return cpu();
    case Backend::Cuda:
    case Backend::Cudnn:
#if VIGIL_WITH_CUDA
      return dev();
#endif
      break;
  }
  (void)dev;
  require_backend(backend);
  VIGIL_FAIL(op, ": no implementation for backend ", backend_name(backend));
}

// n >= 0, and every listed array is non-null unless n == 0.
void check_n(const char* op, int64_t n, std::initializer_list<const void*> arrays) {
  VIGIL_CHECK(n >= 0, op, ": n must be >= 0, got ", n);
  if (n == 0) return;
  for (const void* p : arrays) VIGIL_CHECK(p != nullptr, op, ": null array pointer for n = ", n);
}

void check_channels(const char* op, int64_t n, int64_t c, int64_t hw, const void* bias_or_out, const void* x) {
  VIGIL_CHECK(n >= 0 && c >= 0 && hw >= 0, op, ": N, C, HW must be >= 0, got (", n, ", ", c, ", ", hw, ")");
  VIGIL_CHECK(c == 0 || bias_or_out != nullptr, op, ": null per-channel pointer for C = ", c);
  VIGIL_CHECK(n * c * hw == 0 || x != nullptr, op, ": null x for (", n, ", ", c, ", ", hw, ")");
}

}  // namespace

void fill(Backend b, int64_t n, float value, float* y) {
  check_n("fill", n, {y});
  run("fill", b, [&] { ref::fill(n, value, y); }, [&] { cpu::fill(n, value, y); }, ON_DEVICE(cuda::fill(n, value, y)));
}

void copy(Backend b, int64_t n, const float* x, float* y) {
  check_n("copy", n, {x, y});
  run("copy", b, [&] { ref::copy(n, x, y); }, [&] { cpu::copy(n, x, y); }, ON_DEVICE(cuda::copy(n, x, y)));
}

void add(Backend b, int64_t n, const float* a, const float* bb, float* y) {
  check_n("add", n, {a, bb, y});
  run("add", b, [&] { ref::add(n, a, bb, y); }, [&] { cpu::add(n, a, bb, y); }, ON_DEVICE(cuda::add(n, a, bb, y)));
}

void mul(Backend b, int64_t n, const float* a, const float* bb, float* y) {
  check_n("mul", n, {a, bb, y});
  run("mul", b, [&] { ref::mul(n, a, bb, y); }, [&] { cpu::mul(n, a, bb, y); }, ON_DEVICE(cuda::mul(n, a, bb, y)));
}

void scale(Backend b, int64_t n, float alpha, const float* x, float* y) {
  check_n("scale", n, {x, y});
  run("scale", b, [&] { ref::scale(n, alpha, x, y); }, [&] { cpu::scale(n, alpha, x, y); },
      ON_DEVICE(cuda::scale(n, alpha, x, y)));
}

void axpy(Backend b, int64_t n, float alpha, const float* x, float* y) {
  check_n("axpy", n, {x, y});
  run("axpy", b, [&] { ref::axpy(n, alpha, x, y); }, [&] { cpu::axpy(n, alpha, x, y); },
      ON_DEVICE(cuda::axpy(n, alpha, x, y)));
}

void mul_backward(Backend b, int64_t n, const float* a, const float* bb, const float* dy, float* da, float* db) {
  check_n("mul_backward", n, {dy});
  VIGIL_CHECK(n == 0 || ((!da || bb) && (!db || a)), "mul_backward: da needs b and db needs a");
  run("mul_backward", b, [&] { ref::mul_backward(n, a, bb, dy, da, db); },
      [&] { cpu::mul_backward(n, a, bb, dy, da, db); }, ON_DEVICE(cuda::mul_backward(n, a, bb, dy, da, db)));
}

void sum(Backend b, int64_t n, const float* x, float* out) {
  check_n("sum", n, {x});
  VIGIL_CHECK(out != nullptr, "sum: null out");
  run("sum", b, [&] { ref::sum(n, x, out); }, [&] { cpu::sum(n, x, out); }, ON_DEVICE(cuda::sum(n, x, out)));
}

void sum_squares(Backend b, int64_t n, const float* x, float* out) {
  check_n("sum_squares", n, {x});
  VIGIL_CHECK(out != nullptr, "sum_squares: null out");
  run("sum_squares", b, [&] { ref::sum_squares(n, x, out); }, [&] { cpu::sum_squares(n, x, out); },
      ON_DEVICE(cuda::sum_squares(n, x, out)));
}

void add_channel_bias(Backend b, int64_t n, int64_t c, int64_t hw, const float* bias, float* x) {
  check_channels("add_channel_bias", n, c, hw, bias, x);
  run("add_channel_bias", b, [&] { ref::add_channel_bias(n, c, hw, bias, x); },
      [&] { cpu::add_channel_bias(n, c, hw, bias, x); }, ON_DEVICE(cuda::add_channel_bias(n, c, hw, bias, x)));
}

void channel_sum(Backend b, int64_t n, int64_t c, int64_t hw, const float* x, float* out) {
  check_channels("channel_sum", n, c, hw, out, x);
  run("channel_sum", b, [&] { ref::channel_sum(n, c, hw, x, out); }, [&] { cpu::channel_sum(n, c, hw, x, out); },
      ON_DEVICE(cuda::channel_sum(n, c, hw, x, out)));
}

void float_to_half(Backend b, int64_t n, const float* x, uint16_t* y) {
  check_n("float_to_half", n, {x, y});
  run("float_to_half", b, [&] { ref::float_to_half(n, x, y); }, [&] { cpu::float_to_half(n, x, y); },
      ON_DEVICE(cuda::float_to_half(n, x, y)));
}

void half_to_float(Backend b, int64_t n, const uint16_t* x, float* y) {
  check_n("half_to_float", n, {x, y});
  run("half_to_float", b, [&] { ref::half_to_float(n, x, y); }, [&] { cpu::half_to_float(n, x, y); },
      ON_DEVICE(cuda::half_to_float(n, x, y)));
}

void float_to_bfloat16(Backend b, int64_t n, const float* x, uint16_t* y) {
  check_n("float_to_bfloat16", n, {x, y});
  run("float_to_bfloat16", b, [&] { ref::float_to_bfloat16(n, x, y); }, [&] { cpu::float_to_bfloat16(n, x, y); },
      ON_DEVICE(cuda::float_to_bfloat16(n, x, y)));
}

void bfloat16_to_float(Backend b, int64_t n, const uint16_t* x, float* y) {
  check_n("bfloat16_to_float", n, {x, y});
  run("bfloat16_to_float", b, [&] { ref::bfloat16_to_float(n, x, y); }, [&] { cpu::bfloat16_to_float(n, x, y); },
      ON_DEVICE(cuda::bfloat16_to_float(n, x, y)));
}

#undef ON_DEVICE

}  // namespace vigil::ops
