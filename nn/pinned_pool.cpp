// PinnedHostPool: page-locked (or plain) host buffers, reused by size, lent out as CPU tensors.
#include "nn/pinned_pool.h"

#include <algorithm>
#include <cstdlib>

#include "common/device.h"
#include "common/error.h"

namespace vigil {

namespace {
constexpr size_t kAlign = 64;
size_t rounded(size_t bytes) { return (bytes + kAlign - 1) / kAlign * kAlign; }
}  // namespace

std::shared_ptr<PinnedHostPool> PinnedHostPool::create(bool pinned) {
  std::shared_ptr<PinnedHostPool> pool(new PinnedHostPool(pinned));
  pool->self_ = pool;
  return pool;
}

PinnedHostPool::~PinnedHostPool() {
  // Every lent tensor holds a reference to the pool, so all buffers are back here.
  for (const auto& [ptr, bytes] : owned_) {
    if (pinned_) {
      device::free_pinned(ptr);
    } else {
      std::free(ptr);
    }
  }
}

void* PinnedHostPool::obtain(size_t bytes) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    // The smallest free buffer that fits and wastes at most a quarter of itself.
    auto it = free_.lower_bound(bytes);
    if (it != free_.end() && it->first - bytes <= it->first / 4) {
      void* p = it->second;
      free_.erase(it);
      ++stats_.reuses;
      return p;
    }
  }
  void* p = pinned_ ? device::alloc_pinned(bytes) : std::aligned_alloc(kAlign, bytes);
  VIGIL_CHECK(p != nullptr, "host allocation of ", bytes, " bytes failed");
  std::lock_guard<std::mutex> lock(mutex_);
  owned_.emplace_back(p, bytes);
  ++stats_.allocations;
  stats_.bytes_held += bytes;
  return p;
}

void PinnedHostPool::give_back(void* ptr, size_t bytes) {
  std::lock_guard<std::mutex> lock(mutex_);
  free_.emplace(bytes, ptr);
}

Tensor PinnedHostPool::empty(const Shape& shape, DType dtype) {
  for (int64_t d : shape) VIGIL_CHECK(d >= 0, "negative dimension in shape ", shape_str(shape));
  const size_t bytes = rounded(std::max<size_t>(1, static_cast<size_t>(shape_numel(shape)) * dtype_size(dtype)));
  void* p = obtain(bytes);
  // The buffer's size class is remembered by the release function; the lambda keeps the pool alive.
  std::shared_ptr<PinnedHostPool> self = self_.lock();
  auto storage = std::make_shared<Storage>(p, bytes, Device::cpu(),
                                           [self, bytes](void* ptr) { self->give_back(ptr, bytes); });
  return Tensor::from_storage(std::move(storage), shape, dtype);
}

PinnedHostPool::Stats PinnedHostPool::stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return stats_;
}

}  // namespace vigil
