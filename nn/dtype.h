// Element types a tensor can store: float32 for compute; float16/bfloat16 storage (mixed precision later);
// uint8 images; int32 labels; int64 (PyTorch's num_batches_tracked).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace vigil {

enum class DType { F32, F16, BF16, U8, I32, I64 };

size_t dtype_size(DType t);
const char* dtype_name(DType t);      // "float32", "float16", ...
DType parse_dtype(const std::string& s);  // accepts the names above and safetensors' "F32", "F16", "BF16", "U8", "I32", "I64"
const char* safetensors_dtype(DType t);   // "F32", ...

template <typename T>
constexpr DType dtype_of();
template <> constexpr DType dtype_of<float>() { return DType::F32; }
template <> constexpr DType dtype_of<uint8_t>() { return DType::U8; }
template <> constexpr DType dtype_of<int32_t>() { return DType::I32; }
template <> constexpr DType dtype_of<int64_t>() { return DType::I64; }

}  // namespace vigil
