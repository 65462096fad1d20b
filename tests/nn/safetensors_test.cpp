// safetensors: bit-exact round trips, the on-disk layout, atomic writes, one crafted file per validation error,
// and a file written from PyTorch (scripts/golden/safetensors_torch.py).
#include "nn/safetensors.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "support/backends.h"

namespace vigil::test {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using Bytes = std::vector<uint8_t>;

// A fresh directory per test, removed afterwards.
class SafetensorsFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::path(::testing::TempDir()) /
           (std::string("vigil_safetensors_") + info->name() + "_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  std::vector<std::string> listing() const {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(dir_)) names.push_back(e.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
  }
  fs::path dir_;
};

Bytes read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

void write_file(const std::string& path, const Bytes& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

Bytes le_u64(uint64_t v) {
  Bytes b(8);
  for (int i = 0; i < 8; ++i) b[i] = static_cast<uint8_t>(v >> (8 * i));
  return b;
}

// A crafted file: length prefix (the header's own length unless overridden), header text, data bytes.
Bytes craft(const std::string& header, size_t data_bytes = 0, uint64_t header_length = 0) {
  Bytes out = le_u64(header_length ? header_length : header.size());
  out.insert(out.end(), header.begin(), header.end());
  for (size_t i = 0; i < data_bytes; ++i) out.push_back(static_cast<uint8_t>(i * 7 + 1));
  return out;
}

// A tensor whose bytes are a pseudo-random pattern (every bit pattern is valid, NaNs included).
Tensor random_bits(const Shape& shape, DType dtype, uint32_t seed) {
  Tensor t = Tensor::empty(shape, dtype);
  std::mt19937 rng(seed);
  auto* p = static_cast<uint8_t*>(t.raw_data());
  for (size_t i = 0; i < t.nbytes(); ++i) p[i] = static_cast<uint8_t>(rng());
  return t;
}

bool same_bytes(const Tensor& a, const Tensor& b) {
  if (a.dtype() != b.dtype() || a.shape() != b.shape()) return false;
  const Tensor ha = a.to(Device::cpu()), hb = b.to(Device::cpu());
  return a.nbytes() == 0 || std::memcmp(ha.raw_data(), hb.raw_data(), a.nbytes()) == 0;
}

const char* kSource = "crafted.safetensors";

// parse_safetensors must throw a vigil::Error naming the source and containing `reason`.
::testing::AssertionResult RejectedWith(const Bytes& bytes, const std::string& reason,
                                        const SafetensorsLimits& limits = {}) {
  try {
    parse_safetensors(bytes.data(), bytes.size(), kSource, limits);
  } catch (const Error& e) {
    const std::string what = e.what();
    if (what.find(kSource) == std::string::npos || what.find(reason) == std::string::npos)
      return ::testing::AssertionFailure() << "error lacks '" << kSource << "' or '" << reason << "': " << what;
    if (what.find("safetensors.cpp:") == std::string::npos && what.find("strict_json.cpp:") == std::string::npos)
      return ::testing::AssertionFailure() << "error lacks file:line: " << what;
    return ::testing::AssertionSuccess();
  } catch (const std::exception& e) {
    return ::testing::AssertionFailure() << "threw a non-vigil exception: " << e.what();
  }
  return ::testing::AssertionFailure() << "accepted a buffer that should fail with '" << reason << "'";
}

std::vector<NamedTensor> every_dtype() {
  return {{"f32", random_bits({2, 3}, DType::F32, 1)},     {"f16", random_bits({5}, DType::F16, 2)},
          {"bf16", random_bits({3, 1, 2}, DType::BF16, 3)}, {"u8", random_bits({7}, DType::U8, 4)},
          {"i32", random_bits({2, 2}, DType::I32, 5)},      {"i64", random_bits({3}, DType::I64, 6)},
          {"empty", Tensor::empty({0, 3}, DType::F32)},       {"scalar", random_bits({}, DType::I64, 7)}};
}

TEST_F(SafetensorsFiles, RoundTripEveryDtypeBitExact) {
  const std::vector<NamedTensor> tensors = every_dtype();
  const std::map<std::string, std::string> metadata = {{"format", "pt"}, {"epoch", "12"}, {"note", "h\xc3\xa9llo"}};
  save_safetensors(path("m.safetensors"), tensors, metadata);
  const SafetensorsContent loaded = load_safetensors(path("m.safetensors"));
  EXPECT_EQ(loaded.metadata, metadata);
  ASSERT_EQ(loaded.tensors.size(), tensors.size());
  for (size_t i = 0; i < tensors.size(); ++i) {
    // "empty" (0 bytes) and the tensor after it share an offset; ties keep name order, so compare by name.
    const Tensor* t = loaded.find(tensors[i].name);
    ASSERT_NE(t, nullptr) << tensors[i].name;
    EXPECT_FALSE(t->is_cuda());
    EXPECT_TRUE(same_bytes(*t, tensors[i].tensor)) << tensors[i].name << ": " << t->str();
  }
  EXPECT_EQ(loaded.find("scalar")->shape(), (Shape{}));
  EXPECT_EQ(loaded.find("scalar")->numel(), 1);
  EXPECT_EQ(loaded.find("empty")->shape(), (Shape{0, 3}));
  EXPECT_EQ(loaded.find("missing"), nullptr);

  // The in-memory reader agrees with the file reader.
  const Bytes bytes = read_file(path("m.safetensors"));
  const SafetensorsContent parsed = parse_safetensors(bytes.data(), bytes.size(), "m");
  ASSERT_EQ(parsed.tensors.size(), loaded.tensors.size());
  for (size_t i = 0; i < parsed.tensors.size(); ++i) {
    EXPECT_EQ(parsed.tensors[i].name, loaded.tensors[i].name);
    EXPECT_TRUE(same_bytes(parsed.tensors[i].tensor, loaded.tensors[i].tensor));
  }
}

TEST_F(SafetensorsFiles, TensorsComeBackInOffsetOrder) {
  std::vector<NamedTensor> tensors = {{"zeta", random_bits({4}, DType::F32, 1)},
                                      {"alpha", random_bits({2}, DType::U8, 2)},
                                      {"mid", random_bits({3}, DType::I32, 3)}};
  save_safetensors(path("o.safetensors"), tensors, {});
  const SafetensorsContent loaded = load_safetensors(path("o.safetensors"));
  ASSERT_EQ(loaded.tensors.size(), 3u);
  EXPECT_EQ(loaded.tensors[0].name, "zeta");
  EXPECT_EQ(loaded.tensors[1].name, "alpha");
  EXPECT_EQ(loaded.tensors[2].name, "mid");
  EXPECT_TRUE(loaded.metadata.empty());
}

TEST_F(SafetensorsFiles, WrittenFileMatchesTheFormatByHand) {
  const std::vector<NamedTensor> tensors = every_dtype();
  save_safetensors(path("h.safetensors"), tensors, {{"k", "v"}});
  const Bytes bytes = read_file(path("h.safetensors"));
  ASSERT_GE(bytes.size(), 8u);
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | bytes[i];
  ASSERT_LE(8 + n, bytes.size());
  EXPECT_EQ((8 + n) % 8, 0u) << "data must start 8-byte aligned";
  const std::string text(bytes.begin() + 8, bytes.begin() + 8 + static_cast<long>(n));
  const size_t last = text.find_last_not_of(' ');
  ASSERT_NE(last, std::string::npos);
  EXPECT_EQ(text[last], '}') << "padding must be trailing spaces only";
  EXPECT_LT(text.size() - last - 1, 8u);
  const json header = json::parse(text);
  ASSERT_TRUE(header.is_object());
  EXPECT_EQ(header["__metadata__"], (json{{"k", "v"}}));
  EXPECT_EQ(header.size(), tensors.size() + 1);
  uint64_t offset = 0;
  const uint8_t* data = bytes.data() + 8 + n;
  for (const NamedTensor& t : tensors) {
    const json& e = header.at(t.name);
    EXPECT_EQ(e.at("dtype").get<std::string>(), safetensors_dtype(t.tensor.dtype())) << t.name;
    EXPECT_EQ(e.at("shape").get<std::vector<int64_t>>(), t.tensor.shape()) << t.name;
    const auto offsets = e.at("data_offsets").get<std::vector<uint64_t>>();
    ASSERT_EQ(offsets.size(), 2u);
    EXPECT_EQ(offsets[0], offset) << t.name << " written in the given order, back to back";
    EXPECT_EQ(offsets[1] - offsets[0], t.tensor.nbytes()) << t.name;
    if (t.tensor.nbytes() > 0) {
      EXPECT_EQ(std::memcmp(data + offsets[0], t.tensor.raw_data(), t.tensor.nbytes()), 0) << t.name;
    }
    offset = offsets[1];
  }
  EXPECT_EQ(8 + n + offset, bytes.size());
}

TEST_F(SafetensorsFiles, OverwriteIsAtomicAndLeavesNoTemporaryFile) {
  save_safetensors(path("w.safetensors"), {{"a", random_bits({4}, DType::F32, 1)}}, {});
  const Tensor b = random_bits({9}, DType::U8, 2);
  save_safetensors(path("w.safetensors"), {{"b", b}}, {});
  EXPECT_EQ(listing(), std::vector<std::string>{"w.safetensors"});
  const SafetensorsContent loaded = load_safetensors(path("w.safetensors"));
  ASSERT_EQ(loaded.tensors.size(), 1u);
  EXPECT_EQ(loaded.tensors[0].name, "b");
  EXPECT_TRUE(same_bytes(loaded.tensors[0].tensor, b));
}

TEST_F(SafetensorsFiles, RelativePathInCurrentDirectory) {
  const fs::path old_cwd = fs::current_path();
  fs::current_path(dir_);
  EXPECT_NO_THROW(save_safetensors("rel.safetensors", {{"x", random_bits({2}, DType::I32, 1)}}, {}));
  fs::current_path(old_cwd);
  EXPECT_EQ(listing(), std::vector<std::string>{"rel.safetensors"});
}

TEST_F(SafetensorsFiles, MissingDirectoryFailsAndLeavesNothing) {
  const std::string target = path("no/such/dir/m.safetensors");
  try {
    save_safetensors(target, {{"a", random_bits({4}, DType::F32, 1)}}, {});
    FAIL() << "saving into a missing directory must throw";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find(target), std::string::npos) << what;
    EXPECT_NE(what.find("No such file or directory"), std::string::npos) << what;
  }
  EXPECT_TRUE(listing().empty());
}

TEST_F(SafetensorsFiles, FailedSaveLeavesOldFileUntouched) {
  const std::string target = path("keep.safetensors");
  save_safetensors(target, {{"a", random_bits({4}, DType::F32, 1)}}, {});
  const Bytes before = read_file(target);
  const Tensor x = random_bits({2}, DType::F32, 2);
  EXPECT_THROW(save_safetensors(target, {{"x", x}, {"x", x}}, {}), Error);
  EXPECT_EQ(read_file(target), before);
  EXPECT_EQ(listing(), std::vector<std::string>{"keep.safetensors"});

  // A failure after the data was written (rename onto a non-empty directory) removes the temporary file.
  fs::create_directories(path("occupied/child"));
  try {
    save_safetensors(path("occupied"), {{"x", x}}, {});
    FAIL() << "renaming over a non-empty directory must throw";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("cannot rename"), std::string::npos) << e.what();
  }
  EXPECT_EQ(listing(), (std::vector<std::string>{"keep.safetensors", "occupied"}));
  EXPECT_TRUE(fs::is_directory(path("occupied/child")));
}

TEST_F(SafetensorsFiles, SaveRejectsBadNamesAndTensors) {
  const Tensor x = random_bits({2}, DType::F32, 1);
  auto expect_save_error = [&](const std::vector<NamedTensor>& tensors, const std::string& reason) {
    try {
      save_safetensors(path("bad.safetensors"), tensors, {});
      ADD_FAILURE() << "expected failure: " << reason;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(reason), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(path("bad.safetensors")), std::string::npos) << e.what();
    }
  };
  expect_save_error({{"", x}}, "empty name");
  expect_save_error({{"a", x}, {"a", x}}, "duplicate tensor name 'a'");
  expect_save_error({{"__metadata__", x}}, "reserved");
  expect_save_error({{"u", Tensor()}}, "undefined");
  expect_save_error({{"\xff\xfe", x}}, "not valid UTF-8");
  EXPECT_TRUE(listing().empty());
}

TEST_F(SafetensorsFiles, NoTensorsIsValid) {
  save_safetensors(path("none.safetensors"), {}, {{"only", "metadata"}});
  const SafetensorsContent loaded = load_safetensors(path("none.safetensors"));
  EXPECT_TRUE(loaded.tensors.empty());
  EXPECT_EQ(loaded.metadata.at("only"), "metadata");
}

TEST_F(SafetensorsFiles, SavesCudaTensors) {
  VIGIL_SKIP_IF_UNAVAILABLE(Backend::Cuda);
  const Tensor host = random_bits({3, 4}, DType::BF16, 9);
  save_safetensors(path("gpu.safetensors"), {{"w", host.to(Device::cuda(0))}}, {});
  const SafetensorsContent loaded = load_safetensors(path("gpu.safetensors"));
  ASSERT_EQ(loaded.tensors.size(), 1u);
  EXPECT_FALSE(loaded.tensors[0].tensor.is_cuda());
  EXPECT_TRUE(same_bytes(loaded.tensors[0].tensor, host));
}

TEST_F(SafetensorsFiles, SavesNarrowedViews) {
  const Tensor whole = random_bits({4, 3}, DType::I32, 3);
  const Tensor rows = whole.narrow0(1, 2);
  save_safetensors(path("v.safetensors"), {{"rows", rows}}, {});
  const SafetensorsContent loaded = load_safetensors(path("v.safetensors"));
  EXPECT_TRUE(same_bytes(loaded.tensors.at(0).tensor, rows.clone()));
}

// ---- file-level errors ----

TEST_F(SafetensorsFiles, LoadErrorsNameThePath) {
  auto expect_load_error = [](const std::string& p, const std::string& reason, const SafetensorsLimits& limits) {
    try {
      load_safetensors(p, limits);
      ADD_FAILURE() << "expected failure: " << reason;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(p), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(reason), std::string::npos) << e.what();
    }
  };
  expect_load_error(path("missing.safetensors"), "cannot open", {});
  expect_load_error(dir_.string(), "not a regular file", {});
  write_file(path("short.safetensors"), {1, 2, 3, 4, 5});
  expect_load_error(path("short.safetensors"), "truncated: no header length", {});
  write_file(path("empty.safetensors"), {});
  expect_load_error(path("empty.safetensors"), "truncated: no header length", {});
  write_file(path("long.safetensors"), craft("{}", 0, 1000));
  expect_load_error(path("long.safetensors"), "header length 1000 exceeds file size 10", {});
  write_file(path("gap.safetensors"), craft(R"({"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}})", 3));
  expect_load_error(path("gap.safetensors"), "trailing bytes", {});
  save_safetensors(path("big.safetensors"), {{"a", random_bits({64}, DType::F32, 1)}}, {});
  SafetensorsLimits small;
  small.max_file_bytes = 100;
  expect_load_error(path("big.safetensors"), "exceeds the limit of 100 bytes", small);
  small = {};
  small.max_header_bytes = 16;
  expect_load_error(path("big.safetensors"), "exceeds the limit of 16 bytes", small);
}

// ---- one crafted buffer per validation error ----

TEST(SafetensorsParse, AcceptsMinimalAndPaddedHeaders) {
  const Bytes empty = craft("{}");
  EXPECT_TRUE(parse_safetensors(empty.data(), empty.size(), kSource).tensors.empty());
  const Bytes padded = craft(R"({"a":{"dtype":"I32","shape":[1],"data_offsets":[0,4]}}      )", 4);
  const SafetensorsContent c = parse_safetensors(padded.data(), padded.size(), kSource);
  ASSERT_EQ(c.tensors.size(), 1u);
  EXPECT_EQ(c.tensors[0].tensor.data<int32_t>()[0], 0x160f0801);  // bytes 1, 8, 15, 22 little-endian
  // Zero-byte tensors may share an offset with a neighbour; unknown extra fields are ignored.
  const Bytes zeros = craft(R"({"z":{"dtype":"F32","shape":[0],"data_offsets":[2,2]},
                                "a":{"dtype":"U8","shape":[2],"data_offsets":[0,2],"extra":1},
                                "e":{"dtype":"F16","shape":[3,0],"data_offsets":[2,2]}})",
                            2);
  const SafetensorsContent z = parse_safetensors(zeros.data(), zeros.size(), kSource);
  ASSERT_EQ(z.tensors.size(), 3u);
  EXPECT_EQ(z.tensors[0].name, "a");
  EXPECT_EQ(z.find("e")->shape(), (Shape{3, 0}));
}

TEST(SafetensorsParse, RejectsBadLengthPrefix) {
  EXPECT_TRUE(RejectedWith({}, "truncated: no header length"));
  EXPECT_TRUE(RejectedWith({1, 0, 0, 0, 0, 0, 0}, "truncated: no header length"));
  EXPECT_TRUE(RejectedWith(le_u64(0), "header length is 0"));
  Bytes zero_len = le_u64(0);
  zero_len.push_back('{');
  EXPECT_TRUE(RejectedWith(zero_len, "header length is 0"));
  EXPECT_TRUE(RejectedWith(craft("{}", 0, 3), "header length 3 exceeds file size 10"));
  SafetensorsLimits tiny;
  tiny.max_header_bytes = 4;
  EXPECT_TRUE(RejectedWith(craft("{}     "), "header length 7 exceeds the limit of 4 bytes", tiny));
  // 8 + N overflows uint64: must still be caught as too long, not wrap around.
  SafetensorsLimits unlimited;
  unlimited.max_header_bytes = std::numeric_limits<uint64_t>::max();
  EXPECT_TRUE(RejectedWith(craft("{}", 0, std::numeric_limits<uint64_t>::max()),
                           "header length 18446744073709551615 exceeds file size 10", unlimited));
  EXPECT_TRUE(RejectedWith(craft("{}", 0, std::numeric_limits<uint64_t>::max() - 7), "exceeds file size", unlimited));
  SafetensorsLimits small_file;
  small_file.max_file_bytes = 9;
  EXPECT_TRUE(RejectedWith(craft("{}"), "size 10 bytes exceeds the limit of 9 bytes", small_file));
}

TEST(SafetensorsParse, RejectsBadJson) {
  EXPECT_TRUE(RejectedWith(craft("{\"a\":"), "header: not valid JSON"));
  EXPECT_TRUE(RejectedWith(craft("{} x"), "header: not valid JSON"));
  EXPECT_TRUE(RejectedWith(craft(std::string("{\"\xff\":1}")), "header: not valid JSON"));  // bad UTF-8
  // nlohmann stops at a NUL byte, which would hide anything after it: NULs are rejected up front.
  EXPECT_TRUE(RejectedWith(craft(std::string("{}\0\0", 4)), "header: contains a NUL byte at offset 2"));
  EXPECT_TRUE(RejectedWith(craft(std::string("{}\0garbage", 10)), "header: contains a NUL byte"));
  EXPECT_TRUE(RejectedWith(craft("[1, 2]"), "header is not a JSON object (found array)"));
  EXPECT_TRUE(RejectedWith(craft("\"text\""), "header is not a JSON object (found string)"));
  EXPECT_TRUE(RejectedWith(craft(std::string(100, '[') + std::string(100, ']')), "nests deeper than"));
  std::string nested = "{\"__metadata__\":";
  for (int i = 0; i < 50; ++i) nested += "{\"k\":";
  nested += "\"v\"" + std::string(51, '}');
  EXPECT_TRUE(RejectedWith(craft(nested), "nests deeper than"));
}

TEST(SafetensorsParse, RejectsDuplicateKeys) {
  EXPECT_TRUE(RejectedWith(craft(R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},
                                    "a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}})",
                                 2),
                           "duplicate tensor name 'a'"));
  EXPECT_TRUE(RejectedWith(craft(R"({"a":{"dtype":"U8","dtype":"F32","shape":[1],"data_offsets":[0,1]}})", 1),
                           "duplicate key 'dtype'"));
  EXPECT_TRUE(RejectedWith(craft(R"({"__metadata__":{},"__metadata__":{}})"), "duplicate key '__metadata__'"));
  EXPECT_TRUE(RejectedWith(craft(R"({"__metadata__":{"k":"1","k":"2"}})"), "duplicate key 'k'"));
}

TEST(SafetensorsParse, RejectsMalformedEntries) {
  EXPECT_TRUE(RejectedWith(craft(R"({"a":[1]})"), "entry for tensor 'a' is not an object (found array)"));
  EXPECT_TRUE(RejectedWith(craft(R"({"a":3})"), "entry for tensor 'a' is not an object (found number)"));
  EXPECT_TRUE(RejectedWith(craft(R"({"":{"dtype":"U8","shape":[0],"data_offsets":[0,0]}})"), "empty tensor name"));
  EXPECT_TRUE(RejectedWith(craft(R"({"a":{"shape":[1],"data_offsets":[0,1]}})", 1), "tensor 'a' has no \"dtype\""));
  EXPECT_TRUE(RejectedWith(craft(R"({"a":{"dtype":"U8","data_offsets":[0,1]}})", 1), "tensor 'a' has no \"shape\""));
  EXPECT_TRUE(RejectedWith(craft(R"({"a":{"dtype":"U8","shape":[1]}})", 1), "tensor 'a' has no \"data_offsets\""));
  EXPECT_TRUE(RejectedWith(craft(R"({"a":{"dtype":4,"shape":[1],"data_offsets":[0,1]}})", 1),
                           "\"dtype\" is not a string"));
  EXPECT_TRUE(RejectedWith(craft(R"({"a":{"dtype":"U8","shape":1,"data_offsets":[0,1]}})", 1),
                           "\"shape\" is not an array"));
  EXPECT_TRUE(RejectedWith(craft(R"({"a":{"dtype":"U8","shape":{"0":1},"data_offsets":[0,1]}})", 1),
                           "\"shape\" is not an array (found object)"));
}

TEST(SafetensorsParse, RejectsBadShapes) {
  auto entry = [](const std::string& shape) {
    return craft(R"({"a":{"dtype":"U8","shape":)" + shape + R"(,"data_offsets":[0,0]}})");
  };
  EXPECT_TRUE(RejectedWith(entry("[-1]"), "shape dimension 0 is -1, not a non-negative integer"));
  EXPECT_TRUE(RejectedWith(entry("[2, 2.5]"), "shape dimension 1 is 2.5, not a non-negative integer"));
  EXPECT_TRUE(RejectedWith(entry("[2.0]"), "shape dimension 0 is 2.0, not a non-negative integer"));
  EXPECT_TRUE(RejectedWith(entry("[\"3\"]"), "not a non-negative integer"));
  EXPECT_TRUE(RejectedWith(entry("[true]"), "not a non-negative integer"));
  EXPECT_TRUE(RejectedWith(entry("[null]"), "not a non-negative integer"));
  EXPECT_TRUE(RejectedWith(entry("[9223372036854775808]"), "not a non-negative integer"));  // > int64 max
  EXPECT_TRUE(RejectedWith(entry("[1e400]"), "header: not valid JSON"));  // nlohmann rejects out-of-range floats
  EXPECT_TRUE(RejectedWith(entry("[4294967296, 4294967296]"), "overflows int64 elements"));
  EXPECT_TRUE(RejectedWith(entry("[0, 4294967296, 4294967296]"), "overflows int64 elements"));
  // Fits int64 elements, but not as bytes.
  EXPECT_TRUE(RejectedWith(craft(R"({"a":{"dtype":"I64","shape":[4611686018427387904],"data_offsets":[0,0]}})"),
                           "overflows the byte size"));
}

TEST(SafetensorsParse, RejectsUnsupportedAndUnknownDtypes) {
  for (const char* dtype : {"F64", "I8", "I16", "U16", "BOOL"}) {
    EXPECT_TRUE(RejectedWith(craft(std::string(R"({"a":{"dtype":")") + dtype +
                                   R"(","shape":[1],"data_offsets":[0,1]}})",
                                   8),
                             std::string("unsupported dtype '") + dtype + "'"))
        << dtype;
  }
  EXPECT_TRUE(RejectedWith(craft(R"({"a":{"dtype":"F33","shape":[1],"data_offsets":[0,4]}})", 4),
                           "unknown dtype 'F33'"));
  EXPECT_TRUE(RejectedWith(craft(R"({"a":{"dtype":"float32","shape":[1],"data_offsets":[0,4]}})", 4),
                           "unknown dtype 'float32'"));
  EXPECT_TRUE(RejectedWith(craft(R"({"a":{"dtype":"f32","shape":[1],"data_offsets":[0,4]}})", 4),
                           "unknown dtype 'f32'"));
}

TEST(SafetensorsParse, RejectsBadDataOffsets) {
  auto entry = [](const std::string& offsets, size_t data) {
    return craft(R"({"a":{"dtype":"I32","shape":[2],"data_offsets":)" + offsets + "}}", data);
  };
  const std::string not_pair = "not [begin, end] with non-negative integers";
  EXPECT_TRUE(RejectedWith(entry("8", 8), not_pair));
  EXPECT_TRUE(RejectedWith(entry("[0]", 8), not_pair));
  EXPECT_TRUE(RejectedWith(entry("[0, 4, 8]", 8), not_pair));
  EXPECT_TRUE(RejectedWith(entry("[-8, 0]", 8), not_pair));
  EXPECT_TRUE(RejectedWith(entry("[0, 8.0]", 8), not_pair));
  EXPECT_TRUE(RejectedWith(entry("[0, \"8\"]", 8), not_pair));
  EXPECT_TRUE(RejectedWith(entry("[0, 18446744073709551615]", 8), not_pair));
  EXPECT_TRUE(RejectedWith(entry("[8, 0]", 8), "data_offsets begin 8 > end 0"));
  EXPECT_TRUE(RejectedWith(entry("[0, 8]", 7), "truncated: tensor 'a' data ends at byte 8 but the data buffer has 7"));
  EXPECT_TRUE(RejectedWith(entry("[9223372036854775800, 9223372036854775807]", 8), "truncated"));
  EXPECT_TRUE(RejectedWith(entry("[0, 4]", 4), "data_offsets span 4 bytes but I32 shape (2,) needs 8"));
  EXPECT_TRUE(RejectedWith(entry("[0, 12]", 12), "data_offsets span 12 bytes"));
}

TEST(SafetensorsParse, RejectsOverlapsGapsAndTrailingBytes) {
  EXPECT_TRUE(RejectedWith(craft(R"({"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},
                                    "b":{"dtype":"U8","shape":[4],"data_offsets":[2,6]}})",
                                 6),
                           "overlap"));
  EXPECT_TRUE(RejectedWith(craft(R"({"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},
                                    "b":{"dtype":"U8","shape":[4],"data_offsets":[0,4]}})",
                                 4),
                           "tensors 'a' [0, 4) and 'b' [0, 4) overlap"));
  EXPECT_TRUE(RejectedWith(craft(R"({"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},
                                    "b":{"dtype":"U8","shape":[4],"data_offsets":[5,9]}})",
                                 9),
                           "gap in the data buffer: bytes [4, 5)"));
  EXPECT_TRUE(RejectedWith(craft(R"({"a":{"dtype":"U8","shape":[4],"data_offsets":[1,5]}})", 5),
                           "gap in the data buffer: bytes [0, 1)"));
  EXPECT_TRUE(RejectedWith(craft(R"({"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]}})", 5),
                           "trailing bytes: the data buffer has 5 bytes but the tensors cover 4"));
  EXPECT_TRUE(RejectedWith(craft("{}", 3), "trailing bytes"));
  // A zero-byte tensor inside another one's bytes is an overlap too.
  EXPECT_TRUE(RejectedWith(craft(R"({"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},
                                    "z":{"dtype":"U8","shape":[0],"data_offsets":[2,2]}})",
                                 4),
                           "overlap"));
}

TEST(SafetensorsParse, RejectsBadMetadata) {
  EXPECT_TRUE(RejectedWith(craft(R"({"__metadata__":["a"]})"), "\"__metadata__\" is not an object (found array)"));
  EXPECT_TRUE(RejectedWith(craft(R"({"__metadata__":"x"})"), "\"__metadata__\" is not an object"));
  EXPECT_TRUE(RejectedWith(craft(R"({"__metadata__":{"epoch":3}})"),
                           "\"__metadata__\" value for 'epoch' is not a string (found number)"));
  EXPECT_TRUE(RejectedWith(craft(R"({"__metadata__":{"m":{"x":"y"}}})"), "is not a string (found object)"));
  const Bytes ok = craft(R"({"__metadata__":{"a":"1","b":""}})");
  const SafetensorsContent c = parse_safetensors(ok.data(), ok.size(), kSource);
  EXPECT_EQ(c.metadata, (std::map<std::string, std::string>{{"a", "1"}, {"b", ""}}));
}

// Every truncation and many single-byte corruptions of a valid file: a vigil::Error or success, never a crash
// or an out-of-bounds read (run under ASan to make the latter visible).
TEST(SafetensorsParse, CorruptedFilesNeverCrash) {
  const std::string dir = ::testing::TempDir();
  const std::string p = dir + "/vigil_safetensors_fuzz_" + std::to_string(::getpid()) + ".safetensors";
  save_safetensors(p, every_dtype(), {{"k", "v"}});
  const Bytes good = read_file(p);
  std::remove(p.c_str());
  for (size_t n = 0; n < good.size(); ++n) {
    const Bytes cut(good.begin(), good.begin() + static_cast<long>(n));
    EXPECT_THROW(parse_safetensors(cut.data(), cut.size(), kSource), Error) << "prefix of " << n << " bytes";
  }
  std::mt19937 rng(42);
  int accepted = 0;
  for (int trial = 0; trial < 3000; ++trial) {
    Bytes bad = good;
    const size_t at = rng() % bad.size();
    bad[at] = static_cast<uint8_t>(rng());
    try {
      parse_safetensors(bad.data(), bad.size(), kSource);
      ++accepted;  // e.g. a changed data byte or a digit that still forms a consistent header
    } catch (const Error&) {
    }
  }
  EXPECT_GT(accepted, 0);
  EXPECT_LT(accepted, 3000);
}

// ---- interop with PyTorch ----

TEST(SafetensorsTorch, ReadsTheFileWrittenFromPyTorch) {
  const std::string base = std::string(VIGIL_FIXTURE_DIR) + "/safetensors/torch_small";
  std::ifstream info_file(base + ".json");
  ASSERT_TRUE(info_file) << base << ".json missing: run scripts/golden/safetensors_torch.py";
  const json info = json::parse(info_file);
  const SafetensorsContent c = load_safetensors(base + ".safetensors");
  using StringMap = std::map<std::string, std::string>;
  EXPECT_EQ(c.metadata, info.at("metadata").get<StringMap>());
  ASSERT_EQ(c.tensors.size(), info.at("tensors").size());
  // The generator lays the data out in its insertion order (the JSON's key order is sorted, so compare sets).
  EXPECT_EQ(c.tensors.front().name, "conv.weight");
  EXPECT_EQ(c.tensors.back().name, "empty");
  for (const auto& item : info.at("tensors").items()) {
    SCOPED_TRACE(item.key());
    const json& want = item.value();
    const Tensor* t = c.find(item.key());
    ASSERT_NE(t, nullptr);
    EXPECT_STREQ(safetensors_dtype(t->dtype()), want.at("dtype").get<std::string>().c_str());
    EXPECT_EQ(t->shape(), want.at("shape").get<Shape>());
    const auto& values = want.at("values");
    ASSERT_EQ(static_cast<size_t>(t->numel()), values.size());
    switch (t->dtype()) {
      case DType::F32: {
        const auto bits = want.at("bits").get<std::vector<uint32_t>>();
        for (int64_t i = 0; i < t->numel(); ++i) {
          uint32_t got = 0;
          std::memcpy(&got, t->f32() + i, 4);
          EXPECT_EQ(got, bits[i]) << "[" << i << "]";
          EXPECT_EQ(t->f32()[i], values[i].get<float>()) << "[" << i << "]";
        }
        break;
      }
      case DType::F16:
      case DType::BF16: {
        const auto bits = want.at("bits").get<std::vector<uint16_t>>();
        const std::vector<float> as_float = t->to_vector();
        for (int64_t i = 0; i < t->numel(); ++i) {
          EXPECT_EQ(t->data_u16()[i], bits[i]) << "[" << i << "]";
          EXPECT_EQ(as_float[i], values[i].get<double>()) << "[" << i << "]";
        }
        break;
      }
      case DType::U8:
        for (int64_t i = 0; i < t->numel(); ++i) EXPECT_EQ(t->data<uint8_t>()[i], values[i].get<int>());
        break;
      case DType::I32:
        for (int64_t i = 0; i < t->numel(); ++i) EXPECT_EQ(t->data<int32_t>()[i], values[i].get<int32_t>());
        break;
      case DType::I64:
        for (int64_t i = 0; i < t->numel(); ++i) EXPECT_EQ(t->data<int64_t>()[i], values[i].get<int64_t>());
        break;
    }
  }
  EXPECT_EQ(c.find("bn.num_batches_tracked")->shape(), (Shape{}));
  EXPECT_EQ(c.find("steps")->data<int64_t>()[2], std::numeric_limits<int64_t>::min());
}

}  // namespace
}  // namespace vigil::test
