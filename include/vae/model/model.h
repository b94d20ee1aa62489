// The VAE network and every architecture option of the config's `model` section.
//
// model.type=conv: an encoder of conv blocks (one per model.hidden_dims entry; strided convs, or
// conv + activation + 2x2 max-pool), a posterior head (two linear layers, or one split in two), and
// a decoder of transposed convs back to the image (mirroring the encoder, or k2 s2 ones), with an
// optional refinement conv at the end. model.type=mlp: the same on flattened images with linear
// layers. Spatial sizes are derived from data.image_size, so any size works that the conv
// arithmetic allows; the output matches the likelihood and the data range.
#pragma once

#include <torch/torch.h>

#include <string>
#include <utility>
#include <vector>

#include "vae/config/config.h"

namespace vae {

struct ModelOptions {
  std::string type = "conv";      // conv | mlp
  int64_t channels = 1;           // image channels (data.channels)
  int64_t image_size = 32;        // image height = width (data.image_size)
  std::vector<int64_t> hidden_dims = {32, 64, 128};  // conv: channels per block; mlp: widths
  // Conv geometry of each encoder block: one value for every block, or one per block.
  std::vector<int64_t> kernel_size = {4};
  std::vector<int64_t> stride = {2};
  std::vector<int64_t> padding = {1};
  bool batch_norm = false;
  std::string norm_position = "before_activation";  // conv-BN-act | after_activation: conv-act-BN
  std::string activation = "relu";                   // relu | leaky_relu (slope 0.01) | silu
  std::string downsample = "stride";                 // stride | maxpool (conv, act, 2x2 max-pool)
  std::string upsample = "mirror";                   // mirror | convt2 (k2 s2 transposed convs)
  bool refine = false;            // last up-sampling keeps hidden_dims[0] channels, then a k3 conv
  std::string head = "two";       // two (mu and logvar layers) | split (one layer, halves)
  double logvar_clamp = 0.0;      // > 0: logvar clamped to [-v, v] in encode
  int64_t latent_dim = 10;
  std::string likelihood = "bernoulli";  // bernoulli: the decoder emits logits
  std::string range = "unit";            // gaussian: sigmoid for unit, tanh for symmetric

  // Carries every model key plus data.channels, data.image_size, data.range and
  // loss.likelihood; a single kernel_size/stride/padding value is broadcast to every block.
  static ModelOptions from_config(const Config& config);
};

// What forward() returns.
struct VaeOutput {
  torch::Tensor reconstruction;  // [B, C, H, W] decoder output: mean (gaussian) or logits (bernoulli)
  torch::Tensor mu;              // [B, latent] posterior mean
  torch::Tensor logvar;          // [B, latent] posterior log-variance (clamped if logvar_clamp > 0)
};

class VAEImpl : public torch::nn::Module {
 public:
  // Throws ConfigError naming the key when the options do not describe a buildable network.
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

  // Multiply-adds of the conv, transposed-conv and linear layers in one forward pass of one image
  // (normalisation, activations and the loss are not counted). A training step costs about three
  // times as much: the backward pass computes gradients of both the inputs and the weights.
  int64_t multiply_adds_per_image();
  // Trainable and other parameters, counted once each.
  int64_t parameter_count();

  // The options as built: kernel_size/stride/padding hold one value per block (conv).
  const ModelOptions& options() const { return options_; }

 private:
  void build_conv();
  void build_mlp();
  void build_heads(int64_t features);
  // decoder_ on h, its transposed convs as ordinary convolutions where that is faster.
  torch::Tensor run_decoder(torch::Tensor h);

  ModelOptions options_;
  std::vector<int64_t> spatial_;  // conv: spatial size before block i (spatial_[0] = image size)
  torch::nn::Sequential encoder_{nullptr};
  torch::nn::Linear mu_head_{nullptr};      // head=two
  torch::nn::Linear logvar_head_{nullptr};  // head=two
  torch::nn::Linear head_{nullptr};         // head=split: [mu | logvar]
  torch::nn::Linear decoder_input_{nullptr};
  torch::nn::Sequential decoder_{nullptr};
  struct TransposedGeometry {
    int64_t stride, padding, output_padding;
  };
  std::vector<TransposedGeometry> transposed_geometry_;  // of decoder_'s transposed convs, in order
};
TORCH_MODULE(VAE);

// One reparameterised draw per row, z = mu + exp(logvar / 2) * (temperature * eps), with
// eps ~ N(0, I) drawn on the CPU from `generator` so that a seed gives the same draws on any device:
// mu, logvar [B, latent] -> [B, latent] on mu's device. Temperature 0 gives mu exactly (the draws
// are still taken, so the generator moves on the same). Validation and `vae eval` use it for their
// one-sample ELBO terms, `vae sample --around` (posterior_draws) with a temperature.
torch::Tensor reparameterized_draw(const torch::Tensor& mu, const torch::Tensor& logvar, at::Generator generator,
                                   double temperature = 1.0);

// Spatial size after each encoder block, starting with the image size (conv; for mlp just the
// image size). Throws ConfigError naming model.hidden_dims and model.kernel_size when the image
// would shrink below one pixel.
std::vector<int64_t> encoder_spatial_sizes(const ModelOptions& options);

}  // namespace vae
