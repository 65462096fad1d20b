// Seeded weight initialisation (Kaiming / Xavier / PyTorch's default), reproducible from (seed, stream) via Philox.
#pragma once
#include <cstdint>
#include <string>

#include "nn/tensor.h"

namespace vigil {

enum class InitKind { KaimingNormal, KaimingUniform, XavierNormal, XavierUniform, TorchDefault, Zeros, Ones };

InitKind parse_init(const std::string& name);  // "kaiming_normal", "kaiming_uniform", "xavier_normal", ...
const char* init_name(InitKind k);

// Fills `t` (float32, any device) in place. fan_in/fan_out as PyTorch computes them for the weight;
// Kaiming uses gain sqrt(2) (ReLU) over fan_in; TorchDefault is U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
void init_tensor(Tensor& t, InitKind kind, int64_t fan_in, int64_t fan_out, uint64_t seed, uint64_t stream);

}  // namespace vigil
