// The training objective and the canonical negative ELBO.
//   recon = -log p(x|z) up to constants: squared error (gaussian) or BCE on logits (bernoulli),
//           summed over pixels and averaged over the batch: nats per image, whatever the preset;
//   kl    = KL(q(z|x) || N(0, I)) summed over latents and averaged over the batch;
//   elbo  = -(recon + kl), the unweighted bound, comparable across presets;
//   loss  = what is minimised: the reconstruction and KL terms reduced as loss.recon_reduction,
//           loss.kl_reduction and loss.batch_reduction say, the KL term weighted by the schedule's
//           weight (or gamma * |KL - C| for the capacity schedule), with free bits if set.
#pragma once

#include <torch/torch.h>

#include "vae/config/config.h"

namespace vae {

struct ElboTerms {
  torch::Tensor loss;   // scalar, what is minimised
  torch::Tensor recon;  // scalar, nats per image
  torch::Tensor kl;     // scalar, nats per image
  torch::Tensor elbo;   // scalar, -(recon + kl)
};

// How the objective reduces and shapes its terms (loss.* keys other than the schedule's). Each
// defaults to its config key's default (default_config()).
struct LossSettings {
  Likelihood likelihood = default_config().loss.likelihood;
  ReconReduction recon_reduction = default_config().loss.recon_reduction;  // over pixels
  KlReduction kl_reduction = default_config().loss.kl_reduction;           // over latents
  BatchReduction batch_reduction = default_config().loss.batch_reduction;  // over the batch
  double free_bits = default_config().loss.free_bits;  // nats per latent dimension (Kingma et al. 2016)

  static LossSettings from_config(const LossConfig& loss);
};

// KL divergence of N(mu, exp(logvar)) from N(0, I) of each latent of each row: [B, L].
// Closed form from Kingma & Welling 2014, appendix B: -1/2 (1 + logvar - mu^2 - exp(logvar)).
torch::Tensor kl_per_latent(const torch::Tensor& mu, const torch::Tensor& logvar);

// Reconstruction term per item, summed over pixels: [B].
torch::Tensor recon_per_item(const torch::Tensor& reconstruction, const torch::Tensor& target,
                             Likelihood likelihood);

// The objective with weight `kl_weight` on the KL term; `capacity` >= 0 switches to
// kl_weight * |KL term - capacity| (Burgess et al. 2018).
ElboTerms elbo_terms(const torch::Tensor& reconstruction, const torch::Tensor& target,
                     const torch::Tensor& mu, const torch::Tensor& logvar,
                     const LossSettings& settings, double kl_weight, double capacity = -1.0);

// The default reductions (sums over pixels and latents, mean over the batch).
ElboTerms elbo_terms(const torch::Tensor& reconstruction, const torch::Tensor& target,
                     const torch::Tensor& mu, const torch::Tensor& logvar,
                     Likelihood likelihood, double beta);

}  // namespace vae
