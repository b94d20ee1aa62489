// Tools for looking inside the latent space, behind `vae sample --around`, `vae interpolate`,
// `vae traverse` and `vae encode`: pictures fitted to a model, draws from the posterior q(z|x),
// linear and spherical interpolation between codes, KL per latent dimension, --dims parsing and
// traversal codes. The callers put the model in eval mode under torch::NoGradGuard.
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

#include "vae/config/config.h"
#include "vae/model/model.h"

namespace vae {

// The picture at `path` prepared exactly as the model's training pictures were (transform_spec of
// its config: centre crop, resize by data.resize, channels; no flip), through the same decoder:
// uint8 [C, S, S]. `steps` receives what was done (describe_transforms: "used as is",
// "stretched 500x375 to 64x64", ...). IoError / DataError naming the path when unreadable.
torch::Tensor load_fitted_image(const std::string& path, const Config& config, std::string* steps);

// The pictures at `paths`, each fitted with load_fitted_image (what was done to each is logged),
// as one model input batch [N, C, S, S] on `device` (to_model_input).
torch::Tensor load_model_inputs(const std::vector<std::string>& paths, const Config& config,
                                const torch::Device& device);

// `n` draws z = mu + temperature * sigma * eps with sigma = exp(logvar / 2) and eps ~ N(0, I)
// drawn on the CPU from `generator`: mu, logvar [latent] -> [n, latent] on mu's device.
// Temperature 0 gives n copies of mu.
torch::Tensor posterior_draws(const torch::Tensor& mu, const torch::Tensor& logvar, int64_t n,
                              double temperature, at::Generator generator);

// Spherical linear interpolation (Shoemake 1985; White 2016, "Sampling Generative Networks")
// between codes a and b [latent] at t in [0, 1]: the direction moves along the great circle from
// a's to b's at constant angular speed, the norm goes linearly from |a| to |b| (so codes of equal
// norm keep it all the way, where a straight line would cut inside). Nearly parallel or
// antiparallel directions (angle within 1e-6 rad of 0 or pi, where the great circle is
// ill-conditioned or not unique) and zero vectors fall back to linear interpolation.
// Computed in double precision; returns a's dtype.
torch::Tensor slerp(const torch::Tensor& a, const torch::Tensor& b, double t);

// `steps` (>= 2) codes from a to b [latent] at t = i / (steps - 1): [steps, latent], linear or
// spherical. The first row is a and the last is b exactly (bit for bit).
torch::Tensor interpolate_codes(const torch::Tensor& a, const torch::Tensor& b, int64_t steps,
                                bool spherical);

// Angle between two codes [latent] in degrees (0 when either is zero).
double angle_degrees(const torch::Tensor& a, const torch::Tensor& b);

// KL(q(z|x) || N(0, I)) of each latent dimension, averaged over the batch, in nats:
// mu, logvar [B, latent] -> [latent]; the per-dimension terms of the KL (Kingma & Welling
// 2014, appendix B): -1/2 (1 + logvar - mu^2 - exp(logvar)).
torch::Tensor kl_per_dimension(const torch::Tensor& mu, const torch::Tensor& logvar);

// Mean KL per dimension [latent] over up to 512 images spread evenly over the validation split of
// `config`'s dataset (binarised as in training when data.binarize), for ordering traversal rows.
// `kl` is undefined, with the reason in `why_not`, when that dataset cannot be opened here (e.g.
// its data.root is elsewhere) or is empty; `source` says what was measured.
struct DatasetKl {
  torch::Tensor kl;
  std::string source;
  std::string why_not;
};
DatasetKl validation_kl(VAE& model, Config config, const torch::Device& device);

// --dims: "all" -> 0 .. latent_dim-1; otherwise a comma-separated list of distinct dimensions in
// [0, latent_dim) such as "0,3,7" (spaces allowed). Anything else is a ConfigError naming --dims
// and the latent size.
std::vector<int64_t> parse_dims(const std::string& text, int64_t latent_dim);

// `dims` sorted by decreasing kl[dim] (kl: [latent]); equal values keep their given order.
std::vector<int64_t> order_by_kl(const std::vector<int64_t>& dims, const torch::Tensor& kl);

// Codes of a traversal grid: one row per entry of `dims`, `steps` (>= 2) columns; each code is
// `base` [latent] with that dimension set to -range + 2 * range * column / (steps - 1), the others
// held at base. Returns [dims.size() * steps, latent], row-major, on base's device.
torch::Tensor traversal_codes(const torch::Tensor& base, const std::vector<int64_t>& dims,
                              double range, int64_t steps);

}  // namespace vae
