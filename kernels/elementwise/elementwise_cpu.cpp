// Fast CPU element-wise ops: OpenMP over fixed chunks, vectorised inner loops, fixed-order double sums.
#include "elementwise/elementwise_cpu.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "common/parallel.h"
#include "elementwise/half.h"

namespace vigil::ops::cpu {
namespace {

// Elements per parallel task for the maps: enough to amortise scheduling, few enough to balance the threads.
constexpr int64_t kMapChunk = 1 << 14;
// Elements per partial sum in the reductions: the fixed unit of summation order.
constexpr int64_t kSumChunk = 1 << 15;
// Independent double accumulators inside a chunk (vectorisable without reassociating any single sum).
constexpr int kLanes = 8;

// fn(begin, end) over [0, n) in chunks of kMapChunk, spread over threads when there are a few chunks.
template <typename Fn>
void for_chunks(int64_t n, Fn&& fn) {
  const int64_t chunks = (n + kMapChunk - 1) / kMapChunk;
  vigil::cpu::parallel_for(
      chunks,
      [&](int64_t t) {
        const int64_t begin = t * kMapChunk;
        fn(begin, std::min(n, begin + kMapChunk));
      },
      2);
}

// Sum of x[0, len) (of squares when Square) in double: lane j takes elements j, j + kLanes, ...; the lanes are
// combined pairwise in a fixed order.
template <bool Square>
double chunk_sum(const float* x, int64_t len) {
  double acc[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= len; i += kLanes) {
    for (int j = 0; j < kLanes; ++j) {
      const double v = x[i + j];
      acc[j] += Square ? v * v : v;
    }
  }
  for (int j = 0; i + j < len; ++j) {
    const double v = x[i + j];
    acc[j] += Square ? v * v : v;
  }
  for (int width = kLanes / 2; width > 0; width /= 2)
    for (int j = 0; j < width; ++j) acc[j] += acc[j + width];
  return acc[0];
}

// sums[c] = sum over n, k of x[n, c, k] (squared when Square), in double. Each row (n, c) is cut into chunks of
// kSumChunk and the chunk sums are added in (n, chunk) order. Short rows are spread over threads by channel,
// long rows by (row, chunk) task; the choice depends only on the shape, so the result is deterministic.
template <bool Square>
std::vector<double> channel_sums(int64_t n, int64_t c, int64_t hw, const float* x) {
  std::vector<double> sums(c, 0.0);
  if (n == 0 || hw == 0) return sums;
  if (hw < kSumChunk) {
    const int64_t per_channel = n * hw;
    vigil::cpu::parallel_for(
        c,
        [&](int64_t ic) {
          double s = 0;
          for (int64_t in = 0; in < n; ++in) s += chunk_sum<Square>(x + (in * c + ic) * hw, hw);
          sums[ic] = s;
        },
        std::max<int64_t>(1, kSumChunk / per_channel));
    return sums;
  }
  const int64_t chunks_per_row = (hw + kSumChunk - 1) / kSumChunk;
  const int64_t tasks = n * c * chunks_per_row;
  std::vector<double> partial(tasks);
  vigil::cpu::parallel_for(tasks, [&](int64_t t) {
    const int64_t row = t / chunks_per_row, begin = (t % chunks_per_row) * kSumChunk;
    partial[t] = chunk_sum<Square>(x + row * hw + begin, std::min(hw - begin, kSumChunk));
  });
  for (int64_t in = 0; in < n; ++in)
    for (int64_t ic = 0; ic < c; ++ic) {
      const double* p = partial.data() + (in * c + ic) * chunks_per_row;
      for (int64_t j = 0; j < chunks_per_row; ++j) sums[ic] += p[j];
    }
  return sums;
}

// fn(x[i]) -> y[i] over [0, n), chunked and parallel.
template <typename In, typename Out, typename Fn>
void convert(int64_t n, const In* x, Out* y, Fn fn) {
  for_chunks(n, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) y[i] = fn(x[i]);
  });
}

}  // namespace

void fill(int64_t n, float value, float* y) {
  for_chunks(n, [&](int64_t begin, int64_t end) { std::fill(y + begin, y + end, value); });
}

void copy(int64_t n, const float* x, float* y) {
  if (x == y) return;
  for_chunks(n, [&](int64_t begin, int64_t end) {
    std::memcpy(y + begin, x + begin, static_cast<size_t>(end - begin) * sizeof(float));
  });
}

void add(int64_t n, const float* a, const float* b, float* y) {
  for_chunks(n, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) y[i] = a[i] + b[i];
  });
}

void mul(int64_t n, const float* a, const float* b, float* y) {
  for_chunks(n, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) y[i] = a[i] * b[i];
  });
}

void scale(int64_t n, float alpha, const float* x, float* y) {
  for_chunks(n, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) y[i] = alpha * x[i];
  });
}

void axpy(int64_t n, float alpha, const float* x, float* y) {
  for_chunks(n, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) y[i] += alpha * x[i];
  });
}

void mul_backward(int64_t n, const float* a, const float* b, const float* dy, float* da, float* db) {
  // Every input of element i is read before da[i] / db[i] is written.
  for_chunks(n, [&](int64_t begin, int64_t end) {
    if (da && db) {
      for (int64_t i = begin; i < end; ++i) {
        const float g = dy[i], av = a[i], bv = b[i];
        da[i] += g * bv;
        db[i] += g * av;
      }
    } else if (da) {
      for (int64_t i = begin; i < end; ++i) da[i] += dy[i] * b[i];
    } else if (db) {
      for (int64_t i = begin; i < end; ++i) db[i] += dy[i] * a[i];
    }
  });
}

void sum(int64_t n, const float* x, float* out) { *out = static_cast<float>(channel_sums<false>(1, 1, n, x)[0]); }

void sum_squares(int64_t n, const float* x, float* out) {
  *out = static_cast<float>(channel_sums<true>(1, 1, n, x)[0]);
}

void add_channel_bias(int64_t n, int64_t c, int64_t hw, const float* bias, float* x) {
  if (hw == 0) return;
  vigil::cpu::parallel_for(
      n * c,
      [&](int64_t row) {
        const float b = bias[row % c];
        float* xr = x + row * hw;
        for (int64_t k = 0; k < hw; ++k) xr[k] += b;
      },
      std::max<int64_t>(1, kMapChunk / hw));
}

void channel_sum(int64_t n, int64_t c, int64_t hw, const float* x, float* out) {
  const std::vector<double> sums = channel_sums<false>(n, c, hw, x);
  for (int64_t ic = 0; ic < c; ++ic) out[ic] = static_cast<float>(static_cast<double>(out[ic]) + sums[ic]);
}

// Lambdas rather than function pointers, so the conversions inline into the loops.
void float_to_half(int64_t n, const float* x, uint16_t* y) {
  convert(n, x, y, [](float v) { return float_to_half_bits(v); });
}
void half_to_float(int64_t n, const uint16_t* x, float* y) {
  convert(n, x, y, [](uint16_t v) { return half_bits_to_float(v); });
}
void float_to_bfloat16(int64_t n, const float* x, uint16_t* y) {
  convert(n, x, y, [](float v) { return float_to_bfloat16_bits(v); });
}
void bfloat16_to_float(int64_t n, const uint16_t* x, float* y) {
  convert(n, x, y, [](uint16_t v) { return bfloat16_bits_to_float(v); });
}

}  // namespace vigil::ops::cpu
