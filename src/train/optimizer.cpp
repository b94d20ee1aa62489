// The optimizer factory, the learning-rate setter and gradient clipping; see optimizer.h.
#include "vae/train/optimizer.h"

#include <cmath>

namespace vae {

std::unique_ptr<torch::optim::Optimizer> make_optimizer(const OptimConfig& optim,
                                                        const std::vector<torch::Tensor>& parameters) {
  switch (optim.name) {
    case OptimizerName::AdamW:
      return std::make_unique<torch::optim::AdamW>(
          parameters, torch::optim::AdamWOptions(optim.lr).weight_decay(optim.weight_decay));
    case OptimizerName::Sgd:
      return std::make_unique<torch::optim::SGD>(
          parameters,
          torch::optim::SGDOptions(optim.lr).momentum(optim.momentum).weight_decay(optim.weight_decay));
    case OptimizerName::Adam: break;
  }
  return std::make_unique<torch::optim::Adam>(
      parameters, torch::optim::AdamOptions(optim.lr).weight_decay(optim.weight_decay));
}

void set_learning_rate(torch::optim::Optimizer& optimizer, double lr) {
  for (auto& group : optimizer.param_groups()) group.options().set_lr(lr);
}

bool gradient_norm_every_step(const OptimConfig& optim, const TrainConfig& train) {
  return optim.grad_clip > 0 || train.nonfinite == NonFinite::Skip;
}

double clip_gradients(const OptimConfig& optim, const std::vector<torch::Tensor>& parameters) {
  // torch::nn::utils::clip_grad_norm_ would also rescale every gradient (by 1 when under the
  // limit): a pass over all of them on every step, ~10% of a small model's step on the CPU.
  // Squared norms as BLAS dot products: faster than ATen's norm reduction on small tensors.
  std::vector<torch::Tensor> squares;
  for (const auto& parameter : parameters) {
    if (!parameter.grad().defined()) continue;
    const auto flat = parameter.grad().reshape(-1);
    squares.push_back(flat.dot(flat));
  }
  if (squares.empty()) return 0.0;
  // Summed in float64 on the CPU: MPS has no float64, and it is one small read either way.
  const double norm = std::sqrt(torch::stack(squares).to(torch::kCPU).to(torch::kDouble).sum().item<double>());
  if (optim.grad_clip > 0 && norm > optim.grad_clip) {  // a NaN norm is left to the caller
    const double scale = optim.grad_clip / (norm + 1e-6);
    for (const auto& parameter : parameters) {
      if (parameter.grad().defined()) parameter.grad().mul_(scale);
    }
  }
  return norm;
}

}  // namespace vae
