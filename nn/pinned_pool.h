// PinnedHostPool: reusable page-locked host buffers for tensors that are copied to a GPU (a DMA copy from
// pinned memory runs asynchronously and at full bus speed); plain host memory when no GPU is usable.
#pragma once
#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "nn/tensor.h"

namespace vigil {

class PinnedHostPool {
 public:
  struct Stats {
    size_t allocations = 0;  // buffers obtained from the driver (or the heap)
    size_t reuses = 0;       // requests served from a returned buffer
    size_t bytes_held = 0;   // bytes of every buffer the pool owns (lent out or free)
  };

  // `pinned`: page-locked memory (needs a usable GPU); false: ordinary aligned host memory, same behaviour.
  // Use create(): the pool must outlive the tensors it lends out, so they hold a reference to it.
  static std::shared_ptr<PinnedHostPool> create(bool pinned);
  ~PinnedHostPool();
  PinnedHostPool(const PinnedHostPool&) = delete;
  PinnedHostPool& operator=(const PinnedHostPool&) = delete;

  // A CPU tensor of `shape` over a pooled buffer; the buffer returns to the pool when the last tensor sharing it
  // is destroyed. Thread-safe (loader workers call it).
  Tensor empty(const Shape& shape, DType dtype = DType::F32);
  bool pinned() const { return pinned_; }
  Stats stats() const;

 private:
  explicit PinnedHostPool(bool pinned) : pinned_(pinned) {}
  void give_back(void* ptr, size_t bytes);
  void* obtain(size_t bytes);

  const bool pinned_;
  std::weak_ptr<PinnedHostPool> self_;
  mutable std::mutex mutex_;
  std::multimap<size_t, void*> free_;  // by size
  std::vector<std::pair<void*, size_t>> owned_;
  Stats stats_;
};

}  // namespace vigil
