// KL-weight and learning-rate schedules; see schedules.h.
#include "vae/train/schedules.h"
#include "vae/base/text.h"

#include <algorithm>
#include <cmath>

namespace vae {

double kl_weight(const LossConfig& loss, int64_t step) {
  if (loss.kl_schedule == "linear") {
    return loss.beta * std::min(1.0, double(step) / double(loss.kl_warmup_steps));
  }
  if (loss.kl_schedule == "cyclical") {
    const double t = double(step % loss.kl_cycle_steps) / double(loss.kl_cycle_steps);
    return loss.beta * std::min(1.0, t / loss.kl_cycle_ratio);
  }
  return loss.beta;  // constant, and the gamma of the capacity schedule
}

double kl_capacity(const LossConfig& loss, int64_t step) {
  if (loss.kl_schedule != "capacity") return -1.0;
  return loss.capacity_max * std::min(1.0, double(step) / double(loss.capacity_steps));
}

double learning_rate(const OptimConfig& optim, int64_t step, int64_t epoch, int64_t total_steps) {
  double lr = optim.lr;
  if (optim.lr_schedule == "exponential") {
    lr = optim.lr * std::pow(optim.lr_gamma, double(epoch));
  } else if (optim.lr_schedule == "step") {
    lr = optim.lr * std::pow(optim.lr_gamma, double(epoch / optim.lr_step_epochs));
  } else if (optim.lr_schedule == "cosine") {
    const double progress = std::clamp(double(step) / double(std::max<int64_t>(1, total_steps)), 0.0, 1.0);
    lr = optim.lr_min + 0.5 * (optim.lr - optim.lr_min) * (1.0 + std::cos(kPi * progress));
  }
  if (optim.warmup_steps > 0 && step < optim.warmup_steps) {
    lr *= double(step + 1) / double(optim.warmup_steps);
  }
  return lr;
}

}  // namespace vae
