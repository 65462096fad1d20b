// Block/grid sizing for CUDA launches (plain C++, usable from any translation unit).
#include "common/launch.h"

#include <algorithm>

#include "common/error.h"

namespace vigil::launch {
namespace {
thread_local int tls_block_override = 0;
}

int block_size(int preferred) { return tls_block_override > 0 ? tls_block_override : preferred; }

int grid_size(int64_t n, int block, int max_blocks) {
  if (max_blocks <= 0) max_blocks = tls_block_override > 0 ? 3 : 65535;
  int64_t g = (n + block - 1) / block;
  return static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(g, max_blocks)));
}

BlockSizeOverride::BlockSizeOverride(int threads) : previous_(tls_block_override) {
  VIGIL_CHECK(threads > 0 && threads <= 1024 && threads % 32 == 0, "block size must be a multiple of 32 in [32, 1024], got ", threads);
  tls_block_override = threads;
}
BlockSizeOverride::~BlockSizeOverride() { tls_block_override = previous_; }

}  // namespace vigil::launch
