// `vigil calibrate`: fits the temperature of a softmax model on held-out labelled images, reports NLL/ECE/accuracy
// before and after, and stores the temperature and per-class thresholds in the model file's metadata.
#pragma once

namespace vigil::cli {
int run_calibrate(int argc, char** argv);
}  // namespace vigil::cli
