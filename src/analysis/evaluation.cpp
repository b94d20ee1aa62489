// The measures of `vae eval`; see evaluation.h.
#include "vae/analysis/evaluation.h"

#include <algorithm>
#include <cmath>

#include "vae/model/loss.h"

namespace vae {

torch::Tensor diagonal_gaussian_log_density(const torch::Tensor& z, const torch::Tensor& mu,
                                            const torch::Tensor& logvar) {
  const double log_two_pi = std::log(2.0 * M_PI);
  return (-0.5 * (log_two_pi + logvar + (z - mu).pow(2) * torch::exp(-logvar))).sum(-1);
}

torch::Tensor log_likelihood_per_item(const torch::Tensor& reconstruction, const torch::Tensor& target,
                                      const std::string& likelihood) {
  const auto recon = recon_per_item(reconstruction, target, likelihood);  // [B]
  if (likelihood == "bernoulli") return -recon;
  const double pixels = double(target[0].numel());
  return -recon - 0.5 * pixels * std::log(M_PI);
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
    partial.push_back(torch::logsumexp(log_weights.to(torch::kDouble), /*dim=*/0));
  }
  return (torch::logsumexp(torch::stack(partial), /*dim=*/0) - std::log(double(samples))).to(torch::kFloat);
}

torch::Tensor posterior_mean_variance(const torch::Tensor& means) {
  return means.to(torch::kDouble).var(/*dim=*/0, /*unbiased=*/false).to(torch::kFloat);
}

int64_t count_active_units(const torch::Tensor& means, double threshold) {
  return posterior_mean_variance(means).gt(threshold).sum().item<int64_t>();
}

torch::Tensor psnr_per_image(const torch::Tensor& images, const torch::Tensor& references) {
  const auto mse = (images - references).pow(2).flatten(1).mean(1).to(torch::kDouble);  // [N]
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
  const auto columns = values.to(torch::kDouble).cpu();  // [N, K]
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
  const auto code_columns = codes.to(torch::kDouble).cpu();
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

}  // namespace vae
