// cuDNN convolution through the legacy API: descriptors per call, algorithms chosen once per (pass, device, shape)
// from the _v7 heuristics (FMA math only, workspace-size checked) and cached per thread; accumulation via beta = 1.
#include "conv2d/conv2d_cudnn.h"

#include <array>
#include <initializer_list>
#include <map>

#include "common/cudnn_utils.h"
#include "common/device.h"

namespace vigil::ops::cudnn {
namespace {

namespace vc = vigil::cudnn;

// Workspaces above this are skipped in favour of the next heuristic candidate (FFT variants can ask for GiBs).
constexpr size_t kMaxWorkspace = size_t(1) << 30;

struct Descs {
  vc::TensorDesc x, y;
  vc::FilterDesc w;
  vc::ConvDesc conv;
};

Descs make_descs(const Conv2dShape& s) {
  Descs d{vc::make_tensor_nchw(s.n, s.c_in, s.h, s.w), vc::make_tensor_nchw(s.n, s.c_out, s.out_h(), s.out_w()),
          vc::FilterDesc(), vc::ConvDesc()};
  VIGIL_CUDNN_CHECK(cudnnSetFilter4dDescriptor(d.w, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, s.c_out,
                                               s.c_in_per_group(), s.kh, s.kw));
  VIGIL_CUDNN_CHECK(cudnnSetConvolution2dDescriptor(d.conv, s.pad_h, s.pad_w, s.stride_h, s.stride_w, s.dil_h,
                                                    s.dil_w, CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT));
  VIGIL_CUDNN_CHECK(cudnnSetConvolutionGroupCount(d.conv, s.groups));
  VIGIL_CUDNN_CHECK(cudnnSetConvolutionMathType(d.conv, CUDNN_FMA_MATH));
  return d;
}

enum class Pass { Forward, BackwardData, BackwardFilter };

using Key = std::array<int, 16>;
Key make_key(Pass pass, const Conv2dShape& s) {
  return Key{static_cast<int>(pass), device::current_device(), s.n, s.c_in, s.h, s.w, s.c_out, s.kh, s.kw,
             s.stride_h, s.stride_w, s.pad_h, s.pad_w, s.dil_h, s.dil_w, s.groups};
}

struct Choice {
  int algo = 0;
  size_t workspace = 0;
};

// The first heuristic candidate that succeeded, runs without tensor cores (FMA math preferred, then default math,
// which the descriptor's FMA setting keeps off TF32) and whose workspace query succeeds within the cap;
// otherwise `fallback`, the implicit-GEMM algorithm every configuration supports.
template <typename Perf, typename Algo, typename WorkspaceFn>
Choice pick(const Perf* perf, int count, Algo fallback, WorkspaceFn workspace_size) {
  for (cudnnMathType_t math : {CUDNN_FMA_MATH, CUDNN_DEFAULT_MATH}) {
    for (int i = 0; i < count; ++i) {
      if (perf[i].status != CUDNN_STATUS_SUCCESS || perf[i].mathType != math) continue;
      size_t bytes = 0;
      if (workspace_size(perf[i].algo, &bytes) == CUDNN_STATUS_SUCCESS && bytes <= kMaxWorkspace)
        return Choice{static_cast<int>(perf[i].algo), bytes};
    }
  }
  size_t bytes = 0;
  VIGIL_CUDNN_CHECK(workspace_size(fallback, &bytes));
  return Choice{static_cast<int>(fallback), bytes};
}

// Cached choice for `pass` on this shape; `choose` runs the heuristics on a miss.
template <typename ChooseFn>
Choice cached(Pass pass, const Conv2dShape& s, ChooseFn choose) {
  thread_local std::map<Key, Choice> cache;
  const Key key = make_key(pass, s);
  auto it = cache.find(key);
  if (it == cache.end()) it = cache.emplace(key, choose()).first;
  return it->second;
}

void* workspace_for(const Choice& c) { return c.workspace ? vc::workspace(c.workspace) : nullptr; }

}  // namespace

void conv2d_forward(const Conv2dShape& s, const float* x, const float* w, const float* bias, float* y) {
  cudnnHandle_t h = vc::handle();
  const Descs d = make_descs(s);
  const Choice c = cached(Pass::Forward, s, [&] {
    int n = 0, ch = 0, oh = 0, ow = 0;
    VIGIL_CUDNN_CHECK(cudnnGetConvolution2dForwardOutputDim(d.conv, d.x, d.w, &n, &ch, &oh, &ow));
    VIGIL_CHECK(n == s.n && ch == s.c_out && oh == s.out_h() && ow == s.out_w(),
                "conv2d: cuDNN output size ", n, "x", ch, "x", oh, "x", ow, " disagrees with ", s.str());
    cudnnConvolutionFwdAlgoPerf_t perf[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
    int count = 0;
    VIGIL_CUDNN_CHECK(cudnnGetConvolutionForwardAlgorithm_v7(h, d.x, d.w, d.conv, d.y,
                                                             CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &count, perf));
    return pick(perf, count, CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM,
                [&](cudnnConvolutionFwdAlgo_t a, size_t* bytes) {
                  return cudnnGetConvolutionForwardWorkspaceSize(h, d.x, d.w, d.conv, d.y, a, bytes);
                });
  });
  const float one = 1.f, zero = 0.f;
  VIGIL_CUDNN_CHECK(cudnnConvolutionForward(h, &one, d.x, x, d.w, w, d.conv,
                                            static_cast<cudnnConvolutionFwdAlgo_t>(c.algo), workspace_for(c),
                                            c.workspace, &zero, d.y, y));
  if (bias) {
    const vc::TensorDesc b = vc::make_tensor_nchw(1, s.c_out, 1, 1);
    VIGIL_CUDNN_CHECK(cudnnAddTensor(h, &one, b, bias, &one, d.y, y));
  }
}

void conv2d_backward_data(const Conv2dShape& s, const float* dy, const float* w, float* dx) {
  cudnnHandle_t h = vc::handle();
  const Descs d = make_descs(s);
  const Choice c = cached(Pass::BackwardData, s, [&] {
    cudnnConvolutionBwdDataAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT];
    int count = 0;
    VIGIL_CUDNN_CHECK(cudnnGetConvolutionBackwardDataAlgorithm_v7(
        h, d.w, d.y, d.conv, d.x, CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT, &count, perf));
    return pick(perf, count, CUDNN_CONVOLUTION_BWD_DATA_ALGO_0,
                [&](cudnnConvolutionBwdDataAlgo_t a, size_t* bytes) {
                  return cudnnGetConvolutionBackwardDataWorkspaceSize(h, d.w, d.y, d.conv, d.x, a, bytes);
                });
  });
  const float one = 1.f;
  VIGIL_CUDNN_CHECK(cudnnConvolutionBackwardData(h, &one, d.w, w, d.y, dy, d.conv,
                                                 static_cast<cudnnConvolutionBwdDataAlgo_t>(c.algo),
                                                 workspace_for(c), c.workspace, &one, d.x, dx));
}

void conv2d_backward_weight(const Conv2dShape& s, const float* x, const float* dy, float* dw) {
  cudnnHandle_t h = vc::handle();
  const Descs d = make_descs(s);
  const Choice c = cached(Pass::BackwardFilter, s, [&] {
    cudnnConvolutionBwdFilterAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT];
    int count = 0;
    VIGIL_CUDNN_CHECK(cudnnGetConvolutionBackwardFilterAlgorithm_v7(
        h, d.x, d.y, d.conv, d.w, CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT, &count, perf));
    return pick(perf, count, CUDNN_CONVOLUTION_BWD_FILTER_ALGO_0,
                [&](cudnnConvolutionBwdFilterAlgo_t a, size_t* bytes) {
                  return cudnnGetConvolutionBackwardFilterWorkspaceSize(h, d.x, d.y, d.conv, d.w, a, bytes);
                });
  });
  const float one = 1.f;
  VIGIL_CUDNN_CHECK(cudnnConvolutionBackwardFilter(h, &one, d.x, x, d.y, dy, d.conv,
                                                   static_cast<cudnnConvolutionBwdFilterAlgo_t>(c.algo),
                                                   workspace_for(c), c.workspace, &one, d.w, dw));
}

void conv2d_backward_bias(const Conv2dShape& s, const float* dy, float* db) {
  cudnnHandle_t h = vc::handle();
  const vc::TensorDesc y = vc::make_tensor_nchw(s.n, s.c_out, s.out_h(), s.out_w());
  const vc::TensorDesc b = vc::make_tensor_nchw(1, s.c_out, 1, 1);
  const float one = 1.f;
  VIGIL_CUDNN_CHECK(cudnnConvolutionBackwardBias(h, &one, y, dy, &one, b, db));
}

}  // namespace vigil::ops::cudnn
