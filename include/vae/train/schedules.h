// What changes over a run: the KL weight (constant, linear warm-up, cyclical, target capacity)
// and the learning rate (exponential, step, cosine, with linear warm-up). Every schedule is a pure
// function of the step and epoch counters, which checkpoints store, so a resumed run continues
// every schedule exactly where it stopped.
#pragma once

#include <cstdint>

#include "vae/config/config.h"

namespace vae {

// Weight of the KL term at optimizer step `step` (0-based, steps completed before this one).
//   constant: beta;  linear: beta * min(1, step / kl_warmup_steps);
//   cyclical (Fu et al. 2019): beta * min(1, t / kl_cycle_ratio), t = (step mod cycle) / cycle;
//   capacity (Burgess et al. 2018): beta, here the gamma of gamma * |KL - C|.
double kl_weight(const LossConfig& loss, int64_t step);

// Target capacity C at `step` for the capacity schedule: capacity_max * min(1, step /
// capacity_steps); negative when the schedule is not "capacity".
double kl_capacity(const LossConfig& loss, int64_t step);

// Learning rate for optimizer step `step` (0-based) in epoch `epoch` (0-based) of a run of
// `total_steps` steps: the schedule (exponential and step decay per epoch, cosine per step from
// lr to lr_min), times a linear warm-up (step + 1) / warmup_steps during the first warmup_steps.
double learning_rate(const OptimConfig& optim, int64_t step, int64_t epoch, int64_t total_steps);

}  // namespace vae
