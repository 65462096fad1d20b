// Implementation of the `vigil serve` micro-batching queue and its worker thread (see serve_batcher.h).
#include "infer/serve_batcher.h"

#include <algorithm>
#include <cmath>
#include <exception>
#include <utility>

#include "common/error.h"

namespace vigil::infer {

using Clock = std::chrono::steady_clock;

BatchTicket::BatchTicket(std::vector<std::vector<float>> inputs)
    : inputs_(std::move(inputs)), probabilities_(inputs_.size()), remaining_(inputs_.size()) {}

bool BatchTicket::wait_until(Clock::time_point deadline) {
  std::unique_lock<std::mutex> lock(mutex_);
  return done_.wait_until(lock, deadline, [&] { return remaining_ == 0; });
}

void BatchTicket::deliver(size_t index, std::vector<float> probabilities, const std::string& error) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!error.empty()) {
    if (error_.empty()) error_ = error;
  } else {
    probabilities_[index] = std::move(probabilities);
  }
  inputs_[index] = {};  // the worker is done with it
  if (--remaining_ == 0) done_.notify_all();
}

Batcher::Arrival::Arrival(Batcher* batcher) : batcher_(batcher) {
  std::lock_guard<std::mutex> lock(batcher_->mutex_);
  ++batcher_->arriving_;
}

void Batcher::Arrival::close() {
  if (batcher_ == nullptr) return;
  {
    std::lock_guard<std::mutex> lock(batcher_->mutex_);
    --batcher_->arriving_;
  }
  batcher_->wake_.notify_all();
  batcher_ = nullptr;
}

Batcher::Batcher(Forward forward, BatcherOptions options, BatchObserver observe, std::function<void()> worker_start)
    : forward_(std::move(forward)),
      options_(options),
      observe_(std::move(observe)),
      worker_start_(std::move(worker_start)) {
  VIGIL_CHECK(options_.max_batch >= 1, "--max-batch ", options_.max_batch, ": must be at least 1");
  VIGIL_CHECK(options_.max_wait_ms >= 0, "--max-wait-ms ", options_.max_wait_ms, ": must be >= 0");
  VIGIL_CHECK(options_.queue_capacity >= 1, "--queue ", options_.queue_capacity, ": must be at least 1");
  worker_ = std::thread([this] { run(); });
}

Batcher::~Batcher() { stop(); }

std::shared_ptr<BatchTicket> Batcher::submit(std::vector<std::vector<float>> inputs, Arrival* arrival) {
  if (inputs.empty()) return nullptr;
  auto ticket = std::make_shared<BatchTicket>(std::move(inputs));
  bool queued = false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (arrival != nullptr && arrival->batcher_ == this) {
      --arriving_;
      arrival->batcher_ = nullptr;
    }
    const size_t n = ticket->inputs_.size();
    if (!stopping_ && queue_.size() + n <= static_cast<size_t>(options_.queue_capacity)) {
      for (size_t i = 0; i < n; ++i) queue_.push_back(Item{ticket, i});
      queued = true;
    }
  }
  wake_.notify_all();  // new images, or one arrival fewer to wait for
  return queued ? ticket : nullptr;
}

size_t Batcher::depth() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return queue_.size();
}

bool Batcher::stopping() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return stopping_;
}

int Batcher::retry_after_seconds() const {
  std::lock_guard<std::mutex> lock(mutex_);
  const double seconds = std::ceil(static_cast<double>(queue_.size()) * seconds_per_image_);
  return static_cast<int>(std::clamp(seconds, 1.0, 60.0));
}

void Batcher::pause() {
  std::lock_guard<std::mutex> lock(mutex_);
  paused_ = true;
}

void Batcher::resume() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    paused_ = false;
  }
  wake_.notify_all();
}

void Batcher::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
    paused_ = false;
  }
  wake_.notify_all();
  if (worker_.joinable()) worker_.join();
}

// Waits for work, holds a partial batch briefly while more images are being decoded, then takes up to max_batch
// images (dropping those of requests that gave up). Empty only when stopping with nothing left.
std::vector<Batcher::Item> Batcher::take_batch(std::unique_lock<std::mutex>& lock) {
  const size_t max_batch = static_cast<size_t>(options_.max_batch);
  for (;;) {
    wake_.wait(lock, [&] { return stopping_ || (!paused_ && !queue_.empty()); });
    if (queue_.empty()) return {};  // stopping, and everything queued has run
    const auto hold_until = Clock::now() + std::chrono::milliseconds(options_.max_wait_ms);
    wake_.wait_until(lock, hold_until, [&] { return stopping_ || queue_.size() >= max_batch || arriving_ == 0; });
    if (paused_ && !stopping_) continue;  // paused while holding: wait again
    std::vector<Item> batch;
    while (batch.size() < max_batch && !queue_.empty()) {
      Item item = std::move(queue_.front());
      queue_.pop_front();
      if (!item.ticket->cancelled_) batch.push_back(std::move(item));
    }
    if (!batch.empty()) return batch;
  }
}

void Batcher::run() {
  if (worker_start_) worker_start_();
  for (;;) {
    std::vector<Item> batch;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      batch = take_batch(lock);
    }
    if (batch.empty()) return;

    std::vector<const float*> inputs;
    inputs.reserve(batch.size());
    for (const Item& item : batch) inputs.push_back(item.ticket->inputs_[item.index].data());
    std::vector<std::vector<float>> probabilities;
    std::string error;
    const auto t0 = Clock::now();
    try {
      probabilities = forward_(inputs);
      if (probabilities.size() != batch.size())
        error = "the forward pass returned " + std::to_string(probabilities.size()) + " results for " +
                std::to_string(batch.size()) + " images";
    } catch (const std::exception& e) {
      error = user_message(e);
    }
    const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    {
      std::lock_guard<std::mutex> lock(mutex_);
      const double per_image = seconds / static_cast<double>(batch.size());
      seconds_per_image_ = seconds_per_image_ == 0 ? per_image : 0.8 * seconds_per_image_ + 0.2 * per_image;
    }
    if (observe_) observe_(batch.size(), seconds);
    for (size_t i = 0; i < batch.size(); ++i)
      batch[i].ticket->deliver(batch[i].index, error.empty() ? std::move(probabilities[i]) : std::vector<float>{},
                               error);
  }
}

}  // namespace vigil::infer
