// KL-weight and learning-rate schedules, and the optimizer factory; see schedules.h.
#include "vae/schedules.h"

#include <algorithm>
#include <cmath>

namespace vae {

namespace {
constexpr double kPi = 3.14159265358979323846;
}  // namespace

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

std::unique_ptr<torch::optim::Optimizer> make_optimizer(const OptimConfig& optim,
                                                        const std::vector<torch::Tensor>& parameters) {
  if (optim.name == "adamw") {
    return std::make_unique<torch::optim::AdamW>(
        parameters, torch::optim::AdamWOptions(optim.lr).weight_decay(optim.weight_decay));
  }
  if (optim.name == "sgd") {
    return std::make_unique<torch::optim::SGD>(
        parameters,
        torch::optim::SGDOptions(optim.lr).momentum(optim.momentum).weight_decay(optim.weight_decay));
  }
  return std::make_unique<torch::optim::Adam>(
      parameters, torch::optim::AdamOptions(optim.lr).weight_decay(optim.weight_decay));
}

void set_learning_rate(torch::optim::Optimizer& optimizer, double lr) {
  for (auto& group : optimizer.param_groups()) group.options().set_lr(lr);
}

bool gradient_norm_every_step(const OptimConfig& optim, const TrainConfig& train) {
  return optim.grad_clip > 0 || train.nonfinite == "skip";
}

double clip_gradients(const OptimConfig& optim, const std::vector<torch::Tensor>& parameters) {
  // torch::nn::utils::clip_grad_norm_ would also rescale every gradient (by 1 when under the
  // limit): a pass over all of them on every step, ~10% of a small model's step on the CPU.
  // Squared norms as BLAS dot products: faster than ATen's norm reduction on small tensors.
  std::vector<torch::Tensor> squares;
  for (const auto& parameter : parameters) {
    if (!parameter.grad().defined()) continue;
    const auto flat = parameter.grad().reshape(-1);
    squares.push_back(flat.dot(flat).to(torch::kDouble));
  }
  if (squares.empty()) return 0.0;
  const double norm = std::sqrt(torch::stack(squares).sum().item<double>());
  if (optim.grad_clip > 0 && norm > optim.grad_clip) {  // a NaN norm is left to the caller
    const double scale = optim.grad_clip / (norm + 1e-6);
    for (const auto& parameter : parameters) {
      if (parameter.grad().defined()) parameter.grad().mul_(scale);
    }
  }
  return norm;
}

}  // namespace vae
