// The convolutional VAE: an encoder of conv blocks (one per model.hidden_dims entry), two linear
// heads for the posterior mean and log-variance, and a decoder that mirrors the encoder with
// transposed convolutions. Spatial sizes are derived from data.image_size, so any size works that
// the conv arithmetic allows; the output matches the likelihood and the data range.
#pragma once

#include <torch/torch.h>

#include <vector>

#include "vae/config.h"

namespace vae {

struct ModelOptions {
  int64_t channels = 1;
  int64_t image_size = 32;
  std::vector<int64_t> hidden_dims = {32, 64, 128};
  int64_t kernel_size = 4;
  int64_t stride = 2;
  int64_t padding = 1;
  bool batch_norm = false;
  std::string activation = "relu";
  int64_t latent_dim = 10;
  std::string likelihood = "bernoulli";  // bernoulli: the decoder emits logits
  std::string range = "unit";            // gaussian: sigmoid for unit, tanh for symmetric

  static ModelOptions from_config(const Config& config);
};

// What forward() returns.
struct VaeOutput {
  torch::Tensor reconstruction;  // [B, C, H, W] decoder output: mean (gaussian) or logits (bernoulli)
  torch::Tensor mu;              // [B, latent] posterior mean
  torch::Tensor logvar;          // [B, latent] posterior log-variance
};

class VAEImpl : public torch::nn::Module {
 public:
  explicit VAEImpl(const ModelOptions& options);

  // Training mode samples z with the reparameterisation trick; eval mode decodes the mean.
  VaeOutput forward(const torch::Tensor& x);
  std::pair<torch::Tensor, torch::Tensor> encode(const torch::Tensor& x);  // (mu, logvar)
  torch::Tensor decode(const torch::Tensor& z);  // raw decoder output, see VaeOutput
  // Decoder output turned into an image in the data range (sigmoid of logits for bernoulli).
  torch::Tensor to_image(const torch::Tensor& reconstruction) const;
  // n images decoded from z ~ N(0, temperature^2 I), in the data range.
  torch::Tensor sample(int64_t n, double temperature, const torch::Device& device,
                       torch::optional<at::Generator> generator = torch::nullopt);

  const ModelOptions& options() const { return options_; }

 private:
  ModelOptions options_;
  std::vector<int64_t> spatial_;  // spatial size before block i (spatial_[0] = image size)
  torch::nn::Sequential encoder_{nullptr};
  torch::nn::Linear mu_head_{nullptr};
  torch::nn::Linear logvar_head_{nullptr};
  torch::nn::Linear decoder_input_{nullptr};
  torch::nn::Sequential decoder_{nullptr};
};
TORCH_MODULE(VAE);

// Spatial size after each encoder block, starting with the image size. Throws ConfigError naming
// model.hidden_dims when the image would shrink below one pixel.
std::vector<int64_t> encoder_spatial_sizes(const ModelOptions& options);

}  // namespace vae
