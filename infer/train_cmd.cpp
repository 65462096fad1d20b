// Implementation of `vigil train`.
#include "infer/train_cmd.h"

#include <iostream>

#include "train/trainer.h"

namespace vigil::cli {

int run_train(int argc, char** argv) {
  train::TrainConfig config;
  std::string help;
  if (!train::parse_train_args(argc, argv, config, help)) {
    std::cout << help;
    return 0;
  }
  return train::run_training(config, std::cout);
}

}  // namespace vigil::cli
