// Tensor construction, views, device/dtype copies.
#include "nn/tensor.h"

#include <cstdlib>
#include <cstring>
#include <sstream>

#include "common/device.h"
#include "common/error.h"
#include "elementwise/elementwise.h"

namespace vigil {

std::string shape_str(const Shape& s) {
  std::ostringstream os;
  os << "(";
  for (size_t i = 0; i < s.size(); ++i) os << (i ? ", " : "") << s[i];
  os << (s.size() == 1 ? ",)" : ")");
  return os.str();
}

int64_t shape_numel(const Shape& s) {
  int64_t n = 1;
  for (int64_t d : s) n *= d;
  return n;
}

namespace {
constexpr size_t kHostAlign = 64;

Shape contiguous_strides(const Shape& shape) {
  Shape st(shape.size());
  int64_t s = 1;
  for (size_t i = shape.size(); i-- > 0;) {
    st[i] = s;
    s *= shape[i];
  }
  return st;
}
}  // namespace

Storage::Storage(size_t bytes, Device device) : bytes_(bytes), device_(device) {
  if (bytes == 0) return;
  if (device.is_cuda()) {
    device::set_device(device.index);
    data_ = device::alloc(bytes);
  } else {
    data_ = std::aligned_alloc(kHostAlign, (bytes + kHostAlign - 1) / kHostAlign * kHostAlign);
    VIGIL_CHECK(data_ != nullptr, "host allocation of ", bytes, " bytes failed");
  }
}

Storage::Storage(void* data, size_t bytes, Device device, std::function<void(void*)> release)
    : data_(data), bytes_(bytes), device_(device), release_(std::move(release)) {
  VIGIL_CHECK(release_ != nullptr, "external storage needs a release function");
}

Storage::~Storage() {
  if (!data_) return;
  if (release_) {
    release_(data_);
    return;
  }
  if (device_.is_cuda()) {
    try {
      device::free(data_);
    } catch (...) {
    }
  } else {
    std::free(data_);
  }
}

Tensor Tensor::empty(const Shape& shape, DType dtype, Device device) {
  for (int64_t d : shape) VIGIL_CHECK(d >= 0, "negative dimension in shape ", shape_str(shape));
  Tensor t;
  t.shape_ = shape;
  t.strides_ = contiguous_strides(shape);
  t.dtype_ = dtype;
  t.device_ = device;
  t.storage_ = std::make_shared<Storage>(static_cast<size_t>(shape_numel(shape)) * dtype_size(dtype), device);
  return t;
}

Tensor Tensor::from_storage(std::shared_ptr<Storage> storage, const Shape& shape, DType dtype) {
  for (int64_t d : shape) VIGIL_CHECK(d >= 0, "negative dimension in shape ", shape_str(shape));
  VIGIL_CHECK(storage != nullptr, "from_storage: no storage");
  const size_t bytes = static_cast<size_t>(shape_numel(shape)) * dtype_size(dtype);
  VIGIL_CHECK(bytes <= storage->bytes(), "from_storage: shape ", shape_str(shape), " needs ", bytes,
              " bytes, the storage holds ", storage->bytes());
  Tensor t;
  t.shape_ = shape;
  t.strides_ = contiguous_strides(shape);
  t.dtype_ = dtype;
  t.device_ = storage->device();
  t.storage_ = std::move(storage);
  return t;
}

Tensor Tensor::zeros(const Shape& shape, DType dtype, Device device) {
  Tensor t = empty(shape, dtype, device);
  t.zero_();
  return t;
}

Tensor Tensor::full(const Shape& shape, float value, Device device) {
  Tensor t = empty(shape, DType::F32, Device::cpu());
  float* p = t.f32();
  for (int64_t i = 0; i < t.numel(); ++i) p[i] = value;
  return t.to(device);
}

Tensor Tensor::from_vector(const std::vector<float>& values, const Shape& shape, Device device) {
  VIGIL_CHECK(static_cast<int64_t>(values.size()) == shape_numel(shape), "from_vector: ", values.size(),
              " values for shape ", shape_str(shape));
  Tensor t = empty(shape, DType::F32, Device::cpu());
  std::memcpy(t.raw_data(), values.data(), values.size() * sizeof(float));
  return t.to(device);
}

Tensor Tensor::from_labels(const std::vector<int32_t>& labels, Device device) {
  Tensor t = empty({static_cast<int64_t>(labels.size())}, DType::I32, Device::cpu());
  std::memcpy(t.raw_data(), labels.data(), labels.size() * sizeof(int32_t));
  return t.to(device);
}

int64_t Tensor::size(int64_t d) const {
  if (d < 0) d += dim();
  VIGIL_CHECK(d >= 0 && d < dim(), "dimension ", d, " out of range for shape ", shape_str(shape_));
  return shape_[d];
}

bool Tensor::is_contiguous() const { return strides_ == contiguous_strides(shape_); }

void* Tensor::raw_data() const {
  VIGIL_CHECK(defined(), "use of an undefined tensor");
  return static_cast<char*>(storage_->data()) + offset_ * static_cast<int64_t>(dtype_size(dtype_));
}

uint16_t* Tensor::data_u16() const {
  VIGIL_CHECK(dtype_ == DType::F16 || dtype_ == DType::BF16, "tensor ", str(), " accessed as 16-bit float");
  return static_cast<uint16_t*>(raw_data());
}

void Tensor::check_dtype(DType want) const {
  VIGIL_CHECK(dtype_ == want, "tensor ", str(), " accessed as ", dtype_name(want));
}

Tensor Tensor::reshape(const Shape& shape) const {
  VIGIL_CHECK(is_contiguous(), "reshape of a non-contiguous tensor ", str());
  Shape s = shape;
  int64_t known = 1, infer = -1;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == -1) {
      VIGIL_CHECK(infer < 0, "reshape: more than one -1 in ", shape_str(shape));
      infer = static_cast<int64_t>(i);
    } else {
      VIGIL_CHECK(s[i] >= 0, "reshape: bad dimension in ", shape_str(shape));
      known *= s[i];
    }
  }
  if (infer >= 0) {
    VIGIL_CHECK(known > 0 && numel() % known == 0, "reshape: cannot infer -1 in ", shape_str(shape), " from ", str());
    s[infer] = numel() / known;
  }
  VIGIL_CHECK(shape_numel(s) == numel(), "reshape: ", str(), " has ", numel(), " elements, ", shape_str(s), " needs ",
              shape_numel(s));
  Tensor t = *this;
  t.shape_ = s;
  t.strides_ = contiguous_strides(s);
  return t;
}

Tensor Tensor::flatten_from(int64_t d) const {
  VIGIL_CHECK(d >= 0 && d < dim(), "flatten_from(", d, ") on ", str());
  Shape s(shape_.begin(), shape_.begin() + d);
  s.push_back(-1);
  return reshape(s);
}

Tensor Tensor::narrow0(int64_t start, int64_t length) const {
  VIGIL_CHECK(dim() >= 1 && start >= 0 && length >= 0 && start + length <= shape_[0], "narrow0(", start, ", ",
              length, ") on ", str());
  Tensor t = *this;
  t.shape_[0] = length;
  t.offset_ += start * (dim() > 0 ? strides_[0] : 1);
  return t;
}

void Tensor::copy_from(const Tensor& src) {
  VIGIL_CHECK(src.shape_ == shape_ && src.dtype_ == dtype_, "copy_from: ", src.str(), " into ", str());
  VIGIL_CHECK(is_contiguous() && src.is_contiguous(), "copy_from needs contiguous tensors");
  const size_t bytes = nbytes();
  if (bytes == 0) return;
  if (!is_cuda() && !src.is_cuda()) {
    std::memcpy(raw_data(), src.raw_data(), bytes);
  } else if (is_cuda() && !src.is_cuda()) {
    device::set_device(device_.index);
    device::copy_to_device(raw_data(), src.raw_data(), bytes);
  } else if (!is_cuda() && src.is_cuda()) {
    device::set_device(src.device_.index);
    device::copy_to_host(raw_data(), src.raw_data(), bytes);
  } else if (device_ == src.device_) {
    device::set_device(device_.index);
    device::copy_on_device(raw_data(), src.raw_data(), bytes);
  } else {
    copy_from(src.to(Device::cpu()));
  }
}

Tensor Tensor::to(Device device) const {
  if (device == device_) return *this;
  Tensor t = empty(shape_, dtype_, device);
  t.copy_from(*this);
  return t;
}

Tensor Tensor::clone() const {
  Tensor t = empty(shape_, dtype_, device_);
  t.copy_from(*this);
  return t;
}

void Tensor::zero_() {
  VIGIL_CHECK(is_contiguous(), "zero_ needs a contiguous tensor");
  if (nbytes() == 0) return;
  if (is_cuda()) {
    device::set_device(device_.index);
    device::fill_zero(raw_data(), nbytes());
  } else {
    std::memset(raw_data(), 0, nbytes());
  }
}

namespace {
// Host-side conversion of one contiguous buffer between any two dtypes, through float32 or int64.
template <typename From, typename To>
void convert_loop(const void* src, void* dst, int64_t n) {
  const From* s = static_cast<const From*>(src);
  To* d = static_cast<To*>(dst);
  for (int64_t i = 0; i < n; ++i) d[i] = static_cast<To>(s[i]);
}

std::vector<float> host_to_float(const Tensor& t) {
  const int64_t n = t.numel();
  std::vector<float> out(n);
  switch (t.dtype()) {
    case DType::F32: std::memcpy(out.data(), t.raw_data(), n * sizeof(float)); break;
    case DType::F16: ops::half_to_float(Backend::Cpu, n, static_cast<const uint16_t*>(t.raw_data()), out.data()); break;
    case DType::BF16:
      ops::bfloat16_to_float(Backend::Cpu, n, static_cast<const uint16_t*>(t.raw_data()), out.data());
      break;
    case DType::U8: convert_loop<uint8_t, float>(t.raw_data(), out.data(), n); break;
    case DType::I32: convert_loop<int32_t, float>(t.raw_data(), out.data(), n); break;
    case DType::I64: convert_loop<int64_t, float>(t.raw_data(), out.data(), n); break;
  }
  return out;
}
}  // namespace

Tensor Tensor::to(DType dtype) const {
  if (dtype == dtype_) return *this;
  VIGIL_CHECK(is_contiguous(), "dtype conversion needs a contiguous tensor");
  const int64_t n = numel();
  // float32 <-> float16/bfloat16 on the tensor's own device; everything else on the host.
  const bool f32_half = (dtype_ == DType::F32 && (dtype == DType::F16 || dtype == DType::BF16)) ||
                        (dtype == DType::F32 && (dtype_ == DType::F16 || dtype_ == DType::BF16));
  if (f32_half) {
    Tensor out = empty(shape_, dtype, device_);
    const Backend b = is_cuda() ? Backend::Cuda : Backend::Cpu;
    if (is_cuda()) device::set_device(device_.index);
    if (dtype == DType::F16) ops::float_to_half(b, n, f32(), out.data_u16());
    else if (dtype == DType::BF16) ops::float_to_bfloat16(b, n, f32(), out.data_u16());
    else if (dtype_ == DType::F16) ops::half_to_float(b, n, data_u16(), out.f32());
    else ops::bfloat16_to_float(b, n, data_u16(), out.f32());
    return out;
  }
  const Tensor host = to(Device::cpu());
  Tensor out = empty(shape_, dtype, Device::cpu());
  if (dtype_ == DType::I64 && dtype == DType::I32) {
    convert_loop<int64_t, int32_t>(host.raw_data(), out.raw_data(), n);
  } else if (dtype_ == DType::I32 && dtype == DType::I64) {
    convert_loop<int32_t, int64_t>(host.raw_data(), out.raw_data(), n);
  } else {
    const std::vector<float> f = host_to_float(host);
    switch (dtype) {
      case DType::F32: std::memcpy(out.raw_data(), f.data(), n * sizeof(float)); break;
      case DType::F16: ops::float_to_half(Backend::Cpu, n, f.data(), out.data_u16()); break;
      case DType::BF16: ops::float_to_bfloat16(Backend::Cpu, n, f.data(), out.data_u16()); break;
      case DType::U8: convert_loop<float, uint8_t>(f.data(), out.raw_data(), n); break;
      case DType::I32: convert_loop<float, int32_t>(f.data(), out.raw_data(), n); break;
      case DType::I64: convert_loop<float, int64_t>(f.data(), out.raw_data(), n); break;
    }
  }
  return out.to(device_);
}

std::vector<float> Tensor::to_vector() const {
  VIGIL_CHECK(is_contiguous(), "to_vector needs a contiguous tensor");
  return host_to_float(to(Device::cpu()));
}

float Tensor::item() const {
  VIGIL_CHECK(numel() == 1, "item() on ", str(), " which has ", numel(), " elements");
  return to_vector()[0];
}

std::string Tensor::str() const {
  if (!defined()) return "Tensor(undefined)";
  return std::string("Tensor(") + dtype_name(dtype_) + ", " + shape_str(shape_) + ", " + device_.str() + ")";
}

}  // namespace vigil
