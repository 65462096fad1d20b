// Learning-rate schedules: constant, step, multi-step, cosine (with optional linear warm-up) and one-cycle,
// as pure functions of the optimizer step so a resumed run gets exactly the same rates.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace vigil {

struct ScheduleConfig {
  std::string kind = "constant";  // constant | step | multistep | cosine | onecycle
  int64_t step_epochs = 30;       // step: multiply by gamma every step_epochs epochs
  std::vector<int64_t> milestones;  // multistep: epochs at which to multiply by gamma
  float gamma = 0.1f;
  int64_t warmup_steps = 0;       // linear warm-up from lr/warmup_steps... to lr (all kinds but onecycle)
  float min_lr = 0.f;             // cosine floor
  float pct_start = 0.3f;         // onecycle: share of steps spent rising
  float div_factor = 25.f;        // onecycle: initial lr = max lr / div_factor
  float final_div_factor = 1e4f;  // onecycle: final lr = initial lr / final_div_factor
  void validate() const;
};

// Learning rate for 0-based optimizer step `step` of a run of `total_steps` with `steps_per_epoch`.
float learning_rate(const ScheduleConfig& s, float base_lr, int64_t step, int64_t steps_per_epoch, int64_t total_steps);

}  // namespace vigil
