// `vae sample`: decode draws from the prior into a grid PNG; with --around IMG, draws from the
// posterior q(z|x) of one picture instead (its variations), after the fitted picture itself.
#include <cmath>
#include <iostream>

#include <spdlog/spdlog.h>

#include "vae/train/checkpoint.h"
#include "vae/train/runs.h"
#include "cli/commands.h"
#include "cli/options.h"
#include "vae/config/config.h"
#include "vae/tensor/device.h"
#include "vae/tensor/images.h"
#include "vae/analysis/latent.h"
#include "vae/data/pixels.h"
#include "vae/base/text.h"

namespace vae {
namespace {

struct SampleArguments {
  ModelArguments model;
  int64_t count = 16;
  std::string out = "samples.png";
  int64_t seed = 0;
  double temperature = 1.0;
  int64_t nrow = 0;
  std::string around;  // picture whose posterior is sampled; empty: the prior
};

// Square-ish grid unless --nrow is given.
int64_t grid_row(int64_t nrow, int64_t images) {
  return nrow > 0 ? nrow : square_grid_columns(images);
}

// --around: the fitted picture, then `count` decodings of z ~ N(mu, T^2 diag(exp(logvar))).
int run_sample_around(const SampleArguments& args) {
  LoadedModel loaded = open_model(args.model);
  const Config& config = loaded.config;
  VAE& model = loaded.model;
  torch::NoGradGuard no_grad;
  const auto x = load_model_inputs({args.around}, config, loaded.device);  // [1, C, S, S]
  const auto [mu, logvar] = model->encode(x);                                      // [1, latent]
  auto generator = at::detail::createCPUGenerator(uint64_t(args.seed));
  const auto z = posterior_draws(mu[0], logvar[0], args.count, args.temperature, generator);
  const auto variations = model->to_image(model->decode(z));  // [count, C, S, S]
  const auto images = to_unit_range(torch::cat({x, variations}), config.data.range);
  write_grid_png(args.out, images, grid_row(args.nrow, args.count + 1));
  spdlog::info("{} variations of {} drawn from q(z|x) with {} ({}), temperature {}; "
               "the first tile is the picture as the model sees it",
               args.count, args.around, loaded.path, training_progress(loaded.meta), args.temperature);
  std::cout << args.out << std::endl;
  return 0;
}

int run_sample(const SampleArguments& args) {
  if (!args.around.empty()) return run_sample_around(args);
  LoadedModel loaded = open_model(args.model);
  const Config& config = loaded.config;
  const torch::Device device = loaded.device;
  VAE& model = loaded.model;
  auto generator = at::detail::createCPUGenerator(uint64_t(args.seed));
  torch::NoGradGuard no_grad;
  const auto images = to_unit_range(model->sample(args.count, args.temperature, device, generator),
                                    config.data.range);
  write_grid_png(args.out, images, grid_row(args.nrow, args.count));
  spdlog::info("{} samples from {} ({}), temperature {}", args.count, loaded.path,
               training_progress(loaded.meta), args.temperature);
  std::cout << args.out << std::endl;
  return 0;
}

}  // namespace

Command add_sample_command(CLI::App& parent) {
  auto args = std::make_shared<SampleArguments>();
  CLI::App* app = add_model_subcommand(
      parent, "sample", "Draw new images from a trained model, or variations of one picture (--around)",
      args->model);
  app->add_option("-n,--count", args->count, "Number of images (with --around: of variations)")
      ->check(CLI::Range(1, 4096));
  add_png_out_option(app, args->out, "Output PNG")->capture_default_str();
  app->add_option("--seed", args->seed, "Seed of the latent draws")->capture_default_str();
  app->add_option("--around", args->around,
                  "PNG, JPEG or BMP picture: draw z from its posterior q(z|x) instead of the prior; "
                  "the grid starts with the picture as fitted to the model");
  app->add_option("--temperature", args->temperature,
                  "Scale of the prior's (or, with --around, the posterior's) standard deviation")
      ->check(kFiniteNumber)
      ->check(CLI::Range(0.0, 100.0))
      ->capture_default_str();
  app->add_option("--nrow", args->nrow, "Images per grid row (default: square grid)")
      ->check(CLI::NonNegativeNumber);
  return {app, [args] { return run_sample(*args); }};
}

}  // namespace vae
