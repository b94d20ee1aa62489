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
#include "vae/io/formats.h"
#include "vae/io/image_codec.h"

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
  const DataConfig& data = loaded.config.data;
  torch::NoGradGuard no_grad;
  const std::vector<std::string> inputs = expand_picture_inputs(args.inputs);
  const auto x = load_model_inputs(inputs, loaded.config, loaded.device);  // [N, C, S, S]
  const VaeOutput out = loaded.model->forward(x);
  const auto originals = to_unit_range(x, data.range);
  const auto reconstructions = to_unit_range(loaded.model->to_image(out.reconstruction), data.range);
  const int64_t nrow = std::min<int64_t>(kMaxRow, int64_t(inputs.size()));
  write_png(args.out, tensor_to_image(reconstruction_grid(originals, reconstructions, nrow)));
  spdlog::info("{} image(s) reconstructed with {}", inputs.size(), loaded.path);
  std::cout << args.out << std::endl;
  return 0;
}

}  // namespace

Command add_reconstruct_command(CLI::App& parent) {
  auto args = std::make_shared<ReconstructArguments>();
  CLI::App* app = add_model_subcommand(parent, "reconstruct", "Encode and decode images", args->model);
  app->add_option("-i,--input", args->inputs,
                  "PNG, JPEG or BMP image, or a folder searched recursively for them (repeatable)")
      ->required();
  add_png_out_option(app, args->out, "Output PNG: originals above reconstructions, rows labelled orig and recon on the right")
      ->capture_default_str();
  return {app, [args] { return run_reconstruct(*args); }};
}

}  // namespace vae
