// DType sizes and names.
#include "nn/dtype.h"

#include "common/error.h"

namespace vigil {

size_t dtype_size(DType t) {
  switch (t) {
    case DType::F32: return 4;
    case DType::F16: return 2;
    case DType::BF16: return 2;
    case DType::U8: return 1;
    case DType::I32: return 4;
    case DType::I64: return 8;
  }
  return 0;
}

const char* dtype_name(DType t) {
  switch (t) {
    case DType::F32: return "float32";
    case DType::F16: return "float16";
    case DType::BF16: return "bfloat16";
    case DType::U8: return "uint8";
    case DType::I32: return "int32";
    case DType::I64: return "int64";
  }
  return "?";
}

const char* safetensors_dtype(DType t) {
  switch (t) {
    case DType::F32: return "F32";
    case DType::F16: return "F16";
    case DType::BF16: return "BF16";
    case DType::U8: return "U8";
    case DType::I32: return "I32";
    case DType::I64: return "I64";
  }
  return "?";
}

DType parse_dtype(const std::string& s) {
  for (DType t : {DType::F32, DType::F16, DType::BF16, DType::U8, DType::I32, DType::I64})
    if (s == dtype_name(t) || s == safetensors_dtype(t)) return t;
  VIGIL_FAIL("unknown dtype '", s, "' (expected F32, F16, BF16, U8, I32 or I64)");
}

}  // namespace vigil
