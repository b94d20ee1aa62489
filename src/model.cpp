// Convolutional VAE; see model.h.
#include "vae/model.h"

#include "vae/errors.h"

namespace vae {
namespace {

torch::nn::AnyModule make_activation(const std::string& name) {
  if (name == "leaky_relu") {
    return torch::nn::AnyModule(torch::nn::LeakyReLU(torch::nn::LeakyReLUOptions().negative_slope(0.2)));
  }
  if (name == "silu") return torch::nn::AnyModule(torch::nn::SiLU());
  return torch::nn::AnyModule(torch::nn::ReLU());
}

}  // namespace

ModelOptions ModelOptions::from_config(const Config& config) {
  ModelOptions options;
  options.channels = config.data.channels;
  options.image_size = config.data.image_size;
  options.hidden_dims = config.model.hidden_dims;
  options.kernel_size = config.model.kernel_size.front();
  options.stride = config.model.stride.front();
  options.padding = config.model.padding.front();
  options.batch_norm = config.model.batch_norm;
  options.activation = config.model.activation;
  options.latent_dim = config.model.latent_dim;
  options.likelihood = config.loss.likelihood;
  options.range = config.data.range;
  return options;
}

std::vector<int64_t> encoder_spatial_sizes(const ModelOptions& options) {
  std::vector<int64_t> sizes = {options.image_size};
  for (size_t i = 0; i < options.hidden_dims.size(); ++i) {
    const int64_t in = sizes.back();
    const int64_t out = (in + 2 * options.padding - options.kernel_size) / options.stride + 1;
    if (in + 2 * options.padding < options.kernel_size || out < 1) {
      throw ConfigError("model.hidden_dims: block " + std::to_string(i + 1) + " of " +
                        std::to_string(options.hidden_dims.size()) + " gets a " +
                        std::to_string(in) + "x" + std::to_string(in) +
                        " input, too small for kernel " + std::to_string(options.kernel_size) +
                        "; use fewer blocks or a larger data.image_size");
    }
    sizes.push_back(out);
  }
  return sizes;
}

VAEImpl::VAEImpl(const ModelOptions& options) : options_(options) {
  if (options.hidden_dims.empty()) throw ConfigError("model.hidden_dims must not be empty");
  spatial_ = encoder_spatial_sizes(options);
  const auto& dims = options.hidden_dims;
  const int64_t k = options.kernel_size, s = options.stride, p = options.padding;

  encoder_ = torch::nn::Sequential();
  int64_t in_channels = options.channels;
  for (int64_t out_channels : dims) {
    encoder_->push_back(torch::nn::Conv2d(
        torch::nn::Conv2dOptions(in_channels, out_channels, k).stride(s).padding(p)));
    if (options.batch_norm) encoder_->push_back(torch::nn::BatchNorm2d(out_channels));
    encoder_->push_back(make_activation(options.activation));
    in_channels = out_channels;
  }
  const int64_t last = spatial_.back();
  const int64_t flat = dims.back() * last * last;
  mu_head_ = torch::nn::Linear(flat, options.latent_dim);
  logvar_head_ = torch::nn::Linear(flat, options.latent_dim);
  decoder_input_ = torch::nn::Linear(options.latent_dim, flat);

  // Mirror: block i of the decoder takes spatial_[i+1] back to spatial_[i]; output_padding makes
  // the transposed convolution land on exactly the encoder's size.
  decoder_ = torch::nn::Sequential();
  for (int64_t i = int64_t(dims.size()) - 1; i >= 0; --i) {
    const int64_t from = spatial_[i + 1], to = spatial_[i];
    const int64_t natural = (from - 1) * s - 2 * p + k;
    const int64_t output_padding = to - natural;
    if (output_padding < 0 || output_padding >= s) {
      throw ConfigError("model: the decoder cannot mirror kernel " + std::to_string(k) +
                        ", stride " + std::to_string(s) + ", padding " + std::to_string(p) +
                        " at size " + std::to_string(to) +
                        "; try model.kernel_size=4 model.padding=1 or an image size that is a "
                        "power of two");
    }
    const bool is_output = i == 0;
    const int64_t out_channels = is_output ? options.channels : dims[i - 1];
    decoder_->push_back(torch::nn::ConvTranspose2d(
        torch::nn::ConvTranspose2dOptions(dims[i], out_channels, k)
            .stride(s)
            .padding(p)
            .output_padding(output_padding)));
    if (!is_output) {
      if (options.batch_norm) decoder_->push_back(torch::nn::BatchNorm2d(out_channels));
      decoder_->push_back(make_activation(options.activation));
    }
  }
  register_module("encoder", encoder_);
  register_module("mu_head", mu_head_);
  register_module("logvar_head", logvar_head_);
  register_module("decoder_input", decoder_input_);
  register_module("decoder", decoder_);
}

std::pair<torch::Tensor, torch::Tensor> VAEImpl::encode(const torch::Tensor& x) {
  const auto features = encoder_->forward(x).flatten(1);  // [B, C_last * S * S]
  return {mu_head_->forward(features), logvar_head_->forward(features)};
}

torch::Tensor VAEImpl::decode(const torch::Tensor& z) {
  const int64_t side = spatial_.back();
  auto h = decoder_input_->forward(z).view({z.size(0), options_.hidden_dims.back(), side, side});
  auto out = decoder_->forward(h);  // [B, C, H, W]
  if (options_.likelihood == "bernoulli") return out;  // logits
  return options_.range == "symmetric" ? torch::tanh(out) : torch::sigmoid(out);
}

torch::Tensor VAEImpl::to_image(const torch::Tensor& reconstruction) const {
  if (options_.likelihood != "bernoulli") return reconstruction;
  return torch::sigmoid(reconstruction);  // bernoulli data are always in [0, 1]
}

VaeOutput VAEImpl::forward(const torch::Tensor& x) {
  auto [mu, logvar] = encode(x);
  torch::Tensor z = mu;
  if (is_training()) {
    // Reparameterisation (Kingma & Welling 2014): z = mu + sigma * eps, eps ~ N(0, I).
    z = mu + torch::randn_like(mu) * torch::exp(0.5 * logvar);
  }
  return {decode(z), mu, logvar};
}

torch::Tensor VAEImpl::sample(int64_t n, double temperature, const torch::Device& device,
                              torch::optional<at::Generator> generator) {
  auto z = torch::randn({n, options_.latent_dim}, generator, torch::TensorOptions());
  return to_image(decode(z.to(device) * temperature));
}

}  // namespace vae
