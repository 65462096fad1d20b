// Learning-rate schedule formulas (PyTorch's StepLR, MultiStepLR, CosineAnnealingLR and OneCycleLR shapes).
#include "nn/schedule.h"

#include <cmath>

#include "common/error.h"

namespace vigil {

void ScheduleConfig::validate() const {
  VIGIL_CHECK(kind == "constant" || kind == "step" || kind == "multistep" || kind == "cosine" || kind == "onecycle",
              "unknown schedule '", kind, "' (expected constant, step, multistep, cosine or onecycle)");
  VIGIL_CHECK(step_epochs > 0, "schedule step must be a positive number of epochs");
  VIGIL_CHECK(gamma > 0.f && gamma <= 1.f, "schedule gamma must be in (0, 1], got ", gamma);
  VIGIL_CHECK(warmup_steps >= 0, "warm-up steps must be >= 0");
  VIGIL_CHECK(min_lr >= 0.f, "min lr must be >= 0");
  VIGIL_CHECK(pct_start > 0.f && pct_start < 1.f, "one-cycle pct_start must be in (0, 1)");
  VIGIL_CHECK(div_factor >= 1.f && final_div_factor >= 1.f, "one-cycle div factors must be >= 1");
  for (size_t i = 1; i < milestones.size(); ++i)
    VIGIL_CHECK(milestones[i] > milestones[i - 1], "multistep milestones must increase");
}

namespace {
double cosine_between(double from, double to, double t) { return to + (from - to) * 0.5 * (1.0 + std::cos(M_PI * t)); }
}  // namespace

float learning_rate(const ScheduleConfig& s, float base_lr, int64_t step, int64_t steps_per_epoch, int64_t total_steps) {
  VIGIL_CHECK(step >= 0 && steps_per_epoch > 0 && total_steps > 0, "bad schedule position");
  const int64_t epoch = step / steps_per_epoch;
  double lr = base_lr;
  if (s.kind == "onecycle") {
    const double initial = base_lr / s.div_factor, final_lr = initial / s.final_div_factor;
    const double rise = std::max<double>(1.0, s.pct_start * total_steps - 1.0);
    const double fall = std::max<double>(1.0, (total_steps - 1.0) - rise);
    if (step <= rise) return static_cast<float>(cosine_between(initial, base_lr, step / rise));
    return static_cast<float>(cosine_between(base_lr, final_lr, std::min(1.0, (step - rise) / fall)));
  }
  if (s.kind == "step") {
    lr *= std::pow(static_cast<double>(s.gamma), static_cast<double>(epoch / s.step_epochs));
  } else if (s.kind == "multistep") {
    for (int64_t m : s.milestones)
      if (epoch >= m) lr *= s.gamma;
  } else if (s.kind == "cosine") {
    const int64_t span = std::max<int64_t>(1, total_steps - s.warmup_steps);
    const double t = std::min(1.0, std::max(0.0, double(step - s.warmup_steps) / double(span)));
    lr = cosine_between(base_lr, s.min_lr, t);
  }
  if (s.warmup_steps > 0 && step < s.warmup_steps) lr *= double(step + 1) / double(s.warmup_steps);
  return static_cast<float>(lr);
}

}  // namespace vigil
