// PinnedHostPool: buffers are reused by size, tensors keep the pool alive, concurrent use is safe; the pinned
// variant (GPU only) behaves the same and its memory copies to and from a device.
#include "nn/pinned_pool.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "common/device.h"
#include "common/error.h"

namespace vigil::test {
namespace {

void check_pool_reuse(bool pinned) {
  auto pool = PinnedHostPool::create(pinned);
  {
    Tensor a = pool->empty({4, 3, 8, 8});
    EXPECT_FALSE(a.is_cuda());
    EXPECT_EQ(a.shape(), (Shape{4, 3, 8, 8}));
    for (int64_t i = 0; i < a.numel(); ++i) a.f32()[i] = float(i);
    EXPECT_EQ(a.f32()[a.numel() - 1], float(a.numel() - 1));
  }
  Tensor b = pool->empty({4, 3, 8, 8});  // the same buffer, back in the pool
  EXPECT_EQ(pool->stats().allocations, 1u);
  EXPECT_EQ(pool->stats().reuses, 1u);
  Tensor c = pool->empty({4, 3, 8, 8});  // b still holds the first: a second buffer
  EXPECT_EQ(pool->stats().allocations, 2u);
  Tensor tiny = pool->empty({2});  // much smaller than the free buffers: not served from them
  EXPECT_EQ(pool->stats().allocations, 3u);
  Tensor i32 = pool->empty({5}, DType::I32);
  EXPECT_EQ(i32.dtype(), DType::I32);
}

TEST(PinnedHostPool, ReusesBuffersBySize) { check_pool_reuse(false); }

TEST(PinnedHostPool, TensorsKeepThePoolAlive) {
  Tensor t;
  {
    auto pool = PinnedHostPool::create(false);
    t = pool->empty({16});
  }  // the caller's handle is gone; the tensor still owns a valid buffer
  for (int i = 0; i < 16; ++i) t.f32()[i] = 1.5f;
  EXPECT_EQ(t.f32()[15], 1.5f);
}

TEST(PinnedHostPool, ConcurrentUse) {
  auto pool = PinnedHostPool::create(false);
  std::vector<std::thread> threads;
  for (int w = 0; w < 4; ++w)
    threads.emplace_back([&pool, w] {
      for (int k = 0; k < 200; ++k) {
        Tensor t = pool->empty({64 + w});
        t.f32()[0] = float(k);
      }
    });
  for (auto& th : threads) th.join();
  // Each thread holds at most one buffer at a time: at most 4 buffers were ever needed per size class.
  EXPECT_LE(pool->stats().allocations, 8u);
  EXPECT_EQ(pool->stats().allocations + pool->stats().reuses, 800u);
}

TEST(PinnedHostPool, RejectsBadShapes) {
  auto pool = PinnedHostPool::create(false);
  EXPECT_THROW(pool->empty({-1, 2}), Error);
}

TEST(PinnedHostPool, PinnedMemoryOnGpu) {
  const std::string why = device::cuda_unavailable_reason();
  if (!why.empty()) GTEST_SKIP() << "no usable GPU: " << why;
  check_pool_reuse(true);
  auto pool = PinnedHostPool::create(true);
  Tensor h = pool->empty({1000});
  for (int i = 0; i < 1000; ++i) h.f32()[i] = float(i) * 0.5f;
  const Tensor back = h.to(Device::cuda(0)).to(Device::cpu());
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(back.f32()[i], float(i) * 0.5f);
}

}  // namespace
}  // namespace vigil::test
