// Fast CPU convolution: im2col over tiles of output rows (so the column matrix stays in cache; skipped for
// 1x1/stride-1/no-pad) + SGEMM per image, tile and group; col2im for the input gradient. A batch with at least one
// image per thread is split into one contiguous chunk of images per thread (own scratch, serial GEMMs, per-chunk
// weight-gradient partials summed in a fixed order); smaller batches go image by image with OpenMP-parallel
// im2col/col2im and self-threaded GEMMs. Direct runs the loops of the reference; Depthwise runs the per-plane
// kernels of conv2d_depthwise_cpu.cpp.
#include "conv2d/conv2d_cpu.h"

#include <algorithm>
#include <memory>

#include "common/blas.h"
#include "common/parallel.h"
#include "conv2d/conv2d_ref.h"

namespace vigil::ops::cpu {
namespace {

// Target size of one im2col tile (2 MiB): small enough to stay in cache between im2col and the GEMM, large
// enough that big weight matrices are not re-packed for many small tiles (measured on the seed net's layers:
// the 7x7 stem runs 4x faster than with one whole-image column matrix).
constexpr int64_t kColTileFloats = int64_t(1) << 19;

// Output rows per im2col tile (at least one, at most all).
int tile_rows(const Conv2dShape& s) {
  const int64_t per_row = int64_t(s.c_in) * s.kh * s.kw * s.out_w();
  return static_cast<int>(std::clamp<int64_t>(kColTileFloats / per_row, 1, s.out_h()));
}

// Uninitialised scratch for one tile (every element is written before it is read).
std::unique_ptr<float[]> tile_buffer(const Conv2dShape& s, int rows) {
  return std::unique_ptr<float[]>(new float[static_cast<size_t>(int64_t(s.c_in) * s.kh * s.kw * rows * s.out_w())]);
}

}  // namespace

void im2col(const Conv2dShape& s, const float* x, int oh0, int oh1, float* col) {
  const int oh_n = s.out_h(), ow_n = s.out_w();
  const int64_t tp = int64_t(oh1 - oh0) * ow_n, HW = int64_t(s.h) * s.w, KK = int64_t(s.kh) * s.kw;
  vigil::cpu::parallel_for(s.c_in * KK, [&](int64_t row) {
    const int64_t c = row / KK;
    const int kh = static_cast<int>(row % KK) / s.kw, kw = static_cast<int>(row % KK) % s.kw;
    const int off_h = kh * s.dil_h - s.pad_h, off_w = kw * s.dil_w - s.pad_w;
    const ref::OutputRange rh = ref::valid_outputs(s.h, oh_n, s.stride_h, off_h);
    const ref::OutputRange rw = ref::valid_outputs(s.w, ow_n, s.stride_w, off_w);
    const float* xc = x + c * HW;
    float* cr = col + row * tp;
    for (int oh = oh0; oh < oh1; ++oh) {
      float* out = cr + int64_t(oh - oh0) * ow_n;
      if (oh < rh.lo || oh >= rh.hi) {
        std::fill(out, out + ow_n, 0.f);
        continue;
      }
      const float* xr = xc + int64_t(oh * s.stride_h + off_h) * s.w;
      std::fill(out, out + rw.lo, 0.f);
      if (s.stride_w == 1) {
        std::copy(xr + rw.lo + off_w, xr + rw.hi + off_w, out + rw.lo);
      } else {
        for (int ow = rw.lo; ow < rw.hi; ++ow) out[ow] = xr[int64_t(ow) * s.stride_w + off_w];
      }
      std::fill(out + rw.hi, out + ow_n, 0.f);
    }
  }, std::max<int64_t>(1, 4096 / tp));
}

void col2im(const Conv2dShape& s, const float* col, int oh0, int oh1, float* x) {
  const int oh_n = s.out_h(), ow_n = s.out_w();
  const int64_t tp = int64_t(oh1 - oh0) * ow_n, HW = int64_t(s.h) * s.w, KK = int64_t(s.kh) * s.kw;
  // One task per input channel: it owns x[c], so the += never races.
  vigil::cpu::parallel_for(s.c_in, [&](int64_t c) {
    float* xc = x + c * HW;
    for (int kh = 0; kh < s.kh; ++kh) {
      const int off_h = kh * s.dil_h - s.pad_h;
      const ref::OutputRange rh = ref::valid_outputs(s.h, oh_n, s.stride_h, off_h);
      for (int kw = 0; kw < s.kw; ++kw) {
        const int off_w = kw * s.dil_w - s.pad_w;
        const ref::OutputRange rw = ref::valid_outputs(s.w, ow_n, s.stride_w, off_w);
        const float* cr = col + (c * KK + kh * s.kw + kw) * tp;
        for (int oh = std::max(rh.lo, oh0); oh < std::min(rh.hi, oh1); ++oh) {
          float* xr = xc + int64_t(oh * s.stride_h + off_h) * s.w;
          const float* in = cr + int64_t(oh - oh0) * ow_n;
          for (int ow = rw.lo; ow < rw.hi; ++ow) xr[int64_t(ow) * s.stride_w + off_w] += in[ow];
        }
      }
    }
  }, std::max<int64_t>(1, 4096 / (tp * KK)));
}

namespace {

// Per-image work. Each function handles images [n0, n1) with one scratch tile `col` (nullptr for pointwise
// forward/weight-gradient); called either once for the whole batch from outside any parallel region (im2col,
// col2im and the GEMM then thread themselves) or once per image chunk from inside one (everything runs serially
// on the calling thread: nested parallel_for is serial and OpenBLAS's OpenMP build is single-threaded there).

void forward_images(const Conv2dShape& s, const float* x, const float* w, const float* bias, float* y, int64_t n0,
                    int64_t n1, int rows, float* col) {
  const int cin_g = s.c_in_per_group(), cout_g = s.c_out_per_group(), ow_n = s.out_w();
  const int64_t P = int64_t(s.out_h()) * ow_n, HW = int64_t(s.h) * s.w, K = int64_t(cin_g) * s.kh * s.kw;
  for (int64_t n = n0; n < n1; ++n) {
    const float* xn = x + n * s.c_in * HW;
    for (int oh0 = 0; oh0 < s.out_h(); oh0 += rows) {
      const int oh1 = std::min(s.out_h(), oh0 + rows);
      const int64_t tp = int64_t(oh1 - oh0) * ow_n;
      if (col) im2col(s, xn, oh0, oh1, col);
      const float* cn = col ? col : xn;  // (Cin*KH*KW, tp); group g owns rows [g*K, (g+1)*K)
      // y_g[:, tile] (Cout_g, tp; row stride P) = W_g (Cout_g, K) * col_g (K, tp)
      for (int g = 0; g < s.groups; ++g)
        vigil::cpu::sgemm(false, false, cout_g, tp, K, 1.f, w + g * cout_g * K, K, cn + g * K * tp, tp, 0.f,
                          y + (n * s.c_out + int64_t(g) * cout_g) * P + int64_t(oh0) * ow_n, P);
      if (bias) {
        vigil::cpu::parallel_for(s.c_out, [&](int64_t oc) {
          float* yp = y + (n * s.c_out + oc) * P + int64_t(oh0) * ow_n;
          for (int64_t p = 0; p < tp; ++p) yp[p] += bias[oc];
        }, std::max<int64_t>(1, 4096 / tp));
      }
    }
  }
}

void backward_data_images(const Conv2dShape& s, const float* dy, const float* w, float* dx, int64_t n0, int64_t n1,
                          int rows, float* col) {
  const int cin_g = s.c_in_per_group(), cout_g = s.c_out_per_group(), ow_n = s.out_w();
  const int64_t P = int64_t(s.out_h()) * ow_n, HW = int64_t(s.h) * s.w, K = int64_t(cin_g) * s.kh * s.kw;
  for (int64_t n = n0; n < n1; ++n) {
    if (s.is_pointwise()) {
      // dx_g (Cin_g, HW) += W_g^T (Cin_g, Cout_g) * dy_g (Cout_g, HW): beta = 1 accumulates.
      for (int g = 0; g < s.groups; ++g)
        vigil::cpu::sgemm(true, false, K, P, cout_g, 1.f, w + g * cout_g * K, K,
                          dy + (n * s.c_out + int64_t(g) * cout_g) * P, P, 1.f,
                          dx + (n * s.c_in + int64_t(g) * cin_g) * HW, P);
      continue;
    }
    for (int oh0 = 0; oh0 < s.out_h(); oh0 += rows) {
      const int oh1 = std::min(s.out_h(), oh0 + rows);
      const int64_t tp = int64_t(oh1 - oh0) * ow_n;
      // col_g (K, tp) = W_g^T (K, Cout_g) * dy_g[:, tile] (Cout_g, tp; row stride P)
      for (int g = 0; g < s.groups; ++g)
        vigil::cpu::sgemm(true, false, K, tp, cout_g, 1.f, w + g * cout_g * K, K,
                          dy + (n * s.c_out + int64_t(g) * cout_g) * P + int64_t(oh0) * ow_n, P, 0.f,
                          col + g * K * tp, tp);
      col2im(s, col, oh0, oh1, dx + n * s.c_in * HW);
    }
  }
}

// dw += the weight gradient of images [n0, n1), summed image by image in order.
void backward_weight_images(const Conv2dShape& s, const float* x, const float* dy, float* dw, int64_t n0,
                            int64_t n1, int rows, float* col) {
  const int cin_g = s.c_in_per_group(), cout_g = s.c_out_per_group(), ow_n = s.out_w();
  const int64_t P = int64_t(s.out_h()) * ow_n, HW = int64_t(s.h) * s.w, K = int64_t(cin_g) * s.kh * s.kw;
  for (int64_t n = n0; n < n1; ++n) {
    const float* xn = x + n * s.c_in * HW;
    for (int oh0 = 0; oh0 < s.out_h(); oh0 += rows) {
      const int oh1 = std::min(s.out_h(), oh0 + rows);
      const int64_t tp = int64_t(oh1 - oh0) * ow_n;
      if (col) im2col(s, xn, oh0, oh1, col);
      const float* cn = col ? col : xn;
      // dw_g (Cout_g, K) += dy_g[:, tile] (Cout_g, tp; row stride P) * col_g^T (tp, K)
      for (int g = 0; g < s.groups; ++g)
        vigil::cpu::sgemm(false, true, cout_g, K, tp, 1.f,
                          dy + (n * s.c_out + int64_t(g) * cout_g) * P + int64_t(oh0) * ow_n, P, cn + g * K * tp,
                          tp, 1.f, dw + g * cout_g * K, K);
    }
  }
}

// How many image chunks to run side by side (one per thread, serial GEMMs inside), or 1 for the per-image path
// with threaded GEMMs. Many small per-image GEMMs scale poorly over threads, whole images per thread scale
// almost linearly, so a batch with at least one image per thread is split over images.
int image_chunks(const Conv2dShape& s) {
  const int threads = vigil::cpu::num_threads();
  if (threads <= 1 || vigil::cpu::in_parallel() || s.n < threads) return 1;
  return threads;
}

// First image of chunk c out of `chunks` (static, contiguous, sizes differ by at most one).
int64_t chunk_begin(int64_t n, int chunks, int64_t c) { return n * c / chunks; }

}  // namespace

void conv2d_forward(const Conv2dShape& s, const float* x, const float* w, const float* bias, float* y,
                    Conv2dAlgo algo) {
  if (algo == Conv2dAlgo::Depthwise) return depthwise_forward(s, x, w, bias, y);
  if (algo == Conv2dAlgo::Direct) return ref::conv2d_forward<float>(s, x, w, bias, y);
  // 1x1 convs read x as the column matrix: one tile of all rows.
  const bool pointwise = s.is_pointwise();
  const int rows = pointwise ? s.out_h() : tile_rows(s);
  const int chunks = image_chunks(s);
  if (chunks == 1) {
    std::unique_ptr<float[]> col = pointwise ? nullptr : tile_buffer(s, rows);
    return forward_images(s, x, w, bias, y, 0, s.n, rows, col.get());
  }
  vigil::cpu::parallel_for(chunks, [&](int64_t c) {
    std::unique_ptr<float[]> col = pointwise ? nullptr : tile_buffer(s, rows);
    forward_images(s, x, w, bias, y, chunk_begin(s.n, chunks, c), chunk_begin(s.n, chunks, c + 1), rows, col.get());
  });
}

void conv2d_backward_data(const Conv2dShape& s, const float* dy, const float* w, float* dx, Conv2dAlgo algo) {
  if (algo == Conv2dAlgo::Depthwise) return depthwise_backward_data(s, dy, w, dx);
  if (algo == Conv2dAlgo::Direct) return ref::conv2d_backward_data<float>(s, dy, w, dx);
  // Every image owns its slice of dx, so chunks never race and the result does not depend on the chunking.
  const bool pointwise = s.is_pointwise();
  const int rows = pointwise ? s.out_h() : tile_rows(s);
  const int chunks = image_chunks(s);
  if (chunks == 1) {
    std::unique_ptr<float[]> col = pointwise ? nullptr : tile_buffer(s, rows);
    return backward_data_images(s, dy, w, dx, 0, s.n, rows, col.get());
  }
  vigil::cpu::parallel_for(chunks, [&](int64_t c) {
    std::unique_ptr<float[]> col = pointwise ? nullptr : tile_buffer(s, rows);
    backward_data_images(s, dy, w, dx, chunk_begin(s.n, chunks, c), chunk_begin(s.n, chunks, c + 1), rows,
                         col.get());
  });
}

void conv2d_backward_weight(const Conv2dShape& s, const float* x, const float* dy, float* dw, Conv2dAlgo algo) {
  if (algo == Conv2dAlgo::Depthwise) return depthwise_backward_weight(s, x, dy, dw);
  if (algo == Conv2dAlgo::Direct) return ref::conv2d_backward_weight<float>(s, x, dy, dw);
  const bool pointwise = s.is_pointwise();
  const int rows = pointwise ? s.out_h() : tile_rows(s);
  const int chunks = image_chunks(s);
  if (chunks == 1) {
    std::unique_ptr<float[]> col = pointwise ? nullptr : tile_buffer(s, rows);
    return backward_weight_images(s, x, dy, dw, 0, s.n, rows, col.get());
  }
  // Each chunk sums its images into its own zeroed partial; the partials are then added to dw in chunk order,
  // so for a given thread count the result is the same on every run (dw keeps accumulating: +=).
  const int64_t wn = s.w_numel();
  std::unique_ptr<float[]> partial(new float[static_cast<size_t>(wn * chunks)]);
  vigil::cpu::parallel_for(chunks, [&](int64_t c) {
    float* part = partial.get() + c * wn;
    std::fill(part, part + wn, 0.f);
    std::unique_ptr<float[]> col = pointwise ? nullptr : tile_buffer(s, rows);
    backward_weight_images(s, x, dy, part, chunk_begin(s.n, chunks, c), chunk_begin(s.n, chunks, c + 1), rows,
                           col.get());
  });
  vigil::cpu::parallel_for_ranges(wn, 4096, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      float sum = partial[i];
      for (int c = 1; c < chunks; ++c) sum += partial[c * wn + i];
      dw[i] += sum;
    }
  });
}

}  // namespace vigil::ops::cpu
