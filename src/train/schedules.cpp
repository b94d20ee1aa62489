// KL-weight and learning-rate schedules; see schedules.h.
#include "vae/train/schedules.h"
#include "vae/base/text.h"

#include <algorithm>
#include <cmath>

namespace vae {

double kl_weight(const LossConfig& loss, int64_t step) {
  switch (loss.kl_schedule) {
    case KlSchedule::Linear:
      return loss.beta * std::min(1.0, double(step) / double(loss.kl_warmup_steps));
    case KlSchedule::Cyclical: {
      const double t = double(step % loss.kl_cycle_steps) / double(loss.kl_cycle_steps);
      return loss.beta * std::min(1.0, t / loss.kl_cycle_ratio);
    }
    case KlSchedule::Constant:
    case KlSchedule::Capacity: break;  // beta is the gamma of the capacity schedule
  }
  return loss.beta;
}

double kl_capacity(const LossConfig& loss, int64_t step) {
  if (loss.kl_schedule != KlSchedule::Capacity) return -1.0;
  return loss.capacity_max * std::min(1.0, double(step) / double(loss.capacity_steps));
}

double learning_rate(const OptimConfig& optim, int64_t step, int64_t epoch, int64_t total_steps) {
  double lr = optim.lr;
  switch (optim.lr_schedule) {
    case LrSchedule::Constant: break;
    case LrSchedule::Exponential:
      lr = optim.lr * std::pow(optim.lr_gamma, double(epoch));
      break;
    case LrSchedule::Step:
      lr = optim.lr * std::pow(optim.lr_gamma, double(epoch / optim.lr_step_epochs));
      break;
    case LrSchedule::Cosine: {
      const double progress = std::clamp(double(step) / double(std::max<int64_t>(1, total_steps)), 0.0, 1.0);
      lr = optim.lr_min + 0.5 * (optim.lr - optim.lr_min) * (1.0 + std::cos(kPi * progress));
      break;
    }
  }
  if (optim.warmup_steps > 0 && step < optim.warmup_steps) {
    lr *= double(step + 1) / double(optim.warmup_steps);
  }
  return lr;
}

}  // namespace vae
