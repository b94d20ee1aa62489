// Negative ELBO terms; see loss.h for the conventions.
#include "vae/model/loss.h"

namespace vae {

torch::Tensor kl_per_latent(const torch::Tensor& mu, const torch::Tensor& logvar) {
  return -0.5 * (1 + logvar - mu.pow(2) - logvar.exp());
}

torch::Tensor recon_per_item(const torch::Tensor& reconstruction, const torch::Tensor& target,
                             Likelihood likelihood) {
  torch::Tensor per_pixel;
  switch (likelihood) {
    case Likelihood::Bernoulli:
      // reconstruction holds logits; the stable form of -[x log s(l) + (1-x) log(1-s(l))].
      per_pixel = torch::binary_cross_entropy_with_logits(reconstruction, target, {}, {},
                                                          at::Reduction::None);
      break;
    case Likelihood::Gaussian:
      per_pixel = (reconstruction - target).pow(2);
      break;
  }
  return per_pixel.flatten(1).sum(1);
}

LossSettings LossSettings::from_config(const LossConfig& loss) {
  LossSettings settings;
  settings.likelihood = loss.likelihood;
  settings.recon_reduction = loss.recon_reduction;
  settings.kl_reduction = loss.kl_reduction;
  settings.batch_reduction = loss.batch_reduction;
  settings.free_bits = loss.free_bits;
  return settings;
}

ElboTerms elbo_terms(const torch::Tensor& reconstruction, const torch::Tensor& target,
                     const torch::Tensor& mu, const torch::Tensor& logvar,
                     const LossSettings& settings, double kl_weight, double capacity) {
  const double pixels = double(target[0].numel());
  const double batch = double(target.size(0));
  const double latents = double(mu.size(1));
  const torch::Tensor recon_item = recon_per_item(reconstruction, target, settings.likelihood);  // [B]
  const torch::Tensor kl_dims = kl_per_latent(mu, logvar);                                    // [B, L]
  const torch::Tensor kl_item = kl_dims.sum(1);                                               // [B]

  ElboTerms terms;
  terms.recon = recon_item.mean();
  terms.kl = kl_item.mean();
  terms.elbo = -(terms.recon + terms.kl);

  const bool batch_sum = settings.batch_reduction == BatchReduction::Sum;
  const double recon_scale = settings.recon_reduction == ReconReduction::Mean ? 1.0 / pixels : 1.0;
  double kl_scale = 1.0;
  switch (settings.kl_reduction) {
    case KlReduction::Sum: break;
    case KlReduction::Mean: kl_scale = 1.0 / latents; break;
    case KlReduction::PerPixel: kl_scale = 1.0 / pixels; break;
  }
  const torch::Tensor recon_term = (batch_sum ? recon_item.sum() : terms.recon) * recon_scale;
  torch::Tensor kl_term;
  if (settings.free_bits > 0) {
    // Free bits: each latent's KL, averaged over the batch, costs at least free_bits nats, so the
    // optimizer gains nothing by pushing it lower (Kingma et al. 2016, eq. 15).
    kl_term = kl_dims.mean(0).clamp_min(settings.free_bits).sum() * (batch_sum ? batch : 1.0);
  } else {
    kl_term = batch_sum ? kl_item.sum() : terms.kl;
  }
  kl_term = kl_term * kl_scale;
  terms.loss = capacity >= 0 ? recon_term + kl_weight * (kl_term - capacity).abs()
                             : recon_term + kl_weight * kl_term;
  return terms;
}

ElboTerms elbo_terms(const torch::Tensor& reconstruction, const torch::Tensor& target,
                     const torch::Tensor& mu, const torch::Tensor& logvar,
                     Likelihood likelihood, double beta) {
  LossSettings settings;
  settings.likelihood = likelihood;
  return elbo_terms(reconstruction, target, mu, logvar, settings, beta);
}

}  // namespace vae
