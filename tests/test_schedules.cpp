// KL-weight and learning-rate schedules against their formulas; the optimizer factory.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <utility>
#include <vector>

#include "vae/config/config.h"
#include "vae/train/optimizer.h"
#include "vae/train/schedules.h"

namespace {

vae::Config config_with(const std::vector<std::string>& overrides) {
  auto resolved = vae::default_config_json();
  for (const auto& assignment : overrides) vae::apply_override(resolved, assignment);
  return vae::config_from_json(resolved);
}

TEST(Schedules, ConstantKlWeightIsBeta) {
  const auto config = config_with({"loss.beta=4"});
  for (int64_t step : {0, 1, 1000000}) EXPECT_DOUBLE_EQ(vae::kl_weight(config.loss, step), 4.0);
  EXPECT_LT(vae::kl_capacity(config.loss, 10), 0.0);
}

TEST(Schedules, LinearWarmupRisesToBetaThenStays) {
  const auto config = config_with({"loss.beta=2", "loss.kl_schedule=linear", "loss.kl_warmup_steps=100"});
  EXPECT_DOUBLE_EQ(vae::kl_weight(config.loss, 0), 0.0);
  EXPECT_DOUBLE_EQ(vae::kl_weight(config.loss, 25), 0.5);
  EXPECT_DOUBLE_EQ(vae::kl_weight(config.loss, 100), 2.0);
  EXPECT_DOUBLE_EQ(vae::kl_weight(config.loss, 5000), 2.0);
}

TEST(Schedules, CyclicalRisesDuringRatioOfEachCycleThenHolds) {
  // Fu et al. 2019: cycles of 100 steps, rising over the first half.
  const auto config = config_with({"loss.kl_schedule=cyclical", "loss.kl_cycle_steps=100",
                                   "loss.kl_cycle_ratio=0.5"});
  EXPECT_DOUBLE_EQ(vae::kl_weight(config.loss, 0), 0.0);
  EXPECT_DOUBLE_EQ(vae::kl_weight(config.loss, 25), 0.5);
  EXPECT_DOUBLE_EQ(vae::kl_weight(config.loss, 50), 1.0);
  EXPECT_DOUBLE_EQ(vae::kl_weight(config.loss, 99), 1.0);
  EXPECT_DOUBLE_EQ(vae::kl_weight(config.loss, 100), 0.0);  // next cycle starts again at 0
  EXPECT_DOUBLE_EQ(vae::kl_weight(config.loss, 125), 0.5);
}

TEST(Schedules, CapacityRisesLinearlyToItsMaximum) {
  const auto config = config_with({"loss.kl_schedule=capacity", "loss.capacity_max=25",
                                   "loss.capacity_steps=1000", "loss.beta=100"});
  EXPECT_DOUBLE_EQ(vae::kl_capacity(config.loss, 0), 0.0);
  EXPECT_DOUBLE_EQ(vae::kl_capacity(config.loss, 400), 10.0);
  EXPECT_DOUBLE_EQ(vae::kl_capacity(config.loss, 2000), 25.0);
  EXPECT_DOUBLE_EQ(vae::kl_weight(config.loss, 400), 100.0);  // gamma
}

TEST(Schedules, ExponentialAndStepDecayPerEpoch) {
  const auto exponential = config_with({"optim.lr=0.005", "optim.lr_schedule=exponential", "optim.lr_gamma=0.95"});
  EXPECT_DOUBLE_EQ(vae::learning_rate(exponential.optim, 0, 0, 1000), 0.005);
  EXPECT_NEAR(vae::learning_rate(exponential.optim, 500, 3, 1000), 0.005 * std::pow(0.95, 3), 1e-15);
  const auto step = config_with({"optim.lr=0.1", "optim.lr_schedule=step", "optim.lr_gamma=0.5",
                                 "optim.lr_step_epochs=10"});
  EXPECT_DOUBLE_EQ(vae::learning_rate(step.optim, 0, 9, 1000), 0.1);
  EXPECT_DOUBLE_EQ(vae::learning_rate(step.optim, 0, 10, 1000), 0.05);
  EXPECT_DOUBLE_EQ(vae::learning_rate(step.optim, 0, 25, 1000), 0.025);
}

TEST(Schedules, CosineGoesFromLrToLrMinOverTheRun) {
  const auto config = config_with({"optim.lr=0.01", "optim.lr_schedule=cosine", "optim.lr_min=0.001"});
  EXPECT_DOUBLE_EQ(vae::learning_rate(config.optim, 0, 0, 1000), 0.01);
  EXPECT_NEAR(vae::learning_rate(config.optim, 500, 0, 1000), 0.0055, 1e-12);
  EXPECT_NEAR(vae::learning_rate(config.optim, 1000, 0, 1000), 0.001, 1e-12);
}

TEST(Schedules, WarmupScalesTheFirstSteps) {
  const auto config = config_with({"optim.lr=0.01", "optim.warmup_steps=4", "optim.lr_schedule=exponential",
                                   "optim.lr_gamma=0.5"});
  EXPECT_DOUBLE_EQ(vae::learning_rate(config.optim, 0, 0, 100), 0.0025);
  EXPECT_DOUBLE_EQ(vae::learning_rate(config.optim, 3, 0, 100), 0.01);
  EXPECT_DOUBLE_EQ(vae::learning_rate(config.optim, 4, 1, 100), 0.005);
}

TEST(Schedules, OptimizerFactoryAndLearningRateSetter) {
  auto weight = torch::ones({3}, torch::requires_grad());
  for (const char* name : {"adam", "adamw", "sgd"}) {
    const auto config = config_with({std::string("optim.name=") + name, "optim.lr=0.1"});
    auto optimizer = vae::make_optimizer(config.optim, {weight});
    EXPECT_DOUBLE_EQ(optimizer->param_groups()[0].options().get_lr(), 0.1) << name;
    vae::set_learning_rate(*optimizer, 0.02);
    EXPECT_DOUBLE_EQ(optimizer->param_groups()[0].options().get_lr(), 0.02) << name;
  }
  // SGD with momentum 0.9: two steps on a constant gradient of 1 move by lr * (1 + 1.9).
  auto w = torch::zeros({1}, torch::requires_grad());
  const auto sgd = config_with({"optim.name=sgd", "optim.lr=0.1", "optim.momentum=0.9"});
  auto optimizer = vae::make_optimizer(sgd.optim, {w});
  for (int i = 0; i < 2; ++i) {
    optimizer->zero_grad();
    w.sum().backward();
    optimizer->step();
  }
  EXPECT_NEAR(w.item<double>(), -0.1 * (1 + 1.9), 1e-6);
}

// Gradients (3, 4) across two parameters: global norm 5. A limit of 1 scales them to (0.6, 0.8);
// grad_clip 0 and a limit above the norm leave them as they are; the norm before clipping returns.
TEST(Schedules, ClipGradientsReturnsTheNormAndScalesToTheLimit) {
  for (const auto& [clip, scale] : std::vector<std::pair<const char*, double>>{{"1", 0.2}, {"0", 1.0}, {"10", 1.0}}) {
    auto a = torch::zeros({1}, torch::requires_grad());
    auto b = torch::zeros({1}, torch::requires_grad());
    (3 * a + 4 * b).sum().backward();
    const auto config = config_with({std::string("optim.grad_clip=") + clip});
    EXPECT_NEAR(vae::clip_gradients(config.optim, {a, b}), 5.0, 1e-6) << clip;
    EXPECT_NEAR(a.grad().item<double>(), 3.0 * scale, 1e-5) << clip;
    EXPECT_NEAR(b.grad().item<double>(), 4.0 * scale, 1e-5) << clip;
  }
  // A non-finite gradient gives a non-finite norm, for the trainer's skip-or-stop policy.
  auto c = torch::zeros({1}, torch::requires_grad());
  (c * std::numeric_limits<float>::infinity()).sum().backward();
  EXPECT_FALSE(std::isfinite(vae::clip_gradients(config_with({"optim.grad_clip=1"}).optim, {c})));
}

}  // namespace
