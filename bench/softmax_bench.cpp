// Softmax benchmark: softmax, log-softmax and softmax + cross-entropy, forward and backward, over rows = 256
// and cols in {3, 10, 1000} on every available backend, each validated against the reference first.
// Usage: softmax_bench [rows=256] [reps=10]
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "bench_util.h"
#include "common/backend.h"
#include "common/error.h"
#include "common/parallel.h"
#include "softmax/softmax.h"

using namespace vigil;

namespace {

std::vector<float> random_values(size_t n, unsigned seed, float scale) {
  std::vector<float> v(n);
  unsigned s = seed;
  for (auto& x : v) {
    s = s * 1664525u + 1013904223u;
    x = (static_cast<float>(s >> 8) * (2.0f / 16777216.0f) - 1.0f) * scale;
  }
  return v;
}

void bench_shape(int64_t rows, int64_t cols, int reps) {
  const size_t n = static_cast<size_t>(rows * cols);
  const auto x = random_values(n, 1, 5.f), dy = random_values(n, 2, 1.f);
  std::vector<int32_t> labels(rows);
  for (int64_t i = 0; i < rows; ++i) labels[i] = static_cast<int32_t>((i * 7919) % cols);
  const ops::CrossEntropyParams ce{};
  const float dloss = 1.f;

  // Reference results; every backward starts from zeros so the first run can be validated.
  std::vector<float> y_ref(n), dx_ref(n, 0.f), ylog_ref(n), dxlog_ref(n, 0.f), probs_ref(n), loss_ref(1),
      dlogits_ref(n, 0.f);
  ops::softmax_forward(Backend::Reference, rows, cols, x.data(), y_ref.data());
  ops::softmax_backward(Backend::Reference, rows, cols, y_ref.data(), dy.data(), dx_ref.data());
  ops::log_softmax_forward(Backend::Reference, rows, cols, x.data(), ylog_ref.data());
  ops::log_softmax_backward(Backend::Reference, rows, cols, ylog_ref.data(), dy.data(), dxlog_ref.data());
  ops::softmax_cross_entropy_forward(Backend::Reference, ce, rows, cols, x.data(), labels.data(), probs_ref.data(),
                                     loss_ref.data());
  ops::softmax_cross_entropy_backward(Backend::Reference, ce, rows, cols, probs_ref.data(), labels.data(), dloss,
                                      dlogits_ref.data());

  const std::string shape = std::to_string(rows) + "x" + std::to_string(cols);
  const double fwd_bytes = 4.0 * 2 * n, bwd_bytes = 4.0 * 4 * n, ce_bwd_bytes = 4.0 * 3 * n;
  for (Backend b : bench::bench_backends()) {
    const std::string on = shape + " on " + backend_name(b);
    bench::Buffer<float> bx(b, x), bdy(b, dy), by(b, std::vector<float>(n)), bdx(b, std::vector<float>(n, 0.f)),
        bylog(b, std::vector<float>(n)), bdxlog(b, std::vector<float>(n, 0.f)), bprobs(b, std::vector<float>(n)),
        bloss(b, std::vector<float>(1)), bdlogits(b, std::vector<float>(n, 0.f));
    bench::Buffer<int32_t> blabels(b, labels);
    ops::softmax_forward(b, rows, cols, bx.data(), by.data());
    ops::softmax_backward(b, rows, cols, by.data(), bdy.data(), bdx.data());
    ops::log_softmax_forward(b, rows, cols, bx.data(), bylog.data());
    ops::log_softmax_backward(b, rows, cols, bylog.data(), bdy.data(), bdxlog.data());
    ops::softmax_cross_entropy_forward(b, ce, rows, cols, bx.data(), blabels.data(), bprobs.data(), bloss.data());
    ops::softmax_cross_entropy_backward(b, ce, rows, cols, bprobs.data(), blabels.data(), dloss, bdlogits.data());
    bench::check_close("softmax_forward " + on, by.host(), y_ref);
    bench::check_close("softmax_backward " + on, bdx.host(), dx_ref);
    bench::check_close("log_softmax_forward " + on, bylog.host(), ylog_ref);
    bench::check_close("log_softmax_backward " + on, bdxlog.host(), dxlog_ref);
    bench::check_close("cross_entropy_forward probs " + on, bprobs.host(), probs_ref);
    bench::check_close("cross_entropy_forward loss " + on, bloss.host(), loss_ref);
    bench::check_close("cross_entropy_backward " + on, bdlogits.host(), dlogits_ref);

    // Backward passes accumulate, so repeated runs keep growing their gradients; harmless for timing.
    const int r = bench::reps_for(b, reps);
    auto run = [&](const char* op, double bytes, const std::function<void()>& fn) {
      bench::report(op, backend_name(b), shape, bench::time_it(b, fn, r), 0, bytes);
    };
    run("softmax_forward", fwd_bytes, [&] { ops::softmax_forward(b, rows, cols, bx.data(), by.data()); });
    run("softmax_backward", bwd_bytes,
        [&] { ops::softmax_backward(b, rows, cols, by.data(), bdy.data(), bdx.data()); });
    run("log_softmax_forward", fwd_bytes, [&] { ops::log_softmax_forward(b, rows, cols, bx.data(), bylog.data()); });
    run("log_softmax_backward", bwd_bytes,
        [&] { ops::log_softmax_backward(b, rows, cols, bylog.data(), bdy.data(), bdxlog.data()); });
    run("cross_entropy_forward", fwd_bytes, [&] {
      ops::softmax_cross_entropy_forward(b, ce, rows, cols, bx.data(), blabels.data(), bprobs.data(), bloss.data());
    });
    run("cross_entropy_backward", ce_bwd_bytes, [&] {
      ops::softmax_cross_entropy_backward(b, ce, rows, cols, bprobs.data(), blabels.data(), dloss, bdlogits.data());
    });
  }
}

}  // namespace

int main(int argc, char** argv) {
  int rows = 256, reps = 10;
  if (!bench::positive_int_args(argc, argv, {&rows, &reps})) {
    std::fprintf(stderr, "usage: softmax_bench [rows > 0] [reps > 0]\n");
    return 2;
  }
  std::fprintf(stderr, "softmax_bench: rows %d, %d reps, %d CPU threads\n", rows, reps, cpu::num_threads());
  try {
    for (int64_t cols : {3, 10, 1000}) bench_shape(rows, cols, reps);
  } catch (const Error& e) {
    std::fprintf(stderr, "softmax_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
