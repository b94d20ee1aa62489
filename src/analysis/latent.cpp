// Latent-space tools: fitted inputs, posterior draws, interpolation, KL per dimension, traversal
// codes; see latent.h.
#include "vae/analysis/latent.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <numeric>
#include <sstream>

#include <spdlog/spdlog.h>

#include "vae/base/errors.h"
#include "vae/data/dataset.h"
#include "vae/data/loader.h"
#include "vae/data/pixels.h"
#include "vae/tensor/images.h"
#include "vae/io/image_codec.h"
#include "vae/io/transforms.h"
#include "vae/model/loss.h"
#include "vae/model/model.h"
#include "vae/base/text.h"

namespace vae {

namespace {
// Validation images whose mean KL per dimension orders the rows of a traversal.
constexpr size_t kKlImages = 512;
// Images per encoder pass while measuring it.
constexpr size_t kKlBatch = 128;

// Angles (radians) this close to 0 or pi make slerp fall back to a straight line.
constexpr double kParallelAngle = 1e-6;
// Norms below this count as the zero vector, which has no direction.
constexpr double kZeroNorm = 1e-12;

torch::Tensor as_cpu_double(const torch::Tensor& code) {
  return code.detach().to(torch::kCPU).to(torch::kDouble);  // MPS has no float64
}

// (1 - t) a + t b in double precision, in a's dtype and device.
torch::Tensor lerp(const torch::Tensor& a, const torch::Tensor& b, double t) {
  return ((1.0 - t) * as_cpu_double(a) + t * as_cpu_double(b)).to(a.options());
}

// The angle between unit vectors u and v as 2 atan2(|u - v|, |u + v|): accurate at every angle,
// where acos(u . v) loses half its digits near 0 and pi.
double unit_angle(const torch::Tensor& u, const torch::Tensor& v) {
  return 2.0 * std::atan2((u - v).norm().item<double>(), (u + v).norm().item<double>());
}

void check_code_pair(const torch::Tensor& a, const torch::Tensor& b) {
  TORCH_CHECK(a.dim() == 1 && a.sizes() == b.sizes(), "expected two codes [latent] of the same size, got ",
              a.sizes(), " and ", b.sizes());
}

std::string trim(const std::string& text) {
  const auto first = text.find_first_not_of(" \t");
  if (first == std::string::npos) return "";
  return text.substr(first, text.find_last_not_of(" \t") - first + 1);
}

bool all_digits(const std::string& text) {
  return !text.empty() && text.size() <= 18 &&
         std::all_of(text.begin(), text.end(), [](unsigned char c) { return std::isdigit(c) != 0; });
}
}  // namespace

torch::Tensor load_fitted_image(const std::string& path, const Config& config, std::string* steps) {
  const TransformSpec spec = transform_spec(config);
  PictureSize stored;
  const Image fitted = load_and_transform(path, spec, &stored);
  if (steps) *steps = describe_transforms(stored.width, stored.height, stored.channels, spec);
  return image_to_tensor(fitted);  // uint8 [C, S, S]
}

torch::Tensor load_model_inputs(const std::vector<std::string>& paths, const Config& config,
                                const torch::Device& device) {
  std::vector<torch::Tensor> pictures;  // uint8 [C, S, S] each
  for (const auto& path : paths) {
    std::string steps;
    pictures.push_back(load_fitted_image(path, config, &steps));
    spdlog::info("{}: {} (the model's data transforms)", path, steps);
  }
  return to_model_input(torch::stack(pictures), device, config.data.range);
}

torch::Tensor posterior_draws(const torch::Tensor& mu, const torch::Tensor& logvar, int64_t n,
                              double temperature, at::Generator generator) {
  check_code_pair(mu, logvar);
  return reparameterized_draw(mu.unsqueeze(0).expand({n, -1}), logvar.unsqueeze(0).expand({n, -1}), generator,
                              temperature);
}

torch::Tensor slerp(const torch::Tensor& a, const torch::Tensor& b, double t) {
  check_code_pair(a, b);
  if (t == 0.0) return a.clone();
  if (t == 1.0) return b.clone();
  const auto a64 = as_cpu_double(a), b64 = as_cpu_double(b);
  const double norm_a = a64.norm().item<double>(), norm_b = b64.norm().item<double>();
  if (norm_a < kZeroNorm || norm_b < kZeroNorm) return lerp(a, b, t);
  const auto unit_a = a64 / norm_a, unit_b = b64 / norm_b;
  const double omega = unit_angle(unit_a, unit_b);
  if (omega < kParallelAngle || kPi - omega < kParallelAngle) return lerp(a, b, t);
  const double sin_omega = std::sin(omega);
  // Unit direction on the great circle, then the linearly interpolated norm.
  const auto direction = (std::sin((1.0 - t) * omega) / sin_omega) * unit_a +
                         (std::sin(t * omega) / sin_omega) * unit_b;
  return (((1.0 - t) * norm_a + t * norm_b) * direction).to(a.options());
}

torch::Tensor interpolate_codes(const torch::Tensor& a, const torch::Tensor& b, int64_t steps,
                                bool spherical) {
  check_code_pair(a, b);
  TORCH_CHECK(steps >= 2, "interpolation needs at least 2 steps, got ", steps);
  std::vector<torch::Tensor> codes;  // steps x [latent]
  for (int64_t i = 0; i < steps; ++i) {
    const double t = double(i) / double(steps - 1);
    codes.push_back(spherical ? slerp(a, b, t) : lerp(a, b, t));
  }
  // The ends are the inputs themselves, so they decode to exactly what the inputs decode to.
  codes.front() = a.clone();
  codes.back() = b.clone();
  return torch::stack(codes);  // [steps, latent]
}

double angle_degrees(const torch::Tensor& a, const torch::Tensor& b) {
  check_code_pair(a, b);
  const auto a64 = as_cpu_double(a), b64 = as_cpu_double(b);
  const double norm_a = a64.norm().item<double>(), norm_b = b64.norm().item<double>();
  if (norm_a < kZeroNorm || norm_b < kZeroNorm) return 0.0;
  return unit_angle(a64 / norm_a, b64 / norm_b) * 180.0 / kPi;
}

torch::Tensor kl_per_dimension(const torch::Tensor& mu, const torch::Tensor& logvar) {
  TORCH_CHECK(mu.dim() == 2 && mu.sizes() == logvar.sizes(), "expected mu and logvar [B, latent], got ",
              mu.sizes(), " and ", logvar.sizes());
  return kl_per_latent(mu, logvar).mean(/*dim=*/0);  // [latent]
}

std::vector<int64_t> parse_dims(const std::string& text, int64_t latent_dim) {
  const std::string size_hint = "the checkpoint's latent size is " + std::to_string(latent_dim) +
                                " (dimensions 0-" + std::to_string(latent_dim - 1) + ")";
  std::vector<int64_t> dims;
  if (trim(text) == "all") {
    dims.resize(size_t(latent_dim));
    std::iota(dims.begin(), dims.end(), 0);
    return dims;
  }
  std::string item;
  std::istringstream in(text + ",");  // the trailing comma makes an empty last item visible
  while (std::getline(in, item, ',')) {
    item = trim(item);
    const bool negative = item.size() > 1 && item[0] == '-' && all_digits(item.substr(1));
    if (!all_digits(item) && !negative) {
      throw ConfigError("--dims: '" + text + "' is not 'all' or a comma-separated list of " +
                        "dimensions such as 0,3,7; " + size_hint);
    }
    const int64_t dim = std::stoll(item);
    if (negative || dim >= latent_dim) {
      throw ConfigError("--dims: dimension " + item + " is out of range: " + size_hint);
    }
    if (std::find(dims.begin(), dims.end(), dim) != dims.end()) {
      throw ConfigError("--dims: dimension " + item + " is given twice in '" + text + "'");
    }
    dims.push_back(dim);
  }
  return dims;
}

std::vector<int64_t> order_by_kl(const std::vector<int64_t>& dims, const torch::Tensor& kl) {
  const auto values = as_cpu_double(kl);
  TORCH_CHECK(values.dim() == 1, "expected KL per dimension [latent], got ", kl.sizes());
  const auto* kl_of = values.data_ptr<double>();
  std::vector<int64_t> ordered = dims;
  std::stable_sort(ordered.begin(), ordered.end(),
                   [&](int64_t x, int64_t y) { return kl_of[x] > kl_of[y]; });
  return ordered;
}

torch::Tensor traversal_codes(const torch::Tensor& base, const std::vector<int64_t>& dims,
                              double range, int64_t steps) {
  TORCH_CHECK(base.dim() == 1, "expected a base code [latent], got ", base.sizes());
  TORCH_CHECK(steps >= 2, "a traversal needs at least 2 steps, got ", steps);
  const int64_t rows = int64_t(dims.size());
  auto codes = base.detach().to(torch::kCPU, torch::kFloat).unsqueeze(0).repeat({rows * steps, 1});
  auto access = codes.accessor<float, 2>();  // [rows * steps, latent]
  for (int64_t row = 0; row < rows; ++row) {
    for (int64_t column = 0; column < steps; ++column) {
      // The fraction is exactly -1, 0 (middle of an odd count) and 1 where it should be.
      const double fraction = double(2 * column - (steps - 1)) / double(steps - 1);
      const double value = range * fraction;
      access[row * steps + column][dims[size_t(row)]] = float(value);
    }
  }
  return codes.to(base.options());
}

DatasetKl validation_kl(VAE& model, Config config, const torch::Device& device) {
  DatasetKl result;
  config.data.cache = false;  // a few hundred images: decode them, never build a whole store
  try {
    const auto dataset = make_dataset(config, Split::Val);
    const BatchLoader loader(dataset, loader_options(config, Split::Val));
    const size_t total = loader.dataset_size();
    const size_t count = std::min(kKlImages, total);
    std::vector<size_t> indices;  // evenly spread: folder datasets are sorted by class
    for (size_t i = 0; i < count; ++i) indices.push_back(i * total / count);
    auto generator = at::detail::createCPUGenerator(uint64_t(config.train.seed));
    std::vector<torch::Tensor> mus, logvars;  // [b, latent] each
    for (size_t start = 0; start < count; start += kKlBatch) {
      const std::vector<size_t> chunk(indices.begin() + long(start),
                                      indices.begin() + long(std::min(start + kKlBatch, count)));
      const auto batch = loader.gather(chunk);  // uint8 [b, C, S, S]
      if (!batch.defined()) continue;           // every item skipped as corrupt
      // As the model saw its data in training (binarised when data.binarize).
      const auto [mu, logvar] = model->encode(model_input(batch, device, config, generator));
      mus.push_back(mu);
      logvars.push_back(logvar);
    }
    if (mus.empty()) {
      result.why_not = "its validation split has no images";
      return result;
    }
    const auto mu = torch::cat(mus), logvar = torch::cat(logvars);  // [N, latent]
    result.source = "the mean over " + std::to_string(mu.size(0)) + " images of the " +
              to_string(config.data.dataset) + " validation split";
    result.kl = kl_per_dimension(mu, logvar);
  } catch (const Error& error) {
    result.why_not = error.what();
  }
  return result;
}

}  // namespace vae
