// `vae train`: train a VAE from a config file, or continue a run with --resume.
#include <iostream>

#include <spdlog/spdlog.h>

#include "vae/train/checkpoint.h"
#include "cli/commands.h"
#include "vae/tensor/device.h"
#include "cli/options.h"
#include "vae/config/config.h"
#include "vae/base/errors.h"
#include "vae/train/run_dir.h"
#include "vae/train/trainer.h"

namespace vae {
namespace {

struct TrainArguments {
  std::string config_path;
  std::vector<std::string> overrides;
  std::string out;
  RunArguments run;
  std::string resume;
  int64_t nan_at_step = 0;
  bool print_config = false;
  bool list_keys = false;
  bool markdown = false;
};

void print_keys(bool markdown) {
  if (markdown) {
    std::cout << "| key | default | allowed | what it does |\n| --- | --- | --- | --- |\n";
    for (const auto& param : config_params()) std::cout << markdown_row(param) << "\n";
    return;
  }
  for (const auto& param : config_params()) {
    std::cout << param.key << " = " << param.default_value.dump() << "\n    " << param.description
              << " (" << param.allowed << ")\n";
  }
}

int run_train(const TrainArguments& args) {
  if (args.list_keys) {
    print_keys(args.markdown);
    return 0;
  }
  nlohmann::json resolved;
  if (!args.resume.empty()) {
    if (!args.config_path.empty()) {
      throw ConfigError("--resume continues a run with its stored config; drop --config (use "
                        "--set to change keys such as train.epochs)");
    }
    if (!args.out.empty()) {
      throw ConfigError("--out cannot be combined with --resume: a resumed run continues in its own folder; "
                        "to branch, start a new run: vae train --config RUN/config.json --out " + args.out);
    }
    const auto checkpoint = checkpoint_for_resume(args.resume);
    CheckpointReader reader(checkpoint.string());
    resolved = reader.meta().config;
    for (const auto& assignment : args.overrides) apply_override(resolved, assignment);
    check_resume_changes(reader.meta().config, resolved, run_dir_of_checkpoint(checkpoint).string());
  } else if (!args.config_path.empty() || args.print_config) {
    resolved = config_json_or_defaults(args.config_path, args.overrides);
  } else {
    throw ConfigError("vae train needs --config FILE (e.g. configs/shapes.json) or --resume RUN_DIR");
  }
  apply_run_options(resolved, args.run.device, args.run.threads);
  const Config checked = config_from_json(resolved);  // cross-key checks before anything runs
  resolve_device(checked.train.device, "train.device");  // a device this machine has, also for --print-config
  if (args.print_config) {
    std::cout << resolved.dump(2) << std::endl;
    return 0;
  }
  TrainOptions options{resolved, args.out, args.resume, args.nan_at_step};
  const TrainSummary summary = run_training(options);
  std::cout << "run: " << summary.run_dir.string() << "\n"
            << "checkpoint: " << summary.last_checkpoint.string() << std::endl;
  return 0;
}

}  // namespace

Command add_train_command(CLI::App& parent) {
  auto args = std::make_shared<TrainArguments>();
  CLI::App* app = parent.add_subcommand("train", "Train a VAE from a JSON config");
  add_config_options(app, args->config_path, args->overrides, "JSON config file, e.g. configs/shapes.json",
                     "Override a key: --set train.epochs=3 (repeatable)");
  app->add_option("-o,--out", args->out, "Run directory (default runs/<name>, numbered if taken)");
  add_run_options(app, args->run);
  app->add_option("--resume", args->resume, "Continue a run: its directory or a checkpoint file");
  app->add_flag("--print-config", args->print_config, "Print the resolved config and exit");
  app->add_flag("--list-keys", args->list_keys, "List every config key with default and range");
  app->add_flag("--markdown", args->markdown, "With --list-keys: as the README's Markdown table");
  app->add_option("--nan-at-step", args->nan_at_step,
                  "Fault injection: make the loss of step N NaN, to see what train.nonfinite does")
      ->check(CLI::PositiveNumber);
  return {app, [args] { return run_train(*args); }};
}

}  // namespace vae
