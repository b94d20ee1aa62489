// The pieces the trainer is composed of: TrainStep (the loss it minimises is the closed-form
// ELBO of the batch, the update changes the weights, a poisoned step leaves them alone),
// NonFinitePolicy (stop, skip, too many in a row), BestCheckpoints (ranking and the files),
// apply_run_options (the checks of --set), and the sweep planner.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>

#include "test_files.h"
#include "vae/base/errors.h"
#include "vae/config/config.h"
#include "vae/model/loss.h"
#include "vae/model/model.h"
#include "vae/train/best_checkpoints.h"
#include "vae/train/optimizer.h"
#include "vae/train/run_dir.h"
#include "vae/train/sweep.h"
#include "vae/train/train_step.h"
#include "vae/train/trainer.h"

namespace {
namespace fs = std::filesystem;
using vae_test::read_bytes;
using vae_test::scratch_dir;

vae::Config tiny_config(const std::vector<std::string>& extra = {}) {
  auto resolved = vae::default_config_json();
  for (const char* assignment : {"data.image_size=16", "model.hidden_dims=[4,8]", "model.latent_dim=3"}) {
    vae::apply_override(resolved, assignment);
  }
  for (const auto& assignment : extra) vae::apply_override(resolved, assignment);
  return vae::config_from_json(resolved);
}

struct Fixture {
  explicit Fixture(const std::vector<std::string>& extra = {})
      : config(tiny_config(extra)), model(vae::ModelOptions::from_config(config)) {
    optimizer = vae::make_optimizer(config.optim, model->parameters());
  }
  std::vector<torch::Tensor> weights() const {
    std::vector<torch::Tensor> copies;
    for (const auto& p : model->parameters()) copies.push_back(p.detach().clone());
    return copies;
  }
  vae::Config config;
  vae::VAE model;
  std::unique_ptr<torch::optim::Optimizer> optimizer;
};

bool same_weights(const std::vector<torch::Tensor>& a, const std::vector<torch::Tensor>& b) {
  for (size_t i = 0; i < a.size(); ++i) {
    if (!torch::equal(a[i], b[i])) return false;
  }
  return true;
}

TEST(TrainStep, MinimisesTheBatchElboAndUpdatesTheWeights) {
  torch::manual_seed(0);
  Fixture f;
  f.model->train();
  const auto x = torch::rand({4, 1, 16, 16});
  const auto before = f.weights();
  vae::TrainStep step(f.model, *f.optimizer, f.config, /*schedule_steps=*/10);
  torch::manual_seed(7);
  const vae::StepResult result = step(x, /*step=*/0, /*epoch=*/0, /*want_norm=*/true);
  EXPECT_TRUE(result.finite);
  EXPECT_TRUE(result.norm_computed);
  EXPECT_GT(result.grad_norm, 0.0);
  EXPECT_DOUBLE_EQ(result.lr, f.config.optim.lr);
  EXPECT_FALSE(same_weights(before, f.weights()));
  // The same forward pass (same noise) by hand: Bernoulli recon + closed-form KL, summed per image.
  Fixture g;
  std::vector<torch::Tensor> start = before;
  {
    torch::NoGradGuard no_grad;
    auto params = g.model->parameters();
    for (size_t i = 0; i < params.size(); ++i) params[i].copy_(start[i]);
  }
  g.model->train();
  torch::manual_seed(7);
  const auto out = g.model->forward(x);
  const double recon = torch::binary_cross_entropy_with_logits(out.reconstruction, x, {},
                                                               {}, at::Reduction::Sum).item<double>() / 4;
  const double kl = (-0.5 * (1 + out.logvar - out.mu.pow(2) - out.logvar.exp())).sum().item<double>() / 4;
  EXPECT_NEAR(result.loss, recon + kl, 1e-3 * (recon + kl));
  EXPECT_NEAR(result.terms.elbo.item<double>(), -(recon + kl), 1e-3 * (recon + kl));
}

TEST(TrainStep, GradientNormOnlyWhereNeeded) {
  Fixture f;
  vae::TrainStep step(f.model, *f.optimizer, f.config, 10);
  const auto x = torch::rand({2, 1, 16, 16});
  EXPECT_FALSE(step(x, 0, 0, /*want_norm=*/false).norm_computed);  // no clipping, nonfinite=stop
  Fixture clipped({"optim.grad_clip=1.0"});
  vae::TrainStep clipping(clipped.model, *clipped.optimizer, clipped.config, 10);
  EXPECT_TRUE(clipping(x, 0, 0, /*want_norm=*/false).norm_computed);
}

TEST(TrainStep, PoisonedStepLeavesTheWeightsAndZeroesTheGradients) {
  Fixture f;
  vae::TrainStep step(f.model, *f.optimizer, f.config, 10);
  step.poison_step(2);
  const auto x = torch::rand({2, 1, 16, 16});
  EXPECT_TRUE(step(x, 0, 0, false).finite);
  const auto before = f.weights();
  const vae::StepResult poisoned = step(x, 1, 0, false);  // step 2, counted from 1
  EXPECT_FALSE(poisoned.finite);
  EXPECT_TRUE(std::isnan(poisoned.loss));
  EXPECT_TRUE(same_weights(before, f.weights()));
  for (const auto& p : f.model->parameters()) {
    EXPECT_TRUE(!p.grad().defined() || p.grad().abs().sum().item<double>() == 0.0);
  }
  EXPECT_TRUE(step(x, 2, 0, false).finite);
}

vae::StepResult outcome(double loss, double grad_norm = 0.0) {
  vae::StepResult r;
  r.loss = loss;
  r.grad_norm = grad_norm;
  r.finite = std::isfinite(loss) && std::isfinite(grad_norm);
  return r;
}

TEST(NonFinitePolicy, StopEndsTheRunAtTheFirstNonFiniteStep) {
  vae::NonFinitePolicy policy(tiny_config().train, std::nan(""));
  EXPECT_TRUE(policy.admit(outcome(12.5), 1, 1, "ckpt"));
  EXPECT_DOUBLE_EQ(policy.last_finite_loss(), 12.5);
  try {
    policy.admit(outcome(std::nan("")), 2, 1, "runs/x/checkpoints/last.pt");
    FAIL() << "no error";
  } catch (const vae::NumericalError& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find("non-finite loss (nan) at step 2 (epoch 1); last finite loss 12.5000"),
              std::string::npos) << message;
    EXPECT_NE(message.find("runs/x/checkpoints/last.pt is untouched"), std::string::npos) << message;
  }
}

TEST(NonFinitePolicy, SkipPassesOverStepsUntilTooManyInARow) {
  vae::NonFinitePolicy policy(tiny_config({"train.nonfinite=skip", "train.max_nonfinite=3"}).train, 1.0);
  EXPECT_FALSE(policy.admit(outcome(2.0, std::nan("")), 1, 1, "c"));  // a non-finite gradient
  EXPECT_FALSE(policy.admit(outcome(std::nan("")), 2, 1, "c"));
  EXPECT_TRUE(policy.admit(outcome(3.0), 3, 1, "c"));  // resets the count
  EXPECT_FALSE(policy.admit(outcome(std::nan("")), 4, 1, "c"));
  EXPECT_FALSE(policy.admit(outcome(std::nan("")), 5, 1, "c"));
  EXPECT_EQ(policy.skipped(), 4);
  try {
    policy.admit(outcome(std::nan("")), 6, 1, "c");
    FAIL() << "no error";
  } catch (const vae::NumericalError& error) {
    EXPECT_NE(std::string(error.what()).find(", 3 in a row; last finite loss 3.0000"), std::string::npos)
        << error.what();
  }
}

void touch(const fs::path& path, const std::string& text) { std::ofstream(path) << text; }

TEST(BestCheckpoints, KeepsTheKBestAndMovesTheFilesDownARank) {
  const fs::path dir = scratch_dir("train_step", "best");
  vae::BestCheckpoints best(dir, 2, nlohmann::json());
  fs::path path = best.admit(10.0, 1);
  EXPECT_EQ(path, dir / "best.pt");
  touch(path, "epoch1");
  path = best.admit(12.0, 2);
  EXPECT_EQ(path, dir / "best-2.pt");
  touch(path, "epoch2");
  path = best.admit(9.0, 3);  // the new best: the others move down, epoch 2 falls out
  EXPECT_EQ(path, dir / "best.pt");
  EXPECT_EQ(read_bytes(dir / "best-2.pt"), "epoch1");
  touch(path, "epoch3");
  EXPECT_TRUE(best.admit(20.0, 4).empty());
  EXPECT_EQ(best.to_json(), nlohmann::json::parse(R"([{"loss":9.0,"epoch":3},{"loss":10.0,"epoch":1}])"));
  // A resumed run goes on with the saved ranking.
  vae::BestCheckpoints resumed(dir, 2, best.to_json());
  EXPECT_EQ(resumed.admit(9.5, 5), dir / "best-2.pt");
  EXPECT_FALSE(fs::exists(dir / "best-3.pt"));
}

TEST(BestCheckpoints, KeepZeroKeepsNone) {
  vae::BestCheckpoints none(scratch_dir("train_step", "none"), 0, nlohmann::json());
  EXPECT_TRUE(none.admit(1.0, 1).empty());
}

TEST(EarlyStop, StopsAfterPatienceEpochsWithoutANewBest) {
  vae::EarlyStop stop(2, std::numeric_limits<double>::infinity(), 0);
  EXPECT_FALSE(stop.update(5.0));
  EXPECT_FALSE(stop.update(5.0));  // a tie is no improvement
  EXPECT_EQ(stop.epochs_without_improvement(), 1);
  EXPECT_FALSE(stop.update(4.0));  // a new best resets the count
  EXPECT_EQ(stop.epochs_without_improvement(), 0);
  EXPECT_FALSE(stop.update(4.5));
  EXPECT_TRUE(stop.update(6.0));
  EXPECT_DOUBLE_EQ(stop.best(), 4.0);
  // Resumed with its saved state, one more epoch without improvement stops it.
  vae::EarlyStop resumed(2, 4.0, 1);
  EXPECT_TRUE(resumed.update(4.0));
  // Patience 0 never stops.
  vae::EarlyStop never(0, 1.0, 100);
  EXPECT_FALSE(never.update(2.0));
}

TEST(RunOptions, AreCheckedAsTheConfigKeysAre) {
  auto resolved = vae::default_config_json();
  vae::apply_run_options(resolved, "cpu", 3, 32);
  EXPECT_EQ(resolved["train"]["device"], "cpu");
  EXPECT_EQ(resolved["train"]["threads"], 3);
  EXPECT_EQ(resolved["train"]["batch_size"], 32);
  try {
    vae::apply_run_options(resolved, "", -1, 100000);  // past train.batch_size's 65536
    FAIL() << "no error";
  } catch (const vae::ConfigError& error) {
    EXPECT_EQ(std::string(error.what()).rfind("--batch: train.batch_size must be", 0), 0u) << error.what();
  }
  EXPECT_THROW(vae::apply_run_options(resolved, "", 5000), vae::ConfigError);
  EXPECT_THROW(vae::apply_run_options(resolved, "tpu", -1), vae::ConfigError);
}

TEST(SweepPlan, GridOptionsSplitOnTopLevelCommas) {
  const vae::GridAxis axis = vae::parse_grid_option("model.hidden_dims=[8],[8,16]");
  EXPECT_EQ(axis.key, "model.hidden_dims");
  EXPECT_EQ(axis.values, (std::vector<std::string>{"[8]", "[8,16]"}));
  EXPECT_EQ(vae::parse_grid_option("name=\"a,b\",c").values, (std::vector<std::string>{"\"a,b\"", "c"}));
  EXPECT_THROW(vae::parse_grid_option("model.latent_dim"), vae::ConfigError);
  EXPECT_THROW(vae::parse_grid_option("model.latent_dim=2,,4"), vae::ConfigError);
  EXPECT_THROW(vae::parse_grid_option("model.hidden_dims=[8,16"), vae::ConfigError);
  EXPECT_THROW(vae::parse_grid({"loss.beta=1,2", "loss.beta=4"}), vae::ConfigError);
}

TEST(SweepPlan, EveryCombinationInOrderWithTheFirstAxisSlowest) {
  const auto axes = vae::parse_grid({"model.latent_dim=2,4", "model.hidden_dims=[4],[4,8]"});
  auto base = vae::default_config_json();
  vae::apply_override(base, "data.image_size=16");
  const auto runs = vae::plan_sweep(axes, base);
  ASSERT_EQ(runs.size(), 4u);
  EXPECT_EQ(runs[0].values, (std::vector<std::string>{"2", "[4]"}));
  EXPECT_EQ(runs[1].values, (std::vector<std::string>{"2", "[4,8]"}));
  EXPECT_EQ(runs[3].values, (std::vector<std::string>{"4", "[4,8]"}));
  EXPECT_EQ(runs[3].index, 4);
  EXPECT_EQ(runs[3].config["model"]["latent_dim"], 4);
  EXPECT_EQ(vae::run_label(axes, runs[1].values), "latent_dim=2_hidden_dims=4-8");
}

TEST(SweepPlan, ABadValueNamesTheGridAndNothingIsCreated) {
  auto base = vae::default_config_json();
  try {
    vae::plan_sweep(vae::parse_grid({"model.latent_dim=2,0"}), base);
    FAIL() << "no error";
  } catch (const vae::ConfigError& error) {
    EXPECT_EQ(std::string(error.what()).rfind("--grid: model.latent_dim must be", 0), 0u) << error.what();
  }
}

TEST(SweepPlan, SummaryCsvQuotesItsFields) {
  const fs::path dir = scratch_dir("train_step", "summary");
  const auto axes = vae::parse_grid({"name=a,b"});
  vae::SweepRun run;
  run.index = 1;
  run.values = {"x,y"};
  run.dir = "runs/s/1-x";
  run.status = "failed";
  run.message = "said \"no\"";
  vae::write_sweep_csv(dir / "summary.csv", axes, {run});
  EXPECT_EQ(read_bytes(dir / "summary.csv"),
            "run,name,epochs,steps,val_loss,val_recon,val_kl,val_elbo,seconds,run_dir,status,action,error\n"
            "1,\"x,y\",,,,,,,0.00,runs/s/1-x,failed,trained,\"said \"\"no\"\"\"\n");
}

TEST(Trainer, AKlThatRunsAwayIsWarnedAbout) {
  // lr = 10 on CIFAR-10 reached KL of about 1e10 nats while the loss stayed finite.
  const std::string warning = vae::kl_runaway_warning(1e10, 128, 3);
  EXPECT_NE(warning.find("validation KL 1e+10 nats per image"), std::string::npos) << warning;
  EXPECT_NE(warning.find("after epoch 3"), std::string::npos) << warning;
  EXPECT_NE(warning.find("optim.lr"), std::string::npos) << warning;
  EXPECT_EQ(vae::kl_runaway_warning(5000.0, 128, 1), "");  // 39 nats per dimension: a model, not a runaway
  EXPECT_NE(vae::kl_runaway_warning(1001.0 * 8, 8, 1), "");
  EXPECT_EQ(vae::kl_runaway_warning(std::nan(""), 8, 1), "");  // non-finite losses have their own stop
}

// Temporary files a killed process of the run left behind are removed at resume; other files,
// this process's own and anything deeper than the run's own subfolders are kept.
TEST(RunDir, StaleTemporariesOfTheRunAreRemoved) {
  const fs::path dir = scratch_dir("train_step", "stale");
  fs::create_directories(dir / "checkpoints");
  fs::create_directories(dir / "tb" / "deep");
  const std::string own = ".tmp." + std::to_string(::getpid());
  for (const fs::path& path : {dir / "checkpoints" / "last.pt.tmp.4194301", dir / "curves.png.tmp.17",
                               dir / "notes.tmp.txt", dir / ("metrics.csv" + own), dir / "tb" / "deep" / "x.tmp.5",
                               dir / "checkpoints" / "best.pt"}) {
    std::ofstream(path) << "x";
  }
  EXPECT_EQ(vae::remove_stale_temporaries(dir), 2);
  EXPECT_FALSE(fs::exists(dir / "checkpoints" / "last.pt.tmp.4194301"));
  EXPECT_FALSE(fs::exists(dir / "curves.png.tmp.17"));
  EXPECT_TRUE(fs::exists(dir / "notes.tmp.txt"));
  EXPECT_TRUE(fs::exists(dir / ("metrics.csv" + own)));
  EXPECT_TRUE(fs::exists(dir / "tb" / "deep" / "x.tmp.5"));
  EXPECT_TRUE(fs::exists(dir / "checkpoints" / "best.pt"));
}

}  // namespace
