// Negative ELBO terms; see loss.h for the conventions.
#include "vae/loss.h"

namespace vae {

torch::Tensor kl_per_item(const torch::Tensor& mu, const torch::Tensor& logvar) {
  return -0.5 * torch::sum(1 + logvar - mu.pow(2) - logvar.exp(), /*dim=*/1);
}

torch::Tensor recon_per_item(const torch::Tensor& reconstruction, const torch::Tensor& target,
                             const std::string& likelihood) {
  torch::Tensor per_pixel;
  if (likelihood == "bernoulli") {
    // reconstruction holds logits; the stable form of -[x log s(l) + (1-x) log(1-s(l))].
    per_pixel = torch::binary_cross_entropy_with_logits(reconstruction, target, {}, {},
                                                        at::Reduction::None);
  } else {
    per_pixel = (reconstruction - target).pow(2);
  }
  return per_pixel.flatten(1).sum(1);
}

ElboTerms elbo_terms(const torch::Tensor& reconstruction, const torch::Tensor& target,
                     const torch::Tensor& mu, const torch::Tensor& logvar,
                     const std::string& likelihood, double beta) {
  ElboTerms terms;
  terms.recon = recon_per_item(reconstruction, target, likelihood).mean();
  terms.kl = kl_per_item(mu, logvar).mean();
  terms.loss = terms.recon + beta * terms.kl;
  terms.elbo = -(terms.recon + terms.kl);
  return terms;
}

}  // namespace vae
