// Loader throughput (images/s) on the CIFAR-10 JPEGs (test split, 10,000 files extracted to /tmp): evaluation
// preprocessing and training augmentation with 1 and 2 worker threads, and a second epoch from the decoded cache.
//   loader_bench [--dir /tmp/vigil-cifar10-jpeg] [--tar PATH/cifar10-jpeg.tar.gz] [--batch 256]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>

#include "common/error.h"
#include "data/dataset.h"
#include "data/loader.h"

namespace {

namespace fs = std::filesystem;
using namespace vigil;

const char* const kCifarClasses = "airplane,automobile,bird,cat,deer,dog,frog,horse,ship,truck";

// Extracts test/ of the CIFAR-10 JPEG tarball into `dir` unless it is there already.
bool ensure_extracted(const fs::path& dir, const fs::path& tarball) {
  if (fs::exists(dir / "test" / "truck")) return true;
  if (!fs::exists(tarball)) {
    std::fprintf(stderr, "loader_bench: skipped: %s not found (shared data absent)\n", tarball.c_str());
    return false;
  }
  fs::create_directories(dir);
  const std::string command = "tar xzf '" + tarball.string() + "' -C '" + dir.string() + "' test";
  std::fprintf(stderr, "loader_bench: %s\n", command.c_str());
  if (std::system(command.c_str()) != 0) {
    std::fprintf(stderr, "loader_bench: extraction failed\n");
    return false;
  }
  return true;
}

ModelSpec cifar_spec(const std::vector<std::string>& classes) {
  ModelSpec spec;
  spec.name = "cifar10-bench";
  spec.input.channels = 3;
  spec.input.height = spec.input.width = 32;
  spec.preprocess.mean = {0.4913f, 0.4821f, 0.4465f};
  spec.preprocess.std = {0.2452f, 0.2428f, 0.2606f};
  spec.classes = classes;
  return spec;
}

// Times one epoch; returns images per second.
double time_epoch(data::Loader& loader, int64_t epoch, size_t* images) {
  const auto t0 = std::chrono::steady_clock::now();
  loader.start_epoch(epoch);
  data::Batch batch;
  *images = 0;
  while (loader.next(batch)) *images += batch.size();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return static_cast<double>(*images) / seconds;
}

void report(const char* mode, int workers, size_t images, double per_second) {
  std::printf("{\"bench\":\"loader\",\"data\":\"cifar10-jpeg test\",\"mode\":\"%s\",\"workers\":%d,\"images\":%zu,"
              "\"images_per_s\":%.0f}\n",
              mode, workers, images, per_second);
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  fs::path dir = "/tmp/vigil-cifar10-jpeg";
  fs::path tarball = fs::path(__FILE__).parent_path() / "../../shared/data/cifar10-jpeg/cifar10-jpeg.tar.gz";
  int batch_size = 256;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--dir")) dir = argv[i + 1];
    else if (!std::strcmp(argv[i], "--tar")) tarball = argv[i + 1];
    else if (!std::strcmp(argv[i], "--batch")) batch_size = std::atoi(argv[i + 1]);
  }
  if (!ensure_extracted(dir, tarball)) return 0;
  try {
    data::FolderOptions folder;
    folder.classes = data::parse_class_list(kCifarClasses);
    const data::FolderScan scan = data::scan_image_folder((dir / "test").string(), folder);
    const ModelSpec spec = cifar_spec(folder.classes);
    for (int workers : {1, 2}) {
      size_t images = 0;
      data::LoaderOptions options;
      options.batch_size = batch_size;
      options.workers = workers;
      options.sampling = data::Sampling::Sequential;
      {
        data::Loader loader(scan.all, spec, options);
        const double rate = time_epoch(loader, 0, &images);
        report("eval (decode + resize + normalise)", workers, images, rate);
      }
      options.sampling = data::Sampling::Shuffle;
      options.augment = true;  // random resized crop + flip (torchvision defaults)
      {
        data::Loader loader(scan.all, spec, options);
        const double rate = time_epoch(loader, 0, &images);
        report("train (decode + random resized crop + flip + normalise)", workers, images, rate);
      }
      options.cache_bytes = 64ull << 20;
      {
        data::Loader loader(scan.all, spec, options);
        time_epoch(loader, 0, &images);
        const double rate = time_epoch(loader, 1, &images);
        report("train, 2nd epoch from the decoded cache", workers, images, rate);
      }
    }
  } catch (const Error& e) {
    std::fprintf(stderr, "loader_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
