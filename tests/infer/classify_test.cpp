// `vigil classify` end to end on a generated folder mixing good images (PNG, BMP), a corrupt file, an empty file,
// text renamed .jpg, a nested subfolder, a hidden file and a symlink loop: JSONL schema and order, statuses and
// error reasons, sha256, probabilities, thresholds and "review", the table, exit codes, and --resume.
#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "data/image.h"
#include "data/preprocess.h"
#include "data/sha256.h"
#include "infer/predictor.h"
#include "infer_test_support.h"

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wsign-compare"
#define STB_IMAGE_WRITE_STATIC
#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb_image_write.h>
#pragma GCC diagnostic pop

namespace vigil::test {
namespace {

constexpr const char* kEmptySha256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

void write_png(const std::string& path, int w, int h, int seed) {
  std::vector<uint8_t> px(static_cast<size_t>(w * h * 3));
  for (size_t i = 0; i < px.size(); ++i) px[i] = static_cast<uint8_t>((i * 31 + static_cast<size_t>(seed) * 57) % 256);
  ASSERT_NE(stbi_write_png(path.c_str(), w, h, 3, px.data(), w * 3), 0);
}

class ClassifyCli : public ScratchTest {
 protected:
  void SetUp() override {
    ScratchTest::SetUp();
    save_tiny_model(path("model.safetensors"));
    fs::create_directories(root_ / "imgs" / "nested" / "deeper");
    write_png(path("imgs/a.png"), 24, 18, 1);
    write_gradient_bmp(path("imgs/b.bmp"), 2);
    write_png(path("imgs/nested/c.png"), 9, 31, 3);
    write_gradient_bmp(path("imgs/nested/deeper/d.bmp"), 4);
    write_png(path("imgs/.hidden.png"), 8, 8, 5);
    std::string png = read_text(root_ / "imgs" / "a.png");
    std::ofstream(root_ / "imgs" / "corrupt.png", std::ios::binary) << png.substr(0, 40);  // cut after the header
    std::ofstream(root_ / "imgs" / "empty.jpg");
    std::ofstream(root_ / "imgs" / "notes.jpg") << "this is text, not an image";
    fs::create_directory_symlink(root_ / "imgs", root_ / "imgs" / "nested" / "loop");
  }

  std::string classify(const std::string& args) {
    return "classify --model " + path("model.safetensors") + " --device cpu --threads 1 --workers 2 " + args;
  }

  const std::vector<std::string> expected_order_ = {"imgs/a.png",        "imgs/b.bmp",
                                                    "imgs/corrupt.png",  "imgs/empty.jpg",
                                                    "imgs/nested/c.png", "imgs/nested/deeper/d.bmp",
                                                    "imgs/notes.jpg"};
};

TEST_F(ClassifyCli, RecordsFollowTheSchema) {
  ASSERT_EQ(0, vigil(classify("--batch 3 --jsonl " + path("out.jsonl") + " " + path("imgs")))) << err();
  const auto records = read_jsonl(root_ / "out.jsonl");
  ASSERT_EQ(records.size(), expected_order_.size()) << read_text(root_ / "out.jsonl");
  std::set<std::string> ok_paths;
  for (size_t i = 0; i < records.size(); ++i) {
    const auto& r = records[i];
    SCOPED_TRACE(r.dump());
    EXPECT_EQ(r["path"], path(expected_order_[i]));
    for (const char* key : {"path", "sha256", "status", "class_id", "class_name", "probabilities", "decision",
                            "latency_ms"})
      EXPECT_TRUE(r.contains(key)) << key;
    EXPECT_TRUE(r["latency_ms"].is_number());
    EXPECT_GE(r["latency_ms"].get<double>(), 0.0);
    ASSERT_TRUE(r["sha256"].is_string());
    EXPECT_EQ(r["sha256"], data::sha256_file_hex(r["path"].get<std::string>()));
    if (r["status"] == "ok") {
      ok_paths.insert(r["path"]);
      EXPECT_FALSE(r.contains("error"));
      const auto& p = r["probabilities"];
      ASSERT_TRUE(p.is_object());
      // Class order, all classes.
      std::vector<std::string> names;
      double sum = 0;
      for (auto it = p.begin(); it != p.end(); ++it) {
        names.push_back(it.key());
        sum += it.value().get<double>();
      }
      EXPECT_EQ(names, (std::vector<std::string>{"nudity", "violence", "standard"}));
      EXPECT_NEAR(sum, 1.0, 1e-5);
      const int id = r["class_id"];
      ASSERT_GE(id, 0);
      ASSERT_LT(id, 3);
      EXPECT_EQ(r["class_name"], names[static_cast<size_t>(id)]);
      for (const auto& n : names) EXPECT_LE(p[n].get<double>(), p[names[static_cast<size_t>(id)]].get<double>());
      EXPECT_EQ(r["decision"], r["class_name"]);  // default thresholds: always accepted
    } else {
      EXPECT_EQ(r["status"], "error");
      ASSERT_TRUE(r["error"].is_string());
      EXPECT_TRUE(r["class_id"].is_null());
      EXPECT_TRUE(r["probabilities"].is_null());
      EXPECT_TRUE(r["decision"].is_null());
    }
  }
  EXPECT_EQ(ok_paths, (std::set<std::string>{path("imgs/a.png"), path("imgs/b.bmp"), path("imgs/nested/c.png"),
                                             path("imgs/nested/deeper/d.bmp")}));
  EXPECT_EQ(records[2]["error"].get<std::string>().rfind("truncated: ", 0), 0u) << records[2]["error"];
  EXPECT_EQ(records[3]["error"].get<std::string>().rfind("empty: ", 0), 0u) << records[3]["error"];
  EXPECT_EQ(records[3]["sha256"], kEmptySha256);
  EXPECT_EQ(records[6]["error"].get<std::string>().rfind("unsupported: ", 0), 0u) << records[6]["error"];
  EXPECT_NE(err().find("classified 7 inputs: 4 ok, 3 error"), std::string::npos) << err();
}

TEST_F(ClassifyCli, ProbabilitiesMatchThePredictor) {
  ASSERT_EQ(0, vigil(classify("--jsonl " + path("out.jsonl") + " " + path("imgs/b.bmp") + " " + path("imgs/a.png"))))
      << err();
  const auto records = read_jsonl(root_ / "out.jsonl");
  ASSERT_EQ(records.size(), 2u);
  infer::Predictor predictor(path("model.safetensors"), Device::cpu());
  const ModelSpec& spec = predictor.model().spec();
  for (const auto& r : records) {
    const data::DecodeResult d = data::decode_file(r["path"], data::decode_options_for(spec));
    ASSERT_TRUE(d.ok()) << d.error;
    const std::vector<float> x = data::preprocess_image(d.image, spec);
    const auto p = predictor.probabilities({x.data()})[0];
    for (size_t c = 0; c < 3; ++c) EXPECT_NEAR(r["probabilities"][spec.classes[c]].get<double>(), p[c], 1e-6);
  }
}

TEST_F(ClassifyCli, ThresholdsSendUncertainImagesToReview) {
  // Model-file thresholds nobody reaches: everything goes to review ...
  save_tiny_model(path("strict.safetensors"), "softmax", 7, 1.f,
                  {{"nudity", 0.999f}, {"violence", 0.999f}, {"standard", 0.999f}});
  const std::string base = "classify --model " + path("strict.safetensors") + " --device cpu --jsonl ";
  ASSERT_EQ(0, vigil(base + path("strict.jsonl") + " " + path("imgs"))) << err();
  int ok = 0;
  for (const auto& r : read_jsonl(root_ / "strict.jsonl"))
    if (r["status"] == "ok") {
      EXPECT_EQ(r["decision"], "review") << r.dump();
      ++ok;
    }
  EXPECT_EQ(ok, 4);
  EXPECT_NE(err().find("decision: review 4"), std::string::npos) << err();
  // ... and --threshold overrides them per class.
  ASSERT_EQ(0, vigil(base + path("open.jsonl") + " --threshold nudity=0,violence=0,standard=0 " + path("imgs")))
      << err();
  for (const auto& r : read_jsonl(root_ / "open.jsonl")) {
    if (r["status"] == "ok") {
      EXPECT_EQ(r["decision"], r["class_name"]) << r.dump();
    }
  }
  // An unknown class is fatal before any work.
  EXPECT_NE(0, vigil(base + path("bad.jsonl") + " --threshold cat=0.5 " + path("imgs")));
  EXPECT_NE(err().find("unknown class 'cat'"), std::string::npos) << err();
}

TEST_F(ClassifyCli, SigmoidDecisionsAreLists) {
  save_tiny_model(path("multi.safetensors"), "sigmoid");
  ASSERT_EQ(0, vigil("classify --model " + path("multi.safetensors") + " --device cpu --jsonl " + path("m.jsonl") +
                     " --threshold nudity=0,violence=1 " + path("imgs/a.png")))
      << err();
  const auto records = read_jsonl(root_ / "m.jsonl");
  ASSERT_EQ(records.size(), 1u);
  const auto& decision = records[0]["decision"];
  ASSERT_TRUE(decision.is_array()) << records[0].dump();
  // nudity (threshold 0) always flagged, violence (threshold 1) never; standard depends on its 0.5 default.
  ASSERT_GE(decision.size(), 1u);
  EXPECT_EQ(decision[0], "nudity");
  for (const auto& d : decision) EXPECT_NE(d, "violence");
}

TEST_F(ClassifyCli, TableOnStandardOutput) {
  ASSERT_EQ(0, vigil(classify(path("imgs")))) << err();
  const std::string table = out();
  EXPECT_EQ(table.rfind("CLASS     PROB    DECISION  PATH\n", 0), 0u) << table;
  EXPECT_NE(table.find(path("imgs/notes.jpg") + "  error: unsupported: "), std::string::npos) << table;
  EXPECT_NE(table.find(path("imgs/nested/c.png")), std::string::npos) << table;
  EXPECT_EQ(table.find(".hidden"), std::string::npos) << table;
}

TEST_F(ClassifyCli, JsonlOnStandardOutput) {
  ASSERT_EQ(0, vigil(classify("--jsonl - " + path("imgs")))) << err();
  std::ofstream(root_ / "copy.jsonl") << out();
  EXPECT_EQ(read_jsonl(root_ / "copy.jsonl").size(), expected_order_.size()) << out();
}

TEST_F(ClassifyCli, FatalProblemsExitNonZero) {
  EXPECT_NE(0, vigil("classify --model " + path("absent.safetensors") + " " + path("imgs")));
  EXPECT_NE(err().find("absent.safetensors"), std::string::npos) << err();
  EXPECT_NE(0, vigil(classify("--jsonl " + path("no/such/dir/out.jsonl") + " " + path("imgs"))));
  EXPECT_NE(err().find("no/such/dir/out.jsonl: cannot open for writing"), std::string::npos) << err();
  fs::create_directories(root_ / "void");
  EXPECT_NE(0, vigil(classify(path("void"))));
  EXPECT_NE(err().find("no inputs"), std::string::npos) << err();
  EXPECT_NE(0, vigil(classify(path("nothing-here"))));
  EXPECT_NE(err().find("nothing-here: No such file or directory"), std::string::npos) << err();
  EXPECT_NE(0, vigil(classify("--frobnicate " + path("imgs"))));
  EXPECT_NE(err().find("unknown option --frobnicate"), std::string::npos) << err();
  EXPECT_NE(0, vigil(classify("--resume " + path("imgs"))));
  EXPECT_NE(err().find("--resume needs --jsonl FILE"), std::string::npos) << err();
}

TEST_F(ClassifyCli, ResumeSkipsRecordedInputsAndRepairsATornLine) {
  const std::string jsonl = path("out.jsonl");
  ASSERT_EQ(0, vigil(classify("--batch 2 --jsonl " + jsonl + " " + path("imgs")))) << err();
  ASSERT_EQ(read_jsonl(jsonl).size(), 7u);
  // A killed run left half a record; a new file appeared; a.png changed.
  std::ofstream(jsonl, std::ios::app) << R"({"path": ")" << path("imgs/zz.bmp") << R"(", "sha2)";
  write_gradient_bmp(path("imgs/zz.bmp"), 9);
  write_png(path("imgs/a.png"), 24, 18, 42);
  ASSERT_EQ(0, vigil(classify("--batch 2 --resume --jsonl " + jsonl + " " + path("imgs")))) << err();
  EXPECT_NE(err().find("removed a half-written last record"), std::string::npos) << err();
  EXPECT_NE(err().find("classified 2 inputs: 2 ok, 0 error"), std::string::npos) << err();
  EXPECT_NE(err().find("skipped 6 already recorded"), std::string::npos) << err();
  const auto records = read_jsonl(jsonl);
  ASSERT_EQ(records.size(), 9u);
  EXPECT_EQ(records[7]["path"], path("imgs/a.png"));
  EXPECT_EQ(records[7]["sha256"], data::sha256_file_hex(path("imgs/a.png")));
  EXPECT_NE(records[7]["sha256"], records[0]["sha256"]);
  EXPECT_EQ(records[8]["path"], path("imgs/zz.bmp"));
  // Everything is recorded now: a third run adds nothing.
  ASSERT_EQ(0, vigil(classify("--resume --jsonl " + jsonl + " " + path("imgs")))) << err();
  EXPECT_EQ(read_jsonl(jsonl).size(), 9u);
  EXPECT_NE(err().find("skipped 8 already recorded"), std::string::npos) << err();
}

}  // namespace
}  // namespace vigil::test
