// DeviceFeeder: double-buffered host-to-device batch copies on a side stream (GPU) or a pass-through (CPU).
#include "train/device_feeder.h"

#include <utility>

#include "common/error.h"

namespace vigil::train {

std::shared_ptr<PinnedHostPool> batch_pool_for(const Device& device) {
  if (!device.is_cuda()) return nullptr;
  return PinnedHostPool::create(true);
}

DeviceFeeder::DeviceFeeder(data::Loader& loader, Device device) : loader_(loader), device_(device) {
  if (!device_.is_cuda()) return;
  device::set_device(device_.index);
  copy_stream_ = std::make_unique<device::Stream>();
  copied_[0] = std::make_unique<device::Event>();
  copied_[1] = std::make_unique<device::Event>();
  compute_ready_ = std::make_unique<device::Event>();
}

DeviceFeeder::~DeviceFeeder() {
  // A pinned buffer must not return to its pool while a copy may still read it.
  try {
    if (pending_) wait_slot_copied(*pending_);
    if (handed_) wait_slot_copied(*handed_);
  } catch (...) {
  }
}

void DeviceFeeder::wait_slot_copied(Slot& s) { copied_[s.event]->synchronize(); }

void DeviceFeeder::start_epoch(int64_t epoch, int64_t skip_batches) {
  if (pending_) wait_slot_copied(*pending_);
  pending_.reset();
  started_ = false;
  loader_.start_epoch(epoch);
  data::Batch skipped;
  for (int64_t i = 0; i < skip_batches && loader_.next(skipped); ++i) {
  }
}

void DeviceFeeder::prefetch() {
  auto slot = std::make_unique<Slot>();
  if (!loader_.next(slot->batch.host)) {
    pending_.reset();
    return;
  }
  const data::Batch& h = slot->batch.host;
  device::set_device(device_.index);
  // Device memory handed out now may have been freed by the host while the compute stream still used it: the copy
  // starts only after the work queued on the compute stream so far.
  compute_ready_->record(device::current_stream());
  compute_ready_->make_wait(copy_stream_->handle());
  slot->batch.images = Tensor::empty(h.images.shape(), h.images.dtype(), device_);
  slot->batch.labels = Tensor::empty(h.labels.shape(), h.labels.dtype(), device_);
  {
    device::StreamGuard on_copy_stream(*copy_stream_);
    slot->batch.images.copy_from(h.images);
    slot->batch.labels.copy_from(h.labels);
  }
  slot->event = next_event_;
  next_event_ ^= 1;
  copied_[slot->event]->record(copy_stream_->handle());
  pending_ = std::move(slot);
}

bool DeviceFeeder::next(DeviceBatch& batch) {
  if (!device_.is_cuda()) {
    if (!loader_.next(batch.host)) return false;
    batch.images = batch.host.images;
    batch.labels = batch.host.labels;
    return true;
  }
  if (!started_) {
    started_ = true;
    prefetch();
  }
  // The batch handed out last time is replaced below: its copy must be over before its pinned buffer is reused.
  if (handed_) wait_slot_copied(*handed_);
  if (!pending_) {
    handed_.reset();
    return false;
  }
  copied_[pending_->event]->make_wait(device::current_stream());
  batch = pending_->batch;  // shares the tensors; the slot keeps them until the next call
  handed_ = std::move(pending_);
  prefetch();  // the following batch is copied while the caller computes on this one
  if (pending_) ++copied_ahead_;
  return true;
}

}  // namespace vigil::train
