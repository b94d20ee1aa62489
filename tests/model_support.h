// Models with known posteriors, for the tests of the latent-space tools.
#pragma once

#include <torch/torch.h>

#include <vector>

#include "vae/model/model.h"

namespace vae_test {

// Makes the encoder ignore its input: mu = `means` and logvar = 0 for every picture (the heads'
// weights zeroed, their biases set), so the KL of dimension u is means[u]^2 / 2. Two-head models.
inline void fix_posterior(vae::VAE& model, const std::vector<float>& means) {
  torch::NoGradGuard no_grad;
  auto parameters = model->named_parameters();
  parameters["mu_head.weight"].zero_();
  parameters["mu_head.bias"].copy_(torch::tensor(means));
  parameters["logvar_head.weight"].zero_();
  parameters["logvar_head.bias"].zero_();
}

}  // namespace vae_test
