// Running one test body on every backend: the backend list for parameterised tests, the run-time skip for
// backends this machine lacks, and Buf, which holds test data where a backend's kernels expect it.
#pragma once
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/backend.h"
#include "common/device.h"

namespace vigil::test {

// Reference is ground truth; the others are compared against it.
inline std::vector<Backend> compared_backends() { return {Backend::Cpu, Backend::Cuda, Backend::Cudnn}; }

inline std::string BackendParamName(const ::testing::TestParamInfo<Backend>& info) {
  return backend_name(info.param);
}

#define VIGIL_SKIP_IF_UNAVAILABLE(backend)                                                          \
  do {                                                                                              \
    if (!::vigil::backend_available(backend))                                                       \
      GTEST_SKIP() << ::vigil::backend_name(backend)                                                \
                   << " backend unavailable: " << ::vigil::backend_unavailable_reason(backend);     \
  } while (0)

// Test data on host (Reference/Cpu) or device (Cuda/Cudnn). Not for hot paths.
template <typename T = float>
class Buf {
 public:
  Buf(Backend b, const std::vector<T>& host) : backend_(b), n_(host.size()) {
    if (is_device_backend(b)) {
      dev_ = static_cast<T*>(device::alloc(n_ * sizeof(T)));
      device::copy_to_device(dev_, host.data(), n_ * sizeof(T));
    } else {
      host_ = host;
    }
  }
  Buf(Backend b, size_t n, T fill = T(0)) : Buf(b, std::vector<T>(n, fill)) {}
  ~Buf() {
    if (dev_) device::free(dev_);
  }
  Buf(const Buf&) = delete;
  Buf& operator=(const Buf&) = delete;

  T* data() { return dev_ ? dev_ : host_.data(); }
  const T* data() const { return dev_ ? dev_ : host_.data(); }
  size_t size() const { return n_; }
  std::vector<T> host() const {
    if (!dev_) return host_;
    std::vector<T> out(n_);
    device::copy_to_host(out.data(), dev_, n_ * sizeof(T));
    return out;
  }

 private:
  Backend backend_;
  size_t n_;
  std::vector<T> host_;
  T* dev_ = nullptr;
};

}  // namespace vigil::test

namespace vigil {
// Readable parameter values in gtest output.
inline void PrintTo(Backend b, std::ostream* os) { *os << backend_name(b); }
}  // namespace vigil
