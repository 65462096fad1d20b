// Loader internals: epoch orders (sequential, Philox shuffle, class-balanced draws), the worker pool filling a
// bounded window of batches, per-sample load + augment/preprocess, and the decoded-image cache.
#include "data/loader.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <exception>
#include <iostream>
#include <map>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "common/error.h"
#include "common/rng.h"
#include "data/preprocess.h"
#include "data/split.h"

namespace vigil::data {
namespace {

// Philox streams of the epoch orders; augmentation uses streams epoch * N + i, far below these.
constexpr uint64_t kShuffleStreamBase = 0x8000'0000'0000'0000ull;
constexpr uint64_t kBalancedStreamBase = 0xC000'0000'0000'0000ull;

size_t image_bytes(const Image& image) { return image.pixels.size(); }

// Pre-resized uint8 images by sample index, in memory or in a scratch file, up to a byte budget.
class DecodedCache {
 public:
  DecodedCache(size_t budget_bytes, std::string file_path) : budget_(budget_bytes), path_(std::move(file_path)) {
    if (path_.empty()) return;
    fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd_ < 0) VIGIL_FAIL(path_, ": cannot create the loader's cache file: ", std::strerror(errno));
  }
  ~DecodedCache() {
    if (fd_ >= 0) {
      ::close(fd_);
      ::unlink(path_.c_str());
    }
  }
  DecodedCache(const DecodedCache&) = delete;
  DecodedCache& operator=(const DecodedCache&) = delete;

  bool get(size_t index, Image* out) {
    std::unique_lock<std::mutex> lock(mutex_);
    if (fd_ < 0) {
      auto it = images_.find(index);
      if (it == images_.end()) return false;
      *out = it->second;
      return true;
    }
    auto it = entries_.find(index);
    if (it == entries_.end()) return false;
    const FileEntry entry = it->second;
    lock.unlock();
    out->width = entry.width;
    out->height = entry.height;
    out->channels = entry.channels;
    out->pixels.resize(static_cast<size_t>(entry.width) * entry.height * entry.channels);
    return read_exactly(entry.offset, out->pixels.data(), out->pixels.size());
  }

  void put(size_t index, const Image& image) {
    const size_t bytes = image_bytes(image);
    std::unique_lock<std::mutex> lock(mutex_);
    if (used_ + bytes > budget_ || images_.count(index) || entries_.count(index)) return;
    used_ += bytes;
    if (fd_ < 0) {
      images_.emplace(index, image);
      return;
    }
    const uint64_t offset = file_end_;
    file_end_ += bytes;
    lock.unlock();
    if (!write_exactly(offset, image.pixels.data(), bytes)) return;  // a failed write just is not cached
    lock.lock();
    entries_.emplace(index, FileEntry{offset, image.width, image.height, image.channels});
  }

  size_t bytes_used() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return used_;
  }

 private:
  struct FileEntry {
    uint64_t offset;
    int width, height, channels;
  };
  bool read_exactly(uint64_t offset, uint8_t* data, size_t size) const {
    while (size > 0) {
      const ssize_t n = ::pread(fd_, data, size, static_cast<off_t>(offset));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      data += n;
      size -= static_cast<size_t>(n);
      offset += static_cast<uint64_t>(n);
    }
    return true;
  }
  bool write_exactly(uint64_t offset, const uint8_t* data, size_t size) const {
    while (size > 0) {
      const ssize_t n = ::pwrite(fd_, data, size, static_cast<off_t>(offset));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      data += n;
      size -= static_cast<size_t>(n);
      offset += static_cast<uint64_t>(n);
    }
    return true;
  }

  const size_t budget_;
  const std::string path_;
  int fd_ = -1;
  mutable std::mutex mutex_;
  size_t used_ = 0;
  uint64_t file_end_ = 0;
  std::unordered_map<size_t, Image> images_;
  std::unordered_map<size_t, FileEntry> entries_;
};

// The model's resize / crop step alone (what preprocess_image does before normalising).
Image model_geometry(const Image& image, const ModelSpec& spec) {
  const PreprocessSpec& pp = spec.preprocess;
  const bool area = pp.interpolation == "area";
  if (pp.resize == "shorter_side") {
    const Image resized = resize_shorter_side(image, pp.resize_shorter, area);
    return pp.crop == "center" ? center_crop(resized, spec.input.width, spec.input.height) : resized;
  }
  return area ? resize_area(image, spec.input.width, spec.input.height)
              : resize_bilinear(image, spec.input.width, spec.input.height);
}

// (pixel / 255 - mean) / std, HWC uint8 -> CHW float.
void normalise_into(const Image& image, const ModelSpec& spec, float* out) {
  const int channels = image.channels;
  const size_t plane = static_cast<size_t>(image.width) * image.height;
  for (int c = 0; c < channels; ++c) {
    const float mean = c < static_cast<int>(spec.preprocess.mean.size()) ? spec.preprocess.mean[c] : 0.0f;
    const float std = c < static_cast<int>(spec.preprocess.std.size()) ? spec.preprocess.std[c] : 1.0f;
    float* dst = out + c * plane;
    for (size_t p = 0; p < plane; ++p) dst[p] = (image.pixels[p * channels + c] / 255.0f - mean) / std;
  }
}

std::string join_names(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

}  // namespace

struct Loader::State {
  Dataset dataset;
  ModelSpec spec;
  LoaderOptions options;
  DecodeOptions decode;
  uint8_t fill[3] = {255, 255, 255};
  bool cache_model_geometry = true;  // what the cache holds: the model's resize/crop, or a shorter-side resize
  int cache_shorter_side = 0;
  std::unique_ptr<DecodedCache> cache;
  std::vector<std::vector<size_t>> samples_of_class;  // for class-balanced draws

  mutable std::mutex mutex;
  std::condition_variable work_available, batch_done;
  bool stopping = false;
  bool epoch_active = false;
  int64_t epoch = 0;
  uint64_t generation = 0;
  std::atomic<uint64_t> live_generation{0};  // read between samples so a stale batch stops early
  std::atomic<bool> stop_flag{false};
  std::vector<size_t> order;  // sample index of each epoch position
  size_t num_batches = 0, next_to_claim = 0, next_to_consume = 0, in_flight = 0;
  std::map<size_t, Batch> ready;
  std::exception_ptr failure;
  std::unordered_set<size_t> unusable;
  std::vector<size_t> unusable_per_class;
  LoaderStats stats;  // counters updated under `mutex`; the two below are updated by workers without it
  std::atomic<size_t> decoded_count{0}, cache_hit_count{0};
  bool started = false;
  std::mutex log_mutex;
  std::vector<std::thread> workers;

  void log_line(const std::string& line) {
    std::lock_guard<std::mutex> lock(log_mutex);
    if (options.log) options.log(line);
    else std::cerr << "vigil: skipped " << line << std::endl;
  }

  void build_order(int64_t for_epoch) {
    const size_t n = dataset.size();
    order.resize(n);
    if (options.sampling == Sampling::ClassBalanced) {
      std::vector<size_t> present;
      for (size_t c = 0; c < samples_of_class.size(); ++c)
        if (!samples_of_class[c].empty()) present.push_back(c);
      for (size_t p = 0; p < n; ++p) {
        const Philox4 r = philox4x32(options.seed, kBalancedStreamBase + static_cast<uint64_t>(for_epoch), p);
        const std::vector<size_t>& members =
            samples_of_class[present[std::min(present.size() - 1, static_cast<size_t>(uint_to_unit_float(r.v[0]) *
                                                                                        present.size()))]];
        const uint64_t bits = (static_cast<uint64_t>(r.v[1]) << 32) | r.v[2];
        order[p] = members[bits % members.size()];
      }
    } else {
      for (size_t i = 0; i < n; ++i) order[i] = i;
      if (options.sampling == Sampling::Shuffle)
        philox_shuffle(order, options.seed, kShuffleStreamBase + static_cast<uint64_t>(for_epoch));
    }
    const size_t bs = static_cast<size_t>(options.batch_size);
    num_batches = options.drop_last ? n / bs : (n + bs - 1) / bs;
  }

  // The image of one sample before augmentation / normalisation: from the cache, or decoded (and cached).
  // Returns false (with the reason) when the file cannot be used. `geometry_done` says the model's resize/crop
  // has been applied already.
  bool base_image(size_t index, Image* image, bool* geometry_done, std::string* error) {
    *geometry_done = false;
    if (cache && cache->get(index, image)) {
      ++cache_hit_count;
      *geometry_done = cache_model_geometry;
      return true;
    }
    DecodeResult decoded = dataset.load(index, decode);
    ++decoded_count;
    if (!decoded.ok()) {
      *error = decoded.error.empty() ? dataset.samples[index].path + ": " + status_name(decoded.status)
                                     : decoded.error;
      return false;
    }
    *image = std::move(decoded.image);
    if (!cache) return true;
    if (cache_model_geometry) {
      *image = model_geometry(*image, spec);
      *geometry_done = true;
    } else if (std::min(image->width, image->height) > cache_shorter_side) {
      *image = resize_shorter_side(*image, cache_shorter_side, false);
    }
    cache->put(index, *image);
    return true;
  }

  // Loads sample `index` into out (C, H, W); false with the reason when it cannot be used.
  bool load_sample(size_t index, uint64_t stream, float* out, std::string* error) {
    try {
      Image image;
      bool geometry_done = false;
      if (!base_image(index, &image, &geometry_done, error)) return false;
      if (options.augment) {
        if (!options.augmentation.random_resized_crop && !geometry_done) image = model_geometry(image, spec);
        const Image augmented = augment_image(image, spec.input.width, spec.input.height, options.augmentation, fill,
                                              options.seed, stream);
        normalise_into(augmented, spec, out);
      } else if (geometry_done) {
        normalise_into(image, spec, out);
      } else {
        preprocess_image(image, spec, out);
      }
      return true;
    } catch (const std::exception& e) {
      *error = dataset.samples[index].path + ": " + user_message(e);
      return false;
    }
  }

  Batch build_batch(size_t number, int64_t for_epoch, uint64_t for_generation) {
    const size_t bs = static_cast<size_t>(options.batch_size);
    const size_t start = number * bs, count = std::min(bs, order.size() - start);
    const int64_t C = spec.input.channels, H = spec.input.height, W = spec.input.width;
    Batch batch;
    batch.epoch = for_epoch;
    batch.number = number;
    batch.images = options.allocate_images ? options.allocate_images(Shape{static_cast<int64_t>(count), C, H, W})
                                           : Tensor::empty(Shape{static_cast<int64_t>(count), C, H, W});
    VIGIL_CHECK(batch.images.defined() && batch.images.numel() == static_cast<int64_t>(count) * C * H * W &&
                    !batch.images.is_cuda(),
                "allocate_images must return a CPU float32 tensor of shape ", shape_str({static_cast<int64_t>(count), C, H, W}));
    float* base = batch.images.f32();
    std::vector<int32_t> labels;
    const size_t sample_floats = static_cast<size_t>(C * H * W);
    for (size_t k = 0; k < count; ++k) {
      if (stop_flag.load() || live_generation.load() != for_generation) return Batch{};
      const size_t index = order[start + k];
      const uint64_t stream_index = options.sampling == Sampling::ClassBalanced ? start + k : index;
      const uint64_t stream = augment_stream(for_epoch, dataset.size(), stream_index);
      bool known_bad;
      {
        std::lock_guard<std::mutex> lock(mutex);
        known_bad = unusable.count(index) > 0;
      }
      std::string error;
      if (!known_bad && load_sample(index, stream, base + batch.size() * sample_floats, &error)) {
        batch.indices.push_back(index);
        labels.push_back(dataset.samples[index].label);
        continue;
      }
      ++batch.skipped;
      if (!known_bad) {
        bool first_time;
        {
          std::lock_guard<std::mutex> lock(mutex);
          first_time = unusable.insert(index).second;
          if (first_time) ++unusable_per_class[dataset.samples[index].label];
        }
        if (first_time) log_line(error);
      }
    }
    if (batch.size() < count)
      batch.images = batch.size() ? batch.images.narrow0(0, static_cast<int64_t>(batch.size())) : Tensor();
    if (batch.size()) batch.labels = Tensor::from_labels(labels);
    return batch;
  }

  void worker_loop() {
    std::unique_lock<std::mutex> lock(mutex);
    for (;;) {
      work_available.wait(lock, [&] {
        return stopping || (epoch_active && next_to_claim < num_batches &&
                            next_to_claim < next_to_consume + static_cast<size_t>(options.prefetch_batches));
      });
      if (stopping) return;
      const size_t number = next_to_claim++;
      const uint64_t my_generation = generation;
      const int64_t my_epoch = epoch;
      ++in_flight;
      stats.peak_batches = std::max(stats.peak_batches, in_flight + ready.size());
      lock.unlock();
      Batch batch;
      std::exception_ptr error;
      try {
        batch = build_batch(number, my_epoch, my_generation);
      } catch (...) {
        error = std::current_exception();
      }
      lock.lock();
      --in_flight;
      if (my_generation == generation) {
        if (error) {
          if (!failure) failure = error;
        } else {
          ready.emplace(number, std::move(batch));
        }
      }
      batch_done.notify_all();
    }
  }

  void check_usable_classes() const {
    if (!options.require_every_class) return;
    const std::vector<int64_t> counts = dataset.class_counts();
    for (size_t c = 0; c < counts.size(); ++c)
      if (counts[c] > 0 && unusable_per_class[c] == static_cast<size_t>(counts[c]))
        VIGIL_FAIL(dataset.source, ": no usable images of class '", dataset.classes[c], "': all ", counts[c],
                   " failed to load (see the log)");
  }
};

Loader::Loader(Dataset dataset, const ModelSpec& spec, LoaderOptions options) : state_(std::make_unique<State>()) {
  State& s = *state_;
  VIGIL_CHECK(options.batch_size >= 1, "loader: batch_size must be >= 1, got ", options.batch_size);
  VIGIL_CHECK(options.workers >= 1, "loader: workers must be >= 1, got ", options.workers);
  VIGIL_CHECK(options.prefetch_batches >= 1, "loader: prefetch_batches must be >= 1, got ", options.prefetch_batches);
  VIGIL_CHECK(spec.input.channels == 1 || spec.input.channels == 3, "loader: the model input needs 1 or 3 channels");
  VIGIL_CHECK(dataset.classes == spec.classes || spec.classes.empty(), dataset.source,
              ": the data set's classes (", join_names(dataset.classes), ") differ from the model's (",
              join_names(spec.classes), ")");
  for (const Sample& sample : dataset.samples)
    VIGIL_CHECK(sample.label >= 0 && static_cast<size_t>(sample.label) < dataset.classes.size(), sample.path,
                ": label ", sample.label, " out of range");
  if (options.require_every_class) require_every_class(dataset, dataset.source);
  if (options.augment) validate_augment_options(options.augmentation);
  VIGIL_CHECK(options.sampling != Sampling::ClassBalanced || dataset.size() > 0, "loader: class-balanced sampling of an empty data set");

  s.dataset = std::move(dataset);
  s.spec = spec;
  s.options = std::move(options);
  s.decode = decode_options_for(spec);
  s.decode.limits = s.options.decode_limits;
  for (int c = 0; c < 3; ++c) s.fill[c] = s.decode.background[c];
  s.cache_model_geometry = !(s.options.augment && s.options.augmentation.random_resized_crop);
  s.cache_shorter_side = s.options.cache_shorter_side > 0 ? s.options.cache_shorter_side
                                                          : std::max(spec.input.width, spec.input.height);
  if (s.options.cache_bytes > 0) s.cache = std::make_unique<DecodedCache>(s.options.cache_bytes, s.options.cache_file);
  s.samples_of_class.resize(s.dataset.classes.size());
  for (size_t i = 0; i < s.dataset.size(); ++i) s.samples_of_class[s.dataset.samples[i].label].push_back(i);
  s.unusable_per_class.assign(s.dataset.classes.size(), 0);
  for (int w = 0; w < s.options.workers; ++w) s.workers.emplace_back([&s] { s.worker_loop(); });
}

Loader::~Loader() {
  State& s = *state_;
  {
    std::lock_guard<std::mutex> lock(s.mutex);
    s.stopping = true;
    s.stop_flag = true;
  }
  s.work_available.notify_all();
  for (std::thread& t : s.workers) t.join();
}

void Loader::start_epoch(int64_t epoch) {
  VIGIL_CHECK(epoch >= 0, "loader: epoch must be >= 0, got ", epoch);
  State& s = *state_;
  std::unique_lock<std::mutex> lock(s.mutex);
  ++s.generation;
  s.live_generation = s.generation;
  s.batch_done.wait(lock, [&] { return s.in_flight == 0; });
  s.ready.clear();
  s.failure = nullptr;
  s.epoch = epoch;
  s.build_order(epoch);
  s.next_to_claim = s.next_to_consume = 0;
  s.epoch_active = true;
  s.started = true;
  lock.unlock();
  s.work_available.notify_all();
}

bool Loader::next(Batch& batch) {
  State& s = *state_;
  std::unique_lock<std::mutex> lock(s.mutex);
  VIGIL_CHECK(s.started, "loader: call start_epoch before next");
  while (s.epoch_active) {
    if (s.next_to_consume >= s.num_batches) {
      s.epoch_active = false;
      s.check_usable_classes();
      return false;
    }
    s.batch_done.wait(lock, [&] { return s.failure || s.ready.count(s.next_to_consume) > 0; });
    if (s.failure) {
      std::exception_ptr failure = s.failure;
      s.failure = nullptr;
      s.epoch_active = false;
      std::rethrow_exception(failure);
    }
    auto it = s.ready.find(s.next_to_consume);
    Batch candidate = std::move(it->second);
    s.ready.erase(it);
    ++s.next_to_consume;
    s.work_available.notify_all();
    s.stats.skipped += candidate.skipped;
    s.stats.loaded += candidate.size();
    if (candidate.size() == 0) continue;  // every sample of this batch failed
    batch = std::move(candidate);
    return true;
  }
  return false;
}

size_t Loader::batches_per_epoch() const {
  const size_t n = state_->dataset.size(), bs = static_cast<size_t>(state_->options.batch_size);
  return state_->options.drop_last ? n / bs : (n + bs - 1) / bs;
}

size_t Loader::samples_per_epoch() const {
  const size_t n = state_->dataset.size(), bs = static_cast<size_t>(state_->options.batch_size);
  return state_->options.drop_last ? n / bs * bs : n;
}

const Dataset& Loader::dataset() const { return state_->dataset; }

LoaderStats Loader::stats() const {
  std::lock_guard<std::mutex> lock(state_->mutex);
  LoaderStats out = state_->stats;
  out.unusable_files = state_->unusable.size();
  out.decoded = state_->decoded_count.load();
  out.cache_hits = state_->cache_hit_count.load();
  out.cache_bytes = state_->cache ? state_->cache->bytes_used() : 0;
  return out;
}

}  // namespace vigil::data
