// `vae reconstruct`: encode and decode images; originals above their reconstructions.
#include <iostream>

#include <spdlog/spdlog.h>

#include "vae/train/checkpoint.h"
#include "cli/commands.h"
#include "cli/options.h"
#include "vae/config/config.h"
#include "vae/tensor/device.h"
#include "vae/tensor/images.h"
#include "vae/analysis/latent.h"
#include "vae/data/pixels.h"

namespace vae {
namespace {

// Images per row of the output grid.
constexpr int64_t kMaxRow = 8;

struct ReconstructArguments {
  ModelArguments model;
  std::vector<std::string> inputs;
  std::string out = "reconstructions.png";
};

int run_reconstruct(const ReconstructArguments& args) {
  LoadedModel loaded = open_model(args.model);
  const Config& config = loaded.config;
  const torch::Device device = loaded.device;
  VAE& model = loaded.model;
  std::vector<torch::Tensor> batch;
  for (const auto& path : args.inputs) {
    std::string steps;
    batch.push_back(load_fitted_image(path, config, &steps));
    spdlog::info("{}: {}", path, steps);
  }
  torch::NoGradGuard no_grad;
  const auto x = to_model_input(torch::stack(batch), device, config.data.range);
  const VaeOutput out = model->forward(x);
  const auto originals = to_unit_range(x, config.data.range);
  const auto reconstructions = to_unit_range(model->to_image(out.reconstruction), config.data.range);
  const int64_t nrow = std::min<int64_t>(kMaxRow, int64_t(args.inputs.size()));
  write_grid_png(args.out, interleave_rows(originals, reconstructions, nrow), nrow);
  spdlog::info("{} image(s) reconstructed with {}", args.inputs.size(), loaded.path);
  std::cout << args.out << std::endl;
  return 0;
}

}  // namespace

Command add_reconstruct_command(CLI::App& parent) {
  auto args = std::make_shared<ReconstructArguments>();
  CLI::App* app = parent.add_subcommand("reconstruct", "Encode and decode images");
  add_model_options(app, args->model);
  app->add_option("-i,--input", args->inputs, "PNG, JPEG or BMP image (repeatable)")->required();
  app->add_option("-o,--out", args->out, "Output PNG: originals above reconstructions")
      ->capture_default_str();
  return {app, [args] { return run_reconstruct(*args); }};
}

}  // namespace vae
