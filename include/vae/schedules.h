// What changes over a run: the KL weight (constant, linear warm-up, cyclical, target capacity),
// the learning rate (exponential, step, cosine, with linear warm-up), and the optimizer that
// applies it. Every schedule is a pure function of the step and epoch counters, which checkpoints
// store, so a resumed run continues every schedule exactly where it stopped.
#pragma once

#include <torch/torch.h>

#include <memory>
#include <vector>

#include "vae/config.h"

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

// Adam, AdamW or SGD with momentum, with optim.lr and optim.weight_decay.
std::unique_ptr<torch::optim::Optimizer> make_optimizer(const OptimConfig& optim,
                                                        const std::vector<torch::Tensor>& parameters);

// Sets the learning rate of every parameter group.
void set_learning_rate(torch::optim::Optimizer& optimizer, double lr);

// The global (L2) norm of the parameters' gradients before clipping; scales them by
// optim.grad_clip / (norm + 1e-6) when optim.grad_clip is positive and the norm exceeds it (0 clips
// nothing; a non-finite norm is returned for the caller to act on). The trainer and `vae bench
// train` call it where gradient_norm_every_step says so.
double clip_gradients(const OptimConfig& optim, const std::vector<torch::Tensor>& parameters);

// Whether every training step needs the gradient norm: to clip (optim.grad_clip > 0) or to skip a
// step whose gradients are not finite (train.nonfinite=skip). Otherwise the trainer computes it on
// the steps it logs only.
bool gradient_norm_every_step(const OptimConfig& optim, const TrainConfig& train);

}  // namespace vae
