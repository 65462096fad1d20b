// Launch geometry shared by the CUDA kernels: 1-D grid sizing with a grid-stride loop, and a scoped
// block-size override so tests and benchmarks can exercise more than one launch configuration.
#pragma once
#include <cstdint>

namespace vigil::launch {

// Threads per block a launcher should use: `preferred`, unless a BlockSizeOverride is active on this thread.
int block_size(int preferred = 256);
// Blocks for n elements (grid-stride loops cover the rest); capped at max_blocks (0 = auto cap).
// With a BlockSizeOverride active the cap is small, so grid-stride loops really iterate in tests.
int grid_size(int64_t n, int block, int max_blocks = 0);

class BlockSizeOverride {
 public:
  explicit BlockSizeOverride(int threads);
  ~BlockSizeOverride();
  BlockSizeOverride(const BlockSizeOverride&) = delete;
  BlockSizeOverride& operator=(const BlockSizeOverride&) = delete;

 private:
  int previous_;
};

}  // namespace vigil::launch
