// `vigil data export`: the first N images of a (generated) Fashion-MNIST IDX split as decodable PNG files in
// class folders with '/' sanitised, pixel-exact; bad requests are errors.
#include <gtest/gtest.h>

#include "data/idx.h"
#include "data/image.h"
#include "infer_test_support.h"

namespace vigil::test {
namespace {

void put_be32(std::string& s, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) s.push_back(static_cast<char>((v >> shift) & 0xff));
}

class ExportCli : public ScratchTest {
 protected:
  // A raw (uncompressed) IDX pair under the Debian file names; the reader accepts raw or gzip'd content.
  void SetUp() override {
    ScratchTest::SetUp();
    fs::create_directories(root_ / "idx");
    std::string images, labels;
    put_be32(images, 0x803);
    put_be32(images, kCount);
    put_be32(images, 28);
    put_be32(images, 28);
    for (int i = 0; i < kCount; ++i)
      for (int p = 0; p < 28 * 28; ++p) images.push_back(static_cast<char>(pixel(i, p)));
    put_be32(labels, 0x801);
    put_be32(labels, kCount);
    for (int i = 0; i < kCount; ++i) labels.push_back(static_cast<char>(kLabels[i]));
    std::ofstream(root_ / "idx" / "t10k-images-idx3-ubyte.gz", std::ios::binary) << images;
    std::ofstream(root_ / "idx" / "t10k-labels-idx1-ubyte.gz", std::ios::binary) << labels;
  }
  static uint8_t pixel(int image, int p) { return static_cast<uint8_t>((p * 7 + image * 29) % 256); }

  static constexpr int kCount = 5;
  static constexpr int kLabels[kCount] = {0, 9, 0, 3, 5};
};

TEST_F(ExportCli, WritesDecodablePngsInClassFolders) {
  ASSERT_EQ(0, vigil("data export --data " + path("idx") + " --split test --count 4 --out " + path("out"))) << err();
  EXPECT_NE(out().find("wrote 4 test images"), std::string::npos) << out();
  const std::vector<std::string> classes = data::fashion_mnist_classes();
  const std::vector<std::string> expected = {"T-shirt_top/0.png", "Ankle boot/1.png", "T-shirt_top/2.png",
                                             "Dress/3.png"};
  for (int i = 0; i < 4; ++i) {
    const fs::path file = root_ / "out" / expected[static_cast<size_t>(i)];
    ASSERT_TRUE(fs::exists(file)) << file;
    data::DecodeOptions gray;
    gray.channels = 1;
    const data::DecodeResult r = data::decode_file(file.string(), gray);
    ASSERT_TRUE(r.ok()) << r.error;
    EXPECT_EQ(r.format, data::ImageFormat::Png);
    ASSERT_EQ(r.image.width, 28);
    ASSERT_EQ(r.image.height, 28);
    for (int p = 0; p < 28 * 28; ++p) ASSERT_EQ(r.image.pixels[static_cast<size_t>(p)], pixel(i, p)) << file;
  }
  EXPECT_FALSE(fs::exists(root_ / "out" / "Sandal"));  // image 4 was not asked for
  size_t files = 0;
  for (const auto& e : fs::recursive_directory_iterator(root_ / "out")) files += e.is_regular_file();
  EXPECT_EQ(files, 4u);
}

TEST_F(ExportCli, BadRequestsAreErrors) {
  EXPECT_NE(0, vigil("data export --data " + path("idx") + " --count 6 --out " + path("out")));
  EXPECT_NE(err().find("has only 5 images"), std::string::npos) << err();
  EXPECT_NE(0, vigil("data export --data " + path("idx") + " --split train --count 1 --out " + path("out")));
  EXPECT_NE(err().find("not found"), std::string::npos) << err();
  EXPECT_NE(0, vigil("data export --data " + path("idx") + " --count 2"));
  EXPECT_NE(err().find("--out DIR is required"), std::string::npos) << err();
  EXPECT_NE(0, vigil("data frobnicate"));
}

}  // namespace
}  // namespace vigil::test
