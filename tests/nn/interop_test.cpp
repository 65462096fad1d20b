// PyTorch interop through files, both directions, when Debian's python3-torch is installed (skipped otherwise):
// a vigil model file loads into the PyTorch mirror of its definition with the same logits, and the converter for
// the original project's checkpoints produces a vigil model with the original's logits.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include "nn/model.h"
#include "support/allclose.h"
#include "support/random.h"

namespace vigil::test {
namespace {

namespace fs = std::filesystem;
const std::string kPython = "/usr/bin/python3";

bool torch_available() {
  static const bool ok = std::system((kPython + " -c 'import torch' >/dev/null 2>&1").c_str()) == 0;
  return ok;
}

#define SKIP_WITHOUT_TORCH()                                                                           \
  if (!torch_available()) GTEST_SKIP() << "needs " << kPython << " with torch (apt-get install python3-torch)"

std::string scratch(const std::string& name) {
  fs::path dir = fs::temp_directory_path() / ("vigil_interop_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  return (dir / name).string();
}

int run(const std::string& cmd) { return std::system((cmd + " >&2").c_str()); }

TEST(Interop, VigilModelFileLoadsIntoPyTorch) {
  SKIP_WITHOUT_TORCH();
  for (const char* preset : {"default", "seed"}) {
    SCOPED_TRACE(preset);
    Model m(load_model_spec(preset), 3);
    // Non-trivial batch-norm statistics so eval mode is really tested.
    for (const auto& b : m.buffers())
      if (b.name.find("running_var") != std::string::npos)
        b.tensor->copy_from(Tensor::from_vector(random_uniform(b.tensor->numel(), 0.5, 1.5, 4), b.tensor->shape()));
    const ModelSpec& s = m.spec();
    Tensor x = Tensor::from_vector(random_uniform(2 * s.input.channels * s.input.height * s.input.width, -1, 1, 5),
                                   {2, s.input.channels, s.input.height, s.input.width});
    Tape tape(false);
    Tensor logits = m.forward(tape, Var(x), RunContext{}).value();
    const std::string mp = scratch(std::string(preset) + ".safetensors"), xp = scratch("x.safetensors"),
                      lp = scratch("logits.safetensors");
    m.save(mp);
    save_safetensors(xp, {{"x", x}}, {});
    save_safetensors(lp, {{"logits", logits}}, {});
    EXPECT_EQ(0, run(kPython + " " + VIGIL_SOURCE_DIR + "/scripts/golden/check_interop.py vigil-to-torch " + mp + " " + xp +
                     " " + lp));
  }
  fs::remove_all(fs::path(scratch("x")).parent_path());
}

TEST(Interop, OriginalProjectCheckpointConverts) {
  SKIP_WITHOUT_TORCH();
  const std::string pth = scratch("model.pth"), out = scratch("converted.safetensors");
  ASSERT_EQ(0, run(kPython + " " + VIGIL_SOURCE_DIR + "/scripts/golden/check_interop.py make-seed-pth " + pth));
  ASSERT_EQ(0, run(kPython + " " + VIGIL_SOURCE_DIR + "/scripts/convert_seed_pth.py " + pth + " " + out +
                   " --classes nudity,standard,violence"));
  Model m = Model::load(out);
  EXPECT_EQ(m.spec().classes, (std::vector<std::string>{"nudity", "standard", "violence"}));
  const Tensor x = load_safetensors(pth + ".input").find("x")->clone();
  const Tensor want = load_safetensors(pth + ".logits").find("logits")->clone();
  Tape tape(false);
  ExpectAllClose(m.forward(tape, Var(x), RunContext{}).value().to_vector(), want.to_vector(), (Tol{1e-4, 1e-4}));
  // A checkpoint of another architecture is refused with the reason.
  EXPECT_NE(0, run(kPython + " " + VIGIL_SOURCE_DIR + "/scripts/convert_seed_pth.py " + pth + ".input " + out +
                   " --classes a,b,c"));
  fs::remove_all(fs::path(pth).parent_path());
}

}  // namespace
}  // namespace vigil::test
