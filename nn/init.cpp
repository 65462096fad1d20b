// Weight initialisers drawing from the shared Philox generator.
#include "nn/init.h"

#include <cmath>
#include <vector>

#include "common/error.h"
#include "common/rng.h"

namespace vigil {

InitKind parse_init(const std::string& name) {
  for (InitKind k : {InitKind::KaimingNormal, InitKind::KaimingUniform, InitKind::XavierNormal,
                     InitKind::XavierUniform, InitKind::TorchDefault, InitKind::Zeros, InitKind::Ones})
    if (name == init_name(k)) return k;
  VIGIL_FAIL("unknown init '", name,
             "' (expected kaiming_normal, kaiming_uniform, xavier_normal, xavier_uniform, torch_default, zeros, ones)");
}

const char* init_name(InitKind k) {
  switch (k) {
    case InitKind::KaimingNormal: return "kaiming_normal";
    case InitKind::KaimingUniform: return "kaiming_uniform";
    case InitKind::XavierNormal: return "xavier_normal";
    case InitKind::XavierUniform: return "xavier_uniform";
    case InitKind::TorchDefault: return "torch_default";
    case InitKind::Zeros: return "zeros";
    case InitKind::Ones: return "ones";
  }
  return "?";
}

void init_tensor(Tensor& t, InitKind kind, int64_t fan_in, int64_t fan_out, uint64_t seed, uint64_t stream) {
  VIGIL_CHECK(t.dtype() == DType::F32, "init of non-float tensor ", t.str());
  const int64_t n = t.numel();
  std::vector<float> v(static_cast<size_t>(n));
  fan_in = std::max<int64_t>(fan_in, 1);
  fan_out = std::max<int64_t>(fan_out, 1);
  auto uniform = [&](int64_t i) { return philox_uniform(seed, stream, static_cast<uint64_t>(i)); };
  // Box-Muller on pairs of uniforms (2i, 2i+1); 1 - u keeps log() away from 0.
  auto normal = [&](int64_t i) {
    const double u1 = 1.0 - philox_uniform(seed, stream, 2 * static_cast<uint64_t>(i));
    const double u2 = philox_uniform(seed, stream, 2 * static_cast<uint64_t>(i) + 1);
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
  };
  double bound = 0, stddev = 0;
  switch (kind) {
    case InitKind::KaimingNormal: stddev = std::sqrt(2.0 / fan_in); break;
    case InitKind::KaimingUniform: bound = std::sqrt(6.0 / fan_in); break;
    case InitKind::XavierNormal: stddev = std::sqrt(2.0 / (fan_in + fan_out)); break;
    case InitKind::XavierUniform: bound = std::sqrt(6.0 / (fan_in + fan_out)); break;
    case InitKind::TorchDefault: bound = 1.0 / std::sqrt(static_cast<double>(fan_in)); break;
    case InitKind::Zeros:
    case InitKind::Ones: break;
  }
  for (int64_t i = 0; i < n; ++i) {
    switch (kind) {
      case InitKind::KaimingNormal:
      case InitKind::XavierNormal: v[i] = static_cast<float>(stddev * normal(i)); break;
      case InitKind::KaimingUniform:
      case InitKind::XavierUniform:
      case InitKind::TorchDefault: v[i] = static_cast<float>((2.0 * uniform(i) - 1.0) * bound); break;
      case InitKind::Zeros: v[i] = 0.f; break;
      case InitKind::Ones: v[i] = 1.f; break;
    }
  }
  t.copy_from(Tensor::from_vector(v, t.shape()));
}

}  // namespace vigil
