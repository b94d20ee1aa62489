// Models for the tests: small conv models of a given geometry (the model and transposed-conv tests),
// and models with known posteriors (the tests of the latent-space tools).
#pragma once

#include <torch/torch.h>

#include <utility>
#include <vector>

#include "vae/model/model.h"

namespace vae_test {

// A conv model of SIZE x SIZE images with CHANNELS, hidden widths DIMS, the same kernel size and
// padding in every block and a latent size of 6; the other options keep their defaults.
inline vae::ModelOptions conv_options(int64_t size, int64_t channels, std::vector<int64_t> dims, int64_t kernel,
                                      int64_t padding) {
  vae::ModelOptions o;
  o.image_size = size;
  o.channels = channels;
  o.hidden_dims = std::move(dims);
  o.kernel_size = {kernel};
  o.padding = {padding};
  o.latent_dim = 6;
  return o;
}

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
