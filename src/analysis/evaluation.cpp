// The measures of `vae eval`; see evaluation.h.
#include "vae/analysis/evaluation.h"

#include <algorithm>
#include <cmath>

#include <spdlog/spdlog.h>

#include "vae/base/clock.h"
#include "vae/base/errors.h"
#include "vae/base/text.h"
#include "vae/data/loader.h"
#include "vae/data/pixels.h"
#include "vae/data/shapes.h"
#include "vae/model/loss.h"
#include "vae/tensor/device.h"

namespace vae {

torch::Tensor diagonal_gaussian_log_density(const torch::Tensor& z, const torch::Tensor& mu,
                                            const torch::Tensor& logvar) {
  const double log_two_pi = std::log(2.0 * kPi);
  return (-0.5 * (log_two_pi + logvar + (z - mu).pow(2) * torch::exp(-logvar))).sum(-1);
}

torch::Tensor log_likelihood_per_item(const torch::Tensor& reconstruction, const torch::Tensor& target,
                                      Likelihood likelihood) {
  const auto recon = recon_per_item(reconstruction, target, likelihood);  // [B]
  if (likelihood == Likelihood::Bernoulli) return -recon;
  const double pixels = double(target[0].numel());
  return -recon - 0.5 * pixels * std::log(kPi);
}

torch::Tensor importance_log_marginal(const torch::Tensor& mu, const torch::Tensor& logvar, int64_t samples,
                                      int64_t chunk, const LatentLogLikelihood& log_likelihood,
                                      at::Generator generator) {
  const auto std_dev = torch::exp(0.5 * logvar);  // [B, L]
  const auto zeros = torch::zeros_like(mu);
  std::vector<torch::Tensor> partial;  // log-sum-exp of each chunk's weights: [B] each
  for (int64_t first = 0; first < samples; first += chunk) {
    const int64_t count = std::min(chunk, samples - first);
    // [S, B, L] draws from q(z|x), made on the CPU so the seed fixes them on any device.
    const auto eps = torch::randn({count, mu.size(0), mu.size(1)}, generator, torch::kFloat).to(mu.device());
    const auto z = mu.unsqueeze(0) + std_dev.unsqueeze(0) * eps;
    const auto log_weights = log_likelihood(z) + diagonal_gaussian_log_density(z, zeros, zeros) -
                             diagonal_gaussian_log_density(z, mu.unsqueeze(0), logvar.unsqueeze(0));  // [S, B]
    partial.push_back(torch::logsumexp(to_float64(log_weights), /*dim=*/0));
  }
  return (torch::logsumexp(torch::stack(partial), /*dim=*/0) - std::log(double(samples))).to(torch::kFloat);
}

torch::Tensor posterior_mean_variance(const torch::Tensor& means) {
  return to_float64(means).var(/*dim=*/0, /*unbiased=*/false).to(torch::kFloat);
}

int64_t count_active_units(const torch::Tensor& means, double threshold) {
  return posterior_mean_variance(means).gt(threshold).sum().item<int64_t>();
}

torch::Tensor psnr_per_image(const torch::Tensor& images, const torch::Tensor& references) {
  const auto mse = (images - references).pow(2).flatten(1).mean(1).to(torch::kCPU).to(torch::kDouble);  // [N]
  return (-10.0 * torch::log10(mse)).clamp_max(kMaxPsnr).to(torch::kFloat);
}

namespace {

// `bins` equal-width bin indices of a double column [N] over its range (all 0 when constant).
torch::Tensor equal_width_bins(const torch::Tensor& column, int64_t bins) {
  const double low = column.min().item<double>(), high = column.max().item<double>();
  const double width = high > low ? (high - low) / double(bins) : 1.0;
  return ((column - low) / width).floor().clamp(0, double(bins - 1));
}

}  // namespace

torch::Tensor discretize(const torch::Tensor& values, int64_t bins) {
  const auto columns = values.cpu().to(torch::kDouble);  // [N, K]
  auto out = torch::empty(columns.sizes(), torch::kLong);
  for (int64_t k = 0; k < columns.size(1); ++k) {
    const auto column = columns.select(1, k);
    const auto distinct = std::get<0>(at::_unique(column, /*sorted=*/true));
    if (distinct.numel() <= bins) {
      out.select(1, k).copy_(torch::searchsorted(distinct, column.contiguous()));
      continue;
    }
    out.select(1, k).copy_(equal_width_bins(column, bins));
  }
  return out;
}

namespace {

// Mutual information in nats of two integer labellings [N] with values < a_values, b_values.
double mutual_information(const torch::Tensor& a, int64_t a_values, const torch::Tensor& b, int64_t b_values) {
  const auto joint = torch::bincount(a * b_values + b, /*weights=*/{}, a_values * b_values)
                         .to(torch::kDouble)
                         .view({a_values, b_values});
  const auto p = joint / double(a.numel());
  const auto pa = p.sum(1, /*keepdim=*/true), pb = p.sum(0, /*keepdim=*/true);
  const auto terms = p * torch::log(p / (pa * pb));
  return torch::where(p > 0, terms, torch::zeros_like(terms)).sum().item<double>();
}

double entropy(const torch::Tensor& labels, int64_t values) {
  const auto p = torch::bincount(labels, /*weights=*/{}, values).to(torch::kDouble) / double(labels.numel());
  const auto terms = -p * torch::log(p);
  return torch::where(p > 0, terms, torch::zeros_like(terms)).sum().item<double>();
}

}  // namespace

MigResult mutual_information_gap(const torch::Tensor& codes, const torch::Tensor& factors, int64_t bins) {
  // Codes always get equal-width bins (even when they take few values): a constant code carries
  // no information, whatever it is.
  const auto code_columns = codes.cpu().to(torch::kDouble);
  auto code_bins = torch::empty(code_columns.sizes(), torch::kLong);
  for (int64_t j = 0; j < codes.size(1); ++j) code_bins.select(1, j).copy_(equal_width_bins(code_columns.select(1, j), bins));
  const auto factor_bins = discretize(factors, bins);
  MigResult result;
  double sum = 0;
  int64_t counted = 0;
  for (int64_t k = 0; k < factors.size(1); ++k) {
    const auto v = factor_bins.select(1, k).contiguous();
    const int64_t v_values = v.max().item<int64_t>() + 1;
    const double h = entropy(v, v_values);
    if (h <= 1e-12) {
      result.per_factor.push_back(0.0);
      continue;
    }
    std::vector<double> information;
    for (int64_t j = 0; j < codes.size(1); ++j) {
      information.push_back(mutual_information(code_bins.select(1, j).contiguous(), bins, v, v_values));
    }
    std::sort(information.rbegin(), information.rend());
    const double second = information.size() > 1 ? information[1] : 0.0;
    const double gap = (information[0] - second) / h;
    result.per_factor.push_back(gap);
    sum += gap;
    ++counted;
  }
  result.mig = counted > 0 ? sum / double(counted) : 0.0;
  return result;
}

namespace {

// Decoded images per pass of the importance sampler: bounds its memory whatever K and the batch.
constexpr int64_t kDecodedPerPass = 8192;
// Seconds between progress lines.
constexpr double kProgressEvery = 10.0;

// Running sums over the split.
struct Totals {
  double recon = 0, kl = 0, log_marginal = 0, psnr = 0, squared_error = 0;
  int64_t images = 0;
  std::vector<torch::Tensor> means;  // [B, L] posterior means, on the CPU
  torch::Tensor kl_dims;             // [L] summed over images
};

}  // namespace

double bits_per_dim(double nll, int64_t dims) { return nll / (double(dims) * std::log(2.0)); }

std::string likelihood_note(Likelihood likelihood) {
  switch (likelihood) {
    case Likelihood::Bernoulli:
      return "bernoulli: a probability mass on binary pixels, so -ELBO >= NLL > 0 and bits/dim compare with "
             "published binarised-data results";
    case Likelihood::Gaussian:
      return "gaussian (variance 1/2, the squared-error loss): reconstruction, -ELBO and NLL are densities of "
             "the pixel values in the model's range, in nats; they compare with each other and with other "
             "models of this likelihood, not with discrete likelihoods, so no bits/dim are given";
  }
  return "";
}

nlohmann::json evaluate_model(LoadedModel& loaded, const EvaluationOptions& args) {
  const Config& config = loaded.config;
  const torch::Device device = loaded.device;
  VAE& model = loaded.model;
  const Split split = args.split == "test" ? Split::Test : Split::Val;
  auto dataset = make_dataset(config, split);
  LoaderOptions options = loader_options(config, split);
  options.batch_size = args.batch;
  BatchLoader loader(dataset, options);
  torch::NoGradGuard no_grad;
  auto generator = at::detail::createCPUGenerator(uint64_t(args.seed));

  const int64_t total = args.limit > 0 ? std::min<int64_t>(args.limit, int64_t(loader.dataset_size()))
                                       : int64_t(loader.dataset_size());
  if (total == 0) throw DataError("the " + args.split + " split of " + dataset->describe() + " is empty");
  spdlog::info("evaluating {} on {} images of the {} split of {}, {} importance samples, seed {}",
               loaded.path, total, args.split, dataset->describe(), args.iw_samples, args.seed);
  const int64_t latent = config.model.latent_dim;
  Totals sums;
  sums.kl_dims = torch::zeros({latent}, torch::kDouble);
  const auto start = Clock::now();
  auto last_report = start;
  const auto stream = loader.stream(/*epoch=*/0);
  for (torch::Tensor batch = stream->next(); batch.defined() && sums.images < total; batch = stream->next()) {
    if (sums.images + batch.size(0) > total) batch = batch.narrow(0, 0, total - sums.images);
    const int64_t b = batch.size(0);
    const auto x = model_input(batch, device, config, generator);  // [B, C, H, W], binarised if so configured
    const auto [mu, logvar] = model->encode(x);                     // [B, L] each
    // One-sample ELBO terms, as in training but with seeded draws.
    const auto z = reparameterized_draw(mu, logvar, generator);
    // -log p(x|z) under the density the NLL uses (for the Gaussian, the squared error plus its
    // normalising constant), so that the negative ELBO and the NLL are in the same units.
    const auto decoded = model->decode(z);
    sums.recon -= log_likelihood_per_item(decoded, x, config.loss.likelihood).sum().item<double>();
    if (config.loss.likelihood == Likelihood::Gaussian) {
      sums.squared_error += recon_per_item(decoded, x, config.loss.likelihood).sum().item<double>();
    }
    const auto kl_dims = kl_per_latent(mu, logvar);  // [B, L]
    sums.kl += kl_dims.sum().item<double>();
    sums.kl_dims += kl_dims.sum(0).to(torch::kCPU).to(torch::kDouble);
    // PSNR of the mean reconstruction against the image, both in [0, 1]; for binarised data the
    // image before binarisation (the decoder's probabilities estimate its intensities).
    const auto mean_images = to_unit_range(model->to_image(model->decode(mu)), config.data.range);
    const auto images = to_unit_range(to_model_input(batch, device, config.data.range), config.data.range);
    sums.psnr += psnr_per_image(mean_images, images).sum().item<double>();
    if (args.iw_samples > 0) {
      const int64_t chunk = std::max<int64_t>(1, kDecodedPerPass / b);
      const auto log_likelihood = [&](const torch::Tensor& draws) {  // [S, B, L] -> [S, B]
        const int64_t s = draws.size(0);
        const auto decoded = model->decode(draws.reshape({s * b, latent}));
        const auto targets = x.unsqueeze(0).expand({s, b, x.size(1), x.size(2), x.size(3)})
                                 .reshape({s * b, x.size(1), x.size(2), x.size(3)});
        return log_likelihood_per_item(decoded, targets, config.loss.likelihood).view({s, b});
      };
      sums.log_marginal +=
          importance_log_marginal(mu, logvar, args.iw_samples, chunk, log_likelihood, generator).sum().item<double>();
    }
    sums.means.push_back(mu.to(torch::kCPU));
    sums.images += b;
    const auto now = Clock::now();
    if (seconds_between(last_report, now) > kProgressEvery) {
      last_report = now;
      const double elapsed = seconds_between(start, now);
      spdlog::info("{}/{} images, {:.0f} s, about {:.0f} s left", sums.images, total, elapsed,
                   elapsed / double(sums.images) * double(total - sums.images));
    }
  }
  const double n = double(sums.images);
  const auto means = torch::cat(sums.means);  // [N, L]
  const int64_t dims = config.data.channels * config.data.image_size * config.data.image_size;
  nlohmann::json result = {{"checkpoint", loaded.path},
                           {"split", args.split},
                           {"images", sums.images},
                           {"seed", args.seed},
                           {"recon", sums.recon / n},
                           {"kl", sums.kl / n},
                           {"neg_elbo", (sums.recon + sums.kl) / n},
                           {"active_units", count_active_units(means)},
                           {"latent_dim", latent},
                           {"psnr", sums.psnr / n},
                           {"likelihood", config.loss.likelihood},
                           {"likelihood_note", likelihood_note(config.loss.likelihood)}};
  if (config.loss.likelihood == Likelihood::Gaussian) result["squared_error"] = sums.squared_error / n;
  std::vector<double> kl_per_dim;
  for (int64_t u = 0; u < latent; ++u) kl_per_dim.push_back(sums.kl_dims[u].item<double>() / n);
  result["kl_per_dim"] = kl_per_dim;
  std::vector<double> variance;
  const auto variances = posterior_mean_variance(means);
  for (int64_t u = 0; u < latent; ++u) variance.push_back(variances[u].item<double>());
  result["mean_variance_per_dim"] = variance;
  if (args.iw_samples > 0) {
    const double nll = -sums.log_marginal / n;
    result["iw_samples"] = args.iw_samples;
    result["nll"] = nll;
    if (config.loss.likelihood == Likelihood::Bernoulli) result["bits_per_dim"] = bits_per_dim(nll, dims);
  }
  if (const auto* shapes = dynamic_cast<const ShapesDataset*>(dataset.get())) {
    auto factors = torch::empty({sums.images, kShapeFactorCount});
    for (int64_t i = 0; i < sums.images; ++i) {
      const ShapeFactors f = shapes->factors(size_t(i));
      factors[i] = torch::tensor({double(f.shape), f.scale, f.rotation, f.x, f.y}, torch::kFloat);
    }
    const MigResult mig = mutual_information_gap(means, factors);
    result["mig"] = mig.mig;
    result["mig_per_factor"] = {{"shape", mig.per_factor[0]}, {"scale", mig.per_factor[1]},
                                {"rotation", mig.per_factor[2]}, {"x", mig.per_factor[3]}, {"y", mig.per_factor[4]}};
  }
  result["seconds"] = seconds_since(start);
  return result;
}

}  // namespace vae
