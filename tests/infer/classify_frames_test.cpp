// Multi-frame `vigil classify`: animated GIFs generated with giflib's encoder and clip folders, scored by a colour
// model whose class follows a frame's dominant colour (red: nudity, green: violence, blue: standard). Per-frame
// scores are checked against the same frames classified as single images, aggregates (max/mean/topk) against
// values computed here from those scores, and early exit, frame steps, truncated animations, clip frame errors,
// the table and --resume end to end; plus the aggregation rules and the streaming frame decoder on their own.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>

#include "common/error.h"
#include "data/image.h"
#include "data/preprocess.h"
#include "data/sha256.h"
#include "infer/clips.h"
#include "infer/frame_aggregate.h"
#include "infer/predictor.h"
#include "colour_model.h"
#include "infer_test_support.h"

#if VIGIL_WITH_GIF
#include <gif_lib.h>
#endif
#if VIGIL_WITH_WEBP
#include <webp/encode.h>
#endif

namespace vigil::test {
namespace {

using Probs = std::vector<double>;
const std::vector<std::string> kClasses = {"nudity", "violence", "standard"};

struct Rgb {
  uint8_t r, g, b;
};
// Palette: 0, 1, 3, 5 blue-ish (standard), 2 green (violence), 4 red (nudity), 6 and 7 unused.
const std::vector<Rgb> kPalette = {{30, 30, 230}, {60, 50, 200},  {40, 210, 60},  {50, 40, 190},
                                   {220, 50, 40}, {70, 60, 180}, {128, 128, 128}, {0, 0, 0}};

using Bytes = std::vector<uint8_t>;

#if VIGIL_WITH_GIF
int append_to_bytes(GifFileType* gif, const GifByteType* data, int n) {
  auto* out = static_cast<Bytes*>(gif->UserData);
  out->insert(out->end(), data, data + n);
  return n;
}

// An animated GIF89a of w x h frames; frame k is filled with palette colour frames[k] (with a one-pixel stripe of
// colour 6 in the first column, so no frame is a flat image).
Bytes animated_gif(const std::vector<int>& frames, int w = 10, int h = 10) {
  Bytes out;
  int err = 0;
  GifFileType* gif = EGifOpen(&out, append_to_bytes, &err);
  EXPECT_NE(gif, nullptr);
  if (gif == nullptr) return {};
  EGifSetGifVersion(gif, true);
  std::vector<GifColorType> colours;
  for (const Rgb& c : kPalette) colours.push_back(GifColorType{c.r, c.g, c.b});
  ColorMapObject* map = GifMakeMapObject(static_cast<int>(colours.size()), colours.data());
  EGifPutScreenDesc(gif, w, h, 8, 0, map);
  GifFreeMapObject(map);
  for (int index : frames) {
    GraphicsControlBlock gcb{DISPOSAL_UNSPECIFIED, false, 10, NO_TRANSPARENT_COLOR};
    GifByteType ext[4];
    const size_t n = EGifGCBToExtension(&gcb, ext);
    EGifPutExtension(gif, GRAPHICS_EXT_FUNC_CODE, static_cast<int>(n), ext);
    EGifPutImageDesc(gif, 0, 0, w, h, false, nullptr);
    std::vector<GifPixelType> row(static_cast<size_t>(w), static_cast<GifPixelType>(index));
    row[0] = 6;
    for (int y = 0; y < h; ++y) EGifPutLine(gif, row.data(), w);
  }
  EGifCloseFile(gif, &err);
  return out;
}
#endif

#if VIGIL_WITH_WEBP
void put_le(Bytes& out, uint32_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}

void add_chunk(Bytes& out, const char* fourcc, const Bytes& payload) {
  out.insert(out.end(), fourcc, fourcc + 4);
  put_le(out, static_cast<uint32_t>(payload.size()), 4);
  out.insert(out.end(), payload.begin(), payload.end());
  if (payload.size() % 2) out.push_back(0);
}

// An animated WebP put together from its chunks (VP8X, ANIM, one ANMF per frame holding a lossless bitstream
// from libwebp's encoder); frame k is filled with palette colour frames[k], first column grey.
Bytes animated_webp(const std::vector<int>& frames, int w = 10, int h = 10) {
  Bytes chunks, vp8x = {0x02 | 0x10, 0, 0, 0};
  put_le(vp8x, static_cast<uint32_t>(w - 1), 3);
  put_le(vp8x, static_cast<uint32_t>(h - 1), 3);
  add_chunk(chunks, "VP8X", vp8x);
  add_chunk(chunks, "ANIM", {0, 0, 0, 0, 0, 0});
  for (int index : frames) {
    const Rgb c = kPalette[static_cast<size_t>(index)];
    std::vector<uint8_t> rgb;
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x) rgb.insert(rgb.end(), {x == 0 ? uint8_t{128} : c.r, x == 0 ? uint8_t{128} : c.g,
                                                         x == 0 ? uint8_t{128} : c.b});
    uint8_t* encoded = nullptr;
    const size_t n = WebPEncodeLosslessRGB(rgb.data(), w, h, w * 3, &encoded);
    EXPECT_GT(n, 12u);
    Bytes frame;
    put_le(frame, 0, 3);
    put_le(frame, 0, 3);
    put_le(frame, static_cast<uint32_t>(w - 1), 3);
    put_le(frame, static_cast<uint32_t>(h - 1), 3);
    put_le(frame, 100, 3);
    frame.push_back(0x02);  // no blending
    frame.insert(frame.end(), encoded + 12, encoded + n);  // the VP8L chunk, after "RIFF<size>WEBP"
    WebPFree(encoded);
    add_chunk(chunks, "ANMF", frame);
  }
  Bytes out = {'R', 'I', 'F', 'F'};
  put_le(out, static_cast<uint32_t>(4 + chunks.size()), 4);
  out.insert(out.end(), {'W', 'E', 'B', 'P'});
  out.insert(out.end(), chunks.begin(), chunks.end());
  return out;
}
#endif

void write_bytes(const std::string& path, const Bytes& b) {
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}

// A 12 x 9 BMP of palette colour `index`.
void write_colour_bmp(const std::string& path, int index) {
  const Rgb c = kPalette[static_cast<size_t>(index)];
  write_bmp(path, 12, 9, [&](int x, int) {
    using Px = std::tuple<uint8_t, uint8_t, uint8_t>;
    return x == 0 ? Px{128, 128, 128} : Px{c.r, c.g, c.b};
  });
}

Probs probs_of(const nlohmann::ordered_json& p) {
  Probs v;
  for (const auto& c : kClasses) v.push_back(p.at(c).get<double>());
  return v;
}

size_t argmax(const Probs& p) { return static_cast<size_t>(std::max_element(p.begin(), p.end()) - p.begin()); }

// The aggregates as defined in frame_aggregate.h, standard (index 2) being the benign class.
Probs aggregate_max(const std::vector<Probs>& f) {
  Probs a = f[0];
  for (const auto& p : f)
    for (size_t c = 0; c < 3; ++c) a[c] = c == 2 ? std::min(a[c], p[c]) : std::max(a[c], p[c]);
  return a;
}
Probs aggregate_mean(const std::vector<Probs>& f) {
  Probs a(3, 0.0);
  for (const auto& p : f)
    for (size_t c = 0; c < 3; ++c) a[c] += p[c] / static_cast<double>(f.size());
  return a;
}
Probs aggregate_topk(const std::vector<Probs>& f, size_t k) {
  Probs a(3, 0.0);
  for (size_t c = 0; c < 3; ++c) {
    std::vector<double> v;
    for (const auto& p : f) v.push_back(p[c]);
    if (c == 2) std::sort(v.begin(), v.end());
    else std::sort(v.rbegin(), v.rend());
    v.resize(std::min(k, v.size()));
    a[c] = std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
  }
  return a;
}

void expect_probs_near(const Probs& a, const Probs& b, double tol = 2e-6) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t c = 0; c < a.size(); ++c) EXPECT_NEAR(a[c], b[c], tol) << kClasses[c];
}

class ClassifyFrames : public ScratchTest {
 protected:
  void SetUp() override {
    ScratchTest::SetUp();
    save_colour_model(path("colour.safetensors"));
  }
  std::string classify(const std::string& args) {
    return "classify --model " + path("colour.safetensors") + " --device cpu --threads 1 --workers 2 " + args;
  }
  // The frames of a GIF, decoded, written as BMP files and classified as single images: their probabilities.
  std::vector<Probs> single_image_scores(const Bytes& gif) {
    const data::FramesResult frames = data::decode_frames_memory(gif.data(), gif.size(), "test.gif");
    EXPECT_TRUE(frames.ok()) << frames.error;
    fs::create_directories(root_ / "single");
    std::string args;
    for (size_t k = 0; k < frames.frames.size(); ++k) {
      const data::Image& img = frames.frames[k];
      const std::string p = path("single/frame" + std::to_string(k) + ".bmp");
      write_bmp(p, img.width, img.height, [&](int x, int y) {
        const uint8_t* px = &img.pixels[(static_cast<size_t>(y) * img.width + x) * 3];
        return std::tuple<uint8_t, uint8_t, uint8_t>{px[0], px[1], px[2]};
      });
      args += " " + p;
    }
    EXPECT_EQ(0, vigil(classify("--jsonl " + path("single.jsonl") + args))) << err();
    std::vector<Probs> out;
    for (const auto& r : read_jsonl(path("single.jsonl"))) out.push_back(probs_of(r["probabilities"]));
    EXPECT_EQ(out.size(), frames.frames.size());
    return out;
  }
};

// Blue, blue, green, blue, red, blue: standard, standard, violence, standard, nudity, standard.
const std::vector<int> kSixFrames = {0, 1, 2, 3, 4, 5};

#if VIGIL_WITH_GIF

TEST_F(ClassifyFrames, FrameScoresEqualSingleImageScoresAndMaxIsTheDefault) {
  const Bytes gif = animated_gif(kSixFrames);
  write_bytes(path("anim.gif"), gif);
  const std::vector<Probs> single = single_image_scores(gif);
  ASSERT_EQ(single.size(), 6u);
  // The colour model does what the palette says.
  const std::vector<size_t> expected_top = {2, 2, 1, 2, 0, 2};
  for (size_t k = 0; k < 6; ++k) EXPECT_EQ(argmax(single[k]), expected_top[k]) << "frame " << k;

  ASSERT_EQ(0, vigil(classify("--no-early-exit --batch 4 --jsonl " + path("out.jsonl") + " " + path("anim.gif"))))
      << err();
  const auto records = read_jsonl(path("out.jsonl"));
  ASSERT_EQ(records.size(), 1u);
  const auto& r = records[0];
  SCOPED_TRACE(r.dump());
  EXPECT_EQ(r["status"], "ok");
  EXPECT_EQ(r["input"], "animation");
  EXPECT_EQ(r["aggregate"], "max");
  EXPECT_EQ(r["frames_scored"], 6);
  EXPECT_EQ(r["frames_total"], 6);
  EXPECT_EQ(r["frame_errors"], 0);
  EXPECT_EQ(r["early_exit"], false);
  ASSERT_EQ(r["frames"].size(), 6u);
  for (size_t k = 0; k < 6; ++k) {
    const auto& f = r["frames"][k];
    EXPECT_EQ(f["index"], k);
    expect_probs_near(probs_of(f["probabilities"]), single[k]);
    EXPECT_EQ(f["class_name"], kClasses[expected_top[k]]);
  }
  const Probs agg = aggregate_max(single);
  expect_probs_near(probs_of(r["probabilities"]), agg);
  EXPECT_NE(argmax(agg), 2u);  // one violent or nude frame flags the GIF
  EXPECT_EQ(r["class_name"], kClasses[argmax(agg)]);
  EXPECT_EQ(r["decision"], kClasses[argmax(agg)]);
  EXPECT_EQ(r["sha256"], data::sha256_hex(gif.data(), gif.size()));
}

TEST_F(ClassifyFrames, MeanAndTopkAggregates) {
  const Bytes gif = animated_gif(kSixFrames);
  write_bytes(path("anim.gif"), gif);
  const std::vector<Probs> single = single_image_scores(gif);
  ASSERT_EQ(0, vigil(classify("--aggregate mean --jsonl " + path("mean.jsonl") + " " + path("anim.gif")))) << err();
  const auto mean = read_jsonl(path("mean.jsonl"));
  ASSERT_EQ(mean.size(), 1u);
  expect_probs_near(probs_of(mean[0]["probabilities"]), aggregate_mean(single));
  EXPECT_EQ(mean[0]["aggregate"], "mean");
  EXPECT_EQ(mean[0]["early_exit"], false);  // a mean never stops early
  EXPECT_EQ(mean[0]["frames_scored"], 6);
  EXPECT_EQ(mean[0]["class_name"], "standard");  // four of six frames are blue

  ASSERT_EQ(0, vigil(classify("--aggregate topk:2 --no-early-exit --jsonl " + path("top.jsonl") + " " +
                              path("anim.gif"))))
      << err();
  const auto top = read_jsonl(path("top.jsonl"));
  ASSERT_EQ(top.size(), 1u);
  EXPECT_EQ(top[0]["aggregate"], "topk:2");
  expect_probs_near(probs_of(top[0]["probabilities"]), aggregate_topk(single, 2));

  // Bad rules are refused before any work.
  EXPECT_NE(0, vigil(classify("--aggregate median " + path("anim.gif"))));
  EXPECT_NE(err().find("--aggregate median: must be max, mean or topk:K"), std::string::npos) << err();
  EXPECT_NE(0, vigil(classify("--aggregate topk:0 " + path("anim.gif"))));
  EXPECT_NE(0, vigil(classify("--aggregate mean --early-exit " + path("anim.gif"))));
  EXPECT_NE(err().find("never stops early"), std::string::npos) << err();
  EXPECT_NE(0, vigil(classify("--benign cat " + path("anim.gif"))));
  EXPECT_NE(err().find("--benign cat: not a class"), std::string::npos) << err();
  EXPECT_NE(0, vigil(classify("--frame-step 0 " + path("anim.gif"))));
}

TEST_F(ClassifyFrames, EarlyExitStopsAtTheFirstFlaggedFrameWhateverTheBatch) {
  const Bytes gif = animated_gif(kSixFrames);
  write_bytes(path("anim.gif"), gif);
  const std::vector<Probs> single = single_image_scores(gif);
  for (const char* batch : {"1", "2", "32"}) {
    SCOPED_TRACE(batch);
    ASSERT_EQ(0, vigil(classify("--batch " + std::string(batch) + " --jsonl " + path("e.jsonl") + " " +
                                path("anim.gif"))))
        << err();
    const auto records = read_jsonl(path("e.jsonl"));
    ASSERT_EQ(records.size(), 1u);
    const auto& r = records[0];
    // Frames 0 and 1 are blue (standard: not flagged); frame 2 is green and flags violence.
    EXPECT_EQ(r["early_exit"], true) << r.dump();
    EXPECT_EQ(r["frames_scored"], 3);
    EXPECT_TRUE(r["frames_total"].is_null());
    ASSERT_EQ(r["frames"].size(), 3u);
    const std::vector<Probs> first3(single.begin(), single.begin() + 3);
    expect_probs_near(probs_of(r["probabilities"]), aggregate_max(first3));
    EXPECT_EQ(r["decision"], "violence");
  }
  EXPECT_NE(err().find("1 multi-frame (3 frames scored, 1 early exit)"), std::string::npos) << err();
  // topk:2: the first n frames whose top-2 aggregate no longer has standard on top (thresholds are 0), n >= 2.
  size_t expected = 0;
  for (size_t n = 2; n <= single.size() && expected == 0; ++n)
    if (argmax(aggregate_topk(std::vector<Probs>(single.begin(), single.begin() + static_cast<long>(n)), 2)) != 2)
      expected = n;
  ASSERT_GE(expected, 3u);  // not before the green frame
  ASSERT_EQ(0, vigil(classify("--aggregate topk:2 --jsonl " + path("k.jsonl") + " " + path("anim.gif")))) << err();
  const auto k = read_jsonl(path("k.jsonl"));
  ASSERT_EQ(k.size(), 1u);
  EXPECT_EQ(k[0]["early_exit"], true) << k[0].dump();
  EXPECT_EQ(k[0]["frames_scored"], expected) << k[0].dump();
  // A strict violence threshold: the green frame goes to review, not flagged, so scanning goes on to the red one.
  ASSERT_EQ(0, vigil(classify("--threshold violence=0.9999 --jsonl " + path("t.jsonl") + " " + path("anim.gif"))))
      << err();
  const auto t = read_jsonl(path("t.jsonl"));
  ASSERT_EQ(t.size(), 1u);
  EXPECT_EQ(t[0]["frames_scored"], 5) << t[0].dump();
  EXPECT_EQ(t[0]["early_exit"], true);
  // Without a benign class every frame's top class counts as flagged, so early exit is off.
  ASSERT_EQ(0, vigil(classify("--benign none --jsonl " + path("n.jsonl") + " " + path("anim.gif")))) << err();
  const auto n = read_jsonl(path("n.jsonl"));
  ASSERT_EQ(n.size(), 1u);
  EXPECT_EQ(n[0]["frames_scored"], 6);
  EXPECT_EQ(n[0]["early_exit"], false);
}

TEST_F(ClassifyFrames, FrameStepAndMaxFramesBoundTheWork) {
  const Bytes gif = animated_gif(kSixFrames);
  write_bytes(path("anim.gif"), gif);
  const std::vector<Probs> single = single_image_scores(gif);
  ASSERT_EQ(0, vigil(classify("--no-early-exit --frame-step 2 --jsonl " + path("s.jsonl") + " " + path("anim.gif"))))
      << err();
  const auto s = read_jsonl(path("s.jsonl"));
  ASSERT_EQ(s.size(), 1u);
  ASSERT_EQ(s[0]["frames"].size(), 3u);
  for (size_t k = 0; k < 3; ++k) EXPECT_EQ(s[0]["frames"][k]["index"], 2 * k);
  EXPECT_EQ(s[0]["frames_total"], 6);
  expect_probs_near(probs_of(s[0]["probabilities"]), aggregate_max({single[0], single[2], single[4]}));

  ASSERT_EQ(0, vigil(classify("--no-early-exit --frame-step 3 --max-frames 1 --jsonl " + path("m.jsonl") + " " +
                              path("anim.gif"))))
      << err();
  const auto m = read_jsonl(path("m.jsonl"));
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0]["frames_scored"], 1);
  EXPECT_TRUE(m[0]["frames_total"].is_null());  // stopped before the end
  expect_probs_near(probs_of(m[0]["probabilities"]), single[0]);
}

TEST_F(ClassifyFrames, StillsStayImagesAndACutAnimationKeepsItsGoodFrames) {
  write_bytes(path("still.gif"), animated_gif({4}));
  const Bytes four = animated_gif({0, 1, 3, 5}), five = animated_gif({0, 1, 3, 5, 4});
  // Cut halfway through frame 5's pixel data (the 4-frame file minus its trailer byte is a prefix of the 5-frame one).
  ASSERT_EQ(Bytes(five.begin(), five.begin() + static_cast<long>(four.size() - 1)),
            Bytes(four.begin(), four.end() - 1));
  const Bytes cut(five.begin(), five.begin() + static_cast<long>((four.size() - 1 + five.size()) / 2));
  write_bytes(path("cut.gif"), cut);
  ASSERT_EQ(0, vigil(classify("--no-early-exit --jsonl " + path("o.jsonl") + " " + path("still.gif") + " " +
                              path("cut.gif"))))
      << err();
  const auto records = read_jsonl(path("o.jsonl"));
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0]["status"], "ok");
  EXPECT_FALSE(records[0].contains("frames")) << records[0].dump();
  EXPECT_FALSE(records[0].contains("input"));
  EXPECT_EQ(records[0]["class_name"], "nudity");
  const auto& c = records[1];
  SCOPED_TRACE(c.dump());
  EXPECT_EQ(c["status"], "ok");
  EXPECT_EQ(c["frames_scored"], 4);
  EXPECT_EQ(c["frame_errors"], 1);
  ASSERT_EQ(c["frames"].size(), 5u);
  EXPECT_EQ(c["frames"][4]["index"], 4);
  EXPECT_EQ(c["frames"][4]["error"].get<std::string>().rfind("truncated: ", 0), 0u);
  EXPECT_EQ(c["class_name"], "standard");
  // Truncated in its first frame, an animation is one error record like any broken image.
  write_bytes(path("broken.gif"), Bytes(five.begin(), five.begin() + 40));
  ASSERT_EQ(0, vigil(classify("--jsonl " + path("b.jsonl") + " " + path("broken.gif")))) << err();
  const auto b = read_jsonl(path("b.jsonl"));
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(b[0]["status"], "error");
  EXPECT_EQ(b[0]["error"].get<std::string>().rfind("truncated: ", 0), 0u) << b[0].dump();
}

#endif  // VIGIL_WITH_GIF

class ClassifyClips : public ClassifyFrames {
 protected:
  void SetUp() override {
    ClassifyFrames::SetUp();
    // a: blue, red, blue (flagged at its second frame); b: blue, a text file, blue; c/sub: two bad frames;
    // d: one blue frame, and d/e below it a green one; .hidden: never walked.
    fs::create_directories(root_ / "clips" / "a");
    write_colour_bmp(path("clips/a/f1.bmp"), 0);
    write_colour_bmp(path("clips/a/f2.bmp"), 4);
    write_colour_bmp(path("clips/a/f3.bmp"), 1);
    fs::create_directories(root_ / "clips" / "b");
    write_colour_bmp(path("clips/b/1.bmp"), 0);
    std::ofstream(path("clips/b/2.png")) << "not an image";
    write_colour_bmp(path("clips/b/3.bmp"), 3);
    fs::create_directories(root_ / "clips" / "c" / "sub");
    std::ofstream(path("clips/c/sub/x.png")) << "text";
    std::ofstream(path("clips/c/sub/y.jpg"));
    fs::create_directories(root_ / "clips" / "d" / "e");
    write_colour_bmp(path("clips/d/1.bmp"), 5);
    write_colour_bmp(path("clips/d/e/1.bmp"), 2);
    fs::create_directories(root_ / "clips" / ".hidden");
    write_colour_bmp(path("clips/.hidden/1.bmp"), 4);
  }
};

TEST_F(ClassifyClips, OneRecordPerClipWithFrameErrorsCounted) {
  ASSERT_EQ(0, vigil(classify("--batch 2 --jsonl " + path("c.jsonl") + " --clips " + path("clips")))) << err();
  const auto records = read_jsonl(path("c.jsonl"));
  ASSERT_EQ(records.size(), 5u) << read_text(path("c.jsonl"));
  const std::vector<std::string> order = {"clips/a", "clips/b", "clips/c/sub", "clips/d", "clips/d/e"};
  for (size_t i = 0; i < order.size(); ++i) {
    EXPECT_EQ(records[i]["path"], path(order[i]));
    EXPECT_EQ(records[i]["input"], "clip");
  }
  EXPECT_NE(err().find("classified 5 inputs: 4 ok, 1 error"), std::string::npos) << err();
  // Per-frame scores equal the frames classified as images.
  ASSERT_EQ(0, vigil(classify("--jsonl " + path("single.jsonl") + " " + path("clips/a"))));
  const auto single = read_jsonl(path("single.jsonl"));
  ASSERT_EQ(single.size(), 3u);

  const auto& a = records[0];
  SCOPED_TRACE(a.dump());
  EXPECT_EQ(a["status"], "ok");
  EXPECT_EQ(a["frames_total"], 3);
  EXPECT_EQ(a["frames_scored"], 2);  // flagged at f2.bmp (red): f3.bmp is never decoded
  EXPECT_EQ(a["early_exit"], true);
  EXPECT_EQ(a["decision"], "nudity");
  ASSERT_EQ(a["frames"].size(), 2u);
  for (size_t k = 0; k < 2; ++k) {
    EXPECT_EQ(a["frames"][k]["index"], k);
    EXPECT_EQ(a["frames"][k]["file"], fs::path(single[k]["path"].get<std::string>()).filename().string());
    expect_probs_near(probs_of(a["frames"][k]["probabilities"]), probs_of(single[k]["probabilities"]));
  }
  expect_probs_near(probs_of(a["probabilities"]),
                    aggregate_max({probs_of(single[0]["probabilities"]), probs_of(single[1]["probabilities"])}));
  EXPECT_EQ(a["sha256"], infer::clip_fingerprint(path("clips/a"), {"f1.bmp", "f2.bmp", "f3.bmp"}));

  const auto& b = records[1];
  EXPECT_EQ(b["status"], "ok") << b.dump();
  EXPECT_EQ(b["frames_scored"], 2);
  EXPECT_EQ(b["frame_errors"], 1);
  EXPECT_EQ(b["frames"][1]["file"], "2.png");
  EXPECT_EQ(b["frames"][1]["error"].get<std::string>().rfind("unsupported: ", 0), 0u) << b.dump();
  EXPECT_EQ(b["decision"], "standard");
  EXPECT_EQ(b["early_exit"], false);

  const auto& c = records[2];
  EXPECT_EQ(c["status"], "error") << c.dump();
  EXPECT_EQ(c["error"].get<std::string>().rfind("no frame could be decoded (2 failed; first: x.png: ", 0), 0u)
      << c.dump();
  EXPECT_EQ(c["frame_errors"], 2);
  EXPECT_TRUE(c["probabilities"].is_null());

  EXPECT_EQ(records[3]["decision"], "standard");
  EXPECT_EQ(records[4]["decision"], "violence");

  // --clips on something that is no folder is one error record; nothing found at all is fatal.
  ASSERT_EQ(0, vigil(classify("--jsonl " + path("x.jsonl") + " --clips " + path("clips/a/f1.bmp") + " --clips " +
                              path("clips/a"))))
      << err();
  const auto x = read_jsonl(path("x.jsonl"));
  ASSERT_EQ(x.size(), 2u);
  EXPECT_EQ(x[0]["status"], "error");
  EXPECT_NE(x[0]["error"].get<std::string>().find("not a directory"), std::string::npos);
  fs::create_directories(root_ / "empty");
  EXPECT_NE(0, vigil(classify("--clips " + path("empty"))));
  EXPECT_NE(err().find("no inputs"), std::string::npos) << err();
}

TEST_F(ClassifyClips, TableShowsOneLinePerClipAndAnimation) {
#if VIGIL_WITH_GIF
  write_bytes(path("anim.gif"), animated_gif(kSixFrames));
  ASSERT_EQ(0, vigil(classify(path("anim.gif") + " --clips " + path("clips")))) << err();
  const std::string table = out();
  EXPECT_NE(table.find(path("anim.gif") + "  [animation: 3 frames scored, early exit]\n"), std::string::npos) << table;
  EXPECT_NE(table.find(path("clips/a") + "  [clip: 2 of 3 frames scored, early exit]\n"), std::string::npos) << table;
  EXPECT_NE(table.find(path("clips/b") + "  [clip: 2 of 3 frames scored, 1 bad]\n"), std::string::npos) << table;
  EXPECT_NE(table.find(path("clips/c/sub") + "  error: no frame could be decoded"), std::string::npos) << table;
  EXPECT_EQ(std::count(table.begin(), table.end(), '\n'), 7) << table;  // header + 6 inputs
#endif
}

TEST_F(ClassifyClips, ResumeKeysClipsByTheirFrameListing) {
  const std::string jsonl = path("r.jsonl");
  std::string inputs = " --clips " + path("clips");
#if VIGIL_WITH_GIF
  write_bytes(path("anim.gif"), animated_gif(kSixFrames));
  inputs = " " + path("anim.gif") + inputs;
#endif
  ASSERT_EQ(0, vigil(classify("--jsonl " + jsonl + inputs))) << err();
  const size_t first = read_jsonl(jsonl).size();
  ASSERT_GE(first, 5u);
  ASSERT_EQ(0, vigil(classify("--resume --jsonl " + jsonl + inputs))) << err();
  EXPECT_EQ(read_jsonl(jsonl).size(), first);
  EXPECT_NE(err().find("skipped " + std::to_string(first) + " already recorded"), std::string::npos) << err();
  // A frame added to clip b: only b is scored again.
  write_colour_bmp(path("clips/b/4.bmp"), 2);
  ASSERT_EQ(0, vigil(classify("--resume --jsonl " + jsonl + inputs))) << err();
  const auto records = read_jsonl(jsonl);
  ASSERT_EQ(records.size(), first + 1);
  const auto& b = records.back();
  EXPECT_EQ(b["path"], path("clips/b"));
  EXPECT_EQ(b["frames_total"], 4);
  EXPECT_EQ(b["decision"], "violence");
  EXPECT_EQ(b["sha256"], infer::clip_fingerprint(path("clips/b"), {"1.bmp", "2.png", "3.bmp", "4.bmp"}));
}

// ---------------------------------------------------------------------------------------------------------------
// The pieces on their own.

TEST(FrameAggregator, MaxMeanTopkAndTheBenignMirror) {
  const std::vector<std::vector<float>> frames = {{0.1f, 0.2f, 0.7f}, {0.6f, 0.1f, 0.3f}, {0.3f, 0.5f, 0.2f}};
  auto run = [&](const std::string& rule, int benign) {
    infer::FrameAggregator a(infer::parse_aggregate(rule), 3, benign);
    for (const auto& f : frames) a.add(f);
    return a.value();
  };
  EXPECT_EQ(run("max", 2), (std::vector<float>{0.6f, 0.5f, 0.2f}));
  EXPECT_EQ(run("max", -1), (std::vector<float>{0.6f, 0.5f, 0.7f}));
  const auto mean = run("mean", 2);
  EXPECT_NEAR(mean[0], 1.0 / 3.0, 1e-6);
  EXPECT_NEAR(mean[1], 0.8 / 3.0, 1e-6);
  EXPECT_NEAR(mean[2], 0.4, 1e-6);
  const auto top2 = run("topk:2", 2);
  EXPECT_NEAR(top2[0], 0.45, 1e-6);
  EXPECT_NEAR(top2[1], 0.35, 1e-6);
  EXPECT_NEAR(top2[2], 0.25, 1e-6);  // the two lowest
  const auto top9 = run("topk:9", 2);  // fewer frames than K: all of them
  EXPECT_NEAR(top9[0], 1.0 / 3.0, 1e-6);
  EXPECT_EQ(infer::parse_aggregate("topk:1").name(), "topk:1");
  EXPECT_THROW(infer::parse_aggregate("topk:"), Error);
  EXPECT_THROW(infer::parse_aggregate("topk:-2"), Error);
  EXPECT_THROW(infer::parse_aggregate("MAX"), Error);
  EXPECT_EQ(infer::resolve_benign_class(kClasses, ""), 2);
  EXPECT_EQ(infer::resolve_benign_class(kClasses, "none"), -1);
  EXPECT_EQ(infer::resolve_benign_class(kClasses, "violence"), 1);
  EXPECT_EQ(infer::resolve_benign_class({"cat", "dog"}, ""), -1);
  EXPECT_THROW(infer::resolve_benign_class(kClasses, "cat"), Error);
}

TEST(FrameAggregator, SettledOnlyWhenLaterFramesCannotClearTheInput) {
  infer::Decision violence{1, {1}, "violence"}, standard{2, {2}, "standard"}, review{1, {}, "review"};
  infer::FrameAggregator max(infer::parse_aggregate("max"), 3, 2);
  max.add({0.1f, 0.8f, 0.1f});
  EXPECT_TRUE(max.settled(violence));
  EXPECT_FALSE(max.settled(standard));
  EXPECT_FALSE(max.settled(review));
  infer::FrameAggregator mean(infer::parse_aggregate("mean"), 3, 2);
  mean.add({0.1f, 0.8f, 0.1f});
  EXPECT_FALSE(mean.settled(violence));
  infer::FrameAggregator top2(infer::parse_aggregate("topk:2"), 3, 2);
  top2.add({0.1f, 0.8f, 0.1f});
  EXPECT_FALSE(top2.settled(violence));  // one frame of two: the next one could lower the average
  top2.add({0.1f, 0.8f, 0.1f});
  EXPECT_TRUE(top2.settled(violence));
  infer::FrameAggregator no_benign(infer::parse_aggregate("max"), 3, -1);
  no_benign.add({0.1f, 0.8f, 0.1f});
  EXPECT_FALSE(no_benign.settled(violence));
  // Sigmoid decisions: any flagged class other than the benign one.
  EXPECT_TRUE(max.settled(infer::Decision{2, {1, 2}, "violence+standard"}));
}

#if VIGIL_WITH_GIF
TEST(ScanFrames, StreamsTheFramesDecodeFramesReturns) {
  const Bytes gif = animated_gif({0, 2, 4, 1, 3});
  const data::FramesResult all = data::decode_frames_memory(gif.data(), gif.size(), "a.gif");
  ASSERT_TRUE(all.ok()) << all.error;
  std::vector<data::Image> seen;
  const data::FrameScan scan =
      data::scan_frames_memory(gif.data(), gif.size(), "a.gif", {}, [&](data::Image&& f, int i) {
        EXPECT_EQ(i, static_cast<int>(seen.size()));
        seen.push_back(std::move(f));
        return true;
      });
  ASSERT_TRUE(scan.ok()) << scan.error;
  EXPECT_FALSE(scan.stopped);
  EXPECT_EQ(scan.frames, 5);
  ASSERT_EQ(seen.size(), all.frames.size());
  for (size_t k = 0; k < seen.size(); ++k) EXPECT_EQ(seen[k].pixels, all.frames[k].pixels) << k;

  int calls = 0;
  const data::FrameScan two = data::scan_frames_memory(gif.data(), gif.size(), "a.gif", {},
                                                       [&](data::Image&&, int) { return ++calls < 2; });
  EXPECT_TRUE(two.ok());
  EXPECT_TRUE(two.stopped);
  EXPECT_EQ(two.frames, 2);
  EXPECT_EQ(calls, 2);

  // max_frames still bounds a scan that is not stopped; the frames before the limit were handed over.
  data::DecodeOptions limited;
  limited.limits.max_frames = 3;
  const data::FrameScan over = data::scan_frames_memory(gif.data(), gif.size(), "a.gif", limited,
                                                        [](data::Image&&, int) { return true; });
  EXPECT_EQ(over.status, data::DecodeStatus::TooLarge) << over.error;
  EXPECT_EQ(over.frames, 3);

  // A visitor's exception ends the scan and reaches the caller.
  EXPECT_THROW(data::scan_frames_memory(gif.data(), gif.size(), "a.gif", {},
                                        [](data::Image&&, int) -> bool { throw std::runtime_error("stop"); }),
               std::runtime_error);

  // A still is one frame; garbage is an error with no frame.
  const data::FrameScan junk =
      data::scan_frames_memory(gif.data(), 20, "j.gif", {}, [](data::Image&&, int) { return true; });
  EXPECT_FALSE(junk.ok());
  EXPECT_EQ(junk.frames, 0);
  EXPECT_EQ(junk.error.rfind("j.gif: truncated: ", 0), 0u) << junk.error;
}
#endif

#if VIGIL_WITH_WEBP
TEST(ScanFrames, StreamsAnimatedWebp) {
  const Bytes webp = animated_webp({0, 2, 4, 1});
  const data::FramesResult all = data::decode_frames_memory(webp.data(), webp.size(), "a.webp");
  ASSERT_TRUE(all.ok()) << all.error;
  ASSERT_EQ(all.frames.size(), 4u);
  std::vector<data::Image> seen;
  const data::FrameScan scan = data::scan_frames_memory(webp.data(), webp.size(), "a.webp", {},
                                                        [&](data::Image&& f, int) {
                                                          seen.push_back(std::move(f));
                                                          return seen.size() < 3;
                                                        });
  EXPECT_TRUE(scan.ok()) << scan.error;
  EXPECT_TRUE(scan.stopped);
  ASSERT_EQ(seen.size(), 3u);
  for (size_t k = 0; k < 3; ++k) EXPECT_EQ(seen[k].pixels, all.frames[k].pixels) << k;
  // The frame limit counts frames as they come (the container's frame count does not fail the scan up front).
  data::DecodeOptions limited;
  limited.limits.max_frames = 2;
  int handed = 0;
  const data::FrameScan two = data::scan_frames_memory(webp.data(), webp.size(), "a.webp", limited,
                                                       [&](data::Image&&, int) { return ++handed < 2; });
  EXPECT_TRUE(two.ok()) << two.error;
  EXPECT_EQ(two.frames, 2);
  const data::FrameScan over = data::scan_frames_memory(webp.data(), webp.size(), "a.webp", limited,
                                                        [](data::Image&&, int) { return true; });
  EXPECT_EQ(over.status, data::DecodeStatus::TooLarge);
  EXPECT_EQ(over.frames, 2);
}

TEST_F(ClassifyFrames, AnimatedWebpIsScoredFrameByFrame) {
  write_bytes(path("anim.webp"), animated_webp({0, 1, 4, 3}));
  ASSERT_EQ(0, vigil(classify("--no-early-exit --jsonl " + path("w.jsonl") + " " + path("anim.webp")))) << err();
  const auto records = read_jsonl(path("w.jsonl"));
  ASSERT_EQ(records.size(), 1u);
  const auto& r = records[0];
  EXPECT_EQ(r["input"], "animation") << r.dump();
  EXPECT_EQ(r["frames_scored"], 4);
  EXPECT_EQ(r["frames_total"], 4);
  EXPECT_EQ(r["frames"][2]["class_name"], "nudity");
  EXPECT_EQ(r["decision"], "nudity");
}
#endif

}  // namespace
}  // namespace vigil::test
