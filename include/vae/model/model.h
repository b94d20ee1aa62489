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

// Every option defaults to its config key's default (default_config(), the table in config.cpp),
// so an options struct built by hand differs from a default config only where it is set.
struct ModelOptions {
  ModelType type = default_config().model.type;
  int64_t channels = default_config().data.channels;      // image channels
  int64_t image_size = default_config().data.image_size;  // image height = width
  // conv: channels per block; mlp: widths
  std::vector<int64_t> hidden_dims = default_config().model.hidden_dims;
  // Conv geometry of each encoder block: one value for every block, or one per block.
  std::vector<int64_t> kernel_size = default_config().model.kernel_size;
  std::vector<int64_t> stride = default_config().model.stride;
  std::vector<int64_t> padding = default_config().model.padding;
  bool batch_norm = default_config().model.batch_norm;
  NormPosition norm_position = default_config().model.norm_position;  // conv-BN-act | conv-act-BN
  Activation activation = default_config().model.activation;          // leaky_relu: slope 0.01
  Downsample downsample = default_config().model.downsample;          // maxpool: conv, act, 2x2 max-pool
  Upsample upsample = default_config().model.upsample;                // convt2: k2 s2 transposed convs
  // The last up-sampling keeps hidden_dims[0] channels, then a k3 conv.
  bool refine = default_config().model.refine;
  PosteriorHead head = default_config().model.head;           // two: mu and logvar layers; split: halves
  double logvar_clamp = default_config().model.logvar_clamp;  // > 0: logvar clamped to [-v, v] in encode
  int64_t latent_dim = default_config().model.latent_dim;
  Likelihood likelihood = default_config().loss.likelihood;   // bernoulli: the decoder emits logits
  PixelRange range = default_config().data.range;             // gaussian: sigmoid (unit) or tanh (symmetric)

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
