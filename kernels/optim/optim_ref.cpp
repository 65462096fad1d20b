// Reference optimizer loops (float and double) over the shared per-element updates in optim/optim_update.h.
#include "optim/optim_ref.h"

#include "optim/optim_update.h"

namespace vigil::ops::ref {

template <typename T>
void sgd_step(const SgdParams& p, int64_t n, T* w, const T* g, T* momentum_buf, bool first_step) {
  const SgdScalars<T> s = sgd_scalars<T>(p, first_step);
  for (int64_t i = 0; i < n; ++i) sgd_update(s, w[i], g[i], s.has_momentum ? momentum_buf + i : nullptr);
}

template <typename T>
void adam_step(const AdamParams& p, int64_t n, T* w, const T* g, T* m, T* v) {
  const AdamScalars<T> s = adam_scalars<T>(p);
  for (int64_t i = 0; i < n; ++i) adam_update(s, w[i], g[i], m[i], v[i]);
}

template void sgd_step<float>(const SgdParams&, int64_t, float*, const float*, float*, bool);
template void sgd_step<double>(const SgdParams&, int64_t, double*, const double*, double*, bool);
template void adam_step<float>(const AdamParams&, int64_t, float*, const float*, float*, float*);
template void adam_step<double>(const AdamParams&, int64_t, double*, const double*, double*, double*);

}  // namespace vigil::ops::ref
