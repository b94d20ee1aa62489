// `vae sweep`: parses the options and runs the sweep (see vae/train/sweep.h).
#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "cli/options.h"
#include "vae/train/sweep.h"

namespace vae {

Command add_sweep_command(CLI::App& parent) {
  struct SweepArguments {
    SweepOptions sweep;
    RunArguments run;
  };
  auto args = std::make_shared<SweepArguments>();
  CLI::App* app = parent.add_subcommand(
      "sweep", "Train one run per combination of --grid values and summarise them");
  add_config_options(app, args->sweep.config_path, args->sweep.overrides, "JSON config file, e.g. configs/shapes.json",
                     "Override a key in every run: --set train.epochs=3 (repeatable)");
  app->add_option("--grid", args->sweep.grids,
                  "Values of one key, one run each: --grid model.latent_dim=2,4,8 (repeatable; "
                  "runs cover every combination, the first --grid varying slowest; list values "
                  "as model.hidden_dims=[32,64],[64,128])")
      ->type_name("KEY=V1,V2,...");
  app->add_option("-o,--out", args->sweep.out, "Sweep folder (default runs/<name>-sweep, numbered if taken)");
  add_run_options(app, args->run);
  app->add_option("--seed", args->sweep.seed, "Seed of the latent noise of samples.png")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app->add_option("--nan-at-step", args->sweep.nan_at_step,
                  "Fault injection: make the loss of step N of every run NaN (see vae train)")
      ->check(CLI::PositiveNumber);
  return {app, [args] {
            args->sweep.device = args->run.device;
            args->sweep.threads = args->run.threads;
            args->sweep.on_output = [](const std::filesystem::path& path) { std::cout << path.string() << std::endl; };
            run_sweep(args->sweep);
            return 0;
          }};
}

}  // namespace vae
