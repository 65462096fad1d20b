// Tests of `vigil calibrate`: the NLL and the temperature fit on synthetic logits (hand values, a known temperature
// recovered, bounds, bad input), and the real binary on an over-confident hand-built model and generated images.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>

#include "common/error.h"
#include "infer/calibrate.h"
#include "infer_test_support.h"
#include "nn/safetensors.h"

namespace vigil::test {
namespace {

// splitmix64: a portable deterministic stream of uniform numbers in [0, 1).
class Uniform {
 public:
  explicit Uniform(uint64_t seed) : state_(seed) {}
  double next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return static_cast<double>((z ^ (z >> 31)) >> 11) * 0x1.0p-53;
  }

 private:
  uint64_t state_;
};

// n examples whose labels are drawn from softmax(true logits); the logits returned are the true ones times `scale`,
// so temperature `scale` is the one that recovers the true probabilities.
infer::LogitSet over_confident_set(int n, double scale, uint64_t seed) {
  Uniform u(seed);
  infer::LogitSet s;
  s.num_classes = 3;
  for (int i = 0; i < n; ++i) {
    double z[3], p[3], sum = 0;
    for (double& v : z) v = 3.0 * u.next() - 1.5;
    for (int c = 0; c < 3; ++c) sum += p[c] = std::exp(z[c]);
    double r = u.next() * sum;
    int label = 0;
    while (label < 2 && r >= p[label]) r -= p[label++];
    for (double v : z) s.logits.push_back(static_cast<float>(v * scale));
    s.labels.push_back(label);
  }
  return s;
}

TEST(CalibrateFit, NllMatchesHandValues) {
  infer::LogitSet s;
  s.num_classes = 3;
  s.logits = {2.f, 0.f, 0.f, 0.f, 1.f, 0.f};
  s.labels = {0, 2};
  const double a = -std::log(std::exp(2.0) / (std::exp(2.0) + 2.0)), b = -std::log(1.0 / (2.0 + std::exp(1.0)));
  EXPECT_NEAR((a + b) / 2, infer::softmax_nll(s, 1.0), 1e-12);
  const double a2 = -std::log(std::exp(1.0) / (std::exp(1.0) + 2.0)), b2 = -std::log(1.0 / (2.0 + std::exp(0.5)));
  EXPECT_NEAR((a2 + b2) / 2, infer::softmax_nll(s, 2.0), 1e-12);
  const auto p = infer::softmax_probabilities(s, 2.0);
  ASSERT_EQ(6u, p.size());
  EXPECT_NEAR(std::exp(1.0) / (std::exp(1.0) + 2.0), p[0], 1e-6);
  EXPECT_NEAR(1.0, p[3] + p[4] + p[5], 1e-6);
}

TEST(CalibrateFit, RecoversTheTemperatureOfScaledLogits) {
  for (double scale : {4.0, 0.5}) {
    const infer::LogitSet s = over_confident_set(6000, scale, 11);
    const infer::TemperatureFit fit = infer::fit_temperature(s);
    EXPECT_NEAR(scale, fit.temperature, 0.12 * scale) << "scale " << scale;
    EXPECT_FALSE(fit.at_lower_bound || fit.at_upper_bound);
    // A minimum: no better at the true temperature's neighbours or at T = 1.
    EXPECT_LE(fit.nll, infer::softmax_nll(s, fit.temperature * 1.01) + 1e-12);
    EXPECT_LE(fit.nll, infer::softmax_nll(s, fit.temperature / 1.01) + 1e-12);
    EXPECT_LT(fit.nll, infer::softmax_nll(s, 1.0));
    EXPECT_NEAR(fit.nll, infer::softmax_nll(s, fit.temperature), 1e-12);
    // Deterministic.
    EXPECT_EQ(fit.temperature, infer::fit_temperature(s).temperature);
  }
}

TEST(CalibrateFit, CalibrationLowersTheErrorOfAnOverConfidentSet) {
  const infer::LogitSet s = over_confident_set(3000, 4.0, 5);
  const auto fit = infer::fit_temperature(s);
  const auto before = infer::summarize_calibration(s, 1.0), after = infer::summarize_calibration(s, fit.temperature);
  EXPECT_GT(before.ece, 0.15);
  EXPECT_LT(after.ece, 0.05);
  EXPECT_LT(after.nll, before.nll);
  EXPECT_DOUBLE_EQ(before.accuracy, after.accuracy);
  EXPECT_EQ(15u, after.reliability.bins.size());
}

TEST(CalibrateFit, SeparableDataStopsAtTheLowerBound) {
  infer::LogitSet s;
  s.num_classes = 2;
  s.logits = {3.f, -3.f, -2.f, 2.f, 1.f, 0.f};
  s.labels = {0, 1, 0};
  const auto fit = infer::fit_temperature(s);
  EXPECT_TRUE(fit.at_lower_bound);
  EXPECT_NEAR(0.05, fit.temperature, 1e-6);
  s.labels = {1, 0, 1};  // every example wrong: the flattest model is best
  const auto flat = infer::fit_temperature(s, 0.05, 20);
  EXPECT_TRUE(flat.at_upper_bound);
  EXPECT_NEAR(20.0, flat.temperature, 1e-5);
}

TEST(CalibrateFit, BadInputThrows) {
  infer::LogitSet empty;
  empty.num_classes = 3;
  EXPECT_THROW(infer::fit_temperature(empty), Error);
  infer::LogitSet s;
  s.num_classes = 2;
  s.logits = {1.f, 0.f};
  s.labels = {2};
  EXPECT_THROW(infer::softmax_nll(s, 1.0), Error);
  s.labels = {0};
  EXPECT_THROW(infer::softmax_nll(s, 0.0), Error);
  EXPECT_THROW(infer::fit_temperature(s, 2.0, 1.0), Error);
  s.logits = {NAN, 0.f};
  EXPECT_THROW(infer::fit_temperature(s), Error);
  s.logits = {1.f};
  EXPECT_THROW(infer::softmax_nll(s, 1.0), Error);
}

// The tiny 16x16 model with hand-set weights: conv channel k copies colour channel k (centre tap), batch norm is
// the identity, and the linear layer scales the pooled colour by `scale`, so the logits are scale * (how strong
// red, green, blue is) and a large scale makes it over-confident.
void save_hand_set_model(const std::string& path, float scale, const std::string& head = "softmax") {
  Model m(parse_model_spec(tiny_definition(head), "tiny.json"), 1);
  for (const auto& p : m.parameters()) {
    Var var = p.var;
    Tensor& t = var.mutable_value();
    float* v = t.f32();
    for (int64_t i = 0; i < t.numel(); ++i) v[i] = 0.f;
    const Shape& s = t.shape();
    if (s == Shape{4, 3, 3, 3}) {
      for (int k = 0; k < 3; ++k) v[((k * 3 + k) * 3 + 1) * 3 + 1] = 1.f;
    } else if (s == Shape{3, 4}) {
      for (int k = 0; k < 3; ++k) v[k * 4 + k] = scale;
    } else if (p.name.find("1.weight") != std::string::npos) {
      for (int64_t i = 0; i < t.numel(); ++i) v[i] = 1.f;  // batch-norm gamma
    }
  }
  m.save(path);
}

class CalibrateCli : public ScratchTest {
 protected:
  // A 16x16 image whose channel `channel` has strength `value` (others 30), with a little deterministic noise.
  void colour_image(const std::string& rel, int channel, int value, int seed) {
    fs::create_directories(fs::path(path(rel)).parent_path());
    write_bmp(path(rel), 16, 16, [&](int x, int y) {
      const int noise = (x * 7 + y * 13 + seed * 31) % 9 - 4;
      int c[3] = {30 + noise, 30 - noise, 30 + noise / 2};
      c[channel] = std::min(255, value + noise);
      return std::tuple<uint8_t, uint8_t, uint8_t>{static_cast<uint8_t>(c[0]), static_cast<uint8_t>(c[1]),
                                                   static_cast<uint8_t>(c[2])};
    });
  }
  // 30 labelled images under `dir`: eight clear ones per class (red = nudity, green = violence, blue =
  // standard) and six mislabelled ones; the bluest image is labelled violence, so no threshold gives standard a
  // precision of 0.95.
  void make_data(const std::string& dir) {
    const char* names[3] = {"nudity", "violence", "standard"};
    int seed = 0;
    for (int c = 0; c < 3; ++c)
      for (int i = 0; i < 8; ++i)
        colour_image(dir + "/" + names[c] + "/clear" + std::to_string(i) + ".bmp", c, 180 + 9 * i, seed++);
    const int wrong[6][3] = {{1, 207, 0}, {1, 216, 0}, {2, 198, 1}, {2, 225, 1}, {0, 234, 2}, {2, 250, 1}};
    for (const auto& w : wrong)
      colour_image(dir + "/" + names[w[2]] + "/odd" + std::to_string(seed) + ".bmp", w[0], w[1], seed), ++seed;
  }
  std::string model() const { return path("m.safetensors"); }
  nlohmann::json evaluate_json(const std::string& model_file, const std::string& data) {
    const std::string out = path("eval.json");
    EXPECT_EQ(0, vigil("evaluate --model " + model_file + " --device cpu --bootstrap 20 --data " + data + " --json " + out))
        << err();
    return nlohmann::json::parse(read_text(out));
  }
};

TEST_F(CalibrateCli, LowersTheCalibrationErrorAndStoresTemperatureAndThresholds) {
  save_hand_set_model(model(), 10.f);
  make_data("val");
  const auto before = evaluate_json(model(), path("val"));
  ASSERT_EQ(0, vigil("calibrate --model " + model() + " --device cpu --data " + path("val") + " --json " +
                     path("cal.json")))
      << err();
  EXPECT_NE(std::string::npos, out().find("temperature")) << out();
  EXPECT_NE(std::string::npos, out().find("not reachable")) << out();
  const auto r = nlohmann::json::parse(read_text(path("cal.json")));
  const double t = r["temperature"].get<double>();
  EXPECT_GT(t, 2.0);  // the logits were scaled up, so the fit softens them
  EXPECT_LT(t, 20.0);
  EXPECT_EQ(30, r["counts"]["scored"].get<int>());
  EXPECT_EQ(0, r["counts"]["unreadable"].get<int>());
  EXPECT_EQ(11, r["counts"]["per_class"]["violence"].get<int>());
  EXPECT_EQ(9, r["counts"]["per_class"]["standard"].get<int>());
  EXPECT_LT(r["nll_after"].get<double>(), r["nll_before"].get<double>());
  EXPECT_LT(r["ece_after"].get<double>(), r["ece_before"].get<double>());
  EXPECT_NEAR(before["ece"].get<double>(), r["ece_before"].get<double>(), 1e-5);
  EXPECT_DOUBLE_EQ(r["accuracy_before"].get<double>(), r["accuracy_after"].get<double>());
  EXPECT_TRUE(r["thresholds"]["standard"].is_null());
  EXPECT_EQ(nlohmann::json::array({"standard"}), r["unreachable"]);
  ASSERT_TRUE(r["thresholds"]["nudity"].is_object());
  EXPECT_GE(r["thresholds"]["nudity"]["precision"].get<double>(), 0.95);

  // The model file now holds the calibration, and evaluate sees the calibrated probabilities.
  const Model m = Model::load(model());
  EXPECT_NEAR(t, m.temperature, 1e-6 * t);
  ASSERT_EQ(2u, m.thresholds.size());
  EXPECT_NEAR(r["thresholds"]["nudity"]["threshold"].get<double>(), m.thresholds.at("nudity"), 1e-6);
  EXPECT_NEAR(r["thresholds"]["violence"]["threshold"].get<double>(), m.thresholds.at("violence"), 1e-6);
  EXPECT_EQ(0u, m.thresholds.count("standard"));
  const auto after = evaluate_json(model(), path("val"));
  EXPECT_LT(after["ece"].get<double>(), before["ece"].get<double>() - 0.03);
  EXPECT_NEAR(r["ece_after"].get<double>(), after["ece"].get<double>(), 1e-4);
  EXPECT_EQ(before["accuracy"], after["accuracy"]);
  const auto content = load_safetensors(model());
  EXPECT_EQ(1u, content.metadata.count("vigil.calibration"));

  // Calibrating again fits the raw logits, not the already-scaled ones: the same temperature.
  ASSERT_EQ(0, vigil("calibrate --model " + model() + " --device cpu --data " + path("val") + " --json " +
                     path("again.json")))
      << err();
  const auto again = nlohmann::json::parse(read_text(path("again.json")));
  EXPECT_NEAR(t, again["temperature"].get<double>(), 1e-4 * t);
  EXPECT_NEAR(t, again["previous_temperature"].get<double>(), 1e-6 * t);
  EXPECT_NEAR(r["ece_after"].get<double>(), again["ece_before"].get<double>(), 1e-6);
}

TEST_F(CalibrateCli, OutLeavesTheInputAloneAndManifestsUseTheValSplit) {
  save_hand_set_model(model(), 10.f);
  make_data("all");
  std::ofstream manifest(path("manifest.csv"));
  manifest << "path,sha256,label,group,split\n";
  int rows = 0, val = 0;
  for (const auto& e : fs::recursive_directory_iterator(path("all"))) {
    if (!e.is_regular_file()) continue;
    const std::string label = e.path().parent_path().filename().string();
    const char* split = rows % 3 == 0 ? "train" : rows % 3 == 1 ? "val" : "test";
    val += rows % 3 == 1;
    manifest << e.path().string() << ",," << label << ",," << split << "\n";
    ++rows;
  }
  manifest.close();
  ASSERT_EQ(0, vigil("calibrate --model " + model() + " --device cpu --data " + path("manifest.csv") + " --out " +
                     path("cal.safetensors") + " --json " + path("r.json")))
      << err();
  const auto r = nlohmann::json::parse(read_text(path("r.json")));
  EXPECT_EQ(val, r["counts"]["images"].get<int>());
  EXPECT_NE(std::string::npos, r["data"].get<std::string>().find("val split"));
  EXPECT_NE(std::string::npos, err().find("only 10 images")) << err();
  EXPECT_FLOAT_EQ(1.f, Model::load(model()).temperature);
  EXPECT_NEAR(r["temperature"].get<double>(), Model::load(path("cal.safetensors")).temperature, 1e-5);
  ASSERT_EQ(0, vigil("calibrate --model " + model() + " --device cpu --data " + path("manifest.csv") +
                     " --split test --out " + path("t.safetensors") + " --json " + path("t.json")))
      << err();
  EXPECT_NE(std::string::npos, nlohmann::json::parse(read_text(path("t.json")))["data"].get<std::string>().find("test"));
}

TEST_F(CalibrateCli, PlainStateDictGainsTheVigilMetadata) {
  save_hand_set_model(model(), 10.f);
  make_data("val");
  const Model m = Model::load(model());
  save_safetensors(path("plain.safetensors"), m.state_dict(), {{"format", "pt"}});
  std::ofstream(path("tiny.json")) << tiny_definition();
  ASSERT_EQ(0, vigil("calibrate --model " + path("plain.safetensors") + " --model-def " + path("tiny.json") +
                     " --device cpu --data " + path("val") + " --out " + path("full.safetensors")))
      << err();
  const Model full = Model::load(path("full.safetensors"));  // no definition needed any more
  EXPECT_GT(full.temperature, 2.f);
  EXPECT_EQ(m.spec().classes, full.spec().classes);
  EXPECT_EQ("pt", load_safetensors(path("full.safetensors")).metadata.at("format"));
}

TEST_F(CalibrateCli, BadInputsGiveClearErrors) {
  save_hand_set_model(model(), 10.f);
  make_data("val");
  auto fails_with = [&](const std::string& args, const std::string& text) {
    EXPECT_NE(0, vigil("calibrate --device cpu " + args)) << args;
    EXPECT_NE(std::string::npos, err().find(text)) << args << "\n" << err();
  };
  fails_with("--model " + model() + " --data " + path("val") + " --split train", "--split train");
  fails_with("--model " + model() + " --data " + path("val") + " --split val", "no train/val/test split folders");
  fs::create_directories(path("nothing/nudity"));
  fs::create_directories(path("nothing/violence"));
  fails_with("--model " + model() + " --data " + path("nothing"), "no labelled images to calibrate on");
  fs::create_directories(path("broken/nudity"));
  std::ofstream(path("broken/nudity/a.jpg")) << "not an image";
  fails_with("--model " + model() + " --data " + path("broken"), "none of the 1 images could be read");
  fails_with("--model " + model() + " --data " + path("nowhere"), "no such file or directory");
  fails_with("--data " + path("val"), "--model is required");
  fails_with("--model " + model() + " --data " + path("val") + " --target-precision 1.5", "--target-precision");
  fails_with("--model " + model() + " --data " + path("val") + " --bogus 1", "unknown option --bogus");
  fails_with("--model " + model() + " --data " + path("val") + " --out " + path("no/dir/x.safetensors"),
             "does not exist");
  save_hand_set_model(path("sig.safetensors"), 10.f, "sigmoid");
  fails_with("--model " + path("sig.safetensors") + " --data " + path("val"), "sigmoid");
  // A failed run leaves the model file as it was.
  EXPECT_FLOAT_EQ(1.f, Model::load(model()).temperature);
  EXPECT_EQ(0, vigil("calibrate --help"));
  EXPECT_NE(std::string::npos, out().find("--target-precision")) << out();
}

}  // namespace
}  // namespace vigil::test
