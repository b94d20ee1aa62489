// The optimizer of a run (Adam, AdamW, SGD) and what the training step does to gradients before
// the update: the global gradient norm and clipping.
#pragma once

#include <torch/torch.h>

#include <memory>
#include <vector>

#include "vae/config/config.h"

namespace vae {

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
