// Evaluation measures on cases with known answers: the importance-sampled log-likelihood against
// the closed-form marginal of a linear-Gaussian model, the likelihood constants, active units,
// PSNR, discretisation and the Mutual Information Gap.
#include <gtest/gtest.h>

#include <cmath>

#include "vae/analysis/evaluation.h"
#include "vae/model/loss.h"

namespace {

// Linear-Gaussian model: z ~ N(0, I_2), x | z ~ N(W z + b, s2 I_3). Then x ~ N(b, W W^T + s2 I)
// and the posterior is N(S W^T (x - b) / s2, S) with S = (I + W^T W / s2)^-1.
struct LinearGaussian {
  torch::Tensor w = torch::tensor({{1.0, -0.5}, {0.3, 0.8}, {-1.2, 0.4}}, torch::kDouble);
  torch::Tensor b = torch::tensor({0.2, -0.1, 0.5}, torch::kDouble);
  double s2 = 0.3;

  // [S, B, 2] -> log p(x_b | z) [S, B]
  torch::Tensor log_likelihood(const torch::Tensor& z, const torch::Tensor& x) const {
    const auto mean = torch::matmul(z.to(torch::kDouble), w.t()) + b;  // [S, B, 3]
    const auto logvar = torch::full({3}, std::log(s2), torch::kDouble);
    return vae::diagonal_gaussian_log_density(x.to(torch::kDouble).unsqueeze(0), mean, logvar).to(torch::kFloat);
  }
  // Exact log p(x) [B].
  torch::Tensor log_marginal(const torch::Tensor& x) const {
    const auto cov = torch::matmul(w, w.t()) + s2 * torch::eye(3, torch::kDouble);
    const auto d = x.to(torch::kDouble) - b;  // [B, 3]
    const auto solved = torch::linalg_solve(cov, d.t()).t();
    return (-0.5 * (3 * std::log(2 * M_PI) + torch::logdet(cov) + (d * solved).sum(1))).to(torch::kFloat);
  }
  // Exact posterior (mu [B, 2], logvar [B, 2]) is not diagonal in general; its diagonal is used
  // only where the test says so.
  std::pair<torch::Tensor, torch::Tensor> posterior(const torch::Tensor& x) const {
    const auto precision = torch::eye(2, torch::kDouble) + torch::matmul(w.t(), w) / s2;
    const auto cov = torch::inverse(precision);
    const auto mu = torch::matmul(torch::matmul(x.to(torch::kDouble) - b, w), cov.t()) / s2;
    return {mu.to(torch::kFloat), torch::log(torch::diagonal(cov)).expand({x.size(0), 2}).to(torch::kFloat)};
  }
};

torch::Tensor points() { return torch::tensor({{0.5, 0.1, -0.7}, {-1.0, 0.9, 1.5}, {0.0, 0.0, 0.0}}); }

TEST(Evaluation, ImportanceEstimateIsExactWhenQIsTheTruePosterior) {
  // With a diagonal true posterior (orthogonal columns of W), every importance weight equals p(x).
  LinearGaussian model;
  model.w = torch::tensor({{1.0, 0.0}, {0.0, 2.0}, {0.0, 0.0}}, torch::kDouble);
  const auto x = points();
  const auto [mu, logvar] = model.posterior(x);
  auto generator = at::detail::createCPUGenerator(1);
  const auto estimate = vae::importance_log_marginal(
      mu, logvar, /*samples=*/3, /*chunk=*/3, [&](const torch::Tensor& z) { return model.log_likelihood(z, x); },
      generator);
  EXPECT_TRUE(torch::allclose(estimate, model.log_marginal(x), /*rtol=*/0, /*atol=*/1e-4))
      << estimate << model.log_marginal(x);
}

TEST(Evaluation, ImportanceEstimateConvergesToTheMarginalFromBelow) {
  LinearGaussian model;
  const auto x = points();
  const auto exact = model.log_marginal(x);
  auto [mu, logvar] = model.posterior(x);
  mu = mu + 0.4;          // a poor encoder: shifted,
  logvar = logvar + 0.8;  // and too wide
  auto error_with = [&](int64_t samples, int64_t repeats) {
    auto generator = at::detail::createCPUGenerator(7);
    double total = 0;
    for (int64_t r = 0; r < repeats; ++r) {
      const auto estimate = vae::importance_log_marginal(
          mu, logvar, samples, /*chunk=*/257, [&](const torch::Tensor& z) { return model.log_likelihood(z, x); },
          generator);
      total += (exact - estimate).mean().item<double>();
    }
    return total / double(repeats);
  };
  const double gap1 = error_with(1, 400), gap10 = error_with(10, 100), gap5000 = error_with(5000, 2);
  EXPECT_GT(gap1, 0.05);  // K = 1 is the ELBO: clearly below log p(x)
  EXPECT_GT(gap1, gap10);
  EXPECT_GT(gap10, gap5000);
  EXPECT_NEAR(gap5000, 0.0, 0.01);
}

TEST(Evaluation, ImportanceEstimateIsSeededAndStableForLargeLogLikelihoods) {
  const auto mu = torch::zeros({2, 3}), logvar = torch::zeros({2, 3});
  auto huge = [](const torch::Tensor& z) { return -5e4 + z.sum(-1); };  // exp() would underflow
  auto a = at::detail::createCPUGenerator(3), b = at::detail::createCPUGenerator(3);
  const auto first = vae::importance_log_marginal(mu, logvar, 100, 30, huge, a);
  const auto second = vae::importance_log_marginal(mu, logvar, 100, 30, huge, b);
  EXPECT_TRUE(torch::isfinite(first).all().item<bool>());
  EXPECT_TRUE(torch::equal(first, second));
  EXPECT_NEAR(first[0].item<double>(), -5e4 + 1.5, 1.0);  // log E[exp(sum z)] = 3/2 for z ~ N(0, I_3)
}

TEST(Evaluation, LikelihoodsAreNormalisedDensities) {
  const auto mean = torch::rand({2, 1, 4, 4}), x = torch::rand({2, 1, 4, 4});
  // Gaussian: N(x; mean, 1/2 I) per image.
  const auto expected = vae::diagonal_gaussian_log_density(x.flatten(1), mean.flatten(1),
                                                           torch::full({16}, std::log(0.5)));
  EXPECT_TRUE(torch::allclose(vae::log_likelihood_per_item(mean, x, vae::Likelihood::Gaussian), expected, 1e-5, 1e-4));
  // Bernoulli: sum of log sigmoid(l) where x = 1 and log(1 - sigmoid(l)) where x = 0.
  const auto logits = torch::randn({2, 1, 4, 4}), bits = torch::bernoulli(torch::full({2, 1, 4, 4}, 0.5));
  const auto p = torch::sigmoid(logits);
  const auto manual = (bits * torch::log(p) + (1 - bits) * torch::log(1 - p)).flatten(1).sum(1);
  EXPECT_TRUE(torch::allclose(vae::log_likelihood_per_item(logits, bits, vae::Likelihood::Bernoulli), manual, 1e-5, 1e-4));
}

TEST(Evaluation, ActiveUnitsCountDimensionsWhoseMeanVaries) {
  torch::manual_seed(0);
  const auto n = 20000;
  const auto means = torch::stack({torch::randn({n}), 0.2 * torch::randn({n}), 0.05 * torch::randn({n}),
                                   torch::full({n}, 3.0)}, 1);  // variances 1, 0.04, 0.0025, 0
  const auto variance = vae::posterior_mean_variance(means);
  EXPECT_NEAR(variance[1].item<double>(), 0.04, 0.002);
  EXPECT_EQ(vae::count_active_units(means), 2);
  EXPECT_EQ(vae::count_active_units(means, 0.001), 3);
}

TEST(Evaluation, PsnrOfKnownErrors) {
  const auto reference = torch::full({2, 1, 8, 8}, 0.5);
  const auto images = torch::cat({reference.narrow(0, 0, 1) + 0.1, reference.narrow(0, 1, 1)});
  const auto psnr = vae::psnr_per_image(images, reference);  // MSE 0.01 -> 20 dB; identical -> cap
  EXPECT_NEAR(psnr[0].item<double>(), 20.0, 1e-3);
  EXPECT_DOUBLE_EQ(psnr[1].item<double>(), vae::kMaxPsnr);
}

TEST(Evaluation, DiscretizeKeepsFewValuesAndBinsMany) {
  const auto values = torch::stack({torch::tensor({3.0, 1.0, 3.0, 7.0}), torch::tensor({0.0, 0.49, 0.51, 1.0})}, 1);
  const auto bins = vae::discretize(values, /*bins=*/3);
  EXPECT_TRUE(torch::equal(bins.select(1, 0), torch::tensor({1, 0, 1, 2}, torch::kLong)));
  EXPECT_TRUE(torch::equal(vae::discretize(values, 2).select(1, 1), torch::tensor({0, 0, 1, 1}, torch::kLong)));
}

// Factors: 4 and 5 equally likely values, independent.
torch::Tensor two_factors(int64_t n) {
  return torch::stack({torch::randint(0, 4, {n}), torch::randint(0, 5, {n})}, 1).to(torch::kFloat);
}

TEST(Evaluation, MigIsOneForAPerfectlyDisentangledCode) {
  torch::manual_seed(1);
  const auto factors = two_factors(5000);
  const auto codes = torch::cat({factors, torch::randn({5000, 1})}, 1);  // plus a nuisance dimension
  const auto result = vae::mutual_information_gap(codes, factors, /*bins=*/20);
  EXPECT_NEAR(result.mig, 1.0, 0.02);
  ASSERT_EQ(result.per_factor.size(), 2u);
}

TEST(Evaluation, MigIsZeroForAFactorCodedTwice) {
  torch::manual_seed(2);
  const auto factors = two_factors(5000);
  const auto v0 = factors.select(1, 0).unsqueeze(1), v1 = factors.select(1, 1).unsqueeze(1);
  const auto result = vae::mutual_information_gap(torch::cat({v0, v0, v1}, 1), factors, 20);
  EXPECT_NEAR(result.per_factor[0], 0.0, 1e-9);  // two latents share factor 0: no gap
  EXPECT_NEAR(result.per_factor[1], 1.0, 0.02);
  EXPECT_NEAR(result.mig, 0.5, 0.01);
}

TEST(Evaluation, MigIsNearZeroForCodesIndependentOfTheFactors) {
  torch::manual_seed(3);
  const auto factors = two_factors(20000);
  const auto result = vae::mutual_information_gap(torch::randn({20000, 4}), factors, 20);
  EXPECT_LT(result.mig, 0.02);
}

TEST(Evaluation, ConstantFactorsAreLeftOutOfTheMean) {
  torch::manual_seed(4);
  auto factors = two_factors(3000);
  factors.select(1, 1).fill_(2.0);
  const auto result = vae::mutual_information_gap(factors, factors, 20);
  EXPECT_EQ(result.per_factor[1], 0.0);
  EXPECT_NEAR(result.mig, 1.0, 0.02);  // factor 0 alone
}

}  // namespace
