// Tensor: an n-dimensional array (row-major, NCHW for images) of one DType on the CPU or a CUDA device,
// sharing reference-counted storage between views. Copies between devices are explicit (`to`).
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "nn/device_spec.h"
#include "nn/dtype.h"

namespace vigil {

using Shape = std::vector<int64_t>;
std::string shape_str(const Shape& s);  // "(2, 3, 4)"
int64_t shape_numel(const Shape& s);

// Raw bytes on one device; frees through the caching device allocator or aligned host free, or, for memory
// allocated elsewhere (a pinned host pool), through the `release` function it was given.
class Storage {
 public:
  Storage(size_t bytes, Device device);
  Storage(void* data, size_t bytes, Device device, std::function<void(void*)> release);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
  void* data() const { return data_; }
  size_t bytes() const { return bytes_; }
  const Device& device() const { return device_; }

 private:
  void* data_ = nullptr;
  size_t bytes_ = 0;
  Device device_;
  std::function<void(void*)> release_;  // empty: vigil's own allocation
};

class Tensor {
 public:
  Tensor() = default;  // undefined tensor: defined() is false

  static Tensor empty(const Shape& shape, DType dtype = DType::F32, Device device = Device::cpu());
  static Tensor zeros(const Shape& shape, DType dtype = DType::F32, Device device = Device::cpu());
  static Tensor full(const Shape& shape, float value, Device device = Device::cpu());  // float32
  static Tensor from_vector(const std::vector<float>& values, const Shape& shape, Device device = Device::cpu());
  static Tensor from_labels(const std::vector<int32_t>& labels, Device device = Device::cpu());  // int32 (N)
  // A contiguous tensor over `storage` (which must hold at least shape's bytes), e.g. memory from a pinned pool.
  static Tensor from_storage(std::shared_ptr<Storage> storage, const Shape& shape, DType dtype);

  bool defined() const { return storage_ != nullptr; }
  const Shape& shape() const { return shape_; }
  const Shape& strides() const { return strides_; }  // in elements
  int64_t dim() const { return static_cast<int64_t>(shape_.size()); }
  int64_t size(int64_t d) const;  // negative d counts from the end
  int64_t numel() const { return shape_numel(shape_); }
  size_t nbytes() const { return static_cast<size_t>(numel()) * dtype_size(dtype_); }
  DType dtype() const { return dtype_; }
  const Device& device() const { return device_; }
  bool is_cuda() const { return device_.is_cuda(); }
  bool is_contiguous() const;

  // Typed pointer to the first element; checks the dtype. Host or device pointer per device().
  template <typename T>
  T* data() const {
    check_dtype(dtype_of<T>());
    return static_cast<T*>(raw_data());
  }
  float* f32() const { return data<float>(); }
  uint16_t* data_u16() const;  // float16 or bfloat16 bits
  void* raw_data() const;

  // Views sharing storage.
  Tensor reshape(const Shape& shape) const;   // one dimension may be -1; requires contiguity
  Tensor flatten_from(int64_t dim) const;     // (N, C, H, W).flatten_from(1) -> (N, C*H*W)
  Tensor narrow0(int64_t start, int64_t length) const;  // rows [start, start+length) of dim 0

  // Copies.
  Tensor to(Device device) const;   // same tensor if already there
  Tensor to(DType dtype) const;     // value conversion (float16/bfloat16 round to nearest even)
  Tensor clone() const;
  void copy_from(const Tensor& src);  // same shape and dtype, any devices
  void zero_();

  std::vector<float> to_vector() const;     // float32 values, copied to the host
  float item() const;                       // the single float32 value

  std::string str() const;  // "Tensor(float32, (2, 3), cpu)"

 private:
  void check_dtype(DType want) const;
  std::shared_ptr<Storage> storage_;
  int64_t offset_ = 0;  // in elements
  Shape shape_, strides_;
  DType dtype_ = DType::F32;
  Device device_;
};

}  // namespace vigil
