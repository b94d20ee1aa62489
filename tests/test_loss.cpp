// Loss terms against hand-computed closed forms.
#include <gtest/gtest.h>

#include <cmath>

#include "vae/model/loss.h"

namespace {

TEST(Loss, KlIsZeroForThePrior) {
  const auto mu = torch::zeros({4, 3});
  const auto logvar = torch::zeros({4, 3});
  EXPECT_TRUE(torch::allclose(vae::kl_per_latent(mu, logvar).sum(1), torch::zeros({4})));
}

TEST(Loss, KlMatchesClosedForm) {
  // One latent with mu = 1, var = e: KL = 1/2 (var + mu^2 - 1 - log var) = 1/2 (e + 1 - 1 - 1).
  // A second with mu = -2, var = 1: KL = 1/2 * 4 = 2. Summed over latents.
  const auto mu = torch::tensor({{1.0f, -2.0f}});
  const auto logvar = torch::tensor({{1.0f, 0.0f}});
  const double expected = 0.5 * (std::exp(1.0) - 1.0) + 2.0;
  EXPECT_NEAR(vae::kl_per_latent(mu, logvar).sum(1).item<double>(), expected, 1e-5);
}

TEST(Loss, GaussianReconIsSquaredErrorSummedOverPixels) {
  const auto target = torch::zeros({2, 1, 2, 2});
  auto recon = torch::zeros({2, 1, 2, 2});
  recon[0].fill_(0.5);  // 4 pixels * 0.25 = 1.0
  recon[1][0][0][0] = 2.0;  // 4.0
  const auto per_item = vae::recon_per_item(recon, target, vae::Likelihood::Gaussian);
  EXPECT_NEAR(per_item[0].item<double>(), 1.0, 1e-6);
  EXPECT_NEAR(per_item[1].item<double>(), 4.0, 1e-6);
}

TEST(Loss, BernoulliReconIsBceOnLogits) {
  // logit 0 -> p = 1/2: -log(1/2) per pixel whatever the target; logit log(3) -> p = 3/4.
  const auto target = torch::tensor({1.0f, 0.0f, 1.0f, 0.0f}).view({1, 1, 2, 2});
  const auto logits = torch::tensor({0.0f, 0.0f, std::log(3.0f), std::log(3.0f)}).view({1, 1, 2, 2});
  const double expected = 2 * std::log(2.0) - std::log(0.75) - std::log(0.25);
  EXPECT_NEAR(vae::recon_per_item(logits, target, vae::Likelihood::Bernoulli).item<double>(), expected, 1e-5);
}

TEST(Loss, BernoulliIsStableForLargeLogits) {
  const auto target = torch::ones({1, 1, 1, 1});
  const auto logits = torch::full({1, 1, 1, 1}, -200.0f);
  EXPECT_NEAR(vae::recon_per_item(logits, target, vae::Likelihood::Bernoulli).item<double>(), 200.0, 1e-3);
}

TEST(Loss, TermsAverageOverBatchAndWeightKlByBeta) {
  const auto target = torch::zeros({2, 1, 1, 2});
  auto recon = torch::zeros({2, 1, 1, 2});
  recon[0].fill_(1.0);  // item 0: recon 2, item 1: recon 0 -> mean 1
  const auto mu = torch::tensor({{2.0f}, {0.0f}});  // item 0: KL 2, item 1: KL 0 -> mean 1
  const auto logvar = torch::zeros({2, 1});
  const vae::ElboTerms terms = vae::elbo_terms(recon, target, mu, logvar, vae::Likelihood::Gaussian, /*beta=*/4.0);
  EXPECT_NEAR(terms.recon.item<double>(), 1.0, 1e-6);
  EXPECT_NEAR(terms.kl.item<double>(), 1.0, 1e-6);
  EXPECT_NEAR(terms.loss.item<double>(), 1.0 + 4.0 * 1.0, 1e-6);
  EXPECT_NEAR(terms.elbo.item<double>(), -2.0, 1e-6);  // unweighted
}

TEST(Loss, GradientOfKlMatchesAnalyticForm) {
  // d KL / d mu = mu; d KL / d logvar = (exp(logvar) - 1) / 2.
  auto mu = torch::tensor({{0.5f, -1.5f}}, torch::requires_grad());
  auto logvar = torch::tensor({{0.3f, -0.7f}}, torch::requires_grad());
  vae::kl_per_latent(mu, logvar).sum(1).sum().backward();
  EXPECT_TRUE(torch::allclose(mu.grad(), mu.detach()));
  EXPECT_TRUE(torch::allclose(logvar.grad(), (logvar.detach().exp() - 1) / 2));
}

}  // namespace

namespace {

// Two items, 4 pixels each, 2 latents: recon per item 1 and 3; KL per item 2 and 4.
struct Fixture {
  torch::Tensor target = torch::zeros({2, 1, 2, 2});
  torch::Tensor recon = torch::zeros({2, 1, 2, 2});
  torch::Tensor mu = torch::tensor({{1.0f, std::sqrt(2.0f)}, {2.0f, 0.0f}});  // KL = mu^2 / 2
  torch::Tensor logvar = torch::zeros({2, 2});
  Fixture() {
    recon[0][0][0][0] = 1.0;                    // item 0: squared error 1
    recon[1][0][0][0] = std::sqrt(3.0f);        // item 1: squared error 3
  }
};

TEST(LossReductions, PresetConventionsMatchHandComputedValues) {
  Fixture f;
  auto run = [&](const char* recon_reduction, const char* kl_reduction, const char* batch, double weight) {
    vae::LossSettings settings;
    settings.likelihood = vae::Likelihood::Gaussian;
    settings.recon_reduction = vae::from_string<vae::ReconReduction>(recon_reduction);
    settings.kl_reduction = vae::from_string<vae::KlReduction>(kl_reduction);
    settings.batch_reduction = vae::from_string<vae::BatchReduction>(batch);
    return vae::elbo_terms(f.recon, f.target, f.mu, f.logvar, settings, weight);
  };
  // KL per item: item 0 = (1 + 2) / 2 = 1.5, item 1 = 4 / 2 = 2.
  // Default: sums over pixels and latents, mean over batch: recon 2, KL 1.75.
  auto terms = run("sum", "sum", "mean", 1.0);
  EXPECT_NEAR(terms.loss.item<double>(), 2.0 + 1.75, 1e-5);
  EXPECT_NEAR(terms.recon.item<double>(), 2.0, 1e-5);
  EXPECT_NEAR(terms.kl.item<double>(), 1.75, 1e-5);
  // Write-up 000: everything summed over the batch.
  EXPECT_NEAR(run("sum", "sum", "sum", 1.0).loss.item<double>(), 4.0 + 3.5, 1e-5);
  // Write-up 001: MSE averaged over all elements + 0.001 * KL / (B * L).
  EXPECT_NEAR(run("mean", "mean", "mean", 0.001).loss.item<double>(), 0.5 + 0.001 * 0.875, 1e-6);
  // Write-up 003: BCE and KL both divided by B * pixels (here: squared error for the arithmetic).
  EXPECT_NEAR(run("mean", "per_pixel", "mean", 1.0).loss.item<double>(), 0.5 + 1.75 / 4, 1e-6);
  // Canonical terms do not depend on the reductions.
  EXPECT_NEAR(run("mean", "per_pixel", "sum", 1.0).elbo.item<double>(), -3.75, 1e-5);
}

TEST(LossReductions, FreeBitsFloorEachLatentsBatchMeanKl) {
  Fixture f;
  vae::LossSettings settings;
  settings.likelihood = vae::Likelihood::Gaussian;
  settings.free_bits = 1.2;
  // Per latent, batch means of KL: latent 0 = (0.5 + 2) / 2 = 1.25, latent 1 = (1 + 0) / 2 = 0.5.
  // Floors: max(1.25, 1.2) + max(0.5, 1.2) = 2.45.
  const auto terms = vae::elbo_terms(f.recon, f.target, f.mu, f.logvar, settings, 1.0);
  EXPECT_NEAR(terms.loss.item<double>(), 2.0 + 2.45, 1e-5);
  EXPECT_NEAR(terms.kl.item<double>(), 1.75, 1e-5);  // the reported KL is the true one
}

TEST(LossReductions, CapacityPenalisesDistanceFromC) {
  Fixture f;
  vae::LossSettings settings;
  settings.likelihood = vae::Likelihood::Gaussian;
  EXPECT_NEAR(vae::elbo_terms(f.recon, f.target, f.mu, f.logvar, settings, 10.0, 1.0).loss.item<double>(),
              2.0 + 10.0 * 0.75, 1e-5);
  EXPECT_NEAR(vae::elbo_terms(f.recon, f.target, f.mu, f.logvar, settings, 10.0, 3.0).loss.item<double>(),
              2.0 + 10.0 * 1.25, 1e-5);
}

}  // namespace
