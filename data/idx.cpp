// IDX parsing with full validation, gzip decompression through zlib, and Fashion-MNIST as an in-memory dataset.
#include "data/idx.h"

#if VIGIL_WITH_ZLIB
#include <zlib.h>
#endif

#include <cerrno>
#include <cstring>
#include <fstream>
#include <memory>

#include "common/error.h"

namespace vigil::data {
namespace {

constexpr uint8_t kUnsignedByteType = 0x08;
constexpr int kMaxIdxDims = 8;

uint32_t read_big_endian_u32(const uint8_t* p) {
  return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | uint32_t(p[3]);
}

// The whole file, refused before reading when it is larger than any IDX file vigil accepts.
std::vector<uint8_t> read_whole_file(const std::string& path, uint64_t max_bytes) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) VIGIL_FAIL(path, ": cannot open: ", std::strerror(errno));
  const std::streamoff size = in.tellg();
  if (size < 0) VIGIL_FAIL(path, ": cannot determine the file size");
  if (static_cast<uint64_t>(size) > max_bytes)
    VIGIL_FAIL(path, ": ", size, " bytes is larger than the IDX limit of ", max_bytes, " bytes");
  in.seekg(0);
  std::vector<uint8_t> bytes(static_cast<size_t>(size));
  if (size > 0 && !in.read(reinterpret_cast<char*>(bytes.data()), size))
    VIGIL_FAIL(path, ": read error (", in.gcount(), " of ", size, " bytes read)");
  return bytes;
}

bool is_gzip(const std::vector<uint8_t>& bytes) { return bytes.size() >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b; }

}  // namespace

std::vector<uint8_t> gunzip(const uint8_t* data, size_t size, const std::string& name, uint64_t max_bytes) {
#if !VIGIL_WITH_ZLIB
  (void)data;
  (void)size;
  (void)max_bytes;
  VIGIL_FAIL(name, ": gzip data, but vigil was built without zlib (apt-get install zlib1g-dev and rebuild)");
#else
  z_stream stream{};
  // 15 window bits + 32: accept gzip or zlib headers.
  if (inflateInit2(&stream, 15 + 32) != Z_OK) VIGIL_FAIL(name, ": cannot initialise zlib");
  std::vector<uint8_t> out;
  std::vector<uint8_t> chunk(1 << 18);
  stream.next_in = const_cast<Bytef*>(data);
  stream.avail_in = static_cast<uInt>(size);
  int rc = Z_OK;
  while (true) {
    stream.next_out = chunk.data();
    stream.avail_out = static_cast<uInt>(chunk.size());
    rc = inflate(&stream, Z_NO_FLUSH);
    const size_t produced = chunk.size() - stream.avail_out;
    if (out.size() + produced > max_bytes) {
      inflateEnd(&stream);
      VIGIL_FAIL(name, ": decompressed data exceeds the limit of ", max_bytes, " bytes");
    }
    out.insert(out.end(), chunk.begin(), chunk.begin() + static_cast<std::ptrdiff_t>(produced));
    if (rc == Z_STREAM_END) {
      // A gzip file may hold several members back to back; continue with the next one.
      if (stream.avail_in == 0) break;
      if (inflateReset(&stream) != Z_OK) break;
      continue;
    }
    if (rc == Z_BUF_ERROR && stream.avail_in == 0) {
      inflateEnd(&stream);
      VIGIL_FAIL(name, ": truncated gzip stream (ended after ", out.size(), " decompressed bytes)");
    }
    if (rc != Z_OK) {
      const std::string why = stream.msg ? stream.msg : "zlib error " + std::to_string(rc);
      inflateEnd(&stream);
      VIGIL_FAIL(name, ": corrupt gzip stream: ", why);
    }
    if (produced == 0 && stream.avail_in == 0) {
      inflateEnd(&stream);
      VIGIL_FAIL(name, ": truncated gzip stream (ended after ", out.size(), " decompressed bytes)");
    }
  }
  inflateEnd(&stream);
  return out;
#endif
}

IdxArray parse_idx(const uint8_t* data, size_t size, const std::string& name) {
  if (size < 4) VIGIL_FAIL(name, ": not an IDX file: ", size, " bytes, shorter than the 4-byte magic number");
  if (data[0] != 0 || data[1] != 0)
    VIGIL_FAIL(name, ": not an IDX file: the magic number must start with two zero bytes");
  if (data[2] != kUnsignedByteType)
    VIGIL_FAIL(name, ": unsupported IDX element type 0x", std::hex, int(data[2]), std::dec,
               " (only 0x08, unsigned byte, is supported)");
  const int ndims = data[3];
  if (ndims < 1 || ndims > kMaxIdxDims)
    VIGIL_FAIL(name, ": IDX dimension count ", ndims, " is out of range 1..", kMaxIdxDims);
  const uint64_t header_bytes = 4 + 4ull * static_cast<uint64_t>(ndims);
  if (size < header_bytes)
    VIGIL_FAIL(name, ": truncated: the header needs ", header_bytes, " bytes, the data has ", size);
  IdxArray out;
  uint64_t count = 1;
  for (int d = 0; d < ndims; ++d) {
    const uint32_t extent = read_big_endian_u32(data + 4 + 4 * d);
    if (extent == 0) VIGIL_FAIL(name, ": IDX dimension ", d, " is zero");
    count *= extent;
    if (count > kMaxIdxBytes) VIGIL_FAIL(name, ": IDX dimensions describe more than ", kMaxIdxBytes, " bytes");
    out.dims.push_back(extent);
  }
  const uint64_t payload = size - header_bytes;
  if (payload < count)
    VIGIL_FAIL(name, ": truncated: the header says ", count, " bytes of data, the file has ", payload);
  if (payload > count)
    VIGIL_FAIL(name, ": ", payload - count, " unexpected bytes after the ", count, " bytes of data the header declares");
  out.values.assign(data + header_bytes, data + size);
  return out;
}

IdxArray read_idx_file(const std::string& path) {
  const uint64_t max_raw_bytes = kMaxIdxBytes + 4 + 4 * kMaxIdxDims;
  const std::vector<uint8_t> bytes = read_whole_file(path, max_raw_bytes);
  if (is_gzip(bytes)) {
    const std::vector<uint8_t> raw = gunzip(bytes.data(), bytes.size(), path, max_raw_bytes);
    return parse_idx(raw.data(), raw.size(), path);
  }
  return parse_idx(bytes.data(), bytes.size(), path);
}

Dataset load_idx_dataset(const std::string& images_path, const std::string& labels_path,
                         const std::vector<std::string>& classes) {
  IdxArray images = read_idx_file(images_path);
  const IdxArray labels = read_idx_file(labels_path);
  if (images.dims.size() != 3)
    VIGIL_FAIL(images_path, ": expected 3 IDX dimensions (count, rows, columns), got ", images.dims.size());
  if (labels.dims.size() != 1)
    VIGIL_FAIL(labels_path, ": expected 1 IDX dimension (count), got ", labels.dims.size());
  if (images.dims[0] != labels.dims[0])
    VIGIL_FAIL(images_path, " holds ", images.dims[0], " images but ", labels_path, " holds ", labels.dims[0],
               " labels");
  for (size_t i = 0; i < labels.values.size(); ++i)
    if (labels.values[i] >= classes.size())
      VIGIL_FAIL(labels_path, ": label ", int(labels.values[i]), " of item ", i, " is not below the class count ",
                 classes.size());
  auto bank = std::make_shared<ImageBank>();
  bank->height = static_cast<int>(images.dims[1]);
  bank->width = static_cast<int>(images.dims[2]);
  bank->channels = 1;
  bank->pixels = std::move(images.values);
  Dataset out;
  out.classes = classes;
  out.source = images_path;
  out.samples.resize(labels.values.size());
  for (size_t i = 0; i < out.samples.size(); ++i) {
    Sample& s = out.samples[i];
    s.path = images_path + "#" + std::to_string(i);
    s.label = labels.values[i];
    s.memory_index = static_cast<int64_t>(i);
  }
  out.memory = std::move(bank);
  return out;
}

std::vector<std::string> fashion_mnist_classes() {
  return {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"};
}

Dataset load_fashion_mnist(const std::string& dir, const std::string& split) {
  VIGIL_CHECK(split == "train" || split == "test", "Fashion-MNIST split must be 'train' or 'test', got '", split, "'");
  const std::string prefix = dir + "/" + (split == "train" ? "train" : "t10k");
  std::ifstream probe(prefix + "-images-idx3-ubyte.gz", std::ios::binary);
  if (!probe) VIGIL_FAIL(prefix, "-images-idx3-ubyte.gz: not found (Debian: apt-get install dataset-fashion-mnist)");
  return load_idx_dataset(prefix + "-images-idx3-ubyte.gz", prefix + "-labels-idx1-ubyte.gz",
                          fashion_mnist_classes());
}

}  // namespace vigil::data
