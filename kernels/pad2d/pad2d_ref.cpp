// Reference 2-D zero padding: serial loops over every output (forward) or input (backward) element, plus the
// Pad2dShape validation and description.
#include "pad2d/pad2d_ref.h"

#include <cstdint>
#include <limits>
#include <sstream>

#include "common/error.h"

namespace vigil::ops {

void Pad2dShape::validate() const {
  VIGIL_CHECK(n > 0, "pad2d: n must be positive, got ", str());
  VIGIL_CHECK(c > 0, "pad2d: c must be positive, got ", str());
  VIGIL_CHECK(h > 0, "pad2d: h must be positive, got ", str());
  VIGIL_CHECK(w > 0, "pad2d: w must be positive, got ", str());
  VIGIL_CHECK(top >= 0, "pad2d: top pad must be non-negative, got ", str());
  VIGIL_CHECK(bottom >= 0, "pad2d: bottom pad must be non-negative, got ", str());
  VIGIL_CHECK(left >= 0, "pad2d: left pad must be non-negative, got ", str());
  VIGIL_CHECK(right >= 0, "pad2d: right pad must be non-negative, got ", str());
  constexpr int64_t kMax = std::numeric_limits<int>::max();
  VIGIL_CHECK(int64_t(top) + h + bottom <= kMax, "pad2d: output height top + h + bottom exceeds 2^31-1, got ",
              str());
  VIGIL_CHECK(int64_t(left) + w + right <= kMax, "pad2d: output width left + w + right exceeds 2^31-1, got ",
              str());
}

std::string Pad2dShape::str() const {
  std::ostringstream os;
  os << n << "x" << c << "x" << h << "x" << w << " pad t" << top << " b" << bottom << " l" << left << " r" << right;
  return os.str();
}

namespace ref {

template <typename T>
void pad2d_forward(const Pad2dShape& s, const T* x, T* y) {
  const int64_t planes = int64_t(s.n) * s.c;
  const int oh = s.out_h(), ow = s.out_w();
  for (int64_t p = 0; p < planes; ++p) {
    for (int i = 0; i < oh; ++i) {
      for (int j = 0; j < ow; ++j) {
        const int hi = i - s.top, wi = j - s.left;
        const bool inside = hi >= 0 && hi < s.h && wi >= 0 && wi < s.w;
        y[(p * oh + i) * ow + j] = inside ? x[(p * s.h + hi) * s.w + wi] : T(0);
      }
    }
  }
}

template <typename T>
void pad2d_backward(const Pad2dShape& s, const T* dy, T* dx) {
  const int64_t planes = int64_t(s.n) * s.c;
  const int oh = s.out_h(), ow = s.out_w();
  for (int64_t p = 0; p < planes; ++p) {
    for (int hi = 0; hi < s.h; ++hi) {
      for (int wi = 0; wi < s.w; ++wi) {
        dx[(p * s.h + hi) * s.w + wi] += dy[(p * oh + hi + s.top) * ow + wi + s.left];
      }
    }
  }
}

template void pad2d_forward<float>(const Pad2dShape&, const float*, float*);
template void pad2d_forward<double>(const Pad2dShape&, const double*, double*);
template void pad2d_backward<float>(const Pad2dShape&, const float*, float*);
template void pad2d_backward<double>(const Pad2dShape&, const double*, double*);

}  // namespace ref
}  // namespace vigil::ops
