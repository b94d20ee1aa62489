// `vae sample`: decode draws from the prior into a grid PNG.
#include <cmath>
#include <iostream>

#include <spdlog/spdlog.h>

#include "vae/checkpoint.h"
#include "vae/commands.h"
#include "vae/config.h"
#include "vae/device.h"
#include "vae/image.h"
#include "vae/loader.h"

namespace vae {
namespace {

struct SampleArguments {
  std::string ckpt;
  int64_t count = 16;
  std::string out = "samples.png";
  int64_t seed = 0;
  double temperature = 1.0;
  int64_t nrow = 0;
  std::string device = "cpu";
};

int run_sample(const SampleArguments& args) {
  const torch::Device device = resolve_device(args.device, "--device");
  CheckpointReader reader(checkpoint_or_latest(args.ckpt));
  VAE model = reader.load_model(device);
  model->eval();
  const Config config = config_from_json(reader.meta().config);
  auto generator = at::detail::createCPUGenerator(uint64_t(args.seed));
  torch::NoGradGuard no_grad;
  const auto images = to_unit_range(model->sample(args.count, args.temperature, device, generator),
                                    config.data.range);
  const int64_t nrow =
      args.nrow > 0 ? args.nrow : std::max<int64_t>(1, int64_t(std::ceil(std::sqrt(double(args.count)))));
  write_grid_png(args.out, images, nrow);
  spdlog::info("{} samples from {} (epoch {}, step {}), temperature {}", args.count, reader.path(),
               reader.meta().epoch, reader.meta().step, args.temperature);
  std::cout << args.out << std::endl;
  return 0;
}

}  // namespace

Command add_sample_command(CLI::App& parent) {
  auto args = std::make_shared<SampleArguments>();
  CLI::App* app = parent.add_subcommand("sample", "Draw new images from a trained model");
  app->add_option("--ckpt", args->ckpt, "Checkpoint (default: the newest run's last.pt)");
  app->add_option("-n,--count", args->count, "Number of images")->check(CLI::Range(1, 4096));
  app->add_option("-o,--out", args->out, "Output PNG")->capture_default_str();
  app->add_option("--seed", args->seed, "Seed of the latent draws")->capture_default_str();
  app->add_option("--temperature", args->temperature, "Scale of the prior's standard deviation")
      ->check(CLI::Range(0.0, 100.0))
      ->capture_default_str();
  app->add_option("--nrow", args->nrow, "Images per grid row (default: square grid)")
      ->check(CLI::NonNegativeNumber);
  app->add_option("--device", args->device, "auto | cpu | cuda | cuda:N | mps")->capture_default_str();
  return {app, [args] { return run_sample(*args); }};
}

}  // namespace vae
