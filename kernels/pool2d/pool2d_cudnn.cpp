// cuDNN pooling through the legacy API (float32 NCHW); all cuDNN calls of the op live in this file.
#include "pool2d/pool2d_cudnn.h"

#include <climits>

#include "common/cudnn_utils.h"

namespace vigil::ops::cudnn {
namespace {

using vigil::cudnn::PoolDesc;
using vigil::cudnn::TensorDesc;

// Pooling descriptor plus the input and output tensor descriptors of one call.
struct PoolingDescs {
  PoolDesc pool;
  TensorDesc x, y;
};

PoolingDescs describe(cudnnPoolingMode_t mode, int n, int c, int h, int w, int kh, int kw, int pad_h, int pad_w,
                      int stride_h, int stride_w, int out_h, int out_w) {
  VIGIL_CHECK(static_cast<int64_t>(n) * c * h * w <= INT_MAX, "pool2d (cudnn): tensor of ", n, "x", c, "x", h, "x",
              w, " exceeds cuDNN's 32-bit element count");
  PoolingDescs d{PoolDesc(), vigil::cudnn::make_tensor_nchw(n, c, h, w),
                 vigil::cudnn::make_tensor_nchw(n, c, out_h, out_w)};
  VIGIL_CUDNN_CHECK(cudnnSetPooling2dDescriptor(d.pool, mode, CUDNN_PROPAGATE_NAN, kh, kw, pad_h, pad_w, stride_h,
                                                stride_w));
  int on = 0, oc = 0, oh = 0, ow = 0;
  VIGIL_CUDNN_CHECK(cudnnGetPooling2dForwardOutputDim(d.pool, d.x, &on, &oc, &oh, &ow));
  VIGIL_CHECK(on == n && oc == c && oh == out_h && ow == out_w, "pool2d (cudnn): cuDNN output ", on, "x", oc, "x", oh,
              "x", ow, " differs from the expected ", n, "x", c, "x", out_h, "x", out_w);
  return d;
}

PoolingDescs describe(const Pool2dShape& s) {
  const cudnnPoolingMode_t mode = s.kind == PoolKind::Max ? CUDNN_POOLING_MAX_DETERMINISTIC
                                  : s.count_include_pad  ? CUDNN_POOLING_AVERAGE_COUNT_INCLUDE_PADDING
                                                         : CUDNN_POOLING_AVERAGE_COUNT_EXCLUDE_PADDING;
  return describe(mode, s.n, s.c, s.h, s.w, s.kh, s.kw, s.pad_h, s.pad_w, s.stride_h, s.stride_w, s.out_h(),
                  s.out_w());
}

// The global average pool as a (1, hw) window over (N, C, 1, HW).
PoolingDescs describe_global(int64_t n, int64_t c, int64_t hw) {
  VIGIL_CHECK(n <= INT_MAX && c <= INT_MAX && hw <= INT_MAX, "global_avg_pool (cudnn): sizes ", n, "x", c, "x", hw,
              " exceed cuDNN's 32-bit dimensions");
  const int in = static_cast<int>(n), ic = static_cast<int>(c), ihw = static_cast<int>(hw);
  return describe(CUDNN_POOLING_AVERAGE_COUNT_INCLUDE_PADDING, in, ic, 1, ihw, 1, ihw, 0, 0, 1, 1, 1, 1);
}

}  // namespace

void pool2d_forward(const Pool2dShape& s, const float* x, float* y) {
  const PoolingDescs d = describe(s);
  const float alpha = 1.f, beta = 0.f;
  VIGIL_CUDNN_CHECK(cudnnPoolingForward(vigil::cudnn::handle(), d.pool, &alpha, d.x, x, &beta, d.y, y));
}

void pool2d_backward(const Pool2dShape& s, const float* x, const float* y, const float* dy, float* dx) {
  const PoolingDescs d = describe(s);
  const float alpha = 1.f, beta = 1.f;
  VIGIL_CUDNN_CHECK(
      cudnnPoolingBackward(vigil::cudnn::handle(), d.pool, &alpha, d.y, y, d.y, dy, d.x, x, &beta, d.x, dx));
}

void global_avg_pool_forward(int64_t n, int64_t c, int64_t hw, const float* x, float* y) {
  const PoolingDescs d = describe_global(n, c, hw);
  const float alpha = 1.f, beta = 0.f;
  VIGIL_CUDNN_CHECK(cudnnPoolingForward(vigil::cudnn::handle(), d.pool, &alpha, d.x, x, &beta, d.y, y));
}

void global_avg_pool_backward(int64_t n, int64_t c, int64_t hw, const float* dy, float* dx) {
  const PoolingDescs d = describe_global(n, c, hw);
  const float alpha = 1.f, beta = 1.f;
  // Average pooling's gradient depends on dy only, but cuDNN's signature also takes the forward tensors y and
  // x: dy and dx have exactly their shapes, so they stand in (cuDNN does not read them in average mode).
  VIGIL_CUDNN_CHECK(
      cudnnPoolingBackward(vigil::cudnn::handle(), d.pool, &alpha, d.y, dy, d.y, dy, d.x, dx, &beta, d.x, dx));
}

}  // namespace vigil::ops::cudnn
