// `vigil train`: the training loop with validation, metrics, checkpoints (last / best, atomic), exact resume,
// NaN guard, clean stop on SIGINT/SIGTERM, early stopping and the final report.
#pragma once
#include <ostream>

#include "train/config.h"

namespace vigil::train {

// Exit codes of run_training.
enum TrainExit : int {
  kTrainOk = 0,
  kTrainDiverged = 4,    // loss or parameters became NaN/Inf; the last good checkpoint is kept
  kTrainInterrupted = 5  // stopped by a signal after saving a checkpoint; continue with --resume RUN_DIR
};

// Runs (or resumes) a training run. Progress and results go to `out`; errors in the configuration or the data
// throw vigil::Error.
int run_training(TrainConfig config, std::ostream& out);

}  // namespace vigil::train
