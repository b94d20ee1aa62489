// The options several subcommands share, declared once: --ckpt and --device for the commands that
// use a trained model; --config and --set for those that read a config; --device, --threads and
// --batch for those that train, applied to the config through the same checks as --set.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "vae/train/checkpoint.h"

namespace vae {

// --ckpt and --device of a command that uses a trained model.
struct ModelArguments {
  std::string ckpt;            // empty: the newest run's last checkpoint
  std::string device = "cpu";  // inference defaults to the CPU, whatever the run trained on
};
// The subcommand `name` of parent for a command that uses a trained model, with --ckpt and --device.
CLI::App* add_model_subcommand(CLI::App& parent, const std::string& name, const std::string& description,
                               ModelArguments& args);

// The checkpoint of --ckpt (or the newest run's, logged) in eval mode on --device; `overrides`
// change the config's data keys as --set does.
LoadedModel open_model(const ModelArguments& args, const std::vector<std::string>& overrides = {});

// -o/--out of a command that writes a PNG picture: a name that does not end in .png is a usage
// error (the file would hold PNG bytes under another name).
CLI::Option* add_png_out_option(CLI::App* app, std::string& out, const std::string& help);

// A check that a number option is finite (CLI11's ranges let NaN through).
extern const CLI::Validator kFiniteNumber;

// --config FILE and --set KEY=VALUE (repeatable); `set_help` says what --set does here.
void add_config_options(CLI::App* app, std::string& config_path, std::vector<std::string>& overrides,
                        const std::string& config_help, const std::string& set_help);

// --device and --threads of a command that trains: empty / -1 leave train.device / train.threads;
// apply_run_options (vae/train/trainer.h) applies them to the config with the checks of --set.
struct RunArguments {
  std::string device;
  int64_t threads = -1;
};
void add_run_options(CLI::App* app, RunArguments& args);

// --threads of a command that only computes on the CPU's threads: 0 = one per core.
void add_threads_option(CLI::App* app, int64_t& threads);

// --ckpt if given, else the newest run's last checkpoint (logged). Throws CheckpointError.
std::string checkpoint_or_latest(const std::string& ckpt);

}  // namespace vae
