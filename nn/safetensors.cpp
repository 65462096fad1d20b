// safetensors: header validation shared by the file and buffer readers, and the atomic writer.
#include "nn/safetensors.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <limits>
#include <set>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "nn/strict_json.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "safetensors.cpp copies tensor bytes verbatim and needs a little-endian host"
#endif

// Every error names the file (or buffer) first: "<source>: <reason>".
#define SAFETENSORS_FAIL(source, ...) VIGIL_FAIL((source), ": ", __VA_ARGS__)

namespace vigil {

using nlohmann::json;

const Tensor* SafetensorsContent::find(const std::string& name) const {
  for (const NamedTensor& t : tensors)
    if (t.name == name) return &t.tensor;
  return nullptr;
}

namespace {

constexpr uint64_t kLengthPrefixBytes = 8;
constexpr int kMaxJsonDepth = 16;  // a valid header nests 3 deep (root, entry, shape / offsets)
constexpr const char* kMetadataKey = "__metadata__";

// Where one tensor's bytes lie in the data buffer (the bytes after the header), fully validated.
struct TensorLayout {
  std::string name;
  DType dtype = DType::F32;
  Shape shape;
  uint64_t begin = 0, end = 0;
};

struct HeaderLayout {
  std::map<std::string, std::string> metadata;
  std::vector<TensorLayout> tensors;  // sorted by data offset
};

std::string errno_text() { return std::strerror(errno); }

uint64_t read_le_u64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

bool parse_supported_dtype(const std::string& s, DType* out) {
  for (DType t : {DType::F32, DType::F16, DType::BF16, DType::U8, DType::I32, DType::I64}) {
    if (s == safetensors_dtype(t)) {
      *out = t;
      return true;
    }
  }
  return false;
}

bool is_known_unsupported_dtype(const std::string& s) {
  static const char* const kNames[] = {"F64", "I8", "I16", "U16", "U32", "U64", "BOOL", "F8_E4M3", "F8_E5M2",
                                       "F8_E8M0", "F4", "F6_E2M3", "F6_E3M2", "C64"};
  for (const char* n : kNames)
    if (s == n) return true;
  return false;
}

// Validates the length prefix against the limits and the total size; returns the header length.
uint64_t check_header_length(const uint8_t* prefix, uint64_t total_size, const std::string& source,
                             const SafetensorsLimits& limits) {
  if (total_size < kLengthPrefixBytes)
    SAFETENSORS_FAIL(source, "truncated: no header length (", total_size, " bytes, need at least 8)");
  const uint64_t header_bytes = read_le_u64(prefix);
  if (header_bytes == 0) SAFETENSORS_FAIL(source, "header length is 0");
  if (header_bytes > limits.max_header_bytes)
    SAFETENSORS_FAIL(source, "header length ", header_bytes, " exceeds the limit of ", limits.max_header_bytes,
                     " bytes");
  // total_size >= 8 here, so the subtraction cannot wrap (8 + header_bytes could).
  if (header_bytes > total_size - kLengthPrefixBytes)
    SAFETENSORS_FAIL(source, "header length ", header_bytes, " exceeds file size ", total_size);
  return header_bytes;
}

// Parses the header text strictly (nn/strict_json.h): duplicate keys at any depth, a NUL byte and absurd nesting
// are errors; a repeated top-level key is a duplicate tensor name.
json parse_header_json(const char* text, size_t size, const std::string& source) {
  return parse_strict_json(text, size, source + ": header", kMaxJsonDepth,
                           [](int depth, const std::string& key, const std::string& path) {
                             if (depth == 1 && key != kMetadataKey) return "duplicate tensor name '" + key + "'";
                             return "duplicate key '" + key + "' at " + path;
                           });
}

// Reads a JSON integer that must be >= 0 and fit in int64 (shape dimensions, offsets).
bool read_non_negative_int(const json& v, int64_t* out) {
  if (v.is_number_unsigned()) {
    const uint64_t u = v.get<uint64_t>();
    if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return false;
    *out = static_cast<int64_t>(u);
    return true;
  }
  if (v.is_number_integer()) {
    *out = v.get<int64_t>();
    return *out >= 0;
  }
  return false;
}

const json& require_field(const json& entry, const char* field, const std::string& name,
                          const std::string& source) {
  const auto it = entry.find(field);
  if (it == entry.end()) SAFETENSORS_FAIL(source, "tensor '", name, "' has no \"", field, "\"");
  return *it;
}

TensorLayout parse_tensor_entry(const std::string& name, const json& entry, uint64_t data_bytes,
                                const std::string& source) {
  if (name.empty()) SAFETENSORS_FAIL(source, "empty tensor name in the header");
  if (!entry.is_object())
    SAFETENSORS_FAIL(source, "entry for tensor '", name, "' is not an object (found ", entry.type_name(), ")");
  TensorLayout layout;
  layout.name = name;

  const json& dtype = require_field(entry, "dtype", name, source);
  if (!dtype.is_string())
    SAFETENSORS_FAIL(source, "tensor '", name, "': \"dtype\" is not a string (found ", dtype.type_name(), ")");
  const std::string& dtype_text = dtype.get_ref<const std::string&>();
  if (!parse_supported_dtype(dtype_text, &layout.dtype)) {
    if (is_known_unsupported_dtype(dtype_text))
      SAFETENSORS_FAIL(source, "tensor '", name, "' has unsupported dtype '", dtype_text,
                       "' (vigil reads F32, F16, BF16, U8, I32 and I64)");
    SAFETENSORS_FAIL(source, "tensor '", name, "' has unknown dtype '", dtype_text, "'");
  }

  const json& shape = require_field(entry, "shape", name, source);
  if (!shape.is_array())
    SAFETENSORS_FAIL(source, "tensor '", name, "': \"shape\" is not an array (found ", shape.type_name(), ")");
  // The product of the non-zero dimensions must fit in int64 even when another dimension is 0, so that
  // strides computed from the shape cannot overflow.
  int64_t nonzero_product = 1;
  bool has_zero_dim = false;
  for (size_t i = 0; i < shape.size(); ++i) {
    int64_t dim = 0;
    if (!read_non_negative_int(shape[i], &dim))
      SAFETENSORS_FAIL(source, "tensor '", name, "': shape dimension ", i, " is ", shape[i].dump(),
                       ", not a non-negative integer");
    layout.shape.push_back(dim);
    if (dim == 0) {
      has_zero_dim = true;
    } else if (__builtin_mul_overflow(nonzero_product, dim, &nonzero_product)) {
      SAFETENSORS_FAIL(source, "tensor '", name, "': shape ", shape.dump(), " overflows int64 elements");
    }
  }
  const uint64_t numel = has_zero_dim ? 0 : static_cast<uint64_t>(nonzero_product);
  uint64_t expected_bytes = 0;
  if (__builtin_mul_overflow(numel, static_cast<uint64_t>(dtype_size(layout.dtype)), &expected_bytes))
    SAFETENSORS_FAIL(source, "tensor '", name, "': shape ", shape.dump(), " overflows the byte size");

  const json& offsets = require_field(entry, "data_offsets", name, source);
  int64_t begin = 0, end = 0;
  if (!offsets.is_array() || offsets.size() != 2 || !read_non_negative_int(offsets[0], &begin) ||
      !read_non_negative_int(offsets[1], &end))
    SAFETENSORS_FAIL(source, "tensor '", name, "': \"data_offsets\" is ", offsets.dump(),
                     ", not [begin, end] with non-negative integers");
  layout.begin = static_cast<uint64_t>(begin);
  layout.end = static_cast<uint64_t>(end);
  if (layout.begin > layout.end)
    SAFETENSORS_FAIL(source, "tensor '", name, "': data_offsets begin ", begin, " > end ", end);
  if (layout.end > data_bytes)
    SAFETENSORS_FAIL(source, "truncated: tensor '", name, "' data ends at byte ", end, " but the data buffer has ",
                     data_bytes, " bytes");
  if (layout.end - layout.begin != expected_bytes)
    SAFETENSORS_FAIL(source, "tensor '", name, "': data_offsets span ", layout.end - layout.begin,
                     " bytes but ", dtype_text, " shape ", shape_str(layout.shape), " needs ", expected_bytes);
  return layout;
}

std::map<std::string, std::string> parse_metadata(const json& value, const std::string& source) {
  if (!value.is_object())
    SAFETENSORS_FAIL(source, "\"__metadata__\" is not an object (found ", value.type_name(), ")");
  std::map<std::string, std::string> metadata;
  for (const auto& item : value.items()) {
    if (!item.value().is_string())
      SAFETENSORS_FAIL(source, "\"__metadata__\" value for '", item.key(), "' is not a string (found ",
                       item.value().type_name(), ")");
    metadata[item.key()] = item.value().get<std::string>();
  }
  return metadata;
}

// Validates the whole header against a data buffer of `data_bytes` bytes.
HeaderLayout parse_header(const char* text, size_t size, uint64_t data_bytes, const std::string& source) {
  const json header = parse_header_json(text, size, source);
  if (!header.is_object())
    SAFETENSORS_FAIL(source, "header is not a JSON object (found ", header.type_name(), ")");
  HeaderLayout layout;
  for (const auto& item : header.items()) {
    if (item.key() == kMetadataKey) {
      layout.metadata = parse_metadata(item.value(), source);
    } else {
      layout.tensors.push_back(parse_tensor_entry(item.key(), item.value(), data_bytes, source));
    }
  }
  // The tensors must tile the data buffer exactly: no overlap, no gap, nothing after the last one.
  std::stable_sort(layout.tensors.begin(), layout.tensors.end(), [](const TensorLayout& a, const TensorLayout& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  uint64_t covered = 0;
  const TensorLayout* previous = nullptr;
  for (const TensorLayout& t : layout.tensors) {
    if (t.begin < covered)
      SAFETENSORS_FAIL(source, "tensors '", previous->name, "' [", previous->begin, ", ", previous->end, ") and '",
                       t.name, "' [", t.begin, ", ", t.end, ") overlap in the data buffer");
    if (t.begin > covered)
      SAFETENSORS_FAIL(source, "gap in the data buffer: bytes [", covered, ", ", t.begin,
                       ") belong to no tensor (before '", t.name, "')");
    covered = t.end;
    previous = &t;
  }
  if (covered != data_bytes)
    SAFETENSORS_FAIL(source, "trailing bytes: the data buffer has ", data_bytes, " bytes but the tensors cover ",
                     covered);
  return layout;
}

// Owns a POSIX file descriptor.
class FileDescriptor {
 public:
  explicit FileDescriptor(int fd) : fd_(fd) {}
  ~FileDescriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

// Reads exactly `size` bytes at `offset`; a short read means the file shrank after it was sized.
void read_exact(int fd, void* dst, uint64_t size, uint64_t offset, const std::string& path) {
  auto* p = static_cast<uint8_t*>(dst);
  while (size > 0) {
    const size_t chunk = static_cast<size_t>(std::min<uint64_t>(size, uint64_t{1} << 30));
    const ssize_t got = ::pread(fd, p, chunk, static_cast<off_t>(offset));
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) SAFETENSORS_FAIL(path, "read failed at byte ", offset, ": ", errno_text());
    if (got == 0) SAFETENSORS_FAIL(path, "truncated: file ended at byte ", offset, " while reading");
    p += got;
    offset += static_cast<uint64_t>(got);
    size -= static_cast<uint64_t>(got);
  }
}

void write_all(int fd, const void* src, size_t size, const std::string& path) {
  const auto* p = static_cast<const uint8_t*>(src);
  while (size > 0) {
    const size_t chunk = std::min<size_t>(size, size_t{1} << 30);
    const ssize_t put = ::write(fd, p, chunk);
    if (put < 0 && errno == EINTR) continue;
    if (put <= 0) SAFETENSORS_FAIL(path, "write failed: ", put < 0 ? errno_text() : "no progress");
    p += put;
    size -= static_cast<size_t>(put);
  }
}

// The temporary file of one save: removed on destruction unless renamed into place.
class TemporaryFile {
 public:
  TemporaryFile(std::string path, const std::string& target) : path_(std::move(path)) {
    fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd_ < 0) SAFETENSORS_FAIL(target, "cannot create temporary file '", path_, "': ", errno_text());
  }
  ~TemporaryFile() {
    if (fd_ >= 0) ::close(fd_);
    if (!renamed_) ::unlink(path_.c_str());
  }
  TemporaryFile(const TemporaryFile&) = delete;
  TemporaryFile& operator=(const TemporaryFile&) = delete;

  int fd() const { return fd_; }
  const std::string& path() const { return path_; }

  // fsync, close and rename over `target`.
  void commit(const std::string& target) {
    if (::fsync(fd_) != 0) SAFETENSORS_FAIL(target, "fsync of '", path_, "' failed: ", errno_text());
    const int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) SAFETENSORS_FAIL(target, "close of '", path_, "' failed: ", errno_text());
    if (::rename(path_.c_str(), target.c_str()) != 0)
      SAFETENSORS_FAIL(target, "cannot rename '", path_, "' over it: ", errno_text());
    renamed_ = true;
  }

 private:
  std::string path_;
  int fd_ = -1;
  bool renamed_ = false;
};

// Makes a completed rename durable; filesystems without directory fsync (EINVAL) are accepted.
void fsync_directory_of(const std::string& path) {
  std::string dir = std::filesystem::path(path).parent_path().string();
  if (dir.empty()) dir = ".";
  FileDescriptor fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0)
    SAFETENSORS_FAIL(path, "written, but cannot open directory '", dir, "' to fsync it: ", errno_text());
  if (::fsync(fd.get()) != 0 && errno != EINVAL)
    SAFETENSORS_FAIL(path, "written, but fsync of directory '", dir, "' failed: ", errno_text());
}

void check_tensors_to_save(const std::string& path, const std::vector<NamedTensor>& tensors) {
  std::set<std::string> names;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const NamedTensor& t = tensors[i];
    if (t.name.empty()) SAFETENSORS_FAIL(path, "cannot save: tensor #", i, " has an empty name");
    if (t.name == kMetadataKey) SAFETENSORS_FAIL(path, "cannot save: the tensor name '", kMetadataKey, "' is reserved");
    if (!names.insert(t.name).second) SAFETENSORS_FAIL(path, "cannot save: duplicate tensor name '", t.name, "'");
    if (!t.tensor.defined()) SAFETENSORS_FAIL(path, "cannot save: tensor '", t.name, "' is undefined");
    if (!t.tensor.is_contiguous())
      SAFETENSORS_FAIL(path, "cannot save: tensor '", t.name, "' ", t.tensor.str(), " is not contiguous");
  }
}

// The header text, padded with spaces so that 8 + its length is a multiple of 8.
std::string build_header(const std::string& path, const std::vector<NamedTensor>& tensors,
                         const std::map<std::string, std::string>& metadata) {
  json header = json::object();
  if (!metadata.empty()) {
    json meta = json::object();
    for (const auto& [key, value] : metadata) meta[key] = value;
    header[kMetadataKey] = std::move(meta);
  }
  uint64_t offset = 0;
  for (const NamedTensor& t : tensors) {
    const uint64_t bytes = t.tensor.nbytes();
    header[t.name] = json{{"dtype", safetensors_dtype(t.tensor.dtype())},
                          {"shape", t.tensor.shape()},
                          {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  std::string text;
  try {
    text = header.dump();
  } catch (const json::exception& e) {
    SAFETENSORS_FAIL(path, "cannot save: a tensor name or metadata string is not valid UTF-8 (", e.what(), ")");
  }
  text.append((kLengthPrefixBytes - text.size() % kLengthPrefixBytes) % kLengthPrefixBytes, ' ');
  return text;
}

Tensor tensor_from_layout(const TensorLayout& t) { return Tensor::empty(t.shape, t.dtype, Device::cpu()); }

}  // namespace

SafetensorsContent parse_safetensors(const uint8_t* data, size_t size, const std::string& source,
                                     const SafetensorsLimits& limits) {
  if (data == nullptr && size > 0) SAFETENSORS_FAIL(source, "null buffer of ", size, " bytes");
  if (size > limits.max_file_bytes)
    SAFETENSORS_FAIL(source, "size ", size, " bytes exceeds the limit of ", limits.max_file_bytes, " bytes");
  const uint64_t header_bytes = check_header_length(data, size, source, limits);
  const uint8_t* header = data + kLengthPrefixBytes;
  const uint8_t* buffer = header + header_bytes;
  const uint64_t data_bytes = size - kLengthPrefixBytes - header_bytes;
  const HeaderLayout layout = parse_header(reinterpret_cast<const char*>(header), header_bytes, data_bytes, source);

  SafetensorsContent content;
  content.metadata = layout.metadata;
  for (const TensorLayout& t : layout.tensors) {
    Tensor tensor = tensor_from_layout(t);
    if (t.end > t.begin) std::memcpy(tensor.raw_data(), buffer + t.begin, t.end - t.begin);
    content.tensors.push_back({t.name, std::move(tensor)});
  }
  return content;
}

SafetensorsContent load_safetensors(const std::string& path, const SafetensorsLimits& limits) {
  FileDescriptor fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) SAFETENSORS_FAIL(path, "cannot open: ", errno_text());
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) SAFETENSORS_FAIL(path, "cannot stat: ", errno_text());
  if (!S_ISREG(st.st_mode)) SAFETENSORS_FAIL(path, "not a regular file");
  const uint64_t file_bytes = static_cast<uint64_t>(st.st_size);
  if (file_bytes > limits.max_file_bytes)
    SAFETENSORS_FAIL(path, "file size ", file_bytes, " bytes exceeds the limit of ", limits.max_file_bytes, " bytes");

  uint8_t prefix[kLengthPrefixBytes] = {};
  if (file_bytes >= kLengthPrefixBytes) read_exact(fd.get(), prefix, kLengthPrefixBytes, 0, path);
  const uint64_t header_bytes = check_header_length(prefix, file_bytes, path, limits);
  std::vector<char> header(static_cast<size_t>(header_bytes));  // bounded by the limit and the file size
  read_exact(fd.get(), header.data(), header_bytes, kLengthPrefixBytes, path);
  const uint64_t data_start = kLengthPrefixBytes + header_bytes;
  const HeaderLayout layout = parse_header(header.data(), header.size(), file_bytes - data_start, path);

  SafetensorsContent content;
  content.metadata = layout.metadata;
  for (const TensorLayout& t : layout.tensors) {
    Tensor tensor = tensor_from_layout(t);
    if (t.end > t.begin) read_exact(fd.get(), tensor.raw_data(), t.end - t.begin, data_start + t.begin, path);
    content.tensors.push_back({t.name, std::move(tensor)});
  }
  return content;
}

void save_safetensors(const std::string& path, const std::vector<NamedTensor>& tensors,
                      const std::map<std::string, std::string>& metadata) {
  check_tensors_to_save(path, tensors);
  const std::string header = build_header(path, tensors, metadata);
  const uint64_t header_bytes = header.size();
  uint8_t prefix[kLengthPrefixBytes];
  for (size_t i = 0; i < kLengthPrefixBytes; ++i) prefix[i] = static_cast<uint8_t>(header_bytes >> (8 * i));

  TemporaryFile tmp(path + ".tmp." + std::to_string(::getpid()), path);
  write_all(tmp.fd(), prefix, sizeof(prefix), tmp.path());
  write_all(tmp.fd(), header.data(), header.size(), tmp.path());
  for (const NamedTensor& t : tensors) {
    if (t.tensor.nbytes() == 0) continue;
    const Tensor host = t.tensor.to(Device::cpu());  // one tensor at a time on the host
    write_all(tmp.fd(), host.raw_data(), host.nbytes(), tmp.path());
  }
  tmp.commit(path);
  fsync_directory_of(path);
}

}  // namespace vigil
