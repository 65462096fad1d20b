// DeviceFeeder: the loader's batches on the training device. On a GPU the loader fills pinned host buffers and the
// next batch is copied on its own stream while the current step computes; on the CPU batches pass through.
#pragma once
#include <cstdint>
#include <memory>

#include "common/device.h"
#include "data/loader.h"
#include "nn/pinned_pool.h"
#include "nn/tensor.h"

namespace vigil::train {

struct DeviceBatch {
  data::Batch host;  // the loader's batch: host labels (metrics), sample indices, epoch, position
  Tensor images;     // (n, C, H, W) float32 on the training device
  Tensor labels;     // (n) int32 on the training device
  size_t size() const { return host.size(); }
};

// The pool a loader feeding `device` should allocate its image batches from: pinned memory for a GPU, nullptr for
// the CPU (the loader's default allocation is right there).
std::shared_ptr<PinnedHostPool> batch_pool_for(const Device& device);

class DeviceFeeder {
 public:
  // `loader` must outlive the feeder. Kernels consume the batches on the thread's current stream.
  DeviceFeeder(data::Loader& loader, Device device);
  ~DeviceFeeder();
  DeviceFeeder(const DeviceFeeder&) = delete;
  DeviceFeeder& operator=(const DeviceFeeder&) = delete;

  // Starts an epoch of the loader, passing over its first `skip_batches` batches without copying them (a
  // resumed run continuing mid-epoch).
  void start_epoch(int64_t epoch, int64_t skip_batches = 0);
  // The next batch of the epoch, on the device: work queued on the current stream after this call sees its data
  // (the host does not wait for the copy). False once the epoch is over. `batch` must not be kept across calls
  // by anything but the caller's variable: its host buffer is recycled once it is replaced.
  bool next(DeviceBatch& batch);

  size_t batches_copied_ahead() const { return copied_ahead_; }  // GPU: batches whose copy was queued early

 private:
  struct Slot {
    DeviceBatch batch;
    int event = 0;  // which copy event marks this slot's copy
  };
  void prefetch();           // GPU: takes the loader's next batch and queues its copy on the copy stream
  void wait_slot_copied(Slot& s);

  data::Loader& loader_;
  Device device_;
  bool started_ = false;     // GPU: the epoch's first batch has been requested
  std::unique_ptr<Slot> pending_, handed_;
  std::unique_ptr<device::Stream> copy_stream_;
  std::unique_ptr<device::Event> copied_[2];
  std::unique_ptr<device::Event> compute_ready_;
  int next_event_ = 0;
  size_t copied_ahead_ = 0;
};

}  // namespace vigil::train
