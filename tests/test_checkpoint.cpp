// Checkpoints: round trip of weights, optimizer state, metadata and RNG; damaged files.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "vae/train/checkpoint.h"
#include "vae/config/config.h"
#include "vae/base/errors.h"
#include "vae/model/loss.h"
#include "test_files.h"

namespace {
namespace fs = std::filesystem;

fs::path temp_dir() { return vae_test::process_dir("ckpt_test"); }

nlohmann::json small_config() {
  auto config = vae::default_config_json();
  vae::apply_override(config, "data.image_size=16");
  vae::apply_override(config, "model.hidden_dims=[4,8]");
  vae::apply_override(config, "model.latent_dim=3");
  vae::apply_override(config, "model.batch_norm=true");
  return config;
}

// One optimizer step on a random batch (the global RNG picks the batch and the noise).
void train_step(vae::VAE& model, torch::optim::Optimizer& optimizer) {
  model->train();
  const auto x = torch::rand({4, 1, 16, 16});
  const auto out = model->forward(x);
  auto terms = vae::elbo_terms(out.reconstruction, x, out.mu, out.logvar, vae::Likelihood::Bernoulli, 1.0);
  optimizer.zero_grad();
  terms.loss.backward();
  optimizer.step();
}

TEST(Checkpoint, RoundTripRestoresOutputsOptimizerMetadataAndRng) {
  torch::manual_seed(0);
  const auto config_json = small_config();
  vae::VAE model(vae::ModelOptions::from_config(vae::config_from_json(config_json)));
  torch::optim::Adam optimizer(model->parameters(), torch::optim::AdamOptions(1e-3));
  train_step(model, optimizer);  // two steps, so that the optimizer has state worth restoring
  train_step(model, optimizer);
  model->eval();

  vae::CheckpointMeta meta;
  meta.config = config_json;
  meta.epoch = 3;
  meta.step = 42;
  meta.epoch_step = 5;
  meta.metrics = {{"best_val_loss", 12.5}};
  const auto path = (temp_dir() / "model.pt").string();
  vae::save_checkpoint(path, meta, model, &optimizer);
  const auto after_save = torch::rand({3});  // RNG advanced past the saved state

  vae::CheckpointReader reader(path);
  EXPECT_EQ(reader.meta().epoch, 3);
  EXPECT_EQ(reader.meta().step, 42);
  EXPECT_EQ(reader.meta().epoch_step, 5);
  EXPECT_EQ(reader.meta().metrics["best_val_loss"].get<double>(), 12.5);
  EXPECT_EQ(reader.meta().config, config_json);

  vae::VAE loaded = reader.load_model(torch::kCPU);
  loaded->eval();
  const auto x = torch::rand({2, 1, 16, 16});
  EXPECT_TRUE(torch::equal(model->forward(x).reconstruction, loaded->forward(x).reconstruction));

  torch::optim::Adam restored(loaded->parameters(), torch::optim::AdamOptions(1e-3));
  reader.load_optimizer(restored);
  // The restored optimizer continues exactly as the original would: one more identical step on
  // both gives identical weights, and differs from a step taken with a fresh optimizer.
  auto one_step = [&](vae::VAE& m, torch::optim::Optimizer& o) {
    torch::manual_seed(5);  // the same batch and noise for each
    train_step(m, o);
  };
  vae::VAE third = reader.load_model(torch::kCPU);
  torch::optim::Adam fresh_for_third(third->parameters(), torch::optim::AdamOptions(1e-3));
  one_step(model, optimizer);
  one_step(loaded, restored);
  one_step(third, fresh_for_third);
  const auto p_original = model->parameters(), p_restored = loaded->parameters(), p_fresh = third->parameters();
  bool fresh_differs = false;
  for (size_t i = 0; i < p_original.size(); ++i) {
    EXPECT_TRUE(torch::equal(p_original[i], p_restored[i]))
        << "parameter " << i << " max diff " << (p_original[i] - p_restored[i]).abs().max().item<double>()
        << " vs fresh " << (p_original[i] - p_fresh[i]).abs().max().item<double>();
    fresh_differs = fresh_differs || !torch::equal(p_original[i], p_fresh[i]);
  }
  EXPECT_TRUE(fresh_differs);

  reader.restore_rng();
  EXPECT_TRUE(torch::equal(torch::rand({3}), after_save));
}

TEST(Checkpoint, OverwriteKeepsOnlyTheFinishedFile) {
  const auto config_json = small_config();
  vae::VAE model(vae::ModelOptions::from_config(vae::config_from_json(config_json)));
  const auto dir = temp_dir() / "overwrite";
  fs::remove_all(dir);
  vae::CheckpointMeta meta;
  meta.config = config_json;
  vae::save_checkpoint((dir / "last.pt").string(), meta, model, nullptr);
  meta.step = 7;
  vae::save_checkpoint((dir / "last.pt").string(), meta, model, nullptr);
  EXPECT_EQ(vae::CheckpointReader((dir / "last.pt").string()).meta().step, 7);
  int files = 0;
  for ([[maybe_unused]] const auto& entry : fs::directory_iterator(dir)) ++files;
  EXPECT_EQ(files, 1);
}

TEST(Checkpoint, MissingDamagedAndForeignFilesAreCheckpointErrors) {
  EXPECT_THROW(vae::CheckpointReader("/nonexistent/model.pt"), vae::CheckpointError);

  const auto config_json = small_config();
  vae::VAE model(vae::ModelOptions::from_config(vae::config_from_json(config_json)));
  vae::CheckpointMeta meta;
  meta.config = config_json;
  const auto good = temp_dir() / "good.pt";
  vae::save_checkpoint(good.string(), meta, model, nullptr);
  std::ifstream in(good, std::ios::binary);
  const std::string bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};

  const auto truncated = temp_dir() / "truncated.pt";
  std::ofstream(truncated, std::ios::binary) << bytes.substr(0, bytes.size() / 3);
  try {
    vae::CheckpointReader reader(truncated.string());
    FAIL() << "truncated checkpoint was accepted";
  } catch (const vae::CheckpointError& error) {
    EXPECT_NE(std::string(error.what()).find("truncated.pt"), std::string::npos) << error.what();
  }

  const auto text = temp_dir() / "text.pt";
  std::ofstream(text) << "not a checkpoint";
  EXPECT_THROW(vae::CheckpointReader(text.string()), vae::CheckpointError);

  // A plain LibTorch archive without the vae format tag.
  torch::serialize::OutputArchive foreign;
  foreign.write("weights", torch::ones({2}));
  const auto foreign_path = temp_dir() / "foreign.pt";
  foreign.save_to(foreign_path.string());
  try {
    vae::CheckpointReader reader(foreign_path.string());
    FAIL() << "foreign archive was accepted";
  } catch (const vae::CheckpointError& error) {
    EXPECT_NE(std::string(error.what()).find("not a vae checkpoint"), std::string::npos) << error.what();
  }
}

TEST(Checkpoint, ANewerFormatVersionSaysToUpgrade) {
  torch::serialize::OutputArchive newer;
  newer.write("format", c10::IValue(std::string("vae-checkpoint")));
  newer.write("format_version", c10::IValue(int64_t(vae::kCheckpointFormatVersion + 1)));
  const auto path = temp_dir() / "newer.pt";
  newer.save_to(path.string());
  try {
    vae::CheckpointReader reader(path.string());
    FAIL() << "a newer format was accepted";
  } catch (const vae::CheckpointError& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find("newer.pt: checkpoint format version 2 was written by a newer vae"), std::string::npos)
        << message;
    EXPECT_NE(message.find("upgrade vae"), std::string::npos) << message;
  }
}

// The device a checkpoint was written on is the model's, whatever meta.device says; on the CPU the
// RNG restore is complete.
TEST(Checkpoint, StoresTheDeviceItWasWrittenOn) {
  const auto config_json = small_config();
  vae::VAE model(vae::ModelOptions::from_config(vae::config_from_json(config_json)));
  vae::CheckpointMeta meta;
  meta.config = config_json;
  meta.device = "written-over";
  const auto path = (temp_dir() / "device.pt").string();
  vae::save_checkpoint(path, meta, model, nullptr);
  vae::CheckpointReader reader(path);
  EXPECT_EQ(reader.meta().device, "cpu");
  EXPECT_TRUE(reader.restore_rng(torch::kCPU));
}

// A damaged or crafted checkpoint is refused, naming the file and the tensor, before any of its
// values is used: weights that do not fit the stored config, NaN weights, bytes changed after
// writing (the zip's CRC-32), and a tensor record shorter than its storage declares (LibTorch 1.13
// would read past it).
TEST(Checkpoint, DamagedOrCraftedWeightsAreRefusedNamingTheTensor) {
  const auto config_json = small_config();
  const vae::Config config = vae::config_from_json(config_json);
  auto expect_refused = [](const fs::path& path, const std::string& expected) {
    try {
      vae::CheckpointReader reader(path.string());
      reader.load_model(torch::kCPU);
      FAIL() << path << " was loaded";
    } catch (const vae::CheckpointError& error) {
      EXPECT_NE(std::string(error.what()).find(path.string()), std::string::npos) << error.what();
      EXPECT_NE(std::string(error.what()).find(expected), std::string::npos) << error.what();
    }
  };
  // Weights of a latent-5 model under a config that builds latent 3.
  auto wider = config_json;
  vae::apply_override(wider, "model.latent_dim=5");
  vae::VAE other(vae::ModelOptions::from_config(vae::config_from_json(wider)));
  vae::CheckpointMeta meta;
  meta.config = config_json;
  const auto mismatched = temp_dir() / "mismatched.pt";
  vae::save_checkpoint(mismatched.string(), meta, other, nullptr);
  expect_refused(mismatched, "but the stored config builds [3");

  vae::VAE model(vae::ModelOptions::from_config(config));
  {
    torch::NoGradGuard no_grad;
    model->parameters()[1].view(-1)[0] = std::nan("");
  }
  const auto with_nan = temp_dir() / "nan.pt";
  vae::save_checkpoint(with_nan.string(), meta, model, nullptr);
  expect_refused(with_nan, "holds NaN or infinite values");

  vae::VAE good_model(vae::ModelOptions::from_config(config));
  const auto good = temp_dir() / "intact.pt";
  vae::save_checkpoint(good.string(), meta, good_model, nullptr);
  EXPECT_NO_THROW(vae::CheckpointReader(good.string()).load_model(torch::kCPU));
  // One byte of the first weight flipped in the file.
  std::ifstream in(good, std::ios::binary);
  std::string bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  const torch::Tensor first = good_model->parameters()[0].contiguous();
  const std::string weight(static_cast<const char*>(first.data_ptr()), size_t(first.numel()) * 4);
  const size_t at = bytes.find(weight);
  ASSERT_NE(at, std::string::npos);
  bytes[at + 5] = char(bytes[at + 5] ^ 0x40);
  const auto flipped = temp_dir() / "flipped.pt";
  std::ofstream(flipped, std::ios::binary) << bytes;
  expect_refused(flipped, "fails its CRC-32 check");

  // A record cut short behind fresh CRCs (made with Python's zipfile where it is installed).
  if (std::system("/usr/bin/python3 -c 'import zipfile' >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << "no /usr/bin/python3 to craft the short record";
  }
  const auto short_record = temp_dir() / "short.pt";
  const std::string command = "/usr/bin/python3 " + std::string(VAE_TEST_SOURCE_DIR) + "/tests/craft_checkpoint.py '" +
                              good.string() + "' '" + short_record.string() + "' 0 4";
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
  expect_refused(short_record, "tensor storage data/0 declares");
  expect_refused(short_record, "but its record holds 4 bytes");
}

}  // namespace
