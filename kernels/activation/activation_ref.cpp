// Reference ReLU/LeakyReLU loops (float and double), OpenMP-parallel so they double as the CPU path.
#include "activation/activation_ref.h"

#include "common/parallel.h"

namespace vigil::ops::ref {

namespace {
constexpr int64_t kChunk = 1 << 15;  // elements per parallel range
}

template <typename T>
void activation_forward(const ActivationParams& p, int64_t n, const T* x, T* y) {
  const T slope = p.kind == ActivationKind::Relu ? T(0) : static_cast<T>(p.negative_slope);
  cpu::parallel_for_ranges(n, kChunk, [x, y, slope](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const T v = x[i];
      y[i] = v > T(0) ? v : slope * v;
    }
  });
}

template <typename T>
void activation_backward(const ActivationParams& p, int64_t n, const T* x, const T* dy, T* dx) {
  const T slope = p.kind == ActivationKind::Relu ? T(0) : static_cast<T>(p.negative_slope);
  cpu::parallel_for_ranges(n, kChunk, [x, dy, dx, slope](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) dx[i] += x[i] > T(0) ? dy[i] : slope * dy[i];
  });
}

template void activation_forward<float>(const ActivationParams&, int64_t, const float*, float*);
template void activation_forward<double>(const ActivationParams&, int64_t, const double*, double*);
template void activation_backward<float>(const ActivationParams&, int64_t, const float*, const float*, float*);
template void activation_backward<double>(const ActivationParams&, int64_t, const double*, const double*, double*);

}  // namespace vigil::ops::ref
