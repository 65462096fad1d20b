// `vigil evaluate` additions: inline thumbnails of the worst mistakes in the HTML report (a colour model whose
// mistakes are known in advance: every reddish image is called nudity, whatever its label), base64 and the
// thumbnail shrink on their own, and evaluating a run trained on a tiny generated IDX data set from its manifest
// ("FILE#n" entries), including a moved IDX file and one whose images changed.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <set>

#include "colour_model.h"
#include "common/error.h"
#include "data/image.h"
#include "infer/eval_thumbnails.h"
#include "infer_test_support.h"

namespace vigil::test {
namespace {

// Decodes RFC 4648 base64 (the test's own reader of the report's data URIs).
std::vector<uint8_t> base64_decode(const std::string& text) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    return c == '+' ? 62 : c == '/' ? 63 : -1;
  };
  std::vector<uint8_t> out;
  uint32_t bits = 0;
  int count = 0;
  for (char c : text) {
    const int v = value(c);
    if (v < 0) break;  // padding
    bits = (bits << 6) | static_cast<uint32_t>(v);
    count += 6;
    if (count >= 8) {
      count -= 8;
      out.push_back(static_cast<uint8_t>(bits >> count));
    }
  }
  return out;
}

size_t count_of(const std::string& text, const std::string& part) {
  size_t n = 0;
  for (size_t at = text.find(part); at != std::string::npos; at = text.find(part, at + part.size())) ++n;
  return n;
}

TEST(Thumbnails, Base64MatchesRfc4648) {
  auto enc = [](const std::string& s) {
    return infer::base64_encode(reinterpret_cast<const uint8_t*>(s.data()), s.size());
  };
  EXPECT_EQ(enc(""), "");
  EXPECT_EQ(enc("f"), "Zg==");
  EXPECT_EQ(enc("fo"), "Zm8=");
  EXPECT_EQ(enc("foo"), "Zm9v");
  EXPECT_EQ(enc("foob"), "Zm9vYg==");
  EXPECT_EQ(enc("fooba"), "Zm9vYmE=");
  EXPECT_EQ(enc("foobar"), "Zm9vYmFy");
  const std::vector<uint8_t> all = [] {
    std::vector<uint8_t> v(256);
    for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<uint8_t>(i);
    return v;
  }();
  EXPECT_EQ(base64_decode(infer::base64_encode(all.data(), all.size())), all);
}

TEST(Thumbnails, ShrinkToTheLongerSideAndNeverEnlarge) {
  auto image = [](int w, int h, int c) {
    data::Image img;
    img.width = w;
    img.height = h;
    img.channels = c;
    img.pixels.assign(static_cast<size_t>(w) * h * c, 0);
    for (size_t i = 0; i < img.pixels.size(); ++i) img.pixels[i] = static_cast<uint8_t>(i * 13);
    return img;
  };
  struct Case {
    int w, h, c, tw, th;
  };
  for (const Case& k : {Case{200, 100, 3, 64, 32}, Case{50, 300, 3, 11, 64}, Case{28, 28, 1, 28, 28},
                        Case{64, 64, 3, 64, 64}}) {
    const infer::Thumbnail t = infer::make_thumbnail(image(k.w, k.h, k.c));
    EXPECT_EQ(t.width, k.tw) << k.w << "x" << k.h;
    EXPECT_EQ(t.height, k.th) << k.w << "x" << k.h;
#if VIGIL_WITH_JPEG
    const std::string prefix = "data:image/jpeg;base64,";
    ASSERT_EQ(t.data_uri.rfind(prefix, 0), 0u);
    const auto jpeg = base64_decode(t.data_uri.substr(prefix.size()));
    const data::DecodeResult d = data::decode_memory(jpeg.data(), jpeg.size(), "thumb.jpg");
    ASSERT_TRUE(d.ok()) << d.error;
    EXPECT_EQ(d.format, data::ImageFormat::Jpeg);
    EXPECT_EQ(d.image.width, k.tw);
    EXPECT_EQ(d.image.height, k.th);
#endif
  }
  EXPECT_THROW(infer::make_thumbnail(data::Image{}), Error);
  EXPECT_THROW(infer::make_thumbnail(image(4, 4, 2)), Error);
}

class EvaluateReport : public ScratchTest {
 protected:
  std::string evaluate(const std::string& model, const std::string& args) {
    return "evaluate --model " + model + " --device cpu --threads 1 --bootstrap 50 " + args;
  }
};

TEST_F(EvaluateReport, WorstMistakesCarryThumbnails) {
#if !VIGIL_WITH_JPEG
  GTEST_SKIP() << "built without libjpeg-turbo (no JPEG encoder)";
#endif
  save_colour_model(path("colour.safetensors"));
  // 12 reddish 100 x 50 images per class: all are called nudity, so the mistakes are nudity's 24 false positives
  // (listed: 10) and the 12 false negatives of violence and of standard (10 each).
  int shade = 0;
  for (const char* c : {"nudity", "violence", "standard"}) {
    fs::create_directories(root_ / "data" / c);
    for (int i = 0; i < 12; ++i, ++shade)
      write_bmp(path("data/" + std::string(c) + "/" + std::to_string(i) + ".bmp"), 100, 50, [&](int x, int y) {
        return std::tuple<uint8_t, uint8_t, uint8_t>{static_cast<uint8_t>(150 + shade), static_cast<uint8_t>(x % 40),
                                                     static_cast<uint8_t>(y % 30)};
      });
  }
  ASSERT_EQ(0, vigil(evaluate(path("colour.safetensors"), "--data " + path("data") + " --html " + path("r.html") +
                                                               " --predictions " + path("p.jsonl"))))
      << err();
  const auto predictions = read_jsonl(path("p.jsonl"));
  ASSERT_EQ(predictions.size(), 36u);
  std::map<std::string, int> wrong_by_label;
  for (const auto& p : predictions) {
    EXPECT_EQ(p["predicted"], "nudity") << p.dump();
    if (!p["correct"].get<bool>()) ++wrong_by_label[p["label"].get<std::string>()];
  }
  EXPECT_EQ(wrong_by_label["violence"], 12);
  EXPECT_EQ(wrong_by_label["standard"], 12);

  const std::string html = read_text(path("r.html"));
  EXPECT_EQ(count_of(html, "<img src=\"data:image/jpeg;base64,"), 30u);
  EXPECT_EQ(count_of(html, "data:image/"), 30u);
  EXPECT_EQ(count_of(html, " width=64 height=32 "), 30u);
  EXPECT_NE(html.find("False positives: predicted nudity, labelled otherwise (10 most confident)"), std::string::npos);
  EXPECT_NE(html.find("False negatives: labelled violence, predicted otherwise (10 most confident)"),
            std::string::npos);
  EXPECT_NE(html.find("False negatives: labelled nudity, predicted otherwise (none)"), std::string::npos);
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("src=\"http"), std::string::npos);  // self-contained: nothing loaded from elsewhere
  EXPECT_EQ(html.find("href=\"http"), std::string::npos);
  // Each thumbnail is a real JPEG of the listed image, 64 x 32.
  const std::string prefix = "data:image/jpeg;base64,";
  const size_t at = html.find(prefix) + prefix.size();
  const auto jpeg = base64_decode(html.substr(at, html.find('"', at) - at));
  const data::DecodeResult d = data::decode_memory(jpeg.data(), jpeg.size(), "thumb.jpg");
  ASSERT_TRUE(d.ok()) << d.error;
  EXPECT_EQ(d.image.width, 64);
  EXPECT_EQ(d.image.height, 32);
  EXPECT_GT(d.image.pixels[0], 120);  // reddish
}

// Big-endian IDX files: images (count, rows, cols) and labels.
void write_idx(const std::string& path, const std::vector<uint32_t>& dims, const std::vector<uint8_t>& values) {
  std::vector<uint8_t> b = {0, 0, 8, static_cast<uint8_t>(dims.size())};
  for (uint32_t d : dims)
    for (int s = 24; s >= 0; s -= 8) b.push_back(static_cast<uint8_t>(d >> s));
  b.insert(b.end(), values.begin(), values.end());
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}

// n 8 x 8 images, label i % 3, each different (so no duplicates are removed); `shift` changes every pixel.
void write_idx_pair(const std::string& images, const std::string& labels, uint32_t n, int shift = 0) {
  std::vector<uint8_t> px, lb;
  for (uint32_t i = 0; i < n; ++i) {
    lb.push_back(static_cast<uint8_t>(i % 3));
    const int base = static_cast<int>(i % 3) * 80 + shift;
    for (int y = 0; y < 8; ++y)
      for (int x = 0; x < 8; ++x) px.push_back(static_cast<uint8_t>(base + static_cast<int>(i * 7 + x * 3 + y) % 40));
  }
  write_idx(images, {n, 8, 8}, px);
  write_idx(labels, {n}, lb);
}

TEST_F(EvaluateReport, IdxRunManifestMapsBackToTheIdxImages) {
  const std::string idx = path("idx");
  fs::create_directories(idx);
  write_idx_pair(idx + "/train-images-idx3-ubyte", idx + "/train-labels-idx1-ubyte", 30);
  write_idx_pair(idx + "/t10k-images-idx3-ubyte", idx + "/t10k-labels-idx1-ubyte", 9, 5);
  std::ofstream(path("gray.json")) << R"({"format": "vigil-model/1", "name": "gray", "head": "softmax",
  "input": {"channels": 1, "height": 8, "width": 8},
  "preprocess": {"mean": [0.5], "std": [0.5]},
  "classes": ["nudity", "violence", "standard"],
  "layers": [{"type": "conv2d", "out_channels": 2, "kernel": 3, "padding": 1}, {"type": "relu"},
             {"type": "global_avg_pool"}, {"type": "linear", "out_features": 3}]})";
  const std::string run = path("run");
  ASSERT_EQ(0, vigil("train --data " + idx + " --model " + path("gray.json") + " --out " + run +
                     " --epochs 1 --batch 8 --augment false --progress false --seed 1 --threads 1 --workers 1"))
      << err() << out();
  const std::string manifest = read_text(run + "/manifest.csv");
  ASSERT_NE(manifest.find(idx + "/t10k-images-idx3-ubyte#8,"), std::string::npos) << manifest;
  const size_t val_rows = count_of(manifest, ",val\n");
  ASSERT_GT(val_rows, 0u);

  const std::string model = run + "/model.safetensors";
  ASSERT_EQ(0, vigil(evaluate(model, "--data " + run + "/manifest.csv --split test --json " + path("t.json") +
                                         " --predictions " + path("t.jsonl") + " --html " + path("t.html"))))
      << err();
  const auto t = nlohmann::json::parse(read_text(path("t.json")));
  EXPECT_EQ(t["images"], 9);
  EXPECT_EQ(t["scored"], 9);
  EXPECT_EQ(t["unreadable"], 0);
  EXPECT_NE(t["data"].get<std::string>().find("(test split)"), std::string::npos);
  const auto records = read_jsonl(path("t.jsonl"));
  ASSERT_EQ(records.size(), 9u);
  size_t listed = 0;  // thumbnails the report must hold: per class min(10, FP) + min(10, FN)
  std::map<std::string, size_t> fp, fn;
  for (size_t i = 0; i < records.size(); ++i) {
    EXPECT_EQ(records[i]["path"], idx + "/t10k-images-idx3-ubyte#" + std::to_string(i));
    EXPECT_EQ(records[i]["label"], std::vector<std::string>({"nudity", "violence", "standard"})[i % 3]);
    if (!records[i]["correct"].get<bool>()) {
      ++fp[records[i]["predicted"].get<std::string>()];
      ++fn[records[i]["label"].get<std::string>()];
    }
  }
  for (const auto& [c, n] : fp) listed += std::min<size_t>(n, 10);
  for (const auto& [c, n] : fn) listed += std::min<size_t>(n, 10);
#if VIGIL_WITH_JPEG
  EXPECT_EQ(count_of(read_text(path("t.html")), "data:image/jpeg;base64,"), listed);
#endif

  // The val split is carved out of the training IDX file; its SHA-256s are checked against the pixels.
  ASSERT_EQ(0, vigil(evaluate(model, "--data " + run + "/manifest.csv --split val --json " + path("v.json")))) << err();
  EXPECT_EQ(nlohmann::json::parse(read_text(path("v.json")))["scored"], val_rows);

  // Other images at the same path are refused, not silently scored against the old labels ...
  write_idx_pair(idx + "/train-images-idx3-ubyte", idx + "/train-labels-idx1-ubyte", 30, 1);
  EXPECT_NE(0, vigil(evaluate(model, "--data " + run + "/manifest.csv --split val")));
  EXPECT_NE(err().find("is not the one the manifest recorded"), std::string::npos) << err();
  // ... and a moved IDX file is named.
  fs::rename(idx + "/t10k-images-idx3-ubyte", path("moved"));
  EXPECT_NE(0, vigil(evaluate(model, "--data " + run + "/manifest.csv --split test")));
  EXPECT_NE(err().find("the IDX file " + idx + "/t10k-images-idx3-ubyte does not exist"), std::string::npos) << err();
}

}  // namespace
}  // namespace vigil::test
