// Conv2dShape arithmetic and validation, algorithm choice, and backend dispatch for conv2d.
#include <sstream>

#include "common/error.h"
#include "conv2d/conv2d.h"
#include "conv2d/conv2d_cpu.h"
#include "conv2d/conv2d_ref.h"
#if VIGIL_WITH_CUDA
#include "conv2d/conv2d_cuda.h"
#endif
#if VIGIL_WITH_CUDNN
#include "conv2d/conv2d_cudnn.h"
#endif

namespace vigil::ops {
namespace {

int out_size(int in, int k, int stride, int pad, int dil) {
  return static_cast<int>((int64_t(in) + 2 * int64_t(pad) - int64_t(dil) * (k - 1) - 1) / stride + 1);
}

// Floor division as PyTorch does it: an input smaller than the dilated kernel gives a size below 1.
int out_size_checked(int in, int k, int stride, int pad, int dil) {
  const int64_t span = int64_t(in) + 2 * int64_t(pad) - int64_t(dil) * (k - 1) - 1;
  return span < 0 ? 0 : out_size(in, k, stride, pad, dil);
}

}  // namespace

int Conv2dShape::out_h() const { return out_size_checked(h, kh, stride_h, pad_h, dil_h); }
int Conv2dShape::out_w() const { return out_size_checked(w, kw, stride_w, pad_w, dil_w); }

void Conv2dShape::validate() const {
  VIGIL_CHECK(n > 0 && c_in > 0 && h > 0 && w > 0 && c_out > 0 && kh > 0 && kw > 0,
              "conv2d: sizes must be positive, got ", str());
  VIGIL_CHECK(stride_h > 0 && stride_w > 0 && dil_h > 0 && dil_w > 0 && pad_h >= 0 && pad_w >= 0,
              "conv2d: stride and dilation must be positive and padding non-negative, got ", str());
  VIGIL_CHECK(groups > 0 && c_in % groups == 0 && c_out % groups == 0,
              "conv2d: groups must divide c_in and c_out, got ", str());
  VIGIL_CHECK(out_h() > 0 && out_w() > 0, "conv2d: the dilated kernel is larger than the padded input, got ",
              str());
}

std::string Conv2dShape::str() const {
  std::ostringstream os;
  os << n << "x" << c_in << "x" << h << "x" << w << " -> " << c_out << " k" << kh << "x" << kw << " s" << stride_h
     << "x" << stride_w << " p" << pad_h << "x" << pad_w << " d" << dil_h << "x" << dil_w << " g" << groups;
  return os.str();
}

const char* conv2d_algo_name(Conv2dAlgo a) {
  switch (a) {
    case Conv2dAlgo::Auto: return "auto";
    case Conv2dAlgo::Direct: return "direct";
    case Conv2dAlgo::Im2col: return "im2col";
    case Conv2dAlgo::Depthwise: return "depthwise";
  }
  return "?";
}

Conv2dAlgo conv2d_resolve_algo(const Conv2dShape& s, Conv2dAlgo a) {
  const bool depthwise = s.groups == s.c_in && s.groups == s.c_out;
  VIGIL_CHECK(a != Conv2dAlgo::Depthwise || depthwise,
              "conv2d: the depthwise algorithm needs groups == c_in == c_out (one filter per channel), got ",
              s.str());
  if (a != Conv2dAlgo::Auto) return a;
  if (depthwise) return Conv2dAlgo::Depthwise;
  return int64_t(s.c_in_per_group()) * s.c_out_per_group() < 16 ? Conv2dAlgo::Direct : Conv2dAlgo::Im2col;
}

void conv2d_forward(Backend backend, const Conv2dShape& s, const float* x, const float* w, const float* bias,
                    float* y, Conv2dAlgo algo) {
  s.validate();
  VIGIL_CHECK(x && w && y, "conv2d_forward: x, w and y must not be null");
  algo = conv2d_resolve_algo(s, algo);
  switch (backend) {
    case Backend::Reference: return ref::conv2d_forward<float>(s, x, w, bias, y);
    case Backend::Cpu: return cpu::conv2d_forward(s, x, w, bias, y, algo);
    case Backend::Cuda:
#if VIGIL_WITH_CUDA
      return cuda::conv2d_forward(s, x, w, bias, y, algo);
#endif
      break;
    case Backend::Cudnn:
#if VIGIL_WITH_CUDNN
      return cudnn::conv2d_forward(s, x, w, bias, y);
#elif VIGIL_WITH_CUDA
      return cuda::conv2d_forward(s, x, w, bias, y, algo);
#endif
      break;
  }
  require_backend(backend);
  VIGIL_FAIL("conv2d_forward: no implementation for backend ", backend_name(backend));
}

void conv2d_backward_data(Backend backend, const Conv2dShape& s, const float* dy, const float* w, float* dx,
                          Conv2dAlgo algo) {
  s.validate();
  VIGIL_CHECK(dy && w && dx, "conv2d_backward_data: dy, w and dx must not be null");
  algo = conv2d_resolve_algo(s, algo);
  switch (backend) {
    case Backend::Reference: return ref::conv2d_backward_data<float>(s, dy, w, dx);
    case Backend::Cpu: return cpu::conv2d_backward_data(s, dy, w, dx, algo);
    case Backend::Cuda:
#if VIGIL_WITH_CUDA
      return cuda::conv2d_backward_data(s, dy, w, dx, algo);
#endif
      break;
    case Backend::Cudnn:
#if VIGIL_WITH_CUDNN
      return cudnn::conv2d_backward_data(s, dy, w, dx);
#elif VIGIL_WITH_CUDA
      return cuda::conv2d_backward_data(s, dy, w, dx, algo);
#endif
      break;
  }
  require_backend(backend);
  VIGIL_FAIL("conv2d_backward_data: no implementation for backend ", backend_name(backend));
}

void conv2d_backward_weight(Backend backend, const Conv2dShape& s, const float* x, const float* dy, float* dw,
                            Conv2dAlgo algo) {
  s.validate();
  VIGIL_CHECK(x && dy && dw, "conv2d_backward_weight: x, dy and dw must not be null");
  algo = conv2d_resolve_algo(s, algo);
  switch (backend) {
    case Backend::Reference: return ref::conv2d_backward_weight<float>(s, x, dy, dw);
    case Backend::Cpu: return cpu::conv2d_backward_weight(s, x, dy, dw, algo);
    case Backend::Cuda:
#if VIGIL_WITH_CUDA
      return cuda::conv2d_backward_weight(s, x, dy, dw, algo);
#endif
      break;
    case Backend::Cudnn:
#if VIGIL_WITH_CUDNN
      return cudnn::conv2d_backward_weight(s, x, dy, dw);
#elif VIGIL_WITH_CUDA
      return cuda::conv2d_backward_weight(s, x, dy, dw, algo);
#endif
      break;
  }
  require_backend(backend);
  VIGIL_FAIL("conv2d_backward_weight: no implementation for backend ", backend_name(backend));
}

void conv2d_backward_bias(Backend backend, const Conv2dShape& s, const float* dy, float* db) {
  s.validate();
  VIGIL_CHECK(dy && db, "conv2d_backward_bias: dy and db must not be null");
  switch (backend) {
    case Backend::Reference:
    case Backend::Cpu: return ref::conv2d_backward_bias<float>(s, dy, db);
    case Backend::Cuda:
#if VIGIL_WITH_CUDA
      return cuda::conv2d_backward_bias(s, dy, db);
#endif
      break;
    case Backend::Cudnn:
#if VIGIL_WITH_CUDNN
      return cudnn::conv2d_backward_bias(s, dy, db);
#elif VIGIL_WITH_CUDA
      return cuda::conv2d_backward_bias(s, dy, db);
#endif
      break;
  }
  require_backend(backend);
  VIGIL_FAIL("conv2d_backward_bias: no implementation for backend ", backend_name(backend));
}

}  // namespace vigil::ops
