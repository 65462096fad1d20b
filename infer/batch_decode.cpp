// Implementation of the shared batch-decoding pieces (see batch_decode.h).
#include "infer/batch_decode.h"

#include <algorithm>
#include <atomic>
#include <thread>
#include <vector>

namespace vigil::infer {

int default_workers() {
  const unsigned hw = std::thread::hardware_concurrency();
  return static_cast<int>(std::max(1u, std::min(4u, hw)));
}

void parallel_for_each(size_t count, int workers, const std::function<void(size_t)>& fn) {
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t i; (i = next.fetch_add(1)) < count;) fn(i);
  };
  std::vector<std::thread> pool;
  const size_t threads = std::min(static_cast<size_t>(std::max(workers, 1)), count);
  for (size_t w = 1; w < threads; ++w) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();
}

std::string error_reason(const std::string& error, const std::string& path) {
  const std::string prefix = path + ": ";
  return error.compare(0, prefix.size(), prefix) == 0 ? error.substr(prefix.size()) : error;
}

}  // namespace vigil::infer
