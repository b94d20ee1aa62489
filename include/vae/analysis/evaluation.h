// The measures `vae eval` reports, as functions of tensors so that each can be checked on cases
// with known answers: the importance-sampled marginal likelihood (Burda et al. 2015), active units
// (Burda et al. 2015, section 5.2), KL per latent dimension, PSNR and the Mutual Information Gap
// (Chen et al. 2018).
#pragma once

#include <torch/torch.h>

#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "vae/config/config.h"
#include "vae/train/checkpoint.h"

namespace vae {

// log N(z; mu, diag(exp(logvar))) summed over the last dimension: z [..., L], mu/logvar broadcast.
torch::Tensor diagonal_gaussian_log_density(const torch::Tensor& z, const torch::Tensor& mu,
                                            const torch::Tensor& logvar);

// log p(x|z) of the decoder output for each item, in nats: [B]. Bernoulli: minus the binary cross
// entropy of the logits. Gaussian: the squared-error reconstruction term is the negative
// log-density of N(x; mean, 1/2 I) without its constant, so log p = -sum (x - mean)^2 - D/2 log(pi).
torch::Tensor log_likelihood_per_item(const torch::Tensor& reconstruction, const torch::Tensor& target,
                                      Likelihood likelihood);

// Decoder log-likelihoods of latent draws: z [S, B, L] -> log p(x_b | z_sb) [S, B].
using LatentLogLikelihood = std::function<torch::Tensor(const torch::Tensor& z)>;

// Importance-sampled log p(x) for each of B items: [B] (Burda et al. 2015, eq. 8),
//   log (1/K) sum_k p(x|z_k) p(z_k) / q(z_k|x),  z_k ~ q(z|x) = N(mu, diag(exp(logvar))),
// with p(z) = N(0, I). Computed stably (log-sum-exp) in chunks of at most `chunk` draws per item,
// so memory stays bounded for any K. Draws come from `generator` (CPU), so the result is fixed by
// its seed. mu, logvar: [B, L].
torch::Tensor importance_log_marginal(const torch::Tensor& mu, const torch::Tensor& logvar, int64_t samples,
                                      int64_t chunk, const LatentLogLikelihood& log_likelihood,
                                      at::Generator generator);

// Latent dimensions whose posterior mean varies over the data: Var_x(E_q[z_u | x]) > threshold
// (0.01 in Burda et al.). means: [N, L]. Returns the per-dimension variances.
torch::Tensor posterior_mean_variance(const torch::Tensor& means);
int64_t count_active_units(const torch::Tensor& means, double threshold = 0.01);

// Peak signal-to-noise ratio in dB of each image against its reference, both in [0, 1]: [N].
// Identical images are capped at kMaxPsnr.
constexpr double kMaxPsnr = 100.0;
torch::Tensor psnr_per_image(const torch::Tensor& images, const torch::Tensor& references);

// Mutual Information Gap (Chen et al. 2018) of codes [N, L] against discrete factors [N, K]
// (integer-valued; see discretize): for each factor k, the gap between the largest and second
// largest mutual information I(z_j; v_k) over latents j, divided by the entropy H(v_k); then the
// mean over factors with non-zero entropy. The codes are discretised into `bins` equal-width bins
// per dimension (the histogram estimator of Locatello et al. 2019).
struct MigResult {
  double mig = 0.0;
  std::vector<double> per_factor;  // gap / entropy of each factor (0 for constant factors)
};
MigResult mutual_information_gap(const torch::Tensor& codes, const torch::Tensor& factors, int64_t bins = 20);

// Each column of `values` [N, K] as integer bin indices [N, K]: columns with at most `bins`
// distinct values keep one index per value, others get `bins` equal-width bins over their range.
torch::Tensor discretize(const torch::Tensor& values, int64_t bins = 20);

// What `vae eval` measures and how.
struct EvaluationOptions {
  std::string split = "test";  // test | val
  int64_t iw_samples = 100;    // importance samples per image for the NLL; 0 = skip it
  int64_t seed = 0;            // of every draw: binarisation, the ELBO's z, importance samples
  int64_t batch = 250;         // images per batch
  int64_t limit = 0;           // only the first N images; 0 = all
};

// Bits per dimension from nats per image: nll / (dims ln 2). Only a probability mass gives bits
// per dimension that compare with published ones (the Bernoulli likelihood on binary data); for
// the Gaussian density, evaluate_model reports none and says why (likelihood_note).
double bits_per_dim(double nll, int64_t dims);

// What the figures mean for a likelihood, in one sentence (eval's table and JSON "likelihood_note").
std::string likelihood_note(Likelihood likelihood);

// Evaluates a model over a split of its config's dataset, deterministically for the seed: the
// one-sample ELBO terms (recon = -log p(x|z) under the same density as the NLL, kl, neg_elbo; nats
// per image, so neg_elbo and nll compare), nll (when iw_samples > 0) and bits_per_dim (also only
// for the Bernoulli likelihood), squared_error (the Gaussian's training term, the sum of squared
// errors per image), likelihood_note, active_units, kl_per_dim, mean_variance_per_dim, psnr of the
// mean reconstructions, and mig / mig_per_factor for the built-in shapes. Logs progress every 10 s.
// Throws DataError when the split is empty.
nlohmann::json evaluate_model(LoadedModel& loaded, const EvaluationOptions& options);

}  // namespace vae
