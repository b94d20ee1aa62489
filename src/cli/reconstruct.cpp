// `vae reconstruct`: encode and decode images; originals above their reconstructions.
#include <iostream>

#include <spdlog/spdlog.h>

#include "vae/train/checkpoint.h"
#include "cli/commands.h"
#include "vae/config/config.h"
#include "vae/tensor/device.h"
#include "vae/tensor/images.h"
#include "vae/io/image_codec.h"
#include "vae/io/transforms.h"
#include "vae/data/pixels.h"

namespace vae {
namespace {

// Images per row of the output grid.
constexpr int64_t kMaxRow = 8;

struct ReconstructArguments {
  std::string ckpt;
  std::vector<std::string> inputs;
  std::string out = "reconstructions.png";
  std::string device = "cpu";
};

int run_reconstruct(const ReconstructArguments& args) {
  const torch::Device device = resolve_device(args.device, "--device");
  CheckpointReader reader(checkpoint_or_latest(args.ckpt));
  const Config config = config_from_json(reader.meta().config);
  std::vector<torch::Tensor> batch;
  for (const auto& path : args.inputs) {
    std::string steps;
    const Image fitted = fit_image(load_image(path), config.data.image_size, config.data.channels, &steps);
    spdlog::info("{}: {}", path, steps);
    batch.push_back(image_to_tensor(fitted));
  }
  VAE model = reader.load_model(device);
  model->eval();
  torch::NoGradGuard no_grad;
  const auto x = to_model_input(torch::stack(batch), device, config.data.range);
  const VaeOutput out = model->forward(x);
  const auto originals = to_unit_range(x, config.data.range);
  const auto reconstructions = to_unit_range(model->to_image(out.reconstruction), config.data.range);
  const int64_t nrow = std::min<int64_t>(kMaxRow, int64_t(args.inputs.size()));
  write_grid_png(args.out, interleave_rows(originals, reconstructions, nrow), nrow);
  spdlog::info("{} image(s) reconstructed with {}", args.inputs.size(), reader.path());
  std::cout << args.out << std::endl;
  return 0;
}

}  // namespace

Command add_reconstruct_command(CLI::App& parent) {
  auto args = std::make_shared<ReconstructArguments>();
  CLI::App* app = parent.add_subcommand("reconstruct", "Encode and decode images");
  app->add_option("--ckpt", args->ckpt, "Checkpoint (default: the newest run's last.pt)");
  app->add_option("-i,--input", args->inputs, "PNG, JPEG or BMP image (repeatable)")->required();
  app->add_option("-o,--out", args->out, "Output PNG: originals above reconstructions")
      ->capture_default_str();
  app->add_option("--device", args->device, "auto | cpu | cuda | cuda:N | mps")->capture_default_str();
  return {app, [args] { return run_reconstruct(*args); }};
}

}  // namespace vae
