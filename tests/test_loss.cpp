// Loss terms against hand-computed closed forms.
#include <gtest/gtest.h>

#include <cmath>

#include "vae/loss.h"

namespace {

TEST(Loss, KlIsZeroForThePrior) {
  const auto mu = torch::zeros({4, 3});
  const auto logvar = torch::zeros({4, 3});
  EXPECT_TRUE(torch::allclose(vae::kl_per_item(mu, logvar), torch::zeros({4})));
}

TEST(Loss, KlMatchesClosedForm) {
  // One latent with mu = 1, var = e: KL = 1/2 (var + mu^2 - 1 - log var) = 1/2 (e + 1 - 1 - 1).
  // A second with mu = -2, var = 1: KL = 1/2 * 4 = 2. Summed over latents.
  const auto mu = torch::tensor({{1.0f, -2.0f}});
  const auto logvar = torch::tensor({{1.0f, 0.0f}});
  const double expected = 0.5 * (std::exp(1.0) - 1.0) + 2.0;
  EXPECT_NEAR(vae::kl_per_item(mu, logvar).item<double>(), expected, 1e-5);
}

TEST(Loss, GaussianReconIsSquaredErrorSummedOverPixels) {
  const auto target = torch::zeros({2, 1, 2, 2});
  auto recon = torch::zeros({2, 1, 2, 2});
  recon[0].fill_(0.5);  // 4 pixels * 0.25 = 1.0
  recon[1][0][0][0] = 2.0;  // 4.0
  const auto per_item = vae::recon_per_item(recon, target, "gaussian");
  EXPECT_NEAR(per_item[0].item<double>(), 1.0, 1e-6);
  EXPECT_NEAR(per_item[1].item<double>(), 4.0, 1e-6);
}

TEST(Loss, BernoulliReconIsBceOnLogits) {
  // logit 0 -> p = 1/2: -log(1/2) per pixel whatever the target; logit log(3) -> p = 3/4.
  const auto target = torch::tensor({1.0f, 0.0f, 1.0f, 0.0f}).view({1, 1, 2, 2});
  const auto logits = torch::tensor({0.0f, 0.0f, std::log(3.0f), std::log(3.0f)}).view({1, 1, 2, 2});
  const double expected = 2 * std::log(2.0) - std::log(0.75) - std::log(0.25);
  EXPECT_NEAR(vae::recon_per_item(logits, target, "bernoulli").item<double>(), expected, 1e-5);
}

TEST(Loss, BernoulliIsStableForLargeLogits) {
  const auto target = torch::ones({1, 1, 1, 1});
  const auto logits = torch::full({1, 1, 1, 1}, -200.0f);
  EXPECT_NEAR(vae::recon_per_item(logits, target, "bernoulli").item<double>(), 200.0, 1e-3);
}

TEST(Loss, TermsAverageOverBatchAndWeightKlByBeta) {
  const auto target = torch::zeros({2, 1, 1, 2});
  auto recon = torch::zeros({2, 1, 1, 2});
  recon[0].fill_(1.0);  // item 0: recon 2, item 1: recon 0 -> mean 1
  const auto mu = torch::tensor({{2.0f}, {0.0f}});  // item 0: KL 2, item 1: KL 0 -> mean 1
  const auto logvar = torch::zeros({2, 1});
  const vae::ElboTerms terms = vae::elbo_terms(recon, target, mu, logvar, "gaussian", /*beta=*/4.0);
  EXPECT_NEAR(terms.recon.item<double>(), 1.0, 1e-6);
  EXPECT_NEAR(terms.kl.item<double>(), 1.0, 1e-6);
  EXPECT_NEAR(terms.loss.item<double>(), 1.0 + 4.0 * 1.0, 1e-6);
  EXPECT_NEAR(terms.elbo.item<double>(), -2.0, 1e-6);  // unweighted
}

TEST(Loss, GradientOfKlMatchesAnalyticForm) {
  // d KL / d mu = mu; d KL / d logvar = (exp(logvar) - 1) / 2.
  auto mu = torch::tensor({{0.5f, -1.5f}}, torch::requires_grad());
  auto logvar = torch::tensor({{0.3f, -0.7f}}, torch::requires_grad());
  vae::kl_per_item(mu, logvar).sum().backward();
  EXPECT_TRUE(torch::allclose(mu.grad(), mu.detach()));
  EXPECT_TRUE(torch::allclose(logvar.grad(), (logvar.detach().exp() - 1) / 2));
}

}  // namespace
