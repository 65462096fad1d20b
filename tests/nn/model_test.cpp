// Model definitions, presets and their layer tables, strict validation, model files, optimizers, schedules and
// exact resume.
#include "nn/model.h"

#include <gtest/gtest.h>

#include <sys/resource.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "common/error.h"
#include "nn/layer_table.h"
#include "nn/optimizer.h"
#include "nn/schedule.h"
#include "support/allclose.h"
#include "support/random.h"

namespace vigil::test {
namespace {

namespace fs = std::filesystem;

std::string temp_path(const std::string& name) {
  return (fs::temp_directory_path() / ("vigil_model_test_" + std::to_string(::getpid()) + "_" + name)).string();
}

// The error message of `f`, or "" when it does not throw.
template <typename F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(Presets, SeedLayerTableMatchesTheOriginal) {
  Model m(load_model_spec("seed"), 0);
  const LayerStats t = m.totals();
  EXPECT_EQ(t.params, 10128899);
  EXPECT_EQ(t.macs, 446160960);  // 446.2 M multiply-adds per image (convolution + linear)
  EXPECT_EQ(t.output, (Shape{3}));
  std::ostringstream table;
  print_layer_table(m, table);
  EXPECT_NE(table.str().find("10,128,899"), std::string::npos) << table.str();
  EXPECT_NE(table.str().find("446,160,960"), std::string::npos);
  EXPECT_NE(table.str().find("(256, 7, 7)"), std::string::npos);
  EXPECT_NE(table.str().find("(12544,)"), std::string::npos);
  // Names follow the original project's state_dict.
  std::vector<std::string> names;
  for (const auto& p : m.parameters()) names.push_back(p.name);
  EXPECT_EQ(names.front(), "conv.0.weight");
  EXPECT_EQ(names.back(), "fc.5.bias");
  EXPECT_EQ(m.buffers().front().name, "conv.1.running_mean");
}

TEST(Presets, DefaultIsAQuarterOfTheSeedAndTakesAnySize) {
  const LayerStats seed = Model(load_model_spec("seed"), 0).totals();
  ModelSpec spec = load_model_spec("default");
  const LayerStats d = Model(spec, 0).totals();
  EXPECT_LE(d.params * 4, seed.params);
  EXPECT_LE(d.macs * 4, seed.macs);
  // Global average pooling: other input sizes fit without changes.
  for (auto [h, w] : {std::pair{160, 200}, std::pair{512, 512}, std::pair{97, 64}}) {
    std::string text = spec.text;
    const std::string from = "\"height\": 224, \"width\": 224";
    ASSERT_NE(text.find(from), std::string::npos);
    text.replace(text.find(from), from.size(), "\"height\": " + std::to_string(h) + ", \"width\": " + std::to_string(w));
    EXPECT_NO_THROW(parse_model_spec(text, "resized"));
  }
}

TEST(Presets, FmnistRunsForward) {
  Model m(load_model_spec("fmnist"), 1);
  EXPECT_EQ(m.spec().classes.size(), 10u);
  Tape tape(false);
  Var x(Tensor::from_vector(random_uniform(2 * 28 * 28, -1, 1, 3), {2, 1, 28, 28}));
  Var y = m.forward(tape, x, RunContext{});
  EXPECT_EQ(y.shape(), (Shape{2, 10}));
}

const char* kTiny = R"({
  "format": "vigil-model/1", "name": "tiny", "input": {"channels": 1, "height": 8, "width": 8},
  "classes": ["a", "b", "c"],
  "layers": [
    {"type": "conv2d", "out_channels": 4, "kernel": 3, "padding": 1},
    {"type": "batchnorm2d"},
    {"type": "relu"},
    {"type": "maxpool2d", "kernel": 2},
    {"type": "residual", "name": "res", "body": [
      {"type": "conv2d", "name": "conv", "out_channels": 4, "kernel": 3, "padding": 1, "bias": false},
      {"type": "batchnorm2d", "name": "bn"}]},
    {"type": "flatten"},
    {"type": "dropout", "p": 0.25},
    {"type": "linear", "out_features": 3}
  ]
})";

std::string tiny_with(const std::string& from, const std::string& to) {
  std::string t = kTiny;
  const size_t at = t.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  return t.replace(at, from.size(), to);
}

TEST(ModelSpec, StrictValidationNamesThePathAndReason) {
  EXPECT_NO_THROW(parse_model_spec(kTiny, "tiny.json"));
  auto err = [](const std::string& text) { return error_of([&] { parse_model_spec(text, "tiny.json"); }); };
  std::string e = err(tiny_with("\"type\": \"relu\"", "\"type\": \"gelu\""));
  EXPECT_NE(e.find("tiny.json: layers[2].type: unknown layer type 'gelu'"), std::string::npos) << e;
  e = err(tiny_with("\"kernel\": 3, \"padding\": 1}", "\"kernel\": 0, \"padding\": 1}"));
  EXPECT_NE(e.find("layers[0].kernel"), std::string::npos) << e;
  e = err(tiny_with("{\"type\": \"flatten\"},", ""));
  EXPECT_NE(e.find("linear needs flat input"), std::string::npos) << e;
  e = err(tiny_with("\"out_features\": 3", "\"out_features\": 4"));
  EXPECT_NE(e.find("outputs (4,) per image but there are 3 classes"), std::string::npos) << e;
  e = err(tiny_with("\"p\": 0.25", "\"p\": 0.25, \"rate\": 1"));
  EXPECT_NE(e.find("layers[6].rate: unknown key"), std::string::npos) << e;
  e = err(tiny_with("\"classes\": [\"a\", \"b\", \"c\"]", "\"classes\": [\"a\", \"b\", \"a\"]"));
  EXPECT_NE(e.find("classes[2]: class 'a' appears twice"), std::string::npos) << e;
  e = err(tiny_with("\"name\": \"conv\"", "\"name\": \"bn\""));
  EXPECT_NE(e.find("'res.body.bn' is used twice"), std::string::npos) << e;
  e = err(tiny_with("{\"type\": \"relu\"},", "{\"type\": \"relu\"}"));
  EXPECT_NE(e.find("not valid JSON at line 8"), std::string::npos) << e;
  e = err(tiny_with("\"height\": 8", "\"height\": 1"));
  EXPECT_NE(e.find("layers[3]: "), std::string::npos) << e;
  EXPECT_NE(e.find("is smaller than the 2x2 window"), std::string::npos) << e;
  e = err(tiny_with("\"out_channels\": 4, \"kernel\": 3, \"padding\": 1, \"bias\": false",
                    "\"out_channels\": 5, \"kernel\": 3, \"padding\": 1, \"bias\": false"));
  EXPECT_NE(e.find("layers[4].body: body output (5, 4, 4) and shortcut output (4, 4, 4) differ"), std::string::npos) << e;
  EXPECT_NE(error_of([] { load_model_spec("/nonexistent/model.json"); }).find("cannot open"), std::string::npos);
}

TEST(ModelSpec, RepeatedKeysAreErrorsNamingTheirPath) {
  std::string e = error_of([] { parse_model_spec(tiny_with("\"name\": \"tiny\"", "\"name\": \"tiny\", \"name\": \"x\""), "tiny.json"); });
  EXPECT_NE(e.find("tiny.json: duplicate key 'name' at name"), std::string::npos) << e;
  e = error_of([] { parse_model_spec(tiny_with("\"bias\": false", "\"bias\": false, \"bias\": true"), "tiny.json"); });
  EXPECT_NE(e.find("duplicate key 'bias' at layers[4].body[0].bias"), std::string::npos) << e;
  e = error_of([] { parse_model_spec(std::string(5000, '[') + std::string(5000, ']'), "deep.json"); });
  EXPECT_NE(e.find("deep.json: JSON nests deeper than 64"), std::string::npos) << e;
}

// Peak resident memory of this process in MiB (Linux ru_maxrss is in KiB).
double peak_rss_mib() {
  struct rusage u;
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss / 1024.0;
}

// A definition of a few hundred bytes describing a network of 12.8 G parameters (51 GB of weights) or of 64 GiB
// of activations per image: refused at the layer that crosses the limit, before its weights exist.
TEST(ModelSpec, SizeLimitsAreCheckedBeforeAllocation) {
  const double rss_before = peak_rss_mib();
  const std::string huge_linear = tiny_with("\"out_features\": 3}", "\"out_features\": 100000000}, {\"type\": \"linear\", \"out_features\": 3}");
  std::string e = error_of([&] { parse_model_spec(huge_linear, "big.json"); });
  EXPECT_NE(e.find("big.json: layers[7].type: the network would have more than 300000000 parameters"), std::string::npos) << e;
  e = error_of([&] {
    std::string t = tiny_with("\"height\": 8, \"width\": 8", "\"height\": 8192, \"width\": 8192");
    const std::string from = "\"out_channels\": 4, \"kernel\": 3, \"padding\": 1}";
    t.replace(t.find(from), from.size(), "\"out_channels\": 256, \"kernel\": 3, \"padding\": 1}");
    parse_model_spec(t, "wide.json");
  });
  EXPECT_NE(e.find("wide.json: layers[0].type: the layer outputs (256, 8192, 8192) per image"), std::string::npos) << e;
  e = error_of([] { parse_model_spec(tiny_with("\"out_channels\": 4, \"kernel\": 3, \"padding\": 1}", "\"out_channels\": 1099511627776, \"kernel\": 3, \"padding\": 1}"), "c.json"); });
  EXPECT_NE(e.find("c.json: layers[0].out_channels: must be at most 16777216"), std::string::npos) << e;
  EXPECT_LT(peak_rss_mib() - rss_before, 200.0) << "a refused definition allocated memory";
  // Limits are the caller's: the same tiny network passes the defaults and fails a cap of 10 parameters, and
  // the spec carries its limits to build_network.
  ModelLimits small;
  small.max_parameters = 10;
  e = error_of([&] { parse_model_spec(kTiny, "tiny.json", small); });
  EXPECT_NE(e.find("layers[0].type: the network would have more than 10 parameters"), std::string::npos) << e;
  ModelSpec spec = parse_model_spec(kTiny, "tiny.json");
  spec.limits.max_activation_bytes = 64;
  e = error_of([&] { build_network(spec, 0); });
  EXPECT_NE(e.find("over the model-size limit"), std::string::npos) << e;
}

TEST(ModelFile, SaveLoadRoundTripIsBitExact) {
  Model a(parse_model_spec(kTiny, "tiny.json"), 7);
  a.temperature = 1.5f;
  a.thresholds = {{"a", 0.8f}};
  const std::string path = temp_path("roundtrip.safetensors");
  a.save(path);
  Model b = Model::load(path);
  fs::remove(path);
  auto sa = a.state_dict(), sb = b.state_dict();
  ASSERT_EQ(sa.size(), sb.size());
  for (size_t i = 0; i < sa.size(); ++i) {
    EXPECT_EQ(sa[i].name, sb[i].name);
    ASSERT_EQ(sa[i].tensor.nbytes(), sb[i].tensor.nbytes());
    EXPECT_EQ(0, std::memcmp(sa[i].tensor.raw_data(), sb[i].tensor.raw_data(), sa[i].tensor.nbytes())) << sa[i].name;
  }
  EXPECT_EQ(b.temperature, 1.5f);
  EXPECT_EQ(b.thresholds.at("a"), 0.8f);
  EXPECT_EQ(b.spec().classes, a.spec().classes);
}

TEST(ModelFile, LoadRejectsMismatchedWeights) {
  Model a(parse_model_spec(kTiny, "tiny.json"), 7);
  auto sd = a.state_dict();
  auto meta = a.metadata();
  const std::string path = temp_path("bad.safetensors");
  auto expect_error = [&](std::vector<NamedTensor> tensors, const std::string& needle) {
    save_safetensors(path, tensors, meta);
    const std::string e = error_of([&] { Model::load(path); });
    EXPECT_NE(e.find(needle), std::string::npos) << e;
  };
  auto missing = sd;
  missing.erase(missing.begin());
  expect_error(missing, "missing tensor '0.weight'");
  auto extra = sd;
  extra.push_back({"head.weight", Tensor::zeros({2})});
  expect_error(extra, "unexpected tensors for model 'tiny': head.weight");
  auto wrong_shape = sd;
  wrong_shape[0].tensor = Tensor::zeros({4, 1, 3, 2});
  expect_error(wrong_shape, "has shape (4, 1, 3, 2) but the definition needs (4, 1, 3, 3)");
  auto wrong_dtype = sd;
  wrong_dtype[0].tensor = Tensor::zeros({4, 1, 3, 3}, DType::I32);
  expect_error(wrong_dtype, "expected a float type");
  save_safetensors(path, sd, {});
  EXPECT_NE(error_of([&] { Model::load(path); }).find("no vigil model definition"), std::string::npos);
  fs::remove(path);
}

TEST(Optimizer, SgdMomentumMatchesClosedFormAndClipping) {
  Var w(Tensor::from_vector({1.f, -2.f}, {2}), true);
  OptimizerConfig cfg;
  cfg.kind = "sgd";
  cfg.momentum = 0.5f;
  Optimizer opt({{"w", w}}, cfg);
  for (int step = 0; step < 2; ++step) {
    Tape tape;
    tape.backward(fn::sum(tape, fn::scale(tape, w, 2.f)));  // grad = 2
    opt.step(0.1f);
    opt.zero_grad();
  }
  // buf1 = 2, w = w - 0.2; buf2 = 0.5*2 + 2 = 3, w -= 0.3
  ExpectAllClose(w.value().to_vector(), (std::vector<float>{0.5f, -2.5f}), tol::kOptimizer);
  Tape tape;
  tape.backward(fn::sum(tape, fn::scale(tape, w, 3.f)));  // grad = (3, 3), norm 4.243
  EXPECT_NEAR(clip_grad_norm({{"w", w}}, 1.f), std::sqrt(18.f), 1e-5);
  EXPECT_NEAR(grad_norm({{"w", w}}), 1.f, 1e-5);
}

TEST(Schedule, Shapes) {
  ScheduleConfig s;
  s.kind = "step";
  s.step_epochs = 30;
  s.gamma = 0.5f;  // the seed recipe: halve every 30 epochs
  EXPECT_FLOAT_EQ(learning_rate(s, 3e-4f, 29 * 10 + 9, 10, 700), 3e-4f);
  EXPECT_FLOAT_EQ(learning_rate(s, 3e-4f, 30 * 10, 10, 700), 1.5e-4f);
  EXPECT_FLOAT_EQ(learning_rate(s, 3e-4f, 69 * 10, 10, 700), 0.75e-4f);
  s.kind = "multistep";
  s.milestones = {2, 5};
  s.gamma = 0.1f;
  EXPECT_NEAR(learning_rate(s, 1.f, 5 * 4, 4, 100), 0.01f, 1e-7);
  s.kind = "cosine";
  s.warmup_steps = 10;
  EXPECT_NEAR(learning_rate(s, 1.f, 0, 1, 110), 0.1f, 1e-6);
  EXPECT_NEAR(learning_rate(s, 1.f, 10, 1, 110), 1.f, 1e-6);
  EXPECT_NEAR(learning_rate(s, 1.f, 60, 1, 110), 0.5f, 1e-6);
  EXPECT_NEAR(learning_rate(s, 1.f, 110, 1, 110), 0.f, 1e-6);
  s.kind = "onecycle";
  s.warmup_steps = 0;
  EXPECT_NEAR(learning_rate(s, 1.f, 0, 1, 101), 0.04f, 1e-6);
  EXPECT_NEAR(learning_rate(s, 1.f, 29, 1, 101), 1.f, 1e-3);  // the peak is at step 0.3 * 101 - 1 = 29.3
  EXPECT_NEAR(learning_rate(s, 1.f, 100, 1, 101), 0.04f / 1e4f, 1e-9);
  s.kind = "sometimes";
  EXPECT_THROW(s.validate(), Error);
}

// Trains `steps` SGD/Adam steps of the tiny model (dropout on) from `model`/`opt` state; returns the losses.
std::vector<float> train_steps(Model& model, Optimizer& opt, int first, int steps) {
  std::vector<float> losses;
  const auto xs = random_uniform(6 * 64, -1, 1, 21);
  Var x(Tensor::from_vector(xs, {6, 1, 8, 8}));
  Tensor labels = Tensor::from_labels({0, 1, 2, 0, 1, 2});
  for (int s = first; s < first + steps; ++s) {
    Tape tape;
    RunContext ctx{true, 99, static_cast<uint64_t>(s)};
    Var loss = fn::cross_entropy(tape, model.forward(tape, x, ctx), labels);
    losses.push_back(loss.value().item());
    tape.backward(loss);
    opt.step(0.05f);
    opt.zero_grad();
  }
  return losses;
}

TEST(Resume, CheckpointedRunEqualsUninterruptedBitForBit) {
  for (const char* kind : {"sgd", "adamw"}) {
    SCOPED_TRACE(kind);
    OptimizerConfig cfg;
    cfg.kind = kind;
    cfg.weight_decay = 1e-3f;
    Model straight(parse_model_spec(kTiny, "tiny.json"), 5);
    Optimizer opt_straight(straight.parameters(), cfg);
    const std::vector<float> full = train_steps(straight, opt_straight, 0, 6);

    Model first(parse_model_spec(kTiny, "tiny.json"), 5);
    Optimizer opt_first(first.parameters(), cfg);
    std::vector<float> resumed = train_steps(first, opt_first, 0, 3);
    const std::string mpath = temp_path("resume_model.safetensors"), opath = temp_path("resume_optim.safetensors");
    first.save(mpath);
    save_safetensors(opath, opt_first.state(), opt_first.state_metadata());

    Model second = Model::load(mpath);
    Optimizer opt_second(second.parameters(), cfg);
    opt_second.load_state(load_safetensors(opath), opath);
    fs::remove(mpath);
    fs::remove(opath);
    EXPECT_EQ(opt_second.steps(), 3);
    const std::vector<float> rest = train_steps(second, opt_second, 3, 3);
    resumed.insert(resumed.end(), rest.begin(), rest.end());
    ASSERT_EQ(full.size(), resumed.size());
    for (size_t i = 0; i < full.size(); ++i) EXPECT_EQ(full[i], resumed[i]) << "step " << i;
    auto a = straight.state_dict(), b = second.state_dict();
    for (size_t i = 0; i < a.size(); ++i)
      EXPECT_EQ(0, std::memcmp(a[i].tensor.raw_data(), b[i].tensor.raw_data(), a[i].tensor.nbytes())) << a[i].name;
  }
}

}  // namespace
}  // namespace vigil::test
