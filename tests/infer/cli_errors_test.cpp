// User errors from the `vigil` CLI name the file or option and the reason, with no source location and no
// "internal error": a missing model file, an output folder that cannot be created, a bad option value.
#include <gtest/gtest.h>

#include "infer_test_support.h"

namespace vigil::test {
namespace {

class CliErrors : public ScratchTest {
 protected:
  // The run failed with exit code 1 and a clean message on standard error that mentions `what`.
  ::testing::AssertionResult CleanUserError(int rc, const std::string& what) {
    const std::string e = err();
    if (rc != 1) return ::testing::AssertionFailure() << "exit code " << rc << ", stderr: " << e;
    if (e.find(what) == std::string::npos) return ::testing::AssertionFailure() << "no '" << what << "' in: " << e;
    if (e.find(".cpp:") != std::string::npos || e.find(".h:") != std::string::npos)
      return ::testing::AssertionFailure() << "a source location in: " << e;
    if (e.find("internal") != std::string::npos || e.find("check failed") != std::string::npos)
      return ::testing::AssertionFailure() << "an internal-error wording in: " << e;
    return ::testing::AssertionSuccess();
  }
};

TEST_F(CliErrors, UserErrorsNameTheFileOrOptionWithoutSourceLocation) {
  EXPECT_TRUE(CleanUserError(vigil("classify --model " + path("missing.safetensors") + " " + path("x.jpg")),
                             path("missing.safetensors")));
  EXPECT_TRUE(CleanUserError(vigil("model show " + path("nothing.json")), path("nothing.json")));
  // A data folder that exists, an output folder that cannot be created (not even by root: /proc).
  for (const char* c : {"nudity", "violence", "standard"}) {
    fs::create_directories(path(std::string("data/") + c));
    for (int i = 0; i < 4; ++i)
      write_bmp(path(std::string("data/") + c + "/" + std::to_string(i) + ".bmp"), 8, 8, [&](int x, int y) {
        return std::tuple<uint8_t, uint8_t, uint8_t>{uint8_t(x * 30), uint8_t(y * 30), uint8_t(i * 60)};
      });
  }
  EXPECT_TRUE(CleanUserError(vigil("train --data " + path("data") + " --model default --out /proc/vigil_no_such_run "
                                   "--epochs 1 --progress false"),
                             "/proc/vigil_no_such_run"));
  EXPECT_TRUE(CleanUserError(vigil("train --data " + path("data") + " --model default --out " + path("run") +
                                   " --epochs 0"),
                             "--epochs"));
  EXPECT_TRUE(CleanUserError(vigil("train --data " + path("data") + " --model " + path("bad.json") + " --out " +
                                   path("run")),
                             path("bad.json")));
}

}  // namespace
}  // namespace vigil::test
