// cuDNN inverted dropout: a per-thread, per-device dropout descriptor whose RNG states are initialised
// (cudnnSetDropoutDescriptor, expensive) only when the seed changes; p changes use cudnnRestoreDropoutDescriptor.
#include "dropout/dropout_cudnn.h"

#include <map>

#include "common/cudnn_utils.h"
#include "common/device.h"
#include "dropout/dropout_cuda.h"

namespace vigil::ops::cudnn {
namespace {

using vigil::cudnn::DropoutDesc;
using vigil::cudnn::TensorDesc;

// One dropout descriptor and its RNG state buffer; `seeded` when the states hold cuDNN's generator for `seed`.
struct DropoutState {
  DropoutDesc desc;
  void* states = nullptr;
  size_t state_bytes = 0;
  bool seeded = false;
  bool configured = false;  // the descriptor has been set or restored at least once
  uint64_t seed = 0;
  float p = 0.f;
  ~DropoutState() {
    if (states) {
      try {
        device::free(states);
      } catch (...) {
      }
    }
  }
};

// The descriptor for this thread and device, configured for p. With `need_rng` (forward) the RNG states are
// initialised when they do not yet hold `seed`; the backward only needs p, so it never initialises them.
cudnnDropoutDescriptor_t prepared_descriptor(cudnnHandle_t handle, const DropoutParams& p, bool need_rng) {
  thread_local std::map<int, DropoutState> per_device;
  DropoutState& s = per_device[device::current_device()];
  if (!s.states) {
    VIGIL_CUDNN_CHECK(cudnnDropoutGetStatesSize(handle, &s.state_bytes));
    s.states = device::alloc(s.state_bytes);
  }
  if (need_rng && (!s.seeded || s.seed != p.seed)) {
    VIGIL_CUDNN_CHECK(cudnnSetDropoutDescriptor(s.desc, handle, p.p, s.states, s.state_bytes,
                                                static_cast<unsigned long long>(p.seed)));
    s.seeded = true;
    s.seed = p.seed;
  } else if (!s.configured || s.p != p.p) {
    VIGIL_CUDNN_CHECK(cudnnRestoreDropoutDescriptor(s.desc, handle, p.p, s.states, s.state_bytes,
                                                    static_cast<unsigned long long>(s.seed)));
  }
  s.configured = true;
  s.p = p.p;
  return s.desc;
}

// The n elements as a (1, 1, 1, n) float32 NCHW tensor.
TensorDesc vector_desc(int64_t n) { return vigil::cudnn::make_tensor_nchw(1, 1, 1, static_cast<int>(n)); }

}  // namespace

size_t dropout_reserve_bytes(int64_t n) {
  if (n == 0) return 0;
  TensorDesc d = vector_desc(n);
  size_t bytes = 0;
  VIGIL_CUDNN_CHECK(cudnnDropoutGetReserveSpaceSize(d, &bytes));
  return bytes;
}

void dropout_forward(const DropoutParams& p, int64_t n, const float* x, float* y, void* reserve) {
  if (n == 0) return;
  cudnnHandle_t h = vigil::cudnn::handle();
  cudnnDropoutDescriptor_t dd = prepared_descriptor(h, p, true);
  TensorDesc d = vector_desc(n);
  VIGIL_CUDNN_CHECK(cudnnDropoutForward(h, dd, d, x, d, y, reserve, dropout_reserve_bytes(n)));
}

void dropout_backward(const DropoutParams& p, int64_t n, const float* dy, const void* reserve, float* dx) {
  if (n == 0) return;
  cudnnHandle_t h = vigil::cudnn::handle();
  cudnnDropoutDescriptor_t dd = prepared_descriptor(h, p, false);
  TensorDesc d = vector_desc(n);
  float* tmp = static_cast<float*>(vigil::cudnn::workspace(static_cast<size_t>(n) * sizeof(float)));
  // cudnnDropoutBackward only reads the reserve space; its parameter is non-const in the C API.
  VIGIL_CUDNN_CHECK(cudnnDropoutBackward(h, dd, d, dy, d, tmp, const_cast<void*>(reserve), dropout_reserve_bytes(n)));
  cuda::dropout_accumulate(n, tmp, dx);
}

}  // namespace vigil::ops::cudnn
