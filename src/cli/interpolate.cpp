// `vae interpolate`: a one-row strip of images decoded along the way from one picture's posterior
// mean to another's, in a straight line or along the great circle (--slerp).
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

struct InterpolateArguments {
  ModelArguments model;
  std::string from, to;
  int64_t steps = 10;
  bool slerp = false;
  bool originals = false;
  std::string out = "interpolation.png";
};

int run_interpolate(const InterpolateArguments& args) {
  LoadedModel loaded = open_model(args.model);
  const Config& config = loaded.config;
  VAE& model = loaded.model;
  torch::NoGradGuard no_grad;
  const auto x = load_model_inputs({args.from, args.to}, config, loaded.device);  // [2, C, S, S]
  // The same call on the same batch as `vae reconstruct --input A --input B`: in eval mode it
  // decodes the posterior means, so the ends of the strip are its reconstructions bit for bit
  // (decoding them inside a larger batch could differ in the last bits).
  const VaeOutput ends = model->forward(x);
  const auto codes = interpolate_codes(ends.mu[0], ends.mu[1], args.steps, args.slerp);  // [steps, latent]
  auto decoded = model->decode(codes);  // [steps, C, S, S]
  decoded[0].copy_(ends.reconstruction[0]);
  decoded[args.steps - 1].copy_(ends.reconstruction[1]);
  auto strip = to_unit_range(model->to_image(decoded), config.data.range);
  if (args.originals) {
    const auto fitted = to_unit_range(x, config.data.range);
    strip = torch::cat({fitted.narrow(0, 0, 1), strip, fitted.narrow(0, 1, 1)});
  }
  write_grid_png(args.out, strip, strip.size(0));
  spdlog::info("{} steps from {} to {} ({} interpolation of the posterior means, {:.1f} degrees "
               "apart) with {}{}",
               args.steps, args.from, args.to, args.slerp ? "spherical" : "linear",
               angle_degrees(ends.mu[0], ends.mu[1]), loaded.path,
               args.originals ? "; the fitted pictures are at the ends" : "");
  std::cout << args.out << std::endl;
  return 0;
}

}  // namespace

Command add_interpolate_command(CLI::App& parent) {
  auto args = std::make_shared<InterpolateArguments>();
  CLI::App* app = add_model_subcommand(
      parent, "interpolate", "A strip of images decoded between two pictures' latent codes",
      args->model);
  app->add_option("--from", args->from, "First picture (PNG, JPEG or BMP)")->required();
  app->add_option("--to", args->to, "Last picture (PNG, JPEG or BMP)")->required();
  app->add_option("--steps", args->steps,
                  "Images in the strip, both ends included: the first and last are the pictures' "
                  "reconstructions from their posterior means, as `vae reconstruct` shows them")
      ->check(CLI::Range(2, 1024))
      ->capture_default_str();
  app->add_flag("--slerp", args->slerp,
                "Spherical interpolation: the direction moves along the great circle, the norm "
                "linearly (default: a straight line)");
  app->add_flag("--originals", args->originals,
                "Put the two pictures, as fitted to the model, at the ends of the strip "
                "(steps + 2 images)");
  add_png_out_option(app, args->out, "Output PNG: one row")->capture_default_str();
  return {app, [args] { return run_interpolate(*args); }};
}

}  // namespace vae
