// Latent-space tools: slerp and linear paths (exact endpoints, norms, parallel and zero
// vectors), interpolation endpoints decoding to the reconstructions, posterior draws, KL per
// dimension, --dims parsing, KL ordering (also on a model whose weights fix the order) and
// traversal codes.
#include <gtest/gtest.h>

#include <cmath>

#include "vae/config/config.h"
#include "vae/base/errors.h"
#include "vae/analysis/latent.h"
#include "vae/model/loss.h"
#include "vae/model/model.h"
#include "model_support.h"

namespace {

double norm_of(const torch::Tensor& t) { return t.norm().item<double>(); }

vae::Config small_config(int64_t latent_dim) {
  auto json = vae::default_config_json();
  vae::apply_override(json, "data.image_size=16");
  vae::apply_override(json, "model.hidden_dims=[4,8]");
  vae::apply_override(json, "model.latent_dim=" + std::to_string(latent_dim));
  return vae::config_from_json(json);
}

TEST(Slerp, KeepsTheEndpointsAndTheNormOfEqualNormCodes) {
  torch::manual_seed(1);
  auto a = torch::randn({16});
  auto b = torch::randn({16});
  b = b * (norm_of(a) / norm_of(b));  // same norm, different direction
  EXPECT_TRUE(torch::equal(vae::slerp(a, b, 0.0), a));
  EXPECT_TRUE(torch::equal(vae::slerp(a, b, 1.0), b));
  for (double t : {0.1, 0.25, 0.5, 0.9}) {
    EXPECT_NEAR(norm_of(vae::slerp(a, b, t)), norm_of(a), 1e-4 * norm_of(a)) << t;
  }
  // A straight line cuts inside the sphere: its midpoint is shorter.
  EXPECT_LT(norm_of((a + b) / 2), 0.95 * norm_of(a));
}

TEST(Slerp, FollowsTheGreatCircleAndInterpolatesTheNormLinearly) {
  const auto x = torch::tensor({1.0f, 0.0f, 0.0f});
  const auto y = torch::tensor({0.0f, 1.0f, 0.0f});
  // Orthogonal unit vectors: the midpoint is at 45 degrees, on the unit circle.
  const auto mid = vae::slerp(x, y, 0.5);
  EXPECT_NEAR(mid[0].item<double>(), std::sqrt(0.5), 1e-6);
  EXPECT_NEAR(mid[1].item<double>(), std::sqrt(0.5), 1e-6);
  EXPECT_NEAR(vae::angle_degrees(x, vae::slerp(x, y, 1.0 / 3.0)), 30.0, 1e-4);  // constant angular speed
  // Norms 2 and 4: the norm goes linearly from 2 to 4, the direction still on the circle.
  for (double t : {0.25, 0.5, 0.75}) {
    const auto z = vae::slerp(2 * x, 4 * y, t);
    EXPECT_NEAR(norm_of(z), 2 + 2 * t, 1e-5) << t;
    EXPECT_NEAR(vae::angle_degrees(x, z), 90 * t, 1e-4) << t;
  }
  EXPECT_EQ(vae::slerp(x, y, 0.3).scalar_type(), torch::kFloat);
}

TEST(Slerp, FallsBackToALineForParallelAntiparallelAndZeroCodes) {
  const auto a = torch::tensor({1.0f, 2.0f, 3.0f});
  for (const auto& b : {a * 3.0, a * (1 + 1e-9), -2.0 * a, torch::zeros({3})}) {
    for (double t : {0.2, 0.5, 0.8}) {
      const auto z = vae::slerp(a, b, t);
      EXPECT_TRUE(torch::isfinite(z).all().item<bool>()) << b << t;
      EXPECT_TRUE(torch::allclose(z, (1 - t) * a + t * b, 1e-6, 1e-6)) << b << t;
    }
  }
  // Nearly parallel but above the cut-off: still accurate (between the endpoints, no NaN).
  const auto c = torch::tensor({1.0, 1e-4, 0.0}, torch::kDouble);
  const auto d = torch::tensor({1.0, -1e-4, 0.0}, torch::kDouble);
  const auto m = vae::slerp(c, d, 0.5);
  EXPECT_NEAR(m[1].item<double>(), 0.0, 1e-12);
  EXPECT_NEAR(norm_of(m), norm_of(c), 1e-12);
}

TEST(InterpolateCodes, EndsAreTheInputsBitForBit) {
  torch::manual_seed(2);
  const auto a = torch::randn({8}), b = torch::randn({8});
  for (bool spherical : {false, true}) {
    const auto codes = vae::interpolate_codes(a, b, 6, spherical);
    ASSERT_EQ(codes.sizes(), (std::vector<int64_t>{6, 8}));
    EXPECT_TRUE(torch::equal(codes[0], a));
    EXPECT_TRUE(torch::equal(codes[5], b));
  }
  const auto line = vae::interpolate_codes(a, b, 5, false);
  EXPECT_TRUE(torch::allclose(line[2], (a + b) / 2, 1e-6, 1e-6));
  EXPECT_TRUE(torch::allclose(line[1], 0.75 * a + 0.25 * b, 1e-6, 1e-6));
  EXPECT_EQ(vae::interpolate_codes(a, b, 2, true).size(0), 2);
}

// On an untrained model: decoding the interpolation's ends gives the eval-mode reconstructions
// of the two pictures (what `vae reconstruct` shows).
TEST(InterpolateCodes, EndpointsDecodeToTheReconstructions) {
  torch::manual_seed(3);
  vae::VAE model(vae::ModelOptions::from_config(small_config(6)));
  model->eval();
  torch::NoGradGuard no_grad;
  const auto x = torch::rand({2, 1, 16, 16});
  const auto out = model->forward(x);
  for (bool spherical : {false, true}) {
    const auto images = model->decode(vae::interpolate_codes(out.mu[0], out.mu[1], 7, spherical));
    EXPECT_TRUE(torch::allclose(images[0], out.reconstruction[0], 1e-5, 1e-6));
    EXPECT_TRUE(torch::allclose(images[6], out.reconstruction[1], 1e-5, 1e-6));
    EXPECT_FALSE(torch::allclose(images[3], out.reconstruction[0], 1e-5, 1e-6));
  }
}

TEST(PosteriorDraws, ScaleWithTemperatureAndRepeatWithTheSeed) {
  const auto mu = torch::tensor({1.0f, -2.0f, 0.0f});
  const auto logvar = torch::tensor({0.0f, std::log(4.0f), std::log(0.25f)});  // sigma 1, 2, 0.5
  auto g0 = at::detail::createCPUGenerator(7);
  const auto cold = vae::posterior_draws(mu, logvar, 4, 0.0, g0);
  ASSERT_EQ(cold.sizes(), (std::vector<int64_t>{4, 3}));
  for (int64_t i = 0; i < 4; ++i) EXPECT_TRUE(torch::equal(cold[i], mu));

  auto g1 = at::detail::createCPUGenerator(7);
  const auto draws = vae::posterior_draws(mu, logvar, 20000, 1.0, g1);
  EXPECT_TRUE(torch::allclose(draws.mean(0), mu, 0, 0.05));
  EXPECT_TRUE(torch::allclose(draws.std(0), torch::tensor({1.0f, 2.0f, 0.5f}), 0.03, 0));
  auto g2 = at::detail::createCPUGenerator(7);
  const auto hot = vae::posterior_draws(mu, logvar, 20000, 2.0, g2);
  EXPECT_TRUE(torch::allclose(hot.std(0), torch::tensor({2.0f, 4.0f, 1.0f}), 0.03, 0));
  auto g3 = at::detail::createCPUGenerator(7);
  EXPECT_TRUE(torch::equal(vae::posterior_draws(mu, logvar, 20000, 1.0, g3), draws));
}

TEST(KlPerDimension, MatchesTheClosedFormAndSumsToTheKlTerm) {
  torch::manual_seed(4);
  const auto mu = torch::randn({5, 3}), logvar = torch::randn({5, 3});
  const auto kl = vae::kl_per_dimension(mu, logvar);
  ASSERT_EQ(kl.sizes(), (std::vector<int64_t>{3}));
  EXPECT_NEAR(kl.sum().item<double>(), vae::kl_per_latent(mu, logvar).sum(1).mean().item<double>(), 1e-5);
  // mu = 2, logvar = 0: 1/2 mu^2 = 2 nats; mu = 0, logvar = 0: none.
  const auto known = vae::kl_per_dimension(torch::tensor({{2.0f, 0.0f}}), torch::zeros({1, 2}));
  EXPECT_NEAR(known[0].item<double>(), 2.0, 1e-6);
  EXPECT_NEAR(known[1].item<double>(), 0.0, 1e-6);
}

TEST(ParseDims, AcceptsAllAndListsAndNamesTheOptionAndTheLatentSizeOtherwise) {
  EXPECT_EQ(vae::parse_dims("all", 4), (std::vector<int64_t>{0, 1, 2, 3}));
  EXPECT_EQ(vae::parse_dims("3,0,2", 4), (std::vector<int64_t>{3, 0, 2}));
  EXPECT_EQ(vae::parse_dims(" 1 , 2 ", 4), (std::vector<int64_t>{1, 2}));
  for (const char* bad : {"4", "10,1", "-1", "a", "", "1,,2", "1,", "2x", "1.5", "99999999999999999999"}) {
    try {
      vae::parse_dims(bad, 4);
      ADD_FAILURE() << "accepted '" << bad << "'";
    } catch (const vae::ConfigError& error) {
      const std::string message = error.what();
      EXPECT_NE(message.find("--dims"), std::string::npos) << message;
      EXPECT_NE(message.find("latent size is 4"), std::string::npos) << message;
    }
  }
  try {
    vae::parse_dims("1,2,1", 4);
    ADD_FAILURE() << "accepted a duplicate";
  } catch (const vae::ConfigError& error) {
    EXPECT_NE(std::string(error.what()).find("given twice"), std::string::npos) << error.what();
  }
}

TEST(OrderByKl, LargestFirstAndStableForTies) {
  const auto kl = torch::tensor({0.5f, 3.0f, 0.5f, 2.0f});
  EXPECT_EQ(vae::order_by_kl({0, 1, 2, 3}, kl), (std::vector<int64_t>{1, 3, 0, 2}));
  EXPECT_EQ(vae::order_by_kl({2, 0}, kl), (std::vector<int64_t>{2, 0}));
  EXPECT_EQ(vae::order_by_kl({0, 3}, kl), (std::vector<int64_t>{3, 0}));
}

// A model whose posterior ignores the picture: mu = (0, 3, 1, 2), logvar = 0, so the KL per
// dimension is mu^2 / 2 = (0, 4.5, 0.5, 2) and the rows must come out as 1, 3, 2, 0.
TEST(OrderByKl, RowOrderOfAModelWhoseWeightsFixTheKl) {
  vae::VAE model(vae::ModelOptions::from_config(small_config(4)));
  vae_test::fix_posterior(model, {0.0f, 3.0f, 1.0f, 2.0f});
  model->eval();
  torch::NoGradGuard no_grad;
  const auto [mu, logvar] = model->encode(torch::rand({8, 1, 16, 16}));
  const auto kl = vae::kl_per_dimension(mu, logvar);
  EXPECT_TRUE(torch::allclose(kl, torch::tensor({0.0f, 4.5f, 0.5f, 2.0f}), 1e-5, 1e-5)) << kl;
  EXPECT_EQ(vae::order_by_kl(vae::parse_dims("all", 4), kl), (std::vector<int64_t>{1, 3, 2, 0}));
}

TEST(TraversalCodes, OneRowPerDimensionSweptOverTheRange) {
  const auto base = torch::tensor({0.5f, -1.0f, 2.0f});
  const auto codes = vae::traversal_codes(base, {2, 0}, 3.0, 5);  // rows: dim 2, then dim 0
  ASSERT_EQ(codes.sizes(), (std::vector<int64_t>{10, 3}));
  const std::vector<float> values = {-3.0f, -1.5f, 0.0f, 1.5f, 3.0f};
  for (int64_t column = 0; column < 5; ++column) {
    EXPECT_EQ(codes[column][2].item<float>(), values[size_t(column)]);
    EXPECT_EQ(codes[column][0].item<float>(), 0.5f);  // held at the base
    EXPECT_EQ(codes[column][1].item<float>(), -1.0f);
    EXPECT_EQ(codes[5 + column][0].item<float>(), values[size_t(column)]);
    EXPECT_EQ(codes[5 + column][2].item<float>(), 2.0f);
  }
  // Exact ends for awkward ranges, and an exact 0 in the middle of an odd count.
  const auto tenth = vae::traversal_codes(torch::zeros({1}), {0}, 0.1, 7);
  EXPECT_EQ(tenth[0][0].item<float>(), -0.1f);
  EXPECT_EQ(tenth[3][0].item<float>(), 0.0f);
  EXPECT_EQ(tenth[6][0].item<float>(), 0.1f);
}

}  // namespace
