// Resampling (PIL's separable fixed-point convolution with BILINEAR/BOX filters), crops and the model recipe.
#include "data/preprocess.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "common/error.h"

namespace vigil::data {
namespace {

constexpr int kWeightBits = 22;  // 32 - 8 (pixel) - 2 (headroom), as PIL
constexpr int32_t kHalf = 1 << (kWeightBits - 1);

enum class Filter { Bilinear, Box };

double filter_support(Filter f) { return f == Filter::Bilinear ? 1.0 : 0.5; }

double filter_value(Filter f, double x) {
  if (f == Filter::Box) return x > -0.5 && x <= 0.5 ? 1.0 : 0.0;
  x = std::fabs(x);
  return x < 1.0 ? 1.0 - x : 0.0;
}

// For each output position along one axis: the first input index, how many follow, and their fixed-point weights.
struct AxisWeights {
  int taps = 0;
  std::vector<int> first, count;
  std::vector<int32_t> weights;  // out_size x taps
};

// The filter is stretched by the scale factor when shrinking (antialiasing), so every input pixel contributes.
AxisWeights axis_weights(int in_size, int out_size, Filter f) {
  const double scale = static_cast<double>(in_size) / out_size;
  const double filter_scale = std::max(scale, 1.0);
  const double support = filter_support(f) * filter_scale;
  AxisWeights a;
  a.taps = static_cast<int>(std::ceil(support)) * 2 + 1;
  a.first.resize(out_size);
  a.count.resize(out_size);
  a.weights.assign(static_cast<size_t>(out_size) * a.taps, 0);
  std::vector<double> k(a.taps);
  for (int o = 0; o < out_size; ++o) {
    const double center = (o + 0.5) * scale;
    const double inv = 1.0 / filter_scale;
    int lo = static_cast<int>(center - support + 0.5);
    if (lo < 0) lo = 0;
    int hi = static_cast<int>(center + support + 0.5);
    if (hi > in_size) hi = in_size;
    const int n = std::min(hi - lo, a.taps);
    double total = 0.0;
    for (int t = 0; t < n; ++t) {
      k[t] = filter_value(f, (t + lo - center + 0.5) * inv);
      total += k[t];
    }
    int32_t* w = &a.weights[static_cast<size_t>(o) * a.taps];
    for (int t = 0; t < n; ++t) {
      const double v = (total != 0.0 ? k[t] / total : k[t]) * (1 << kWeightBits);
      w[t] = static_cast<int32_t>(v < 0 ? v - 0.5 : v + 0.5);
    }
    a.first[o] = lo;
    a.count[o] = std::max(n, 0);
  }
  return a;
}

inline uint8_t to_byte(int32_t acc) {
  const int32_t v = acc >> kWeightBits;
  return static_cast<uint8_t>(v < 0 ? 0 : v > 255 ? 255 : v);
}

// Rows [row0, row0 + rows) of `in` resampled along x into `out` (rows x out_w).
template <int C>
void resample_rows(const Image& in, int row0, int rows, const AxisWeights& a, int out_w, uint8_t* out) {
  const int ch = C > 0 ? C : in.channels;
  for (int y = 0; y < rows; ++y) {
    const uint8_t* src = &in.pixels[static_cast<size_t>(row0 + y) * in.width * ch];
    uint8_t* dst = out + static_cast<size_t>(y) * out_w * ch;
    for (int o = 0; o < out_w; ++o) {
      const int32_t* w = &a.weights[static_cast<size_t>(o) * a.taps];
      const uint8_t* p = src + static_cast<size_t>(a.first[o]) * ch;
      int32_t acc[4] = {kHalf, kHalf, kHalf, kHalf};
      for (int t = 0; t < a.count[o]; ++t, p += ch)
        for (int c = 0; c < ch; ++c) acc[c] += p[c] * w[t];
      for (int c = 0; c < ch; ++c) dst[o * ch + c] = to_byte(acc[c]);
    }
  }
}

// Resamples along y: every output row is a weighted sum of input rows (channel-agnostic, row_len bytes a row).
void resample_columns(const uint8_t* in, size_t row_len, const AxisWeights& a, int row_shift, int out_h,
                      uint8_t* out) {
  std::vector<int32_t> acc(row_len);
  for (int o = 0; o < out_h; ++o) {
    std::fill(acc.begin(), acc.end(), kHalf);
    const int32_t* w = &a.weights[static_cast<size_t>(o) * a.taps];
    for (int t = 0; t < a.count[o]; ++t) {
      const uint8_t* row = in + static_cast<size_t>(a.first[o] - row_shift + t) * row_len;
      const int32_t wt = w[t];
      for (size_t i = 0; i < row_len; ++i) acc[i] += row[i] * wt;
    }
    uint8_t* dst = out + static_cast<size_t>(o) * row_len;
    for (size_t i = 0; i < row_len; ++i) dst[i] = to_byte(acc[i]);
  }
}

void check_image(const Image& in, const char* what) {
  VIGIL_CHECK(in.width > 0 && in.height > 0 && in.channels >= 1 && in.channels <= 4, what, ": invalid image ",
              in.width, "x", in.height, "x", in.channels);
  VIGIL_CHECK(in.pixels.size() == static_cast<size_t>(in.width) * in.height * in.channels, what, ": image holds ",
              in.pixels.size(), " bytes, not ", in.width, "x", in.height, "x", in.channels);
}

Image resample(const Image& in, int width, int height, Filter f, const char* what) {
  check_image(in, what);
  VIGIL_CHECK(width > 0 && height > 0, what, ": target size ", width, "x", height, " must be positive");
  const bool along_x = width != in.width, along_y = height != in.height;
  if (!along_x && !along_y) return in;
  const AxisWeights ay = axis_weights(in.height, height, f);
  // Rows the vertical pass reads; only those are resampled along x.
  const int row0 = along_y ? ay.first.front() : 0;
  const int row1 = along_y ? ay.first.back() + ay.count.back() : in.height;
  Image mid;
  const Image* src = &in;
  if (along_x) {
    const AxisWeights ax = axis_weights(in.width, width, f);
    mid.width = width;
    mid.height = row1 - row0;
    mid.channels = in.channels;
    mid.pixels.resize(static_cast<size_t>(mid.width) * mid.height * mid.channels);
    switch (in.channels) {
      case 1: resample_rows<1>(in, row0, mid.height, ax, width, mid.pixels.data()); break;
      case 3: resample_rows<3>(in, row0, mid.height, ax, width, mid.pixels.data()); break;
      case 4: resample_rows<4>(in, row0, mid.height, ax, width, mid.pixels.data()); break;
      default: resample_rows<0>(in, row0, mid.height, ax, width, mid.pixels.data()); break;
    }
    if (!along_y) return mid;
    src = &mid;
  }
  Image out;
  out.width = width;
  out.height = height;
  out.channels = in.channels;
  out.pixels.resize(static_cast<size_t>(width) * height * in.channels);
  resample_columns(src->pixels.data(), static_cast<size_t>(width) * in.channels, ay, along_x ? row0 : 0, height,
                   out.pixels.data());
  return out;
}

// Python's round(diff / 2) for diff >= 0: halves go to the even neighbour.
int half_to_even(int diff) {
  const int k = diff / 2;
  return diff % 2 == 0 || k % 2 == 0 ? k : k + 1;
}

}  // namespace

Image resize_bilinear(const Image& in, int width, int height) {
  return resample(in, width, height, Filter::Bilinear, "resize_bilinear");
}

Image resize_area(const Image& in, int width, int height) {
  return resample(in, width, height, Filter::Box, "resize_area");
}

Image resize_shorter_side(const Image& in, int shorter, bool area) {
  check_image(in, "resize_shorter_side");
  VIGIL_CHECK(shorter > 0, "resize_shorter_side: the shorter side must be positive, got ", shorter);
  const int64_t w = in.width, h = in.height;
  int width, height;
  if (w <= h) {
    width = shorter;
    height = static_cast<int>(static_cast<double>(shorter * h) / static_cast<double>(w));
  } else {
    height = shorter;
    width = static_cast<int>(static_cast<double>(shorter * w) / static_cast<double>(h));
  }
  return area ? resize_area(in, width, height) : resize_bilinear(in, width, height);
}

Image center_crop(const Image& in, int width, int height) {
  check_image(in, "center_crop");
  VIGIL_CHECK(width > 0 && height > 0, "center_crop: size ", width, "x", height, " must be positive");
  // Per axis: where the crop starts in the source and where the source starts in the (zero-padded) output.
  auto place = [](int size, int crop, int& src0, int& dst0, int& len) {
    if (crop > size) {
      src0 = 0;
      dst0 = (crop - size) / 2;
      len = size;
    } else {
      src0 = half_to_even(size - crop);
      dst0 = 0;
      len = crop;
    }
  };
  int sx, dx, nx, sy, dy, ny;
  place(in.width, width, sx, dx, nx);
  place(in.height, height, sy, dy, ny);
  Image out;
  out.width = width;
  out.height = height;
  out.channels = in.channels;
  out.pixels.assign(static_cast<size_t>(width) * height * in.channels, 0);
  const size_t c = in.channels;
  for (int y = 0; y < ny; ++y)
    std::memcpy(&out.pixels[((static_cast<size_t>(dy) + y) * width + dx) * c],
                &in.pixels[((static_cast<size_t>(sy) + y) * in.width + sx) * c], nx * c);
  return out;
}

void preprocess_image(const Image& img, const ModelSpec& spec, float* out) {
  const InputSpec& input = spec.input;
  const PreprocessSpec& pp = spec.preprocess;
  check_image(img, "preprocess_image");
  VIGIL_CHECK(img.channels == input.channels, "preprocess_image: the image has ", img.channels,
              " channels but model '", spec.name, "' takes ", input.channels,
              " (decode with DecodeOptions.channels = ", input.channels, ")");
  VIGIL_CHECK(pp.mean.size() == static_cast<size_t>(input.channels) &&
                  pp.std.size() == static_cast<size_t>(input.channels),
              "preprocess_image: model '", spec.name, "' needs ", input.channels, " mean and std values");
  VIGIL_CHECK(pp.interpolation == "bilinear" || pp.interpolation == "area", "preprocess_image: unknown interpolation '",
              pp.interpolation, "'");
  const bool area = pp.interpolation == "area";
  Image sized;
  if (pp.resize == "stretch") {
    sized = area ? resize_area(img, input.width, input.height) : resize_bilinear(img, input.width, input.height);
  } else if (pp.resize == "shorter_side") {
    sized = resize_shorter_side(img, pp.resize_shorter, area);
    if (pp.crop == "center") sized = center_crop(sized, input.width, input.height);
    VIGIL_CHECK(sized.width == input.width && sized.height == input.height, "preprocess_image: model '", spec.name,
                "' resizes the shorter side to ", pp.resize_shorter, " without a centre crop, which gives ",
                sized.width, "x", sized.height, " here instead of ", input.width, "x", input.height);
  } else {
    VIGIL_FAIL("preprocess_image: unknown resize '", pp.resize, "'");
  }
  // (p / 255 - mean) / std in float32, the operations and order of ToTensor + Normalize, tabulated per channel.
  const int c_count = input.channels;
  const size_t plane = static_cast<size_t>(input.width) * input.height;
  for (int c = 0; c < c_count; ++c) {
    float table[256];
    for (int p = 0; p < 256; ++p) table[p] = (static_cast<float>(p) / 255.0f - pp.mean[c]) / pp.std[c];
    const uint8_t* src = sized.pixels.data() + c;
    float* dst = out + c * plane;
    for (size_t i = 0; i < plane; ++i) dst[i] = table[src[i * c_count]];
  }
}

std::vector<float> preprocess_image(const Image& img, const ModelSpec& spec) {
  std::vector<float> out(static_cast<size_t>(spec.input.channels) * spec.input.height * spec.input.width);
  preprocess_image(img, spec, out.data());
  return out;
}

DecodeOptions decode_options_for(const ModelSpec& spec) {
  DecodeOptions o;
  o.channels = spec.input.channels;
  const uint8_t bg = spec.preprocess.alpha == "black" ? 0 : 255;
  o.background[0] = o.background[1] = o.background[2] = bg;
  return o;
}

}  // namespace vigil::data
