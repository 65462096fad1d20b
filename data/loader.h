// The data loader: worker threads decode, augment (training) or preprocess (evaluation) samples into a bounded
// prefetch queue of ready batches, in a seeded order, skipping unreadable files with one log line each.
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "data/augment.h"
#include "data/dataset.h"
#include "data/image.h"
#include "nn/model_spec.h"
#include "nn/tensor.h"

namespace vigil::data {

enum class Sampling {
  Sequential,     // dataset order (evaluation)
  Shuffle,        // each sample exactly once per epoch, in a Philox(seed, epoch) permutation
  ClassBalanced,  // N draws with replacement, weighted by inverse class frequency (every class equally likely)
};

struct LoaderOptions {
  int batch_size = 32;
  int workers = 2;           // threads decoding and preprocessing
  int prefetch_batches = 4;  // batches being built or waiting at once: the loader's memory bound
  Sampling sampling = Sampling::Shuffle;
  bool drop_last = false;    // drop the last, partial batch of an epoch
  uint64_t seed = 0;
  bool augment = false;      // true: training augmentation; false: the model's own (evaluation) preprocessing
  AugmentOptions augmentation;
  bool require_every_class = true;  // a class without samples, or whose every file fails, is an error

  // Decoded cache: after its first decode an image is kept as uint8, pre-resized (evaluation and training without
  // random crops: the model's resize/crop; training with random crops: shorter side cache_shorter_side, 0 = the
  // larger model input side), so later epochs do not decode it again. At most cache_bytes of pixels are kept,
  // first come first kept; in memory, or in cache_file (a scratch file created here and removed on destruction).
  size_t cache_bytes = 0;
  std::string cache_file;
  int cache_shorter_side = 0;

  DecodeLimits decode_limits;
  // Receives one line per file that cannot be used ("PATH: reason"); called from worker threads, one call at a
  // time. Default: standard error.
  std::function<void(const std::string&)> log;
  // Allocates each batch's (n, C, H, W) float32 image tensor: the hook for pinned host memory. The batch stays a
  // CPU tensor; the trainer copies it to the device. Default: Tensor::empty.
  std::function<Tensor(const Shape&)> allocate_images;
};

struct Batch {
  Tensor images;                 // (n, C, H, W) float32, CPU
  Tensor labels;                 // (n) int32
  std::vector<size_t> indices;   // the dataset sample of each row (Dataset::samples[i].path names it)
  int64_t epoch = 0;
  size_t number = 0;             // position of the batch within its epoch
  size_t skipped = 0;            // samples of this batch that could not be loaded
  size_t size() const { return indices.size(); }
};

struct LoaderStats {
  size_t loaded = 0;          // samples delivered in batches
  size_t skipped = 0;         // sample loads that failed (a bad file counts once per epoch it is drawn)
  size_t unusable_files = 0;  // distinct samples that failed
  size_t decoded = 0;         // images decoded (or copied from an in-memory data set)
  size_t cache_hits = 0;
  size_t cache_bytes = 0;     // pixel bytes held by the cache
  size_t peak_batches = 0;    // most batches being built or waiting at once (never above prefetch_batches)
};

class Loader {
 public:
  // Throws for bad options, a class without samples (require_every_class) or a cache file it cannot create.
  Loader(Dataset dataset, const ModelSpec& spec, LoaderOptions options);
  ~Loader();  // stops and joins the workers, also in the middle of an epoch
  Loader(const Loader&) = delete;
  Loader& operator=(const Loader&) = delete;

  // Starts (or restarts) an epoch: a batch still being built for the previous one is discarded.
  void start_epoch(int64_t epoch);
  // The next batch of the current epoch in order; false once the epoch is over. Rethrows a worker's error; throws
  // at the end of an epoch when every file of a class has failed (require_every_class).
  bool next(Batch& batch);

  size_t batches_per_epoch() const;
  size_t samples_per_epoch() const;
  const Dataset& dataset() const;
  LoaderStats stats() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace vigil::data
