// `vigil train`: parses the options and runs the training loop.
#pragma once

namespace vigil::cli {
int run_train(int argc, char** argv);
}
