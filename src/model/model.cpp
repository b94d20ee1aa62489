// The VAE network: conv or mlp encoder, posterior head, decoder and output activation, built from
// ModelOptions; see model.h.
#include "vae/model/model.h"

#include <algorithm>

#include "vae/base/errors.h"
#include "vae/model/transposed_conv.h"

namespace vae {
namespace {

// A per-block list (kernel_size, stride, padding) with one value per block (per_block in the config
// layer: a single value is repeated, any other length than 1 or `blocks` is a ConfigError), each at
// least `minimum`.
std::vector<int64_t> checked_per_block(const std::string& key, const std::vector<int64_t>& values,
                                       size_t blocks, int64_t minimum) {
  for (int64_t value : values) {
    if (value < minimum) {
      throw ConfigError(key + ": got " + std::to_string(value) + "; allowed: integers >= " +
                        std::to_string(minimum));
    }
  }
  return per_block(values, blocks, key);
}

torch::nn::AnyModule make_activation(Activation activation) {
  switch (activation) {
    case Activation::LeakyRelu:
      // PyTorch's default slope, as nn.LeakyReLU() uses it.
      return torch::nn::AnyModule(torch::nn::LeakyReLU(
          torch::nn::LeakyReLUOptions().negative_slope(/*negative_slope=*/0.01)));
    case Activation::Silu: return torch::nn::AnyModule(torch::nn::SiLU());
    case Activation::Relu: break;
  }
  return torch::nn::AnyModule(torch::nn::ReLU());
}

// Appends [BN] + activation in the configured order (conv-BN-act or conv-act-BN).
void push_norm_and_activation(torch::nn::Sequential& sequence, const ModelOptions& options,
                              int64_t channels) {
  const bool norm_first = options.norm_position == NormPosition::BeforeActivation;
  if (options.batch_norm && norm_first) sequence->push_back(torch::nn::BatchNorm2d(channels));
  sequence->push_back(make_activation(options.activation));
  if (options.batch_norm && !norm_first) sequence->push_back(torch::nn::BatchNorm2d(channels));
}

std::string square(int64_t side) { return std::to_string(side) + "x" + std::to_string(side); }

// Checks the sizes of options built by hand (the choices are enums, parsed by the config layer)
// and returns them with kernel_size/stride/padding expanded to one value per block (conv).
ModelOptions normalised(ModelOptions options) {
  if (options.hidden_dims.empty()) {
    throw ConfigError(
        "model.hidden_dims: got an empty list; allowed: at least one positive integer");
  }
  for (int64_t dim : options.hidden_dims) {
    if (dim < 1) {
      throw ConfigError("model.hidden_dims: got " + std::to_string(dim) +
                        "; allowed: positive integers");
    }
  }
  if (options.latent_dim < 1) {
    throw ConfigError("model.latent_dim: got " + std::to_string(options.latent_dim) +
                      "; allowed: integers >= 1");
  }
  if (options.channels < 1) {
    throw ConfigError("data.channels: got " + std::to_string(options.channels) +
                      "; allowed: integers >= 1");
  }
  if (options.image_size < 1) {
    throw ConfigError("data.image_size: got " + std::to_string(options.image_size) +
                      "; allowed: integers >= 1");
  }
  if (!(options.logvar_clamp >= 0.0)) {
    throw ConfigError("model.logvar_clamp: got " + std::to_string(options.logvar_clamp) +
                      "; allowed: a number >= 0 (0 = off)");
  }
  if (options.type == ModelType::Conv) {
    const size_t blocks = options.hidden_dims.size();
    options.kernel_size =
        checked_per_block("model.kernel_size", options.kernel_size, blocks, /*minimum=*/1);
    options.stride = checked_per_block("model.stride", options.stride, blocks, /*minimum=*/1);
    options.padding = checked_per_block("model.padding", options.padding, blocks, /*minimum=*/0);
  }
  return options;
}

}  // namespace

ModelOptions ModelOptions::from_config(const Config& config) {
  ModelOptions options;
  options.type = config.model.type;
  options.channels = config.data.channels;
  options.image_size = config.data.image_size;
  options.hidden_dims = config.model.hidden_dims;
  // Single values repeated for every block; longer lists the config has checked (conv) or that
  // mlp ignores, as they are.
  const size_t blocks = config.model.hidden_dims.size();
  const auto broadcast = [blocks](const std::vector<int64_t>& values, const std::string& key) {
    return values.size() == 1 ? per_block(values, blocks, key) : values;
  };
  options.kernel_size = broadcast(config.model.kernel_size, "model.kernel_size");
  options.stride = broadcast(config.model.stride, "model.stride");
  options.padding = broadcast(config.model.padding, "model.padding");
  options.batch_norm = config.model.batch_norm;
  options.norm_position = config.model.norm_position;
  options.activation = config.model.activation;
  options.downsample = config.model.downsample;
  options.upsample = config.model.upsample;
  options.refine = config.model.refine;
  options.head = config.model.head;
  options.logvar_clamp = config.model.logvar_clamp;
  options.latent_dim = config.model.latent_dim;
  options.likelihood = config.loss.likelihood;
  options.range = config.data.range;
  return options;
}

std::vector<int64_t> encoder_spatial_sizes(const ModelOptions& raw) {
  const ModelOptions options = normalised(raw);
  std::vector<int64_t> sizes = {options.image_size};
  if (options.type == ModelType::Mlp) return sizes;
  const bool maxpool = options.downsample == Downsample::Maxpool;
  const size_t blocks = options.hidden_dims.size();
  for (size_t i = 0; i < blocks; ++i) {
    const int64_t in = sizes.back();
    const int64_t k = options.kernel_size[i], s = options.stride[i], p = options.padding[i];
    const std::string where = "block " + std::to_string(i + 1) + " of " + std::to_string(blocks) +
                              " gets a " + square(in) + " input";
    if (in + 2 * p < k) {
      throw ConfigError("model.hidden_dims / model.kernel_size: " + where +
                        ", too small for kernel " + std::to_string(k) + " with padding " +
                        std::to_string(p) + "; use fewer blocks, a smaller model.kernel_size, "
                        "more model.padding or a larger data.image_size");
    }
    int64_t out = (in + 2 * p - k) / s + 1;
    if (maxpool) {
      if (out < 2) {
        throw ConfigError("model.hidden_dims / model.downsample: " + where +
                          " and its conv gives " + square(out) +
                          ", too small for a 2x2 max-pool; use fewer blocks or a larger "
                          "data.image_size");
      }
      out /= 2;  // MaxPool2d(2) floors odd sizes
    }
    sizes.push_back(out);
  }
  return sizes;
}

VAEImpl::VAEImpl(const ModelOptions& options) : options_(normalised(options)) {
  switch (options_.type) {
    case ModelType::Mlp: build_mlp(); break;
    case ModelType::Conv: build_conv(); break;
  }
}

void VAEImpl::build_heads(int64_t features) {
  if (options_.head == PosteriorHead::Split) {
    head_ = register_module("head", torch::nn::Linear(features, 2 * options_.latent_dim));
  } else {
    mu_head_ = register_module("mu_head", torch::nn::Linear(features, options_.latent_dim));
    logvar_head_ = register_module("logvar_head", torch::nn::Linear(features, options_.latent_dim));
  }
}

void VAEImpl::build_conv() {
  spatial_ = encoder_spatial_sizes(options_);
  const auto& dims = options_.hidden_dims;
  const int64_t blocks = int64_t(dims.size());
  const bool maxpool = options_.downsample == Downsample::Maxpool;

  encoder_ = torch::nn::Sequential();
  int64_t in_channels = options_.channels;
  for (int64_t i = 0; i < blocks; ++i) {
    encoder_->push_back(torch::nn::Conv2d(
        torch::nn::Conv2dOptions(in_channels, dims[i], options_.kernel_size[i])
            .stride(options_.stride[i])
            .padding(options_.padding[i])));
    push_norm_and_activation(encoder_, options_, dims[i]);
    if (maxpool) {
      encoder_->push_back(torch::nn::MaxPool2d(torch::nn::MaxPool2dOptions(/*kernel_size=*/2)));
    }
    in_channels = dims[i];
  }
  register_module("encoder", encoder_);

  const int64_t last = spatial_.back();
  const int64_t flat = dims.back() * last * last;
  build_heads(flat);
  decoder_input_ = register_module("decoder_input", torch::nn::Linear(options_.latent_dim, flat));

  // The decoder undoes encoder block i (i = blocks-1 .. 0), taking spatial_[i+1] back to
  // spatial_[i]; output_padding makes each transposed convolution land on exactly that size.
  decoder_ = torch::nn::Sequential();
  for (int64_t i = blocks - 1; i >= 0; --i) {
    const int64_t from = spatial_[size_t(i + 1)], to = spatial_[size_t(i)];
    const std::string block = "decoder block " + std::to_string(blocks - i) + " of " +
                              std::to_string(blocks) + " must grow " + square(from) +
                              " back to the encoder's " + square(to);
    int64_t k = 2, s = 2, p = 0;  // convt2, and the mirror of a 2x2 max-pool
    if (options_.upsample == Upsample::Mirror && !maxpool) {
      k = options_.kernel_size[size_t(i)];
      s = options_.stride[size_t(i)];
      p = options_.padding[size_t(i)];
    }
    const int64_t natural = (from - 1) * s - 2 * p + k;
    const int64_t output_padding = to - natural;
    if (options_.upsample == Upsample::Convt2 && output_padding != 0) {
      throw ConfigError("model.upsample=convt2: " + block + ", but a kernel 2 stride 2 transposed "
                        "conv gives " + square(natural) + "; use model.upsample=mirror, or a "
                        "data.image_size and model.kernel_size/stride/padding that halve the size "
                        "exactly at every block (e.g. 32 or 64 with kernel 4 or 3, stride 2, "
                        "padding 1)");
    }
    if (output_padding < 0 || output_padding >= s) {
      if (maxpool) {
        throw ConfigError("model.kernel_size / model.padding: with model.downsample=maxpool the "
                          "decoder mirrors each 2x2 max-pool with a kernel 2 stride 2 transposed "
                          "conv, so the convs must keep the size; " + block + " but gets " +
                          square(natural) + "; use model.kernel_size=3 model.stride=1 "
                          "model.padding=1");
      }
      throw ConfigError("model.kernel_size / model.stride / model.padding: " + block +
                        ", but the mirrored transposed conv (kernel " + std::to_string(k) +
                        ", stride " + std::to_string(s) + ", padding " + std::to_string(p) +
                        ") cannot land there; try model.kernel_size=4 model.padding=1, or an image "
                        "size that is a power of two");
    }
    const bool is_last = i == 0;
    const bool to_image = is_last && !options_.refine;
    const int64_t out_channels = is_last ? (options_.refine ? dims[0] : options_.channels)
                                         : dims[size_t(i - 1)];
    decoder_->push_back(torch::nn::ConvTranspose2d(
        torch::nn::ConvTranspose2dOptions(dims[size_t(i)], out_channels, k)
            .stride(s)
            .padding(p)
            .output_padding(output_padding)));
    transposed_geometry_.push_back({s, p, output_padding});
    if (!to_image) push_norm_and_activation(decoder_, options_, out_channels);
  }
  if (options_.refine) {
    // The refinement ("final layer") conv keeps the size: [B, hidden_dims[0], S, S] -> [B, C, S, S]
    decoder_->push_back(torch::nn::Conv2d(
        torch::nn::Conv2dOptions(dims[0], options_.channels, /*kernel_size=*/3)
            .padding(/*padding=*/1)));
  }
  register_module("decoder", decoder_);
}

void VAEImpl::build_mlp() {
  const auto& widths = options_.hidden_dims;
  const int64_t pixels = options_.channels * options_.image_size * options_.image_size;
  encoder_ = torch::nn::Sequential();
  int64_t in_features = pixels;
  for (int64_t width : widths) {
    encoder_->push_back(torch::nn::Linear(in_features, width));
    encoder_->push_back(make_activation(options_.activation));
    in_features = width;
  }
  register_module("encoder", encoder_);
  build_heads(widths.back());
  decoder_input_ =
      register_module("decoder_input", torch::nn::Linear(options_.latent_dim, widths.back()));

  // Mirror of the encoder: activation after decoder_input, then the widths reversed, then pixels.
  decoder_ = torch::nn::Sequential();
  decoder_->push_back(make_activation(options_.activation));
  for (size_t i = widths.size() - 1; i > 0; --i) {
    decoder_->push_back(torch::nn::Linear(widths[i], widths[i - 1]));
    decoder_->push_back(make_activation(options_.activation));
  }
  decoder_->push_back(torch::nn::Linear(widths.front(), pixels));
  register_module("decoder", decoder_);
}

std::pair<torch::Tensor, torch::Tensor> VAEImpl::encode(const torch::Tensor& x) {
  // conv: [B, C, H, W] -> [B, C_last, S, S]; mlp: [B, C*H*W] -> [B, width_last]
  const auto input = options_.type == ModelType::Mlp ? x.flatten(1) : x;
  const auto features = encoder_->forward(input).flatten(1);  // [B, F]
  torch::Tensor mu, logvar;                                     // [B, latent] each
  if (options_.head == PosteriorHead::Split) {
    const auto both = head_->forward(features);  // [B, 2 * latent]: [mu | logvar]
    mu = both.narrow(/*dim=*/1, /*start=*/0, options_.latent_dim);
    logvar = both.narrow(/*dim=*/1, /*start=*/options_.latent_dim, options_.latent_dim);
  } else {
    mu = mu_head_->forward(features);
    logvar = logvar_head_->forward(features);
  }
  if (options_.logvar_clamp > 0.0) {
    logvar = logvar.clamp(-options_.logvar_clamp, options_.logvar_clamp);
  }
  return {mu, logvar};
}

torch::Tensor VAEImpl::decode(const torch::Tensor& z) {
  const auto h = decoder_input_->forward(z);  // [B, F]
  torch::Tensor out;                          // [B, C, H, W]
  if (options_.type == ModelType::Mlp) {
    const int64_t side = options_.image_size;
    out = decoder_->forward(h).view({z.size(0), options_.channels, side, side});
  } else {
    const int64_t side = spatial_.back();
    out = run_decoder(h.view({z.size(0), options_.hidden_dims.back(), side, side}));
  }
  if (options_.likelihood == Likelihood::Bernoulli) return out;  // logits
  switch (options_.range) {
    case PixelRange::Symmetric: return torch::tanh(out);
    case PixelRange::Unit: break;
  }
  return torch::sigmoid(out);
}

torch::Tensor VAEImpl::to_image(const torch::Tensor& reconstruction) const {
  if (options_.likelihood != Likelihood::Bernoulli) return reconstruction;
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

torch::Tensor reparameterized_draw(const torch::Tensor& mu, const torch::Tensor& logvar, at::Generator generator,
                                   double temperature) {
  const auto eps = torch::randn(mu.sizes(), generator, torch::kFloat).to(mu.device());
  return mu + torch::exp(0.5 * logvar) * (eps * temperature);
}

namespace {
// Multiply-adds of the conv, transposed-conv and linear layers of `layers` when `x` ([1, ...]) goes
// through them; `x` is advanced to the output.
int64_t sequential_multiply_adds(torch::nn::Sequential& layers, torch::Tensor& x) {
  int64_t total = 0;
  for (auto& layer : *layers) {
    torch::Tensor y = layer.forward(x);
    const auto module = layer.ptr();
    if (const auto* conv = module->as<torch::nn::Conv2d>()) {
      total += conv->weight.numel() * y.size(2) * y.size(3);  // each weight once per output pixel
    } else if (const auto* up = module->as<torch::nn::ConvTranspose2d>()) {
      total += up->weight.numel() * x.size(2) * x.size(3);  // each weight once per input pixel
    } else if (const auto* linear = module->as<torch::nn::Linear>()) {
      total += linear->weight.numel();
    }
    x = y;
  }
  return total;
}
}  // namespace


torch::Tensor VAEImpl::run_decoder(torch::Tensor h) {
  if (!transposed_conv_via_conv(h)) return decoder_->forward(h);
  size_t transposed = 0;  // index into transposed_geometry_
  for (auto& layer : *decoder_) {
    if (const auto* up = layer.ptr()->as<torch::nn::ConvTranspose2d>()) {
      const auto& g = transposed_geometry_.at(transposed++);
      h = conv_transpose2d_via_conv(h, up->weight, up->bias, g.stride, g.padding, g.output_padding);
    } else {
      h = layer.forward(h);
    }
  }
  return h;
}

int64_t VAEImpl::multiply_adds_per_image() {
  torch::NoGradGuard no_grad;
  const bool was_training = is_training();
  eval();  // batch norm on one image needs its running statistics
  const auto on = torch::TensorOptions().device(parameters().front().device());
  const int64_t side = options_.image_size;
  torch::Tensor x = torch::zeros({1, options_.channels, side, side}, on);
  if (options_.type == ModelType::Mlp) x = x.flatten(1);
  int64_t total = sequential_multiply_adds(encoder_, x);
  for (const auto& head : {mu_head_, logvar_head_, head_}) {
    if (!head.is_empty()) total += head->weight.numel();
  }
  total += decoder_input_->weight.numel();
  torch::Tensor h = options_.type == ModelType::Mlp
                        ? torch::zeros({1, options_.hidden_dims.back()}, on)
                        : torch::zeros({1, options_.hidden_dims.back(), spatial_.back(), spatial_.back()}, on);
  total += sequential_multiply_adds(decoder_, h);
  train(was_training);
  return total;
}

torch::Tensor VAEImpl::sample(int64_t n, double temperature, const torch::Device& device,
                              torch::optional<at::Generator> generator) {
  // [n, latent]
  auto z = torch::randn({n, options_.latent_dim}, generator, torch::TensorOptions());
  return to_image(decode(z.to(device) * temperature));
}

int64_t VAEImpl::parameter_count() {
  int64_t count = 0;
  for (const auto& parameter : parameters()) count += parameter.numel();
  return count;
}

}  // namespace vae
