// `vae traverse`: latent traversals as disentanglement papers show them. One row per latent
// dimension, that dimension swept over [-range, range] while the others stay at a base code (a
// picture's posterior mean, or 0), rows ordered by the dimension's KL, largest first.
#include <iostream>

#include <spdlog/spdlog.h>

#include "vae/train/checkpoint.h"
#include "cli/commands.h"
#include "cli/options.h"
#include "vae/config/config.h"
#include "vae/tensor/device.h"
#include "vae/base/errors.h"
#include "vae/tensor/images.h"
#include "vae/analysis/latent.h"
#include "vae/data/pixels.h"

namespace vae {
namespace {

struct TraverseArguments {
  ModelArguments model;
  std::string input;
  std::string dims = "all";
  double range = 3.0;
  int64_t steps = 9;
  std::string out = "traverse.png";
};

int run_traverse(const TraverseArguments& args) {
  LoadedModel loaded = open_model(args.model);
  const Config& config = loaded.config;
  const torch::Device device = loaded.device;
  VAE& model = loaded.model;
  const int64_t latent_dim = config.model.latent_dim;
  const std::vector<int64_t> dims = parse_dims(args.dims, latent_dim);
  const bool around_input = !args.input.empty();
  torch::NoGradGuard no_grad;

  torch::Tensor base = torch::zeros({latent_dim}, torch::TensorOptions().device(device));  // [latent]
  torch::Tensor input_mu, input_logvar;  // [1, latent]
  if (around_input) {
    std::tie(input_mu, input_logvar) = model->encode(load_model_inputs({args.input}, config, device));
    base = input_mu[0];
  }

  // KL per dimension: over the dataset when it opens here, else the picture's own, else none.
  const DatasetKl measured = validation_kl(model, config, device);
  torch::Tensor kl = measured.kl;  // [latent]
  std::string source = measured.source;
  const std::string& why_not = measured.why_not;
  if (!kl.defined()) {
    spdlog::warn("cannot measure KL on the checkpoint's dataset: {}", why_not);
    if (around_input) {
      kl = kl_per_dimension(input_mu, input_logvar);
      source = "the posterior of " + args.input + " alone";
    }
  }
  std::vector<int64_t> rows = dims;
  if (kl.defined()) {
    kl = kl.cpu();
    rows = order_by_kl(dims, kl);
    spdlog::info("rows ordered by KL per dimension, largest first; KL measured as {}", source);
  } else {
    spdlog::info("rows in index order: no dataset and no --input to measure KL on");
  }

  const auto codes = traversal_codes(base, rows, args.range, args.steps);  // [rows * steps, latent]
  const auto images = to_unit_range(model->to_image(model->decode(codes)), config.data.range);
  write_grid_png(args.out, images, args.steps);
  spdlog::info("{} rows x {} steps over [-{}, {}] around {} with {}", rows.size(), args.steps,
               args.range, args.range, around_input ? args.input + "'s posterior mean" : "z = 0",
               loaded.path);
  std::cout << args.out << "\n";
  for (size_t row = 0; row < rows.size(); ++row) {
    std::cout << "row " << row + 1 << ": dim " << rows[row];
    if (kl.defined()) std::cout << ", KL " << fmt::format("{:.4f}", kl[rows[row]].item<double>()) << " nats";
    std::cout << "\n";
  }
  std::cout << std::flush;
  return 0;
}

}  // namespace

Command add_traverse_command(CLI::App& parent) {
  auto args = std::make_shared<TraverseArguments>();
  CLI::App* app = add_model_subcommand(
      parent, "traverse", "Latent traversals: one row per latent dimension, rows ordered by KL",
      args->model);
  app->add_option("-i,--input", args->input,
                  "Picture (PNG, JPEG or BMP) whose posterior mean is the base code (default: 0)");
  app->add_option("--dims", args->dims, "Dimensions to show: all, or a list such as 0,3,7")
      ->capture_default_str();
  app->add_option("--range", args->range, "Each row sweeps its dimension over [-range, range]")
      ->check(kFiniteNumber)
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app->add_option("--steps", args->steps, "Images per row")->check(CLI::Range(2, 1024))->capture_default_str();
  add_png_out_option(app, args->out, "Output PNG")->capture_default_str();
  app->footer(
      "Rows are ordered by KL(q(z|x) || N(0, I)) per dimension, largest first: the mean over up to "
      "512 validation images of the checkpoint's dataset when it can be opened here, else the "
      "--input picture's own, else index order. stdout lists the rows (dimension and KL).");
  return {app, [args] { return run_traverse(*args); }};
}

}  // namespace vae
