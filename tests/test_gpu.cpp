// Tests that need a GPU (label `gpu`): CUDA, else MPS; each skips with its reason when neither is
// present. The preset models on the device against the CPU, training steps, checkpoints moving
// between the device and the CPU, a resumed run under train.deterministic, and the commands on the
// device through the real program.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "cli_support.h"
#include "vae/base/errors.h"
#include "vae/config/config.h"
#include "vae/model/loss.h"
#include "vae/model/model.h"
#include "vae/tensor/device.h"
#include "vae/train/checkpoint.h"
#include "vae/train/optimizer.h"
#include "vae/train/train_step.h"

namespace {
namespace fs = std::filesystem;
using namespace vae_test;

// cuda:0, else mps, else none. VAE_GPU_TESTS_ON_CPU=1 runs them on the CPU instead, to check the
// tests themselves on a machine without a GPU (device and CPU then agree trivially).
c10::optional<torch::Device> gpu() {
  if (std::getenv("VAE_GPU_TESTS_ON_CPU") != nullptr) return torch::Device(torch::kCPU);
  if (torch::cuda::is_available()) return torch::Device(torch::kCUDA, 0);
  if (at::hasMPS()) return torch::Device(torch::kMPS);
  return c10::nullopt;
}

#define REQUIRE_GPU()                                                                        \
  const c10::optional<torch::Device> maybe_device = gpu();                                  \
  if (!maybe_device) GTEST_SKIP() << "no CUDA or MPS device here (" << vae::available_devices() << ")"; \
  const torch::Device device = *maybe_device

vae::Config preset(const std::string& name, const std::vector<std::string>& overrides = {}) {
  return vae::config_from_json(
      vae::load_config_json(std::string(VAE_SOURCE_DIR) + "/configs/" + name + ".json", overrides));
}

double max_difference(const torch::Tensor& a, const torch::Tensor& b) {
  return (a.to(torch::kCPU) - b.to(torch::kCPU)).abs().max().item<double>();
}

// Forward (eval mode: the posterior mean, no noise) and backward of each preset's model on the
// device equal the CPU's within float32 tolerance: relative 1e-3 of each tensor's scale (TF32 and
// cuDNN's algorithms round differently from the CPU's).
TEST(Gpu, EveryPresetModelAgreesWithTheCpu) {
  REQUIRE_GPU();
  for (const char* name : {"mnist", "mnist_mlp", "cifar10", "cinic10", "celeba64", "flowers102", "shapes"}) {
    SCOPED_TRACE(name);
    const vae::Config config = preset(name);
    torch::manual_seed(0);
    vae::VAE cpu_model(vae::ModelOptions::from_config(config));
    vae::VAE gpu_model(vae::ModelOptions::from_config(config));
    {
      torch::NoGradGuard no_grad;
      const auto source = cpu_model->parameters();
      const auto target = gpu_model->parameters();
      for (size_t i = 0; i < source.size(); ++i) target[i].copy_(source[i]);
      const auto source_buffers = cpu_model->buffers();
      const auto target_buffers = gpu_model->buffers();
      for (size_t i = 0; i < source_buffers.size(); ++i) target_buffers[i].copy_(source_buffers[i]);
    }
    gpu_model->to(device);
    cpu_model->eval();
    gpu_model->eval();
    const int64_t size = config.data.image_size;
    const auto x = torch::rand({4, config.data.channels, size, size});
    const auto target = config.loss.likelihood == vae::Likelihood::Bernoulli ? x.round() : x;
    const auto loss_of = [&](vae::VAE& model, const torch::Device& where) {
      const auto out = model->forward(x.to(where));
      return vae::elbo_terms(out.reconstruction, target.to(where), out.mu, out.logvar,
                             vae::LossSettings::from_config(config.loss), 1.0);
    };
    const auto cpu_terms = loss_of(cpu_model, torch::kCPU);
    const auto gpu_terms = loss_of(gpu_model, device);
    const double scale = std::abs(cpu_terms.loss.item<double>());
    EXPECT_LE(std::abs(cpu_terms.loss.item<double>() - gpu_terms.loss.item<double>()), 1e-3 * scale + 1e-3);
    cpu_terms.loss.backward();
    gpu_terms.loss.backward();
    const auto cpu_parameters = cpu_model->parameters();
    const auto gpu_parameters = gpu_model->parameters();
    for (size_t i = 0; i < cpu_parameters.size(); ++i) {
      const auto& expected = cpu_parameters[i].grad();
      const double grad_scale = expected.abs().max().item<double>();
      EXPECT_LE(max_difference(expected, gpu_parameters[i].grad()), 1e-3 * grad_scale + 1e-5) << "parameter " << i;
    }
  }
}

TEST(Gpu, ADeviceIndexThatIsNotThereIsAConfigError) {
  REQUIRE_GPU();
  if (!device.is_cuda()) GTEST_SKIP() << "not CUDA";
  try {
    vae::resolve_device("cuda:99", "train.device");
    FAIL() << "cuda:99 accepted";
  } catch (const vae::ConfigError& error) {
    EXPECT_NE(std::string(error.what()).find("train.device=cuda:99: only"), std::string::npos) << error.what();
  }
}

TEST(Gpu, TrainingStepsLowerTheLoss) {
  REQUIRE_GPU();
  const vae::Config config = preset("shapes", {"data.image_size=32"});
  torch::manual_seed(0);
  vae::VAE model(vae::ModelOptions::from_config(config));
  model->to(device);
  auto optimizer = vae::make_optimizer(config.optim, model->parameters());
  vae::TrainStep step(model, *optimizer, config, 100);
  // One picture (a bright square) repeated: learnable in a few steps, unlike noise.
  auto x = torch::zeros({16, config.data.channels, 32, 32});
  x.slice(2, 8, 24).slice(3, 8, 24).fill_(1.0);
  x = x.to(device);
  const double first = step(x, 0, 0, true).loss;
  double last = first;
  for (int64_t i = 1; i < 40; ++i) last = step(x, i, 0, false).loss;
  EXPECT_TRUE(std::isfinite(last));
  EXPECT_LT(last, 0.8 * first);
}

// A checkpoint written on the device opens on the CPU, and one written on the CPU on the device,
// with the same outputs and the optimizer state on the parameters' device.
TEST(Gpu, CheckpointsMoveBetweenTheDeviceAndTheCpu) {
  REQUIRE_GPU();
  const fs::path dir = scratch_dir("gpu", "checkpoints");
  const vae::Config config = preset("shapes", {"data.image_size=32"});
  vae::CheckpointMeta meta;
  meta.config = vae::load_config_json(std::string(VAE_SOURCE_DIR) + "/configs/shapes.json", {"data.image_size=32"});
  torch::manual_seed(0);
  vae::VAE model(vae::ModelOptions::from_config(config));
  model->to(device);
  auto optimizer = vae::make_optimizer(config.optim, model->parameters());
  vae::TrainStep step(model, *optimizer, config, 10);
  const auto x = torch::rand({8, config.data.channels, 32, 32}).round();
  step(x.to(device), 0, 0, false);
  vae::save_checkpoint((dir / "gpu.pt").string(), meta, model, optimizer.get());
  model->eval();
  const auto expected = model->forward(x.to(device)).reconstruction.to(torch::kCPU);

  vae::CheckpointReader on_cpu((dir / "gpu.pt").string());
  EXPECT_EQ(on_cpu.meta().device, device.str());
  vae::VAE cpu_model = on_cpu.load_model(torch::kCPU);
  cpu_model->eval();
  EXPECT_LE(max_difference(cpu_model->forward(x).reconstruction, expected), 1e-3);
  auto cpu_optimizer = vae::make_optimizer(config.optim, cpu_model->parameters());
  on_cpu.load_optimizer(*cpu_optimizer, torch::kCPU);
  cpu_model->train();
  vae::TrainStep cpu_step(cpu_model, *cpu_optimizer, config, 10);
  EXPECT_TRUE(std::isfinite(cpu_step(x, 1, 0, false).loss));  // state and parameters on one device
  vae::save_checkpoint((dir / "cpu.pt").string(), meta, cpu_model, cpu_optimizer.get());

  vae::CheckpointReader back((dir / "cpu.pt").string());
  EXPECT_EQ(back.meta().device, "cpu");
  vae::VAE device_model = back.load_model(device);
  auto device_optimizer = vae::make_optimizer(config.optim, device_model->parameters());
  back.load_optimizer(*device_optimizer, device);
  vae::TrainStep device_step(device_model, *device_optimizer, config, 10);
  EXPECT_TRUE(std::isfinite(device_step(x.to(device), 2, 0, false).loss));
  // A CPU checkpoint holds no device random state (on the CPU dry run the CPU state is all there is).
  EXPECT_EQ(back.restore_rng(device), device.is_cpu());
}

// The real program on the device: a run of 2 epochs equals 1 epoch resumed for another under
// train.deterministic (the device's generator is restored), and sample, reconstruct and eval run.
TEST(GpuCli, ResumedDeterministicRunEqualsAnUninterruptedOneAndTheCommandsRun) {
  REQUIRE_GPU();
  const fs::path dir = scratch_dir("gpu", "cli");
  const std::vector<std::string> common = {"--config", std::string(VAE_SOURCE_DIR) + "/configs/shapes.json",
                                           "--set", "train.device=" + device.str(), "--set", "train.deterministic=true",
                                           "--set", "data.train_size=256", "--set", "data.val_size=64",
                                           "--set", "train.batch_size=32", "--set", "train.log_every=1"};
  auto with = [&](std::vector<std::string> args, const std::vector<std::string>& more) {
    args.insert(args.end(), more.begin(), more.end());
    return args;
  };
  const Result whole = vae_run(dir, with(with({"train"}, common), {"--set", "train.epochs=2", "--out", "runs/whole"}));
  ASSERT_EQ(whole.code, 0) << whole.err;
  const Result first = vae_run(dir, with(with({"train"}, common), {"--set", "train.epochs=1", "--out", "runs/half"}));
  ASSERT_EQ(first.code, 0) << first.err;
  const Result resumed = vae_run(dir, {"train", "--resume", "runs/half", "--set", "train.epochs=2"});
  ASSERT_EQ(resumed.code, 0) << resumed.err;
  EXPECT_EQ(resumed.err.find("holds no"), std::string::npos) << resumed.err;
  // The final validation row's epoch, step, split, loss, recon, kl and elbo (the timing columns differ).
  const auto last_losses = [&](const std::string& run) {
    const auto rows = lines_of(read_bytes(dir / "runs" / run / "metrics.csv"));
    std::string fields;
    if (rows.empty()) return fields;
    size_t at = 0;
    for (int i = 0; i < 7 && at != std::string::npos; ++i) at = rows.back().find(',', at + 1);
    return rows.back().substr(0, at);
  };
  EXPECT_NE(last_losses("whole").find(",val,"), std::string::npos) << last_losses("whole");
  EXPECT_EQ(last_losses("whole"), last_losses("half"));

  const std::string ckpt = (dir / "runs" / "whole" / "checkpoints" / "last.pt").string();
  const Result sample = vae_run(dir, {"sample", "--ckpt", ckpt, "--device", device.str(), "--out", "s.png"});
  EXPECT_EQ(sample.code, 0) << sample.err;
  EXPECT_TRUE(fs::exists(dir / "s.png"));
  const Result reconstruct = vae_run(dir, {"reconstruct", "--ckpt", ckpt, "--device", device.str(), "--input", "s.png",
                                           "--out", "r.png"});
  EXPECT_EQ(reconstruct.code, 0) << reconstruct.err;
  EXPECT_TRUE(fs::exists(dir / "r.png"));
  const Result eval = vae_run(dir, {"eval", "--ckpt", ckpt, "--device", device.str(), "--limit", "64",
                                    "--iw-samples", "8", "--json", "eval.json"});
  EXPECT_EQ(eval.code, 0) << eval.err;
  EXPECT_TRUE(fs::exists(dir / "eval.json"));
}

}  // namespace
