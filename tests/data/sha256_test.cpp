// SHA-256 against the FIPS 180-4 / NIST example vectors, padding boundaries, incremental updates and files.
#include "data/sha256.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "common/error.h"

namespace vigil::test {
namespace {

using data::sha256_hex;

TEST(Sha256, FipsExampleVectors) {
  EXPECT_EQ(sha256_hex(std::string("abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256_hex(std::string("")), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex(std::string("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(sha256_hex(std::string("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopq"
                                   "klmnopqrlmnopqrsmnopqrstnopqrstu")),
            "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
  EXPECT_EQ(sha256_hex(std::string(1000000, 'a')), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

// Lengths around the 56- and 64-byte padding boundaries (expected values from Python's hashlib).
TEST(Sha256, PaddingBoundaries) {
  const std::pair<size_t, const char*> cases[] = {
      {55, "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318"},
      {56, "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a"},
      {57, "f13b2d724659eb3bf47f2dd6af1accc87b81f09f59f2b75e5c0bed6589dfe8c6"},
      {63, "7d3e74a05d7db15bce4ad9ec0658ea98e3f06eeecf16b4c6fff2da457ddc2f34"},
      {64, "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb"},
      {65, "635361c48bb9eab14198e76ea8ab7f1a41685d6ad62aa9146d301d4f17eb0ae0"},
      {119, "31eba51c313a5c08226adf18d4a359cfdfd8d2e816b13f4af952f7ea6584dcfb"},
      {120, "2f3d335432c70b580af0e8e1b3674a7c020d683aa5f73aaaedfdc55af904c21c"},
  };
  for (const auto& [length, expected] : cases) EXPECT_EQ(sha256_hex(std::string(length, 'a')), expected) << length;
}

TEST(Sha256, IncrementalUpdatesMatchOneShot) {
  std::string message;
  for (int i = 0; i < 1000; ++i) message += static_cast<char>((i * 37 + 11) & 0xff);
  const std::string expected = sha256_hex(message);
  for (size_t chunk : {1u, 3u, 63u, 64u, 65u, 200u}) {
    data::Sha256 hasher;
    for (size_t pos = 0; pos < message.size(); pos += chunk)
      hasher.update(message.data() + pos, std::min(chunk, message.size() - pos));
    EXPECT_EQ(data::digest_hex(hasher.finish()), expected) << "chunk " << chunk;
  }
}

TEST(Sha256, FinishTwiceIsAnError) {
  data::Sha256 hasher;
  hasher.finish();
  EXPECT_THROW(hasher.finish(), Error);
}

TEST(Sha256, FilesHashTheirContentAndMissingFilesNameThePath) {
  const std::filesystem::path dir =
      std::filesystem::path(::testing::TempDir()) / ("vigil_sha256_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "abc.bin").string();
  std::ofstream(path, std::ios::binary) << std::string(200000, 'x') << "abc";
  EXPECT_EQ(data::sha256_file_hex(path), sha256_hex(std::string(200000, 'x') + "abc"));
  try {
    data::sha256_file_hex((dir / "missing.bin").string());
    ADD_FAILURE() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("missing.bin"), std::string::npos) << e.what();
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace vigil::test
