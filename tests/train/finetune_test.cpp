// Fine-tuning from pretrained weights: the input-size override, the head/backbone split, per-parameter learning-rate
// scales, frozen batch norm, and `vigil train --pretrained` end to end (missing weights, a linear-probe epoch that
// leaves the backbone exactly as loaded, then full fine-tuning).
#include "train/finetune.h"

#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "common/error.h"
#include "nn/functional.h"
#include "nn/optimizer.h"
#include "train_test_support.h"

namespace vigil::test {
namespace {

namespace fs = std::filesystem;

const Tensor* find_tensor(const Model& m, const std::string& name) {
  for (const auto& p : m.parameters())
    if (p.name == name) return &p.var.value();
  for (const auto& b : m.buffers())
    if (b.name == name) return b.tensor;
  return nullptr;
}

TEST(Finetune, InputSizeRebuildsSamePaddingAndScalesTheCrop) {
  const ModelSpec base = load_model_spec("efficientnet-lite0");
  const ModelSpec small = train::spec_with_input_size(base, 128);
  EXPECT_EQ(small.input.height, 128);
  EXPECT_EQ(small.input.width, 128);
  EXPECT_EQ(small.preprocess.resize_shorter, 146);  // 256 * 128 / 224
  Model m(small, 0);
  EXPECT_EQ(m.totals().output, (Shape{3}));
  // 128 -> 64 -> 32 -> 16 -> 8 -> 4 at the head (five stride-2 stages).
  const auto rows = m.layer_table();
  const auto head = std::find_if(rows.begin(), rows.end(), [](const LayerRow& r) { return r.name == "_conv_head"; });
  ASSERT_NE(head, rows.end());
  EXPECT_EQ(head->stats.output, (Shape{1280, 4, 4}));
  // An odd size gives symmetric "same" padding for the stride-2 stem: no extra row (table detail has no "pad(").
  const Model odd(train::spec_with_input_size(base, 129), 0);
  EXPECT_EQ(odd.layer_table().front().detail.find("pad("), std::string::npos) << odd.layer_table().front().detail;
  EXPECT_NE(m.layer_table().front().detail.find("pad(t0 b1 l0 r1)"), std::string::npos) << m.layer_table().front().detail;
  EXPECT_THROW(train::spec_with_input_size(base, 4), Error);
}

TEST(Finetune, HeadIsTheLastLayerWithParameters) {
  EXPECT_EQ(train::head_parameters(Model(load_model_spec("efficientnet-lite0"), 0)),
            (std::set<std::string>{"_fc.weight", "_fc.bias"}));
  EXPECT_EQ(train::head_parameters(Model(load_model_spec("mobilenet-v2"), 0)),
            (std::set<std::string>{"classifier.1.weight", "classifier.1.bias"}));
  EXPECT_EQ(train::head_parameters(Model(load_model_spec("resnet18"), 0)), (std::set<std::string>{"fc.weight", "fc.bias"}));
}

TEST(Finetune, LearningRateScaleZeroLeavesAParameterAlone) {
  Var a(Tensor::from_vector({1.f, 2.f}, {2}), true), b(Tensor::from_vector({1.f, 2.f}, {2}), true);
  OptimizerConfig cfg;
  cfg.kind = "adamw";
  cfg.weight_decay = 0.1f;
  Optimizer opt({{"a", a}, {"b", b}}, cfg);
  opt.set_lr_scale("a", 0.f);
  opt.set_lr_scale("b", 0.5f);
  EXPECT_THROW(opt.set_lr_scale("c", 1.f), Error);
  Tape tape;
  tape.backward(fn::sum(tape, fn::add(tape, a, b)));
  opt.step(0.1f);
  EXPECT_EQ(a.value().to_vector(), (std::vector<float>{1.f, 2.f}));
  // AdamW's first step moves by lr * scale (plus decoupled decay lr * scale * wd * w).
  const std::vector<float> moved = b.value().to_vector();
  EXPECT_NEAR(moved[0], 1.f - 0.05f - 0.05f * 0.1f * 1.f, 1e-6);
  EXPECT_NEAR(moved[1], 2.f - 0.05f - 0.05f * 0.1f * 2.f, 1e-6);
}

TEST(Finetune, FrozenBatchNormKeepsItsStatisticsWhileTraining) {
  nlohmann::json j = nlohmann::json::parse(train::spec_with_input_size(load_model_spec("mobilenet-v2"), 32).text);
  for (auto& layer : j["layers"])
    if (layer["type"] == "dropout") layer["p"] = 0.0;  // so a training forward can equal an evaluation forward
  Model m(parse_model_spec(j.dump(), "mobilenet-v2 at 32"), 1);
  const std::vector<float> before = find_tensor(m, "features.0.1.running_mean")->to_vector();
  std::vector<float> v(2 * 3 * 32 * 32);
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>((i * 37) % 101) / 50.f - 1.f;
  const Tensor x = Tensor::from_vector(v, {2, 3, 32, 32});
  m.set_batchnorm_frozen(true);
  Tape t1;
  const Var frozen_out = m.forward(t1, Var(x), RunContext{true, 0, 0});
  EXPECT_EQ(find_tensor(m, "features.0.1.running_mean")->to_vector(), before);
  Tape t2;  // frozen training forward == evaluation forward
  const Var eval_out = m.forward(t2, Var(x), RunContext{false, 0, 0});
  EXPECT_EQ(frozen_out.value().to_vector(), eval_out.value().to_vector());
  m.set_batchnorm_frozen(false);
  Tape t3;
  m.forward(t3, Var(x), RunContext{true, 0, 0});
  EXPECT_NE(find_tensor(m, "features.0.1.running_mean")->to_vector(), before);
}

class FinetuneCli : public TrainRunTest {
 protected:
  void SetUp() override {
    TrainRunTest::SetUp();
    fs::create_directories(root_ / "weights");
    write_colour_classes(root_ / "data", 12, 24);
  }
  std::string common(const std::string& out) const {
    return "--data " + (root_ / "data").string() + " --model mobilenet-v2 --pretrained --weights-dir " +
           (root_ / "weights").string() + " --out " + (root_ / out).string() +
           " --input-size 32 --batch 8 --lr 0.01 --warmup-steps 0 --seed 5";
  }
};

TEST_F(FinetuneCli, MissingWeightsSayHowToGetThem) {
  EXPECT_NE(0, train(common("run") + " --epochs 1"));
  EXPECT_NE(log().find("no ImageNet weights for 'mobilenet-v2'"), std::string::npos) << log();
  EXPECT_NE(log().find("scripts/get-pretrained.sh"), std::string::npos) << log();
}

// "Pretrained" weights: a 5-class mobilenet-v2 with seeded random weights, saved where --pretrained looks. The
// run's 3 classes need a new head; everything else loads. After the linear-probe epoch the backbone (weights and
// batch-norm statistics) is bit-identical to the file; after the second epoch it has moved.
TEST_F(FinetuneCli, LinearProbeKeepsTheBackboneThenFineTuningMovesIt) {
  nlohmann::json j = nlohmann::json::parse(preset_text("mobilenet-v2"));
  j["classes"] = {"a", "b", "c", "d", "e"};
  j["layers"].back()["out_features"] = 5;
  Model pretrained(parse_model_spec(j.dump(), "pretrained"), 11);
  const std::string weights = (root_ / "weights" / "mobilenet-v2-imagenet.safetensors").string();
  pretrained.save(weights, {{"vigil.weights_source", "a test's random weights"}});

  ASSERT_EQ(0, train(common("full") + " --epochs 2 --freeze-epochs 1")) << log();
  std::smatch steps;
  const std::string first_log = log();
  ASSERT_TRUE(std::regex_search(first_log, steps, std::regex("2 epochs x ([0-9]+) steps"))) << first_log;
  EXPECT_NE(first_log.find("tensors loaded, 2 re-initialised"), std::string::npos) << first_log;
  EXPECT_NE(first_log.find("linear probe: only the head learns until epoch 1"), std::string::npos) << first_log;
  EXPECT_NE(first_log.find("fine-tuning every layer from epoch 2"), std::string::npos) << first_log;

  // The same run stopped right after the probe epoch.
  const std::string stop = "VIGIL_STOP_AFTER_STEPS=" + steps[1].str();
  ASSERT_EQ(5, train(common("probe") + " --epochs 2 --freeze-epochs 1", stop)) << log();
  Model probe(parse_model_spec(j.dump(), "probe"), 0);
  {
    SafetensorsContent c = load_safetensors((root_ / "probe" / "checkpoints" / "last.safetensors").string());
    for (const auto& p : probe.parameters())
      if (p.name.rfind("classifier", 0) != 0)
        EXPECT_EQ(c.find(p.name)->to_vector(), find_tensor(pretrained, p.name)->to_vector()) << p.name;
    EXPECT_EQ(c.find("features.3.conv.1.1.running_var")->to_vector(),
              find_tensor(pretrained, "features.3.conv.1.1.running_var")->to_vector());
    EXPECT_NE(c.find("classifier.1.bias"), nullptr);
  }
  const SafetensorsContent full = load_safetensors((root_ / "full" / "checkpoints" / "last.safetensors").string());
  EXPECT_NE(full.find("features.0.0.weight")->to_vector(), find_tensor(pretrained, "features.0.0.weight")->to_vector());
  EXPECT_NE(full.find("features.0.1.running_mean")->to_vector(),
            find_tensor(pretrained, "features.0.1.running_mean")->to_vector());
  // The model file records where its starting weights came from.
  const SafetensorsContent final_model = load_safetensors((root_ / "full" / "model.safetensors").string());
  const auto from = final_model.metadata.find("vigil.initialised_from");
  ASSERT_NE(from, final_model.metadata.end());
  EXPECT_NE(from->second.find("a test's random weights"), std::string::npos) << from->second;
}

}  // namespace
}  // namespace vigil::test
