// Checkpoint files: model + optimizer + loop state in one atomic safetensors write.
#include "train/checkpoint.h"

#include "common/error.h"

namespace vigil::train {
namespace {
constexpr const char* kOptimizerPrefix = "optimizer.";
}

nlohmann::json LoopState::to_json() const {
  return {{"epoch", epoch},
          {"batch_in_epoch", batch_in_epoch},
          {"step", step},
          {"best_metric", best_metric},
          {"best_epoch", best_epoch},
          {"epochs_since_best", epochs_since_best},
          {"partial_loss_sum", partial_loss_sum},
          {"partial_images", partial_images},
          {"partial_confusion", partial_confusion}};
}

LoopState LoopState::from_json(const nlohmann::json& j, const std::string& source) {
  LoopState s;
  try {
    s.epoch = j.at("epoch").get<int64_t>();
    s.batch_in_epoch = j.at("batch_in_epoch").get<int64_t>();
    s.step = j.at("step").get<int64_t>();
    s.best_metric = j.at("best_metric").get<double>();
    s.best_epoch = j.at("best_epoch").get<int64_t>();
    s.epochs_since_best = j.at("epochs_since_best").get<int64_t>();
    s.partial_loss_sum = j.at("partial_loss_sum").get<double>();
    s.partial_images = j.at("partial_images").get<int64_t>();
    s.partial_confusion = j.at("partial_confusion");
  } catch (const std::exception& e) {
    VIGIL_FAIL(source, ": malformed training state: ", user_message(e));
  }
  VIGIL_CHECK(s.epoch >= 0 && s.batch_in_epoch >= 0 && s.step >= 0, source, ": negative position in training state");
  return s;
}

void save_checkpoint(const std::string& path, const Model& model, const Optimizer& optimizer, const LoopState& state,
                     const nlohmann::json& config) {
  std::vector<NamedTensor> tensors = model.state_dict();
  for (auto& t : optimizer.state()) tensors.push_back({kOptimizerPrefix + t.name, t.tensor});
  auto meta = model.metadata();
  for (const auto& [k, v] : optimizer.state_metadata()) meta[k] = v;
  // JSON numbers are written with 17 significant digits, so the sums come back bit-exact.
  meta["train.state"] = state.to_json().dump();
  meta["train.config"] = config.dump();
  save_safetensors(path, tensors, meta);
}

LoopState load_checkpoint(const std::string& path, Model& model, Optimizer& optimizer, nlohmann::json* config) {
  SafetensorsContent all = load_safetensors(path);
  SafetensorsContent model_part, optim_part;
  model_part.metadata = optim_part.metadata = all.metadata;
  const std::string prefix = kOptimizerPrefix;
  for (auto& t : all.tensors) {
    if (t.name.rfind(prefix, 0) == 0) optim_part.tensors.push_back({t.name.substr(prefix.size()), t.tensor});
    else model_part.tensors.push_back(t);
  }
  model.load_state_dict(model_part, path);
  optimizer.load_state(optim_part, path);
  auto st = all.metadata.find("train.state");
  VIGIL_CHECK(st != all.metadata.end(), path, ": not a training checkpoint (no train.state metadata)");
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(st->second);
    if (config) {
      auto c = all.metadata.find("train.config");
      *config = c == all.metadata.end() ? nlohmann::json::object() : nlohmann::json::parse(c->second);
    }
  } catch (const std::exception& e) {
    VIGIL_FAIL(path, ": malformed training metadata: ", user_message(e));
  }
  return LoopState::from_json(j, path);
}

}  // namespace vigil::train
