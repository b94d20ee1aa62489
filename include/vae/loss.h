// The beta-weighted negative ELBO, in nats per image.
//   recon = -log p(x|z) up to constants: squared error (gaussian) or BCE on logits (bernoulli),
//           summed over pixels and averaged over the batch;
//   kl    = KL(q(z|x) || N(0, I)) summed over latents and averaged over the batch;
//   loss  = recon + beta * kl;  elbo = -(recon + kl), the unweighted bound.
#pragma once

#include <torch/torch.h>

#include <string>

namespace vae {

struct ElboTerms {
  torch::Tensor loss;   // scalar, what is minimised
  torch::Tensor recon;  // scalar, nats per image
  torch::Tensor kl;     // scalar, nats per image
  torch::Tensor elbo;   // scalar, -(recon + kl)
};

// KL divergence of N(mu, exp(logvar)) from N(0, I) per row, summed over latents: [B].
// Closed form from Kingma & Welling 2014, appendix B: -1/2 sum(1 + logvar - mu^2 - exp(logvar)).
torch::Tensor kl_per_item(const torch::Tensor& mu, const torch::Tensor& logvar);

// Reconstruction term per item, summed over pixels: [B].
torch::Tensor recon_per_item(const torch::Tensor& reconstruction, const torch::Tensor& target,
                             const std::string& likelihood);

ElboTerms elbo_terms(const torch::Tensor& reconstruction, const torch::Tensor& target,
                     const torch::Tensor& mu, const torch::Tensor& logvar,
                     const std::string& likelihood, double beta);

}  // namespace vae
