// Tensor: shapes, strides, views, dtype conversion, device round trips (GPU ones skip without a GPU).
#include "nn/tensor.h"

#include <gtest/gtest.h>

#include "common/error.h"
#include "support/allclose.h"
#include "support/backends.h"

namespace vigil::test {
namespace {

TEST(Tensor, ShapeStridesAndViews) {
  Tensor t = Tensor::from_vector({0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, {2, 3, 2});
  EXPECT_EQ(t.numel(), 12);
  EXPECT_EQ(t.strides(), (Shape{6, 2, 1}));
  EXPECT_TRUE(t.is_contiguous());
  Tensor r = t.reshape({3, -1});
  EXPECT_EQ(r.shape(), (Shape{3, 4}));
  EXPECT_EQ(r.f32(), t.f32());  // a view: same storage
  EXPECT_EQ(t.flatten_from(1).shape(), (Shape{2, 6}));
  Tensor rows = t.narrow0(1, 1);
  EXPECT_EQ(rows.to_vector(), (std::vector<float>{6, 7, 8, 9, 10, 11}));
  EXPECT_EQ(t.size(-1), 2);
  EXPECT_EQ(t.str(), "Tensor(float32, (2, 3, 2), cpu)");
}

TEST(Tensor, ErrorsNameTheProblem) {
  Tensor t = Tensor::zeros({2, 3});
  try {
    t.reshape({4, 2});
    FAIL() << "reshape to a wrong element count must throw";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("(2, 3)"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("tensor.cpp:"), std::string::npos) << e.what();
  }
  EXPECT_THROW(t.data<int32_t>(), Error);
  EXPECT_THROW(t.size(2), Error);
  EXPECT_THROW(t.narrow0(1, 2), Error);
  EXPECT_THROW(Tensor::from_vector({1, 2, 3}, {2, 2}), Error);
  EXPECT_THROW(Tensor().f32(), Error);
}

TEST(Tensor, DtypeConversions) {
  Tensor f = Tensor::from_vector({0.f, 1.5f, -2.f, 65504.f, 1e-8f}, {5});
  Tensor h = f.to(DType::F16);
  EXPECT_EQ(h.dtype(), DType::F16);
  EXPECT_EQ(h.nbytes(), 10u);
  ExpectAllClose(h.to_vector(), (std::vector<float>{0.f, 1.5f, -2.f, 65504.f, 0.f}), Tol{1e-8, 0});
  Tensor bf = f.to(DType::BF16);
  ExpectAllClose(bf.to(DType::F32).to_vector(), (std::vector<float>{0.f, 1.5f, -2.f, 65536.f, 1e-8f}), Tol{0, 4e-3});
  Tensor i64 = Tensor::from_vector({3, 7}, {2}).to(DType::I64);
  EXPECT_EQ(i64.data<int64_t>()[1], 7);
  EXPECT_EQ(i64.to(DType::I32).data<int32_t>()[0], 3);
  EXPECT_EQ(Tensor::from_labels({2, 0, 1}).to(DType::F32).to_vector(), (std::vector<float>{2, 0, 1}));
}

TEST(Tensor, DeviceResolution) {
  std::ostringstream note;
  Device d = resolve_device("auto", &note);
  if (cuda_available()) {
    EXPECT_TRUE(d.is_cuda());
  } else {
    EXPECT_FALSE(d.is_cuda());
    EXPECT_NE(note.str().find("using the CPU"), std::string::npos);
    EXPECT_THROW(resolve_device("cuda"), Error);
  }
  EXPECT_EQ(resolve_device("cpu").str(), "cpu");
  EXPECT_THROW(resolve_device("gpu"), Error);
  EXPECT_THROW(resolve_device("cuda:x"), Error);
}

TEST(Tensor, CudaRoundTrip) {
  VIGIL_SKIP_IF_UNAVAILABLE(Backend::Cuda);
  const std::vector<float> v = {1, 2, 3, 4, 5, 6};
  Tensor g = Tensor::from_vector(v, {2, 3}, Device::cuda(0));
  EXPECT_TRUE(g.is_cuda());
  EXPECT_EQ(g.to_vector(), v);
  Tensor c = g.clone();
  EXPECT_NE(c.f32(), g.f32());
  EXPECT_EQ(c.to(Device::cpu()).to_vector(), v);
  Tensor z = Tensor::zeros({5}, DType::F32, Device::cuda(0));
  EXPECT_EQ(z.to_vector(), std::vector<float>(5, 0.f));
  Tensor h = g.to(DType::F16);  // converted on the GPU
  EXPECT_TRUE(h.is_cuda());
  EXPECT_EQ(h.to(DType::F32).to_vector(), v);
  const auto before = device::allocator_stats();
  { Tensor tmp = Tensor::empty({1024}, DType::F32, Device::cuda(0)); }
  { Tensor tmp = Tensor::empty({1024}, DType::F32, Device::cuda(0)); }
  EXPECT_LE(device::allocator_stats().driver_allocs, before.driver_allocs + 1) << "the cache must reuse the block";
}

}  // namespace
}  // namespace vigil::test
