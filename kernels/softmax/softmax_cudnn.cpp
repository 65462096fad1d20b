// cuDNN softmax paths: the legacy cudnnSoftmaxForward/Backward calls, all kept in this file.
#include "softmax/softmax_cudnn.h"

#include <climits>

#include "common/cudnn_utils.h"
#include "softmax/softmax_cuda.h"

namespace vigil::ops::cudnn {
namespace {

// The (rows, cols) matrix as an NCHW tensor (rows, cols, 1, 1); INSTANCE mode normalises over C*H*W = cols.
vigil::cudnn::TensorDesc row_tensor(int64_t rows, int64_t cols) {
  VIGIL_CHECK(rows <= INT_MAX && cols <= INT_MAX && rows * cols <= INT_MAX,
              "cuDNN softmax: a (rows, cols) = (", rows, ", ", cols, ") tensor exceeds cuDNN's 32-bit sizes");
  return vigil::cudnn::make_tensor_nchw(static_cast<int>(rows), static_cast<int>(cols), 1, 1);
}

void forward(cudnnSoftmaxAlgorithm_t algo, int64_t rows, int64_t cols, const float* x, float* y) {
  if (rows == 0) return;
  const vigil::cudnn::TensorDesc desc = row_tensor(rows, cols);
  const float alpha = 1.f, beta = 0.f;
  VIGIL_CUDNN_CHECK(cudnnSoftmaxForward(vigil::cudnn::handle(), algo, CUDNN_SOFTMAX_MODE_INSTANCE, &alpha, desc, x,
                                        &beta, desc, y));
}

// beta = 1: cuDNN adds its gradient to dx.
void backward(cudnnSoftmaxAlgorithm_t algo, int64_t rows, int64_t cols, const float* y, const float* dy, float* dx) {
  if (rows == 0) return;
  const vigil::cudnn::TensorDesc desc = row_tensor(rows, cols);
  const float alpha = 1.f, beta = 1.f;
  VIGIL_CUDNN_CHECK(cudnnSoftmaxBackward(vigil::cudnn::handle(), algo, CUDNN_SOFTMAX_MODE_INSTANCE, &alpha, desc, y,
                                         desc, dy, &beta, desc, dx));
}

}  // namespace

void softmax_forward(int64_t rows, int64_t cols, const float* x, float* y) {
  forward(CUDNN_SOFTMAX_ACCURATE, rows, cols, x, y);
}

void softmax_backward(int64_t rows, int64_t cols, const float* y, const float* dy, float* dx) {
  backward(CUDNN_SOFTMAX_ACCURATE, rows, cols, y, dy, dx);
}

void log_softmax_forward(int64_t rows, int64_t cols, const float* x, float* y) {
  forward(CUDNN_SOFTMAX_LOG, rows, cols, x, y);
}

void log_softmax_backward(int64_t rows, int64_t cols, const float* y, const float* dy, float* dx) {
  backward(CUDNN_SOFTMAX_LOG, rows, cols, y, dy, dx);
}

void softmax_cross_entropy_forward(const CrossEntropyParams& p, int64_t rows, int64_t cols, const float* logits,
                                   const int32_t* labels, float* probs, float* loss) {
  log_softmax_forward(rows, cols, logits, probs);
  cuda::softmax_cross_entropy_forward_from_log_probs(p, rows, cols, labels, probs, loss);
}

}  // namespace vigil::ops::cudnn
