// The batching worker of `vigil serve`: request threads queue preprocessed images, ONE worker thread (the only
// user of the forward function, e.g. a Predictor) runs them in micro-batches and hands each request its results.
// The queue is bounded (a full queue refuses work rather than growing), and a request that gives up is dropped.
#pragma once
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace vigil::infer {

struct BatcherOptions {
  int max_batch = 16;       // images per forward pass
  int max_wait_ms = 5;      // longest a partial batch is held while other requests are still decoding images
  int queue_capacity = 64;  // images waiting for the worker; more is refused
};

// The results of the images one request handed in together.
class BatchTicket {
 public:
  explicit BatchTicket(std::vector<std::vector<float>> inputs);

  // Waits until every image has its result or `deadline` passes; false on timeout.
  bool wait_until(std::chrono::steady_clock::time_point deadline);
  // After wait_until returned true: one probability vector per image (empty when error() is set).
  const std::vector<std::vector<float>>& probabilities() const { return probabilities_; }
  // Non-empty when a forward pass over these images failed.
  const std::string& error() const { return error_; }
  // The request gave up: its images still waiting are dropped instead of run.
  void cancel() { cancelled_ = true; }

 private:
  friend class Batcher;
  void deliver(size_t index, std::vector<float> probabilities, const std::string& error);

  std::vector<std::vector<float>> inputs_;
  std::vector<std::vector<float>> probabilities_;
  std::string error_;
  size_t remaining_;
  std::atomic<bool> cancelled_{false};
  std::mutex mutex_;
  std::condition_variable done_;
};

class Batcher {
 public:
  // Per image: input_size floats in; one probability per class out. Called only on the worker thread.
  using Forward = std::function<std::vector<std::vector<float>>(const std::vector<const float*>&)>;
  // Called on the worker thread after every forward pass: the number of images and the seconds it took.
  using BatchObserver = std::function<void(size_t images, double seconds)>;

  // Starts the worker; `worker_start` runs first on the worker thread (e.g. to set its CPU thread count).
  Batcher(Forward forward, BatcherOptions options, BatchObserver observe = {}, std::function<void()> worker_start = {});
  ~Batcher();  // stop()
  Batcher(const Batcher&) = delete;
  Batcher& operator=(const Batcher&) = delete;

  // Marks a request that is decoding images it will submit; while one is open, the worker may hold a partial batch
  // (at most max_wait_ms) for its images instead of running it at once. Closes when destroyed or on close().
  class Arrival {
   public:
    explicit Arrival(Batcher* batcher);
    Arrival(Arrival&& other) noexcept : batcher_(other.batcher_) { other.batcher_ = nullptr; }
    Arrival(const Arrival&) = delete;
    Arrival& operator=(const Arrival&) = delete;
    Arrival& operator=(Arrival&&) = delete;
    ~Arrival() { close(); }
    void close();

   private:
    friend class Batcher;
    Batcher* batcher_;
  };
  Arrival arriving() { return Arrival(this); }

  // Queues the images as one unit and closes `arrival` (if given) at the same moment, so the worker never holds
  // these images waiting for their own request. nullptr (and nothing queued) when they do not all fit in the queue
  // or the batcher is stopping.
  std::shared_ptr<BatchTicket> submit(std::vector<std::vector<float>> inputs, Arrival* arrival = nullptr);

  size_t depth() const;  // images waiting for the worker
  const BatcherOptions& options() const { return options_; }
  bool stopping() const;
  // Seconds a refused client should wait: the queue's images at the recent time per image, 1..60.
  int retry_after_seconds() const;

  // Holds the worker before its next batch (queued images wait; new ones are still accepted) / lets it go on.
  void pause();
  void resume();
  // Refuses new images, runs the queued ones (lifting a pause), and joins the worker. Safe to call twice.
  void stop();

 private:
  struct Item {
    std::shared_ptr<BatchTicket> ticket;
    size_t index;
  };
  void run();
  std::vector<Item> take_batch(std::unique_lock<std::mutex>& lock);

  Forward forward_;
  BatcherOptions options_;
  BatchObserver observe_;
  std::function<void()> worker_start_;

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Item> queue_;
  int arriving_ = 0;
  bool paused_ = false;
  bool stopping_ = false;
  double seconds_per_image_ = 0;  // moving average over recent batches
  std::thread worker_;
};

}  // namespace vigil::infer
