// Reference inverted dropout: serial loops, one philox_uniform call per element (float and double).
#include "dropout/dropout_ref.h"

#include "common/rng.h"

namespace vigil::ops::ref {

float dropout_scale(float p) { return 1.0f / (1.0f - p); }

template <typename T>
void dropout_forward(const DropoutParams& p, int64_t n, const T* x, T* y, uint8_t* mask) {
  const T scale = static_cast<T>(dropout_scale(p.p));
  for (int64_t i = 0; i < n; ++i) {
    const bool keep = philox_uniform(p.seed, p.stream, static_cast<uint64_t>(i)) >= p.p;
    mask[i] = keep ? 1 : 0;
    y[i] = keep ? x[i] * scale : T(0);
  }
}

template <typename T>
void dropout_backward(const DropoutParams& p, int64_t n, const T* dy, const uint8_t* mask, T* dx) {
  const T scale = static_cast<T>(dropout_scale(p.p));
  for (int64_t i = 0; i < n; ++i) {
    if (mask[i]) dx[i] += dy[i] * scale;
  }
}

template void dropout_forward<float>(const DropoutParams&, int64_t, const float*, float*, uint8_t*);
template void dropout_forward<double>(const DropoutParams&, int64_t, const double*, double*, uint8_t*);
template void dropout_backward<float>(const DropoutParams&, int64_t, const float*, const uint8_t*, float*);
template void dropout_backward<double>(const DropoutParams&, int64_t, const double*, const uint8_t*, double*);

}  // namespace vigil::ops::ref
