// `vae eval` through the real program on a tiny trained shapes run: the figures agree with each
// other (ELBO = recon + KL, KL = sum of KL per dimension, bits/dim from the NLL, IWAE bound above
// the ELBO), are fixed by the seed, MIG is reported for the factors of shapes, the JSON file
// holds the table's figures; bad input gives one line and a non-zero exit.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli_support.h"

namespace {
namespace fs = std::filesystem;
using namespace vae_test;

// Each test works on its own copy of the CTest fixture eval_run: `vae train --out run` on
// tiny_config() with more training images and a test split of 80 (cli_support.h).
class EvalCli : public FixtureTest {
 protected:
  EvalCli() : FixtureTest("eval_run") {}
  void SetUp() override {
    FixtureTest::SetUp();
    ASSERT_EQ(train_->code, 0) << train_->err;
  }
  std::string checkpoint() const { return (*dir_ / "run" / "checkpoints" / "last.pt").string(); }
  nlohmann::json evaluate(const std::vector<std::string>& extra, const std::string& json_name) const {
    std::vector<std::string> args = {"eval", "--ckpt", checkpoint(), "--json", json_name};
    args.insert(args.end(), extra.begin(), extra.end());
    const Result result = vae_run(*dir_, args);
    EXPECT_EQ(result.code, 0) << result.err;
    EXPECT_NE(result.out.find("negative ELBO"), std::string::npos) << result.out;
    return nlohmann::json::parse(read_bytes(*dir_ / json_name));
  }
};

TEST_F(EvalCli, FiguresAreConsistentAndSeeded) {
  const auto r = evaluate({"--iw-samples", "20"}, "a.json");
  EXPECT_EQ(r["split"], "test");
  EXPECT_EQ(r["images"], 80);
  EXPECT_NEAR(r["neg_elbo"].get<double>(), r["recon"].get<double>() + r["kl"].get<double>(), 1e-6);
  double kl_sum = 0;
  ASSERT_EQ(r["kl_per_dim"].size(), 4u);
  for (const auto& v : r["kl_per_dim"]) kl_sum += v.get<double>();
  EXPECT_NEAR(kl_sum, r["kl"].get<double>(), 1e-4);
  // The 20-sample bound is tighter than the one-sample ELBO (up to the noise of one draw).
  EXPECT_LT(r["nll"].get<double>(), r["neg_elbo"].get<double>() + 1.0);
  EXPECT_GT(r["nll"].get<double>(), 0.0);  // binary data: a probability mass, so NLL > 0
  EXPECT_GE(r["active_units"].get<int64_t>(), 0);
  EXPECT_LE(r["active_units"].get<int64_t>(), 4);
  EXPECT_GT(r["psnr"].get<double>(), 0.0);
  ASSERT_TRUE(r.contains("mig"));  // shapes has ground-truth factors
  EXPECT_GE(r["mig"].get<double>(), 0.0);
  EXPECT_LE(r["mig"].get<double>(), 1.0);
  EXPECT_EQ(r["mig_per_factor"].size(), 5u);
  EXPECT_NEAR(r["bits_per_dim"].get<double>(), r["nll"].get<double>() / (16 * 16 * std::log(2.0)), 1e-9);
  EXPECT_FALSE(r.contains("squared_error"));

  const auto again = evaluate({"--iw-samples", "20"}, "b.json");
  for (const char* key : {"recon", "kl", "nll", "psnr", "mig"}) EXPECT_EQ(again[key], r[key]) << key;
  const auto other_seed = evaluate({"--iw-samples", "20", "--seed", "5"}, "c.json");
  EXPECT_NE(other_seed["nll"], r["nll"]);
}

TEST_F(EvalCli, SplitLimitAndNoImportanceSampling) {
  const auto r = evaluate({"--split", "val", "--limit", "50", "--iw-samples", "0", "--batch", "16"}, "d.json");
  EXPECT_EQ(r["split"], "val");
  EXPECT_EQ(r["images"], 50);
  EXPECT_FALSE(r.contains("nll"));
  EXPECT_FALSE(r.contains("bits_per_dim"));
}

// The trainer's per-epoch validation draws z from q(z|x) (not the posterior mean) with a generator
// seeded train.seed + 0x5A11D, binarising first, in the order `vae eval` uses: evaluating the
// validation split with that seed and the training batch gives the same one-sample ELBO terms as
// the last validation row of metrics.csv, so those rows are an ELBO, not a mean reconstruction.
TEST_F(EvalCli, TrainingValidationRowsAreTheOneSampleElbo) {
  const auto r = evaluate({"--split", "val", "--iw-samples", "0", "--batch", "32", "--seed", "368925"}, "e.json");
  std::istringstream csv(read_bytes(*dir_ / "run" / "metrics.csv"));
  std::string line, last_val;
  while (std::getline(csv, line)) {
    if (line.find(",val,") != std::string::npos) last_val = line;
  }
  ASSERT_FALSE(last_val.empty());
  std::vector<double> fields;  // epoch,step,split,loss,recon,kl,elbo,...: the split field reads as 0
  std::istringstream row(last_val);
  for (std::string field; std::getline(row, field, ',');) fields.push_back(std::atof(field.c_str()));
  ASSERT_GE(fields.size(), 7u);
  EXPECT_NEAR(fields[4], r["recon"].get<double>(), 1e-4 * fields[4]) << last_val;
  EXPECT_NEAR(fields[5], r["kl"].get<double>(), 1e-4 * fields[5] + 1e-4) << last_val;
  EXPECT_NEAR(-fields[6], r["neg_elbo"].get<double>(), 1e-4 * -fields[6]) << last_val;
  // Another seed draws other z: the row is not the deterministic mean-decoding figure.
  const auto other = evaluate({"--split", "val", "--iw-samples", "0", "--batch", "32", "--seed", "1"}, "f.json");
  EXPECT_GT(std::abs(other["recon"].get<double>() - fields[4]), 1e-3 * fields[4]);
}

TEST_F(EvalCli, BadInputIsOneLineAndLeavesNoJson) {
  struct Case {
    std::vector<std::string> args;
    int code;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {{"eval", "--ckpt", "missing.pt", "--json", "bad.json"}, 1, "missing.pt"},
      {{"eval", "--ckpt", checkpoint(), "--split", "train", "--json", "bad.json"}, 2, "--split"},
      {{"eval", "--ckpt", checkpoint(), "--set", "data.bogus=1", "--json", "bad.json"}, 2, "data.bogus"},
      {{"eval", "--ckpt", checkpoint(), "--iw-samples", "-3", "--json", "bad.json"}, 2, "iw-samples"},
  };
  for (const auto& c : cases) {
    const Result result = vae_run(*dir_, c.args);
    EXPECT_EQ(result.code, c.code) << result.err;
    EXPECT_EQ(error_lines(result.err), 1u) << result.err;
    EXPECT_NE(result.err.find(c.expected), std::string::npos) << result.err;
    EXPECT_FALSE(fs::exists(*dir_ / "bad.json"));
  }
}

// A Gaussian-likelihood model: recon is -log p(x|z) under the density the NLL uses (the squared
// error plus P/2 ln(pi) for variance 1/2), so -ELBO and NLL are in the same units and the bound
// holds; no bits/dim are claimed, and the table says what the figures mean. The MIG row gives each
// factor's value.
TEST(EvalGaussian, NegativeElboAndNllShareUnitsAndNoBitsPerDimAreClaimed) {
  const fs::path dir = fresh_dir("eval_gaussian");
  write_tiny_config(dir);
  ASSERT_EQ(vae_run(dir, {"train", "--config", "tiny.json", "--set", "loss.likelihood=gaussian", "--set",
                          "train.max_steps=8", "--out", "run"}).code, 0);
  const Result result = vae_run(dir, {"eval", "--ckpt", "run", "--iw-samples", "50", "--json", "g.json", "--limit", "40"});
  ASSERT_EQ(result.code, 0) << result.err;
  const auto r = nlohmann::json::parse(read_bytes(dir / "g.json"));
  const double pixels = 16 * 16;
  EXPECT_NEAR(r["recon"].get<double>(), r["squared_error"].get<double>() + 0.5 * pixels * std::log(std::acos(-1.0)), 1e-3);
  EXPECT_NEAR(r["neg_elbo"].get<double>(), r["recon"].get<double>() + r["kl"].get<double>(), 1e-6);
  EXPECT_LT(r["nll"].get<double>(), r["neg_elbo"].get<double>() + 1.0);
  EXPECT_GT(r["nll"].get<double>(), r["neg_elbo"].get<double>() - 0.5 * r["neg_elbo"].get<double>());
  EXPECT_FALSE(r.contains("bits_per_dim"));
  EXPECT_EQ(result.out.find("bits per dimension"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("no bits/dim are given"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("squared error"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("per factor: shape "), std::string::npos) << result.out;
}

}  // namespace
