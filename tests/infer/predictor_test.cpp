// The decision rule, threshold resolution, Predictor probabilities against a direct Model forward, and the lazy
// input walk (order, hidden entries, symlink loops, missing paths).
#include <gtest/gtest.h>

#include <cmath>

#include "common/error.h"
#include "infer/classify.h"
#include "infer/predictor.h"
#include "infer_test_support.h"
#include "nn/functional.h"

namespace vigil::test {
namespace {

const std::vector<std::string> kClasses = {"nudity", "violence", "standard"};

TEST(Decide, SoftmaxAcceptsTheTopClassAtItsThreshold) {
  const infer::Decision d = infer::decide({0.2f, 0.7f, 0.1f}, {0.f, 0.7f, 0.f}, kClasses, Head::Softmax);
  EXPECT_EQ(d.top, 1);
  EXPECT_EQ(d.label, "violence");  // 0.7 reaches 0.7
  EXPECT_EQ(d.flagged, std::vector<int>{1});
}

TEST(Decide, SoftmaxBelowThresholdGoesToReview) {
  const infer::Decision d = infer::decide({0.79f, 0.2f, 0.01f}, {0.8f, 0.f, 0.f}, kClasses, Head::Softmax);
  EXPECT_EQ(d.top, 0);
  EXPECT_EQ(d.label, "review");
  EXPECT_TRUE(d.flagged.empty());
}

TEST(Decide, SoftmaxDefaultThresholdsAlwaysAccept) {
  EXPECT_EQ(infer::decide({0.34f, 0.33f, 0.33f}, {0.f, 0.f, 0.f}, kClasses, Head::Softmax).label, "nudity");
}

TEST(Decide, SoftmaxTiesPickTheFirstClass) {
  EXPECT_EQ(infer::decide({0.25f, 0.5f, 0.5f}, {0.f, 0.f, 0.f}, kClasses, Head::Softmax).top, 1);
}

TEST(Decide, SigmoidFlagsEveryClassOverItsThreshold) {
  const infer::Decision d = infer::decide({0.9f, 0.6f, 0.2f}, {0.8f, 0.5f, 0.5f}, kClasses, Head::Sigmoid);
  EXPECT_EQ(d.top, 0);
  EXPECT_EQ(d.flagged, (std::vector<int>{0, 1}));
  EXPECT_EQ(d.label, "nudity+violence");
}

TEST(Decide, SigmoidWithNothingOverThresholdIsNone) {
  const infer::Decision d = infer::decide({0.4f, 0.1f, 0.3f}, {0.5f, 0.5f, 0.5f}, kClasses, Head::Sigmoid);
  EXPECT_TRUE(d.flagged.empty());
  EXPECT_EQ(d.label, "none");
  EXPECT_EQ(d.top, 0);
}

TEST(Decide, MismatchedSizesThrow) {
  EXPECT_THROW(infer::decide({0.5f, 0.5f}, {0.f, 0.f, 0.f}, kClasses, Head::Softmax), Error);
}

TEST(ResolveThresholds, CommandLineOverridesModelOverridesDefaults) {
  ModelSpec spec = parse_model_spec(tiny_definition(), "tiny.json");
  EXPECT_EQ(infer::resolve_thresholds(spec, {}, ""), (std::vector<float>{0.f, 0.f, 0.f}));
  EXPECT_EQ(infer::resolve_thresholds(spec, {{"nudity", 0.9f}, {"violence", 0.6f}}, "nudity=0.8,standard=0.3"),
            (std::vector<float>{0.8f, 0.6f, 0.3f}));
  ModelSpec sig = parse_model_spec(tiny_definition("sigmoid"), "tiny.json");
  EXPECT_EQ(infer::resolve_thresholds(sig, {}, "violence=0.7"), (std::vector<float>{0.5f, 0.7f, 0.5f}));
}

TEST(ResolveThresholds, BadEntriesNameTheProblem) {
  ModelSpec spec = parse_model_spec(tiny_definition(), "tiny.json");
  auto message = [&](const std::string& text) {
    try {
      infer::resolve_thresholds(spec, {}, text);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message("cat=0.5").find("unknown class 'cat' (classes: nudity, violence, standard)"), std::string::npos);
  EXPECT_NE(message("nudity=1.5").find("must be a probability in [0, 1]"), std::string::npos);
  EXPECT_NE(message("nudity=high").find("not a number"), std::string::npos);
  EXPECT_NE(message("nudity").find("expected CLASS=PROBABILITY"), std::string::npos);
}

// Softmax (or sigmoid) of a direct eval-mode forward, in double on the host.
std::vector<std::vector<double>> direct_probabilities(const std::string& model_path, const std::vector<float>& batch,
                                                      int64_t n) {
  Model m = Model::load(model_path);
  Tape tape(false);
  const std::vector<float> logits =
      m.forward(tape, Var(Tensor::from_vector(batch, {n, 3, 16, 16})), RunContext{}).value().to_vector();
  std::vector<std::vector<double>> out;
  for (int64_t i = 0; i < n; ++i) {
    std::vector<double> z(3), p(3);
    for (int c = 0; c < 3; ++c) z[static_cast<size_t>(c)] = logits[static_cast<size_t>(i * 3 + c)] / m.temperature;
    if (m.spec().head == Head::Sigmoid) {
      for (size_t c = 0; c < 3; ++c) p[c] = 1.0 / (1.0 + std::exp(-z[c]));
    } else {
      const double mx = std::max({z[0], z[1], z[2]});
      double sum = 0;
      for (size_t c = 0; c < 3; ++c) sum += (p[c] = std::exp(z[c] - mx));
      for (auto& v : p) v /= sum;
    }
    out.push_back(p);
  }
  return out;
}

class PredictorTest : public ScratchTest {
 protected:
  void check_against_direct_forward(const std::string& head, float temperature) {
    const std::string model = path("m.safetensors");
    save_tiny_model(model, head, 11, temperature);
    const int64_t n = 5;
    std::vector<float> batch(static_cast<size_t>(n * 3 * 16 * 16));
    for (size_t i = 0; i < batch.size(); ++i) batch[i] = std::sin(0.37f * float(i)) * 2.f;
    infer::Predictor predictor(model, Device::cpu());
    ASSERT_EQ(predictor.input_size(), 3u * 16 * 16);
    EXPECT_EQ(predictor.model().temperature, temperature);
    std::vector<const float*> inputs;
    for (int64_t i = 0; i < n; ++i) inputs.push_back(batch.data() + i * 3 * 16 * 16);
    const auto got = predictor.probabilities(inputs);
    const auto want = direct_probabilities(model, batch, n);
    ASSERT_EQ(got.size(), static_cast<size_t>(n));
    for (size_t i = 0; i < got.size(); ++i) {
      ASSERT_EQ(got[i].size(), 3u);
      double sum = 0;
      for (size_t c = 0; c < 3; ++c) {
        EXPECT_NEAR(got[i][c], want[i][c], 1e-6) << "image " << i << " class " << c;
        sum += got[i][c];
      }
      if (head == "softmax") {
        EXPECT_NEAR(sum, 1.0, 1e-6);
      }
    }
  }
};

TEST_F(PredictorTest, SoftmaxEqualsDirectForward) { check_against_direct_forward("softmax", 1.f); }
TEST_F(PredictorTest, TemperatureScalesLogits) { check_against_direct_forward("softmax", 2.5f); }
TEST_F(PredictorTest, SigmoidEqualsDirectForward) { check_against_direct_forward("sigmoid", 1.f); }

TEST_F(PredictorTest, MissingModelFileNamesIt) {
  try {
    infer::Predictor p(path("absent.safetensors"), Device::cpu());
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("absent.safetensors"), std::string::npos) << e.what();
  }
}

class WalkerTest : public ScratchTest {};

std::vector<std::string> walk(const std::vector<std::string>& roots, std::vector<std::string>* errors = nullptr) {
  infer::InputWalker w(roots);
  std::vector<std::string> out;
  for (infer::InputEntry e; w.next(e);) {
    out.push_back(e.path);
    if (errors) errors->push_back(e.error);
  }
  return out;
}

TEST_F(WalkerTest, SortedRecursiveSkipsHiddenAndSurvivesLinkLoops) {
  fs::create_directories(root_ / "d" / "sub" / "deeper");
  fs::create_directories(root_ / "d" / ".hidden_dir");
  for (const char* f : {"d/b.jpg", "d/a.jpg", "d/sub/c.png", "d/sub/deeper/e.bmp", "d/z.txt", "d/.hidden.jpg",
                        "d/.hidden_dir/x.jpg"})
    std::ofstream(root_ / f) << "x";
  fs::create_directory_symlink(root_ / "d", root_ / "d" / "sub" / "loop");  // back up the tree
  const std::string d = path("d");
  EXPECT_EQ(walk({d + "/"}), (std::vector<std::string>{d + "/a.jpg", d + "/b.jpg", d + "/sub/c.png",
                                                       d + "/sub/deeper/e.bmp", d + "/z.txt"}));
}

TEST_F(WalkerTest, FilesAsGivenAndProblemsAsErrors) {
  std::ofstream(root_ / ".explicit.jpg") << "x";
  fs::create_directories(root_ / "d");
  fs::create_symlink(root_ / "nowhere", root_ / "d" / "dangling.jpg");
  std::vector<std::string> errors;
  const auto paths = walk({path(".explicit.jpg"), path("missing.jpg"), path("d")}, &errors);
  ASSERT_EQ(paths.size(), 3u);
  EXPECT_EQ(paths[0], path(".explicit.jpg"));
  EXPECT_EQ(errors[0], "");
  EXPECT_EQ(paths[1], path("missing.jpg"));
  EXPECT_EQ(errors[1], "No such file or directory");
  EXPECT_EQ(paths[2], path("d/dangling.jpg"));
  EXPECT_EQ(errors[2], "broken symbolic link");
}

}  // namespace
}  // namespace vigil::test
